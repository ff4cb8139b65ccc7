//! Images for vision requests, as base64 `data:` URIs for OpenAI `image_url` parts.
//!
//! * **Synthetic**: width×height RGB noise, every byte drawn from the request's
//!   image stream, encoded as PNG or JPEG (quality 90). Noise differs per
//!   request, so no two requests share an image (no multimodal cache hits).
//! * **From the dataset**: the row's own images are sent as they are (no
//!   re-encoding); the MIME type comes from the file signature (PNG, JPEG, GIF,
//!   WebP, BMP). Paths are read when the request is built; an image file over
//!   [`MAX_IMAGE_BYTES`] (64 MiB) is an error naming the file.

use std::io::Cursor;

use base64::Engine;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use rand::RngCore;

use super::source::ImageRef;
use super::DatasetError;
use crate::vocab::ImageFormat;

/// JPEG quality of synthetic images.
const JPEG_QUALITY: u8 = 90;

/// Largest image file read for a dataset row, in bytes (64 MiB).
pub(crate) const MAX_IMAGE_BYTES: u64 = 64 << 20;

/// A synthetic noise image as a data URI.
pub(crate) fn synthetic<R: RngCore>(
    rng: &mut R,
    width: u32,
    height: u32,
    format: ImageFormat,
) -> Result<String, DatasetError> {
    let len = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(3))
        .filter(|n| *n <= 1 << 30)
        .ok_or_else(|| DatasetError::Build {
            message: format!("image size {width}x{height} is too large (limit: 1 GiB of pixels)"),
        })?;
    let mut pixels = vec![0u8; len];
    rng.fill_bytes(&mut pixels);
    let mut out = Vec::new();
    let fail = |e: image::ImageError| DatasetError::Build {
        message: format!("cannot encode a {width}x{height} image: {e}"),
    };
    let mime = match format {
        ImageFormat::Png => {
            PngEncoder::new(&mut out)
                .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
                .map_err(fail)?;
            "image/png"
        }
        ImageFormat::Jpeg => {
            JpegEncoder::new_with_quality(Cursor::new(&mut out), JPEG_QUALITY)
                .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
                .map_err(fail)?;
            "image/jpeg"
        }
    };
    Ok(data_uri(mime, &out))
}

/// The original tool's synthetic image `id` (`compat = "original"`): the
/// pixels of NumPy's `default_rng(id)` (see `compat::image_pixels`), encoded as
/// PNG. The pixels equal the original's; the PNG bytes come from this encoder,
/// not the original's, so the files differ while decoding to the same image.
pub(crate) fn original_synthetic(id: u64, width: u32, height: u32) -> Result<String, DatasetError> {
    let len = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(3))
        .filter(|n| *n <= 1 << 30);
    if len.is_none() {
        return Err(DatasetError::Build {
            message: format!("image size {width}x{height} is too large (limit: 1 GiB of pixels)"),
        });
    }
    let pixels = super::compat::image_pixels(id, width, height);
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
        .map_err(|e| DatasetError::Build {
            message: format!("cannot encode a {width}x{height} image: {e}"),
        })?;
    Ok(data_uri("image/png", &out))
}

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The MIME type of encoded image bytes, from their signature.
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"BM") {
        Some("image/bmp")
    } else {
        None
    }
}

/// A dataset image as a data URI.
pub(crate) fn from_dataset(image: &ImageRef, origin: &str) -> Result<String, DatasetError> {
    let bytes = match image {
        ImageRef::DataUri(uri) => return Ok(uri.clone()),
        ImageRef::Bytes(b) => b.to_vec(),
        ImageRef::Path(p) => read_image(p, origin)?,
    };
    let mime = sniff(&bytes).ok_or_else(|| DatasetError::Image {
        origin: origin.to_string(),
        message: "an image is not PNG, JPEG, GIF, WebP or BMP".to_string(),
    })?;
    Ok(data_uri(mime, &bytes))
}

/// Reads an image file of at most [`MAX_IMAGE_BYTES`].
fn read_image(path: &std::path::Path, origin: &str) -> Result<Vec<u8>, DatasetError> {
    use std::io::Read as _;
    let fail = |message: String| DatasetError::Image {
        origin: origin.to_string(),
        message,
    };
    let file = std::fs::File::open(path)
        .map_err(|e| fail(format!("cannot read image {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_IMAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read image {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_IMAGE_BYTES {
        return Err(fail(format!(
            "image {} is larger than the {} MiB limit",
            path.display(),
            MAX_IMAGE_BYTES >> 20
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha12Rng;

    fn decode(uri: &str) -> Vec<u8> {
        let b64 = uri.split_once("base64,").unwrap().1;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    #[test]
    fn synthetic_images_decode_to_the_asked_size() {
        let mut rng = ChaCha12Rng::seed_from_u64(5);
        for (format, mime) in [
            (ImageFormat::Png, "image/png"),
            (ImageFormat::Jpeg, "image/jpeg"),
        ] {
            let uri = synthetic(&mut rng, 17, 9, format).unwrap();
            assert!(uri.starts_with(&format!("data:{mime};base64,")));
            let img = image::load_from_memory(&decode(&uri)).unwrap();
            assert_eq!((img.width(), img.height()), (17, 9));
        }
        let a = synthetic(&mut ChaCha12Rng::seed_from_u64(1), 8, 8, ImageFormat::Png).unwrap();
        let b = synthetic(&mut ChaCha12Rng::seed_from_u64(1), 8, 8, ImageFormat::Png).unwrap();
        let c = synthetic(&mut ChaCha12Rng::seed_from_u64(2), 8, 8, ImageFormat::Png).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn dataset_images_keep_their_bytes() {
        let png =
            decode(&synthetic(&mut ChaCha12Rng::seed_from_u64(1), 2, 2, ImageFormat::Png).unwrap());
        let uri = from_dataset(&ImageRef::Bytes(png.clone().into()), "t").unwrap();
        assert_eq!(decode(&uri), png);
        let err = from_dataset(&ImageRef::Bytes(b"nope".to_vec().into()), "ds x").unwrap_err();
        assert!(err.to_string().contains("ds x"));
        let missing =
            from_dataset(&ImageRef::Path("/nonexistent/a.png".into()), "ds y").unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/a.png"));
    }

    #[test]
    fn image_files_over_the_limit_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.png");
        // A sparse file: nothing past the limit is ever read.
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(MAX_IMAGE_BYTES + 1).unwrap();
        let err = from_dataset(&ImageRef::Path(path.clone()), "d.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("huge.png"), "{err}");
        assert!(err.contains("larger than the 64 MiB limit"), "{err}");
        // A small real image is read as before.
        std::fs::write(&path, b"\x89PNG\r\n\x1a\nrest").unwrap();
        let uri = from_dataset(&ImageRef::Path(path), "d.jsonl").unwrap();
        assert!(uri.starts_with("data:image/png;base64,"));
    }
}
