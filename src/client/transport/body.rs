//! [`PooledBody`]: a response body that hands its connection back to the pool
//! when it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as _, Incoming};

use super::{Conn, Shared};

/// A response body that returns its connection to the pool when it ends.
///
/// At the body's end the connection goes back at once when hyper already says
/// it can take another request (so a closed loop's next request finds it),
/// else a task waits for hyper to say so. A body dropped before its end takes
/// its connection with it (hyper closes a connection whose response was not
/// read).
pub struct PooledBody {
    pub(super) inner: Incoming,
    pub(super) conn: Option<(Conn, Arc<Shared>)>,
}

impl PooledBody {
    fn release(&mut self) {
        let Some((mut conn, shared)) = self.conn.take() else {
            return;
        };
        if conn.sender.is_ready() {
            shared.put_back(conn);
        } else if !conn.sender.is_closed() {
            tokio::spawn(async move {
                // An error means the connection closed (e.g. `Connection: close`).
                if conn.sender.ready().await.is_ok() {
                    shared.put_back(conn);
                }
            });
        }
    }
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.release(),
            Poll::Ready(Some(Err(_))) => this.conn = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        if self.inner.is_end_stream() {
            self.release();
        }
    }
}
