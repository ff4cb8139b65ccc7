//! Values derived from a point's identity and load: its seed, how load values
//! are written in ids and tables, and the default request counts per run (the
//! rules are described in [`super::matrix`]).

use sha2::{Digest, Sha256};

use crate::manifest::raw::defaults;

/// The seed of the point `point_id` under experiment seed `seed`: the first
/// 8 bytes (big-endian) of SHA-256(`"{seed}|{point_id}"`).
#[must_use]
pub fn point_seed(seed: u64, point_id: &str) -> u64 {
    let digest = Sha256::digest(format!("{seed}|{point_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// A load value as written in ids and tables: integers without a decimal point,
/// other numbers in their shortest exact form (`0.5`, `2.25`).
#[must_use]
pub fn format_value(v: f64) -> String {
    format!("{v}")
}

/// Default requests per run in concurrency mode: `max(64, 8·c)`.
#[must_use]
pub fn default_concurrency_requests(concurrency: u32) -> u32 {
    concurrency
        .saturating_mul(defaults::REQUESTS_PER_SLOT)
        .max(defaults::MIN_REQUESTS)
}

/// Default requests per run in rate mode: `ceil(rate × duration_s)` (at least 1)
/// when a duration is given, else `max(64, ceil(8·rate))`.
#[must_use]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn default_rate_requests(rate: f64, duration_s: Option<f64>) -> u32 {
    // Float → int casts saturate; inputs are validated positive and finite.
    match duration_s {
        Some(d) => ((rate * d).ceil() as u32).max(1),
        None => ((rate * f64::from(defaults::REQUESTS_PER_SLOT)).ceil() as u32)
            .max(defaults::MIN_REQUESTS),
    }
}
