//! Reading a whole non-streamed body, or the first bytes of an error body.

use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::stream::{IdleGuard, ReadError};
use super::Failure;
use crate::client::transport::{chain_of, ProtoError};
use crate::record::{Outcome, TimeoutKind};

/// Reads a whole non-streamed body, at most `limit` bytes.
pub(super) async fn read_all<S>(
    mut body: IdleGuard<S>,
    limit: usize,
    content_length: Option<u64>,
) -> Result<Vec<u8>, Failure>
where
    S: Stream<Item = Result<Bytes, ProtoError>> + Unpin,
{
    let too_big = |size: u64| {
        Failure::new(
            Outcome::InvalidResponse,
            format!(
                "the response body ({size} bytes or more) is larger than max_event_bytes ({limit})"
            ),
        )
    };
    if let Some(len) = content_length {
        if len > limit as u64 {
            return Err(too_big(len));
        }
    }
    let cap = content_length.map_or(8 * 1024, |l| usize::try_from(l).unwrap_or(limit));
    let mut buf = Vec::with_capacity(cap.min(limit));
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => {
                if buf.len() + c.len() > limit {
                    return Err(too_big((buf.len() + c.len()) as u64));
                }
                buf.extend_from_slice(&c);
            }
            Err(ReadError::Idle(d)) => {
                return Err(Failure::timeout(
                    TimeoutKind::Idle,
                    format!("no data for {d:?} while reading the response body (idle timeout)"),
                ))
            }
            Err(ReadError::Body(e)) => {
                return Err(Failure::new(
                    Outcome::StreamCut,
                    format!(
                        "the connection failed while reading the response body after {} bytes: {}",
                        buf.len(),
                        chain_of(&e)
                    ),
                ))
            }
        }
    }
    Ok(buf)
}

/// Reads up to `max` bytes of a body, best effort (for error excerpts).
pub(super) async fn read_prefix<S>(body: &mut IdleGuard<S>, max: usize) -> Vec<u8>
where
    S: Stream<Item = Result<Bytes, ProtoError>> + Unpin,
{
    let mut buf = Vec::new();
    while buf.len() < max {
        match body.next().await {
            Some(Ok(c)) => buf.extend_from_slice(&c[..c.len().min(max - buf.len())]),
            _ => break,
        }
    }
    buf
}
