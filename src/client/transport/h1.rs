//! HTTP/1.1 on one connection, in the request's own task: the request's bytes,
//! the response head, and the body's framing.
//!
//! The request's task writes the request, reads the head and then decodes the
//! body straight from the connection's read buffer, so a read that carries
//! several chunks costs one wake-up, not one per chunk. Everything here is
//! plain functions on a byte buffer; the I/O is in `super::body` and
//! `super::send_on`.
//!
//! # Framing of a response body (RFC 9112 §6.3)
//!
//! ```text
//! HEAD request, 1xx, 204, 304           → no body
//! Transfer-Encoding, last = chunked     → chunked; the connection may be reused
//! Transfer-Encoding, other              → until the server closes; not reused
//! Content-Length: n (all values equal)  → n bytes; the connection may be reused
//! none of these                         → until the server closes; not reused
//! reused only if, also:  HTTP/1.1 without `Connection: close`,
//!                        or HTTP/1.0 with `Connection: keep-alive`,
//!                        and no byte follows the body
//! ```
//!
//! Interim responses (1xx other than 101) are skipped. A chunk's extensions
//! and the trailer fields are read and dropped. A head is at most
//! [`MAX_HEAD`] bytes and [`MAX_HEADERS`] fields; a chunk-size or trailer
//! line at most [`MAX_LINE`] bytes.

use std::fmt::Write as _;

use bytes::{Buf as _, Bytes, BytesMut};
use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING,
};
use http::{Method, StatusCode, Version};

use super::Outgoing;

/// The largest response head read (bytes).
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header fields in a response head.
pub const MAX_HEADERS: usize = 128;
/// The longest chunk-size or trailer line (bytes).
pub const MAX_LINE: usize = 4 * 1024;

/// What went wrong on a connection.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The server closed the connection before any byte of a response.
    #[error("the server closed the connection before responding")]
    ClosedBeforeResponse,
    /// The server closed the connection inside the response head.
    #[error("the server closed the connection inside the response head")]
    ClosedInHead,
    /// The server closed the connection before the body's end.
    #[error("the server closed the connection before the end of the body ({0})")]
    ClosedInBody(&'static str),
    /// The server sent something that is not HTTP/1.1.
    #[error("invalid HTTP/1.1 response: {0}")]
    Invalid(String),
}

impl ProtoError {
    /// The connection ended (closed, reset, broken pipe) rather than the server
    /// sending something invalid.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        match self {
            ProtoError::ClosedBeforeResponse
            | ProtoError::ClosedInHead
            | ProtoError::ClosedInBody(_) => true,
            ProtoError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::NotConnected
            ),
            ProtoError::Invalid(_) => false,
        }
    }
}

fn invalid(what: impl Into<String>) -> ProtoError {
    ProtoError::Invalid(what.into())
}

/// Fields the transport writes itself; the caller's values of these are dropped.
fn set_by_transport(name: &HeaderName) -> bool {
    name == http::header::HOST || name == CONTENT_LENGTH || name == TRANSFER_ENCODING
}

