//! Opening connections: TCP, TLS, and the byte-counting stream a connection reads through.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{Conn, ConnState, SendError, Shared, Target};
use crate::clock::now_ns;

/// A connection's read buffer: each read asks for this much room. A response
/// head may grow it (up to `h1::MAX_HEAD`); a body never does, because body
/// bytes are handed on as they are decoded. With every read bounded, 4,096
/// saturated streams hold ~30 KiB each.
pub(super) const READ_BUFFER: usize = 8 * 1024;

/// Opens a connection: DNS, TCP and TLS within the connect timeout.
pub(super) async fn connect(shared: Arc<Shared>) -> Result<Conn, SendError> {
    let target = &shared.target;
    let started = now_ns();
    let stream = tokio::time::timeout(shared.connect_timeout, open_stream(target))
        .await
        .map_err(|_| SendError::ConnectTimeout(shared.connect_timeout))?
        .map_err(SendError::Connect)?;
    let state = Arc::new(ConnState::new(now_ns().saturating_sub(started)));
    shared.opened.fetch_add(1, Ordering::Relaxed);
    Ok(Conn {
        io: Counted {
            inner: stream,
            state: Arc::clone(&state),
        },
        buf: BytesMut::with_capacity(READ_BUFFER),
        state,
    })
}

/// TCP (each resolved address in turn) and, for https, TLS.
async fn open_stream(target: &Target) -> io::Result<Stream> {
    let addrs: Vec<SocketAddr> = match &target.host {
        url::Host::Ipv4(a) => vec![SocketAddr::from((*a, target.port))],
        url::Host::Ipv6(a) => vec![SocketAddr::from((*a, target.port))],
        url::Host::Domain(d) => tokio::net::lookup_host((d.as_str(), target.port))
            .await?
            .collect(),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host resolved to no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                return match &target.tls {
                    None => Ok(Stream::Plain(tcp)),
                    Some((connector, name)) => Ok(Stream::Tls(Box::new(
                        connector.connect(name.clone(), tcp).await?,
                    ))),
                };
            }
            Err(e) => last = io::Error::new(e.kind(), format!("{addr}: {e}")),
        }
    }
    Err(last)
}

/// The TLS connector: rustls with the process's crypto provider, the
/// platform's certificate verifier and ALPN `http/1.1`.
pub(super) fn tls_connector(
    host: &url::Host<String>,
) -> Result<
    (
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    ),
    String,
> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
        .map_err(|e| format!("cannot load the platform's TLS roots: {e}"))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = match host {
        url::Host::Domain(d) => rustls::pki_types::ServerName::try_from(d.clone())
            .map_err(|e| format!("`{d}` is not a valid TLS server name: {e}"))?,
        url::Host::Ipv4(a) => rustls::pki_types::ServerName::IpAddress((*a).into()),
        url::Host::Ipv6(a) => rustls::pki_types::ServerName::IpAddress((*a).into()),
    };
    Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
}

/// A TCP or TLS stream.
pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A stream that counts the bytes read from it.
pub(super) struct Counted {
    inner: Stream,
    state: Arc<ConnState>,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) {
            let n = (buf.filled().len() - before) as u64;
            this.state.bytes_read.fetch_add(n, Ordering::Release);
        }
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
