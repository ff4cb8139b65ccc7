//! [`PooledBody`]: a response body decoded from its connection in the
//! request's task, which hands the connection back to the pool when it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use super::connect::READ_BUFFER;
use super::h1::{Decoder, Framing, ProtoError, Step};
use super::{Conn, Shared};

/// A response body: a stream of its bytes as they are decoded (a chunk's data,
/// or what one read brought of a `Content-Length` body), ending with the body.
///
/// Every poll decodes what the connection's buffer holds before it reads
/// again, so all the chunks one read carries come out without a wake-up. The
/// connection goes back to the pool as soon as the body's end has been
/// decoded (when the response allows reuse and nothing follows it), so a
/// closed loop's next request finds it; a body dropped before its end closes
/// its connection.
pub struct PooledBody {
    /// The connection, until the body ends or fails.
    conn: Option<(Conn, Arc<Shared>)>,
    decoder: Decoder,
    /// The response allows another request on the connection.
    reusable: bool,
    /// An error found while settling the framing after the last data, reported next.
    pending: Option<ProtoError>,
}

impl PooledBody {
    pub(super) fn new(conn: Conn, shared: Arc<Shared>, framing: Framing, reusable: bool) -> Self {
        let mut body = PooledBody {
            conn: Some((conn, shared)),
            decoder: Decoder::new(framing),
            reusable,
            pending: None,
        };
        if body.decoder == Decoder::Done {
            body.release();
        }
        body
    }

    /// The body has ended: the connection goes back to the pool if it may.
    fn release(&mut self) {
        if let Some((conn, shared)) = self.conn.take() {
            if self.reusable && conn.buf.is_empty() {
                shared.put_back(conn);
            }
        }
    }
}

impl Stream for PooledBody {
    type Item = Result<Bytes, ProtoError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(e) = this.pending.take() {
            this.conn = None;
            return Poll::Ready(Some(Err(e)));
        }
        loop {
            let Some((conn, _)) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            match this.decoder.step(&mut conn.buf, true) {
                Ok(Step::Data(bytes)) => {
                    // Settle the framing that follows, so a body whose end is
                    // already buffered releases its connection now.
                    match this.decoder.step(&mut conn.buf, false) {
                        Ok(Step::Done) => this.release(),
                        Ok(_) => {}
                        Err(e) => this.pending = Some(e),
                    }
                    return Poll::Ready(Some(Ok(bytes)));
                }
                Ok(Step::Done) => {
                    this.release();
                    return Poll::Ready(None);
                }
                Ok(Step::NeedMore) => {}
                Err(e) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            conn.buf.reserve(READ_BUFFER);
            match tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    // The server closed: the body ends here or is incomplete;
                    // either way the connection is gone.
                    this.conn = None;
                    return match this.decoder.at_eof() {
                        Ok(()) => Poll::Ready(None),
                        Err(e) => Poll::Ready(Some(Err(e))),
                    };
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }
}