/// The request's bytes: request line, `host`, the caller's fields,
/// `content-length`, then the body.
#[must_use]
pub fn encode_request(out: &Outgoing, host: &HeaderValue) -> Vec<u8> {
    let target = out
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let mut bytes = Vec::with_capacity(512 + out.body.len());
    let _ = write!(
        ByteSink(&mut bytes),
        "{} {target} HTTP/1.1\r\nhost: ",
        out.method
    );
    bytes.extend_from_slice(host.as_bytes());
    bytes.extend_from_slice(b"\r\n");
    for (name, value) in &out.headers {
        if set_by_transport(name) {
            continue;
        }
        bytes.extend_from_slice(name.as_str().as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    if !out.body.is_empty() || (out.method != Method::GET && out.method != Method::HEAD) {
        let _ = write!(
            ByteSink(&mut bytes),
            "content-length: {}\r\n",
            out.body.len()
        );
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&out.body);
    bytes
}

/// `write!` into a byte vector.
struct ByteSink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A parsed response head.
#[derive(Debug)]
pub struct Head {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
}

/// Parses a response head at the start of `buf` and removes it (with any
/// interim 1xx responses before it). `Ok(None)`: the head is not complete yet.
///
/// # Errors
/// When the bytes are not an HTTP/1.x response head, the head is larger than
/// [`MAX_HEAD`], or the status is 101.
pub fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, ProtoError> {
    loop {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut fields);
        let len = match resp.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err(invalid(format!(
                        "the response head is larger than {} KiB",
                        MAX_HEAD / 1024
                    )));
                }
                return Ok(None);
            }
            Err(e) => return Err(invalid(format!("cannot parse the response head: {e}"))),
        };
        let code = resp.code.unwrap_or(0);
        let status = StatusCode::from_u16(code)
            .map_err(|_| invalid(format!("status {code} is not a valid HTTP status")))?;
        let version = if resp.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        let mut headers = HeaderMap::with_capacity(resp.headers.len());
        for f in resp.headers.iter() {
            let name = HeaderName::from_bytes(f.name.as_bytes())
                .map_err(|_| invalid(format!("`{}` is not a valid header name", f.name)))?;
            let value = HeaderValue::from_bytes(f.value)
                .map_err(|_| invalid(format!("the value of `{}` is not valid", f.name)))?;
            headers.append(name, value);
        }
        buf.advance(len);
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(invalid(
                "the server switched protocols (101), which a benchmark request never asks for",
            ));
        }
        if status.is_informational() {
            continue;
        }
        return Ok(Some(Head {
            status,
            version,
            headers,
        }));
    }
}

/// How a response body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// The body's framing and whether the connection may carry another request
/// after it (see the module docs).
///
/// # Errors
/// When `Content-Length` is not a number or its values differ.
pub fn framing(method: &Method, head: &Head) -> Result<(Framing, bool), ProtoError> {
    let h = &head.headers;
    let tokens = |name: HeaderName| {
        h.get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
    };
    let connection = tokens(CONNECTION);
    let mut reusable = if head.version == Version::HTTP_10 {
        connection.iter().any(|t| t == "keep-alive")
    } else {
        !connection.iter().any(|t| t == "close")
    };
    let code = head.status.as_u16();
    if *method == Method::HEAD || head.status.is_informational() || code == 204 || code == 304 {
        return Ok((Framing::Empty, reusable));
    }
    let codings = tokens(TRANSFER_ENCODING);
    if !codings.is_empty() {
        if codings.last().is_some_and(|c| c == "chunked") {
            return Ok((Framing::Chunked, reusable));
        }
        return Ok((Framing::UntilClose, false));
    }
    let mut length: Option<u64> = None;
    for v in h.get_all(CONTENT_LENGTH) {
        for part in v.to_str().unwrap_or("x").split(',') {
            let n: u64 = part.trim().parse().map_err(|_| {
                invalid(format!("Content-Length `{}` is not a number", part.trim()))
            })?;
            if length.is_some_and(|l| l != n) {
                return Err(invalid(
                    "the response has two different Content-Length values",
                ));
            }
            length = Some(n);
        }
    }
    match length {
        Some(0) => Ok((Framing::Empty, reusable)),
        Some(n) => Ok((Framing::Length(n), reusable)),
        None => {
            reusable = false;
            Ok((Framing::UntilClose, reusable))
        }
    }
}

/// Where a body's decoding stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// This many bytes of a `Content-Length` body are still to come.
    Length(u64),
    /// Expecting a chunk-size line.
    ChunkSize,
    /// This many bytes of the current chunk are still to come.
    ChunkData(u64),
    /// Expecting the CRLF after a chunk's data.
    ChunkEnd,
    /// Expecting trailer lines, up to an empty line.
    Trailers,
    /// Everything until the server closes.
    UntilClose,
    /// The body has ended.
    Done,
}

/// One decoding step's result.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Body bytes.
    Data(Bytes),
    /// The buffer holds no more to decode: read more.
    NeedMore,
    /// The body has ended.
    Done,
}

impl Decoder {
    /// The decoder for a body of `framing`.
    #[must_use]
    pub fn new(framing: Framing) -> Decoder {
        match framing {
            Framing::Empty | Framing::Length(0) => Decoder::Done,
            Framing::Length(n) => Decoder::Length(n),
            Framing::Chunked => Decoder::ChunkSize,
            Framing::UntilClose => Decoder::UntilClose,
        }
    }

    /// Decodes from `buf` until body bytes are found, more input is needed, or
    /// the body ends. With `data` false it stops before taking body bytes
    /// (returning [`Step::NeedMore`]), which settles the framing that follows
    /// the last data without reading on.
    ///
    /// # Errors
    /// When the chunked framing is broken.
    pub fn step(&mut self, buf: &mut BytesMut, data: bool) -> Result<Step, ProtoError> {
        loop {
            match *self {
                Decoder::Done => return Ok(Step::Done),
                Decoder::Length(left) | Decoder::ChunkData(left) => {
                    if buf.is_empty() || !data {
                        return Ok(Step::NeedMore);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let bytes = buf.split_to(take).freeze();
                    let rest = left - take as u64;
                    *self = match (*self, rest) {
                        (Decoder::Length(_), 0) => Decoder::Done,
                        (Decoder::Length(_), r) => Decoder::Length(r),
                        (_, 0) => Decoder::ChunkEnd,
                        (_, r) => Decoder::ChunkData(r),
                    };
                    return Ok(Step::Data(bytes));
                }
                Decoder::UntilClose => {
                    if buf.is_empty() || !data {
                        return Ok(Step::NeedMore);
                    }
                    return Ok(Step::Data(buf.split().freeze()));
                }
                Decoder::ChunkSize => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(Step::NeedMore);
                    };
                    let size = chunk_size(&line)?;
                    *self = if size == 0 {
                        Decoder::Trailers
                    } else {
                        Decoder::ChunkData(size)
                    };
                }
                Decoder::ChunkEnd => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(Step::NeedMore);
                    };
                    if !line.is_empty() {
                        return Err(invalid("a chunk's data is longer than its size"));
                    }
                    *self = Decoder::ChunkSize;
                }
                Decoder::Trailers => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(Step::NeedMore);
                    };
                    if line.is_empty() {
                        *self = Decoder::Done;
                    }
                }
            }
        }
    }

    /// What the end of the connection means here: `Ok` when the body ends with
    /// it, else why the body is incomplete.
    ///
    /// # Errors
    /// When the body was framed and had not ended.
    pub fn at_eof(&mut self) -> Result<(), ProtoError> {
        match *self {
            Decoder::Done => Ok(()),
            Decoder::UntilClose => {
                *self = Decoder::Done;
                Ok(())
            }
            Decoder::Length(_) => Err(ProtoError::ClosedInBody(
                "fewer bytes than its Content-Length",
            )),
            _ => Err(ProtoError::ClosedInBody("no final chunk")),
        }
    }
}

/// Removes one line (ended by LF, an optional CR before it dropped) from `buf`.
fn take_line(buf: &mut BytesMut) -> Result<Option<BytesMut>, ProtoError> {
    match memchr::memchr(b'\n', buf) {
        Some(end) => {
            let mut line = buf.split_to(end + 1);
            line.truncate(end);
            if line.last() == Some(&b'\r') {
                line.truncate(end - 1);
            }
            Ok(Some(line))
        }
        None if buf.len() > MAX_LINE => Err(invalid(format!(
            "a chunk-size or trailer line is longer than {MAX_LINE} bytes"
        ))),
        None => Ok(None),
    }
}

/// The size of a chunk-size line (hex digits, then optional extensions).
fn chunk_size(line: &[u8]) -> Result<u64, ProtoError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = &line[digits..];
    let rest_ok = rest.is_empty() || matches!(rest[0], b';' | b' ' | b'\t');
    if digits == 0 || digits > 15 || !rest_ok {
        return Err(invalid(format!(
            "`{}` is not a chunk size",
            String::from_utf8_lossy(line)
        )));
    }
    let hex = std::str::from_utf8(&line[..digits]).unwrap_or("0");
    u64::from_str_radix(hex, 16).map_err(|e| invalid(format!("chunk size `{hex}`: {e}")))
}

#[cfg(test)]
mod tests;
