//! The HTTP/1.1 transport of measured requests: its own HTTP/1.1 codec
//! ([`h1`]) driven in the request's task, under its own keep-alive pool, so
//! that every connection is opened, counted, timed and retired by rules this
//! module states, and every read is decoded where it is timestamped.
//!
//! A general-purpose client pool (reqwest's) hides which connection a request
//! went on, cannot open connections ahead of the load, and cannot tell a
//! request that never reached the server from one that did. A benchmark needs
//! all three, so measured requests go through this transport (preflight GETs
//! still use reqwest).
//!
//! # Connections
//! One origin per transport (the endpoint's base URL): TCP with `TCP_NODELAY`,
//! and TLS (rustls, the platform's roots, ALPN `http/1.1`) for `https`. The
//! connect timeout covers DNS, TCP and TLS. A connection carries one request at
//! a time: the request's task writes it, reads the response head and decodes
//! the body from the connection's read buffer (no task of its own, no channel
//! between the socket and the request). Its **connect
//! time** (DNS + TCP + TLS) is kept; a request that had to open a connection
//! reports it (`connect_ms` in the record), a request on a pooled one reports
//! none. The application bytes read from every connection are counted (under
//! TLS, after decryption).
//!
//! # The pool
//! Idle connections wait in a last-in-first-out list of at most `max_idle`
//! (raised by [`Transport::preconnect`]). A connection goes back when its
//! response has been read to its end with nothing after it; it is *not* pooled
//! when the response said `Connection: close` or had no length (see [`h1`]),
//! when it has carried `M` more requests since a response that said
//! `Keep-Alive: max=M`, or when the server was seen closing connections after
//! streamed responses (below). At checkout, an idle connection is skipped (and
//! closed) when a non-blocking look at its socket finds it closed (or holding
//! bytes no request asked for), or when it has been idle for longer than its limit:
//!
//! ```text
//! idle limit = DEFAULT_IDLE (4 s)                                 no Keep-Alive timeout announced
//!            = min(DEFAULT_IDLE, T − 1 s) when T > 2 s, else T / 2   the last response said Keep-Alive: timeout=T
//! ```
//!
//! so a connection is retired by the client before the server's idle timer can
//! close it under a request (most servers close idle connections after 5 s
//! and many never announce it).
//!
//! # The reconnect rule
//! A request that fails on a **pooled** connection (one it did not open) with
//! **no response byte read** since it was handed to the connection — writing
//! it failed, or the connection ended (EOF, reset, broken pipe) before any
//! byte of a response — is sent once more on a **fresh**
//! connection, and the record's `reconnects` is 1. Nothing else is retried
//! here: a request that received any byte, failed on a connection it opened
//! itself, or timed out is a failure as it happened. A server that closes a
//! kept-alive connection as a request arrives discards the request unread
//! (that is what closing means), so the retry cannot run a request twice.
//!
//! # Servers that close after streamed responses
//! Some servers announce keep-alive but close the connection right after the
//! last chunk of every streamed (chunked) response; llama.cpp's `llama-server`
//! does (README: Real servers). A client that reuses such a connection at
//! once races the server's FIN. The transport notices it: a pooled connection
//! whose last response was chunked and that the server closed within
//! [`QUICK_CLOSE`] of going idle counts as an unannounced close, and after
//! [`QUICK_CLOSES_TO_LEARN`] of them connections are closed by the client when
//! a chunked response ends instead of being pooled. The next request then opens
//! a fresh connection (its `connect_ms` is recorded) instead of racing the
//! server. Responses with a `Content-Length` are pooled as before.
//!
//! # Preconnect
//! [`Transport::preconnect`] opens connections until `n` live ones are idle,
//! so a load's first requests find a connection waiting instead of queueing
//! behind handshakes. They are real connections (TCP and TLS, no request),
//! opened concurrently (at most
//! [`PRECONNECT_PARALLEL`] at a time) and counted like any other.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::header::{HeaderMap, HeaderValue};
use http::{Method, Response, Uri};
use tokio::io::{AsyncRead as _, AsyncReadExt as _, AsyncWriteExt as _, ReadBuf};
use tokio::time::Instant;

use crate::clock::now_ns;

mod body;
mod connect;
pub mod h1;
pub use body::PooledBody;
use connect::{connect, tls_connector, Counted, READ_BUFFER};
pub use h1::ProtoError;

/// Longest idle time of a pooled connection when the server announced none.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(4);

/// A server closing a pooled connection this soon after its chunked response
/// ended counts as closing unannounced.
pub const QUICK_CLOSE: Duration = Duration::from_millis(100);

/// Unannounced closes after which chunked responses' connections are not pooled.
pub const QUICK_CLOSES_TO_LEARN: u32 = 2;

/// Connections [`Transport::preconnect`] opens at the same time.
pub const PRECONNECT_PARALLEL: usize = 64;

/// Where the transport connects: one origin.
struct Target {
    /// Host as written in the URL (brackets stripped for IPv6).
    host: url::Host<String>,
    port: u16,
    /// The `Host` header value: host, and the port when it is not the scheme's default.
    authority: HeaderValue,
    /// TLS: the connector and the name to verify.
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
}

/// What the request that used (or opened) a connection learns about it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConnUse {
    /// DNS + TCP + TLS time of the connection this request opened and waited
    /// for (ns); `None` when it went on a pooled connection.
    pub connect_ns: Option<u64>,
    /// Transparent re-sends on a fresh connection (0 or 1; see the module docs).
    pub reconnects: u32,
    /// The request went on a connection from the pool.
    pub pooled: bool,
    /// [`crate::clock::now_ns`] when the request's last byte was handed to the
    /// kernel (its write and flush completed); a re-sent request's second
    /// write. `None` when it was never written in full.
    pub sent_at_ns: Option<u64>,
}

/// A request to send: everything but the `Host` header, which the transport adds.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub method: Method,
    /// Origin-form target: path and query, e.g. `/v1/chat/completions`.
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// DNS, TCP and TLS did not finish within the connect timeout.
    #[error("no connection within {0:?} (connect timeout)")]
    ConnectTimeout(Duration),
    /// DNS, TCP or TLS failed.
    #[error("{0}")]
    Connect(#[source] io::Error),
    /// The connection failed before response headers.
    #[error("{0}")]
    Request(#[source] ProtoError),
}

impl SendError {
    /// DNS, TCP or TLS failed or timed out (no connection was made).
    #[must_use]
    pub fn is_connect(&self) -> bool {
        !matches!(self, SendError::Request(_))
    }
}

/// What [`Transport::preconnect`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preconnected {
    /// Live idle connections found in the pool.
    pub reused: usize,
    /// Connections opened.
    pub opened: usize,
    /// Connections that could not be opened.
    pub failed: usize,
    /// The first failure's cause.
    pub error: Option<String>,
}

/// Per-connection state, shared by the pool, the request that uses it and its I/O.
#[derive(Debug)]
struct ConnState {
    /// DNS + TCP + TLS time, ns.
    connect_ns: u64,
    /// Application bytes read so far.
    bytes_read: AtomicU64,
    /// Requests sent on it.
    requests: AtomicU32,
    /// The server's `Keep-Alive: timeout` of the last response, ms (0 = none).
    server_idle_ms: AtomicU64,
    /// Requests this connection may carry (from `Keep-Alive: max`; `u32::MAX` = no bound).
    request_budget: AtomicU32,
    /// The last response had a chunked body.
    last_chunked: AtomicBool,
    /// When it last went idle ([`now_ns`], 0 = never).
    idle_since_ns: AtomicU64,
    /// [`IN_USE`], [`IDLE`] or [`DROPPED`].
    phase: AtomicU8,
    /// Its close was counted as unannounced.
    close_counted: AtomicBool,
}

/// Carrying a request (or just opened).
const IN_USE: u8 = 0;
/// Waiting in the pool.
const IDLE: u8 = 1;
/// Closed by the client (dropped).
const DROPPED: u8 = 2;

impl ConnState {
    fn new(connect_ns: u64) -> Self {
        ConnState {
            connect_ns,
            bytes_read: AtomicU64::new(0),
            requests: AtomicU32::new(0),
            server_idle_ms: AtomicU64::new(0),
            request_budget: AtomicU32::new(u32::MAX),
            last_chunked: AtomicBool::new(false),
            idle_since_ns: AtomicU64::new(0),
            phase: AtomicU8::new(IN_USE),
            close_counted: AtomicBool::new(false),
        }
    }

    /// How long it may stay idle (see the module docs).
    fn idle_limit(&self) -> Duration {
        match self.server_idle_ms.load(Ordering::Relaxed) {
            0 => DEFAULT_IDLE,
            ms => DEFAULT_IDLE.min(idle_limit_for(Duration::from_millis(ms))),
        }
    }

    /// Counts, once, a close by the server at `closed_ns` that came within
    /// [`QUICK_CLOSE`] of the connection going idle after a chunked response.
    fn note_server_close(&self, closed_ns: u64, shared: &Shared) {
        let idle = self.idle_since_ns.load(Ordering::Relaxed);
        let quick = self.last_chunked.load(Ordering::Relaxed)
            && idle > 0
            && closed_ns >= idle
            && closed_ns - idle <= u64::try_from(QUICK_CLOSE.as_nanos()).unwrap_or(u64::MAX);
        if quick && !self.close_counted.swap(true, Ordering::Relaxed) {
            shared.quick_closes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The client's idle limit for a server that announced `Keep-Alive: timeout=T`.
#[must_use]
pub fn idle_limit_for(server: Duration) -> Duration {
    if server > Duration::from_secs(2) {
        server - Duration::from_secs(1)
    } else {
        server / 2
    }
}

/// `timeout` and `max` of a `Keep-Alive` header value (either may be absent).
#[must_use]
pub fn parse_keep_alive(value: &str) -> (Option<Duration>, Option<u32>) {
    let (mut timeout, mut max) = (None, None);
    for part in value.split(',') {
        let Some((key, val)) = part.split_once('=') else {
            continue;
        };
        let val = val.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "timeout" => timeout = val.parse::<u64>().ok().map(Duration::from_secs),
            "max" => max = val.parse::<u32>().ok(),
            _ => {}
        }
    }
    (timeout, max)
}

/// A live connection, outside the pool. Dropping it closes it.
struct Conn {
    io: Counted,
    /// Bytes read and not decoded yet.
    buf: BytesMut,
    state: Arc<ConnState>,
}

impl Conn {
    /// A non-blocking look at an idle connection's socket: false when the
    /// server closed it (or it failed, or it holds bytes no request asked for).
    fn is_live(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut one = [0u8; 1];
        let mut rb = ReadBuf::new(&mut one);
        Pin::new(&mut self.io)
            .poll_read(&mut cx, &mut rb)
            .is_pending()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.state.phase.store(DROPPED, Ordering::Relaxed);
    }
}

/// An idle connection in the pool.
struct Idle {
    conn: Conn,
    /// Not reused from this instant on.
    expires: Instant,
}

/// The pool and its counters.
struct Shared {
    target: Target,
    connect_timeout: Duration,
    max_idle: AtomicUsize,
    idle: Mutex<Vec<Idle>>,
    /// Connections opened (successfully) so far.
    opened: AtomicU64,
    /// Unannounced closes seen (see the module docs).
    quick_closes: AtomicU32,
    /// Woken when a connection goes (back) into the pool.
    returned: tokio::sync::Notify,
}

/// A keep-alive pool of HTTP/1.1 connections to one origin. Cloning shares the pool.
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("host", &self.shared.target.host)
            .field("port", &self.shared.target.port)
            .field("idle", &self.idle_connections())
            .field("opened", &self.connections_opened())
            .finish()
    }
}

impl Transport {
    /// A transport to the origin of `base_url` (http or https) keeping at most
    /// `max_idle` idle connections.
    ///
    /// # Errors
    /// When the URL has no host, or the TLS configuration cannot be built; the
    /// message says which.
    pub fn new(
        base_url: &url::Url,
        connect_timeout: Duration,
        max_idle: usize,
    ) -> Result<Self, String> {
        let host = base_url
            .host()
            .ok_or_else(|| format!("`{base_url}` has no host"))?
            .to_owned();
        let port = base_url
            .port_or_known_default()
            .ok_or_else(|| format!("`{base_url}` has no port"))?;
        let host_text = base_url.host_str().unwrap_or_default();
        let authority = match base_url.port() {
            Some(p) => format!("{host_text}:{p}"),
            None => host_text.to_owned(),
        };
        let authority = HeaderValue::from_str(&authority)
            .map_err(|_| format!("`{authority}` is not a valid Host header"))?;
        let tls = match base_url.scheme() {
            "http" => None,
            "https" => Some(tls_connector(&host)?),
            other => return Err(format!("scheme `{other}` is not http or https")),
        };
        Ok(Transport {
            shared: Arc::new(Shared {
                target: Target {
                    host,
                    port,
                    authority,
                    tls,
                },
                connect_timeout,
                max_idle: AtomicUsize::new(max_idle.max(1)),
                idle: Mutex::new(Vec::new()),
                opened: AtomicU64::new(0),
                quick_closes: AtomicU32::new(0),
                returned: tokio::sync::Notify::new(),
            }),
        })
    }

    /// Connections opened so far (preconnected, opened by requests and by reconnects).
    #[must_use]
    pub fn connections_opened(&self) -> u64 {
        self.shared.opened.load(Ordering::Relaxed)
    }

    /// Idle connections in the pool (some may have been closed by the server since).
    #[must_use]
    pub fn idle_connections(&self) -> usize {
        self.shared.lock_idle().len()
    }

    /// Whether chunked responses' connections are closed instead of pooled
    /// (the server was seen closing them; see the module docs).
    #[must_use]
    pub fn closes_after_chunked(&self) -> bool {
        self.shared.quick_closes.load(Ordering::Relaxed) >= QUICK_CLOSES_TO_LEARN
    }

    /// Opens connections until `n` live ones are idle (at most
    /// [`PRECONNECT_PARALLEL`] at a time), raising the pool's size to `n`.
    /// Expired and closed idle connections are dropped first. Never fails:
    /// connections that cannot be opened are counted in the result.
    pub async fn preconnect(&self, n: usize) -> Preconnected {
        let shared = &self.shared;
        shared.max_idle.fetch_max(n, Ordering::Relaxed);
        let live = {
            let mut idle = shared.lock_idle();
            let now = Instant::now();
            idle.retain_mut(|i| i.expires > now && shared.is_live(&mut i.conn));
            idle.len()
        };
        let need = n.saturating_sub(live);
        let results: Vec<Result<Conn, SendError>> = futures::stream::iter(0..need)
            .map(|_| connect(Arc::clone(shared)))
            .buffer_unordered(PRECONNECT_PARALLEL)
            .collect()
            .await;
        let mut out = Preconnected {
            reused: live,
            ..Preconnected::default()
        };
        for r in results {
            match r {
                Ok(conn) => {
                    out.opened += 1;
                    shared.put(conn);
                }
                Err(e) => {
                    out.failed += 1;
                    if out.error.is_none() {
                        out.error = Some(chain_of(&e));
                    }
                }
            }
        }
        out
    }

    /// Sends `out`: on a pooled connection when one is live, else on a new one,
    /// and once more on a fresh connection when the reconnect rule says so
    /// (module docs). `used` is filled as it goes, so a caller that drops this
    /// future (timeout, cancellation) still knows what happened.
    ///
    /// # Errors
    /// When no response headers arrived; the connection is then closed.
    pub async fn send(
        &self,
        out: &Outgoing,
        used: &mut ConnUse,
    ) -> Result<Response<PooledBody>, SendError> {
        let shared = &self.shared;
        let conn = acquire(shared, used).await?;
        match send_on(shared, conn, out, &mut used.sent_at_ns).await {
            Ok(resp) => Ok(resp),
            Err(failed) if used.pooled && failed.never_answered() => {
                failed.state.note_server_close(now_ns(), shared);
                used.reconnects += 1;
                let conn = connect(Arc::clone(shared)).await?;
                used.connect_ns = Some(conn.state.connect_ns);
                send_on(shared, conn, out, &mut used.sent_at_ns)
                    .await
                    .map_err(|f| f.error)
            }
            Err(failed) => Err(failed.error),
        }
    }
}

/// A pooled connection when one is live; else a new one, unless a connection
/// comes back to the pool while it is being opened (the request then takes
/// that one, and the new connection is pooled when it is ready). This is how a
/// closed loop's next request finds the connection its previous request is
/// just releasing.
async fn acquire(shared: &Arc<Shared>, used: &mut ConnUse) -> Result<Conn, SendError> {
    let returned = shared.returned.notified();
    tokio::pin!(returned);
    returned.as_mut().enable();
    if let Some(c) = shared.checkout() {
        used.pooled = true;
        return Ok(c);
    }
    let mut connecting = Box::pin(connect(Arc::clone(shared)));
    loop {
        tokio::select! {
            biased;
            () = &mut returned => {
                returned.set(shared.returned.notified());
                returned.as_mut().enable();
                if let Some(c) = shared.checkout() {
                    used.pooled = true;
                    let pool = Arc::clone(shared);
                    tokio::spawn(async move {
                        if let Ok(conn) = connecting.await {
                            pool.put(conn);
                        }
                    });
                    return Ok(c);
                }
            }
            r = &mut connecting => {
                let c = r?;
                used.connect_ns = Some(c.state.connect_ns);
                return Ok(c);
            }
        }
    }
}

/// A failed attempt and what is known about it.
struct Failed {
    error: SendError,
    /// The connection it failed on.
    state: Arc<ConnState>,
    /// Bytes read from the connection while the request was on it.
    bytes_read: u64,
}

impl Failed {
    /// The reconnect rule: writing failed or the connection ended (EOF, reset,
    /// broken pipe) before any response byte.
    fn never_answered(&self) -> bool {
        self.bytes_read == 0 && matches!(&self.error, SendError::Request(e) if e.is_closed())
    }
}

/// Sends on `conn`, stamping `sent_at` once the request is written; on
/// success, the response's body carries the connection back to the pool once
/// it has been read to its end.
async fn send_on(
    shared: &Arc<Shared>,
    mut conn: Conn,
    out: &Outgoing,
    sent_at: &mut Option<u64>,
) -> Result<Response<PooledBody>, Failed> {
    let before = conn.state.bytes_read.load(Ordering::Acquire);
    conn.state.requests.fetch_add(1, Ordering::Relaxed);
    let request = h1::encode_request(out, &shared.target.authority);
    match write_and_read_head(&mut conn, &request, &out.method, sent_at).await {
        Ok((head, framing, reusable)) => {
            note_response(&conn.state, &head.headers, framing);
            let body = PooledBody::new(conn, Arc::clone(shared), framing, reusable);
            let mut resp = Response::new(body);
            *resp.status_mut() = head.status;
            *resp.version_mut() = head.version;
            *resp.headers_mut() = head.headers;
            Ok(resp)
        }
        Err(e) => {
            let bytes_read = conn
                .state
                .bytes_read
                .load(Ordering::Acquire)
                .saturating_sub(before);
            Err(Failed {
                error: SendError::Request(e),
                state: Arc::clone(&conn.state),
                bytes_read,
            })
        }
    }
}

/// Writes `request` (stamping `sent_at` when the write completes) and reads
/// the response head (skipping interim responses).
async fn write_and_read_head(
    conn: &mut Conn,
    request: &[u8],
    method: &Method,
    sent_at: &mut Option<u64>,
) -> Result<(h1::Head, h1::Framing, bool), ProtoError> {
    *sent_at = None;
    conn.io.write_all(request).await?;
    conn.io.flush().await?;
    *sent_at = Some(now_ns());
    loop {
        if let Some(head) = h1::parse_head(&mut conn.buf)? {
            let (framing, reusable) = h1::framing(method, &head)?;
            return Ok((head, framing, reusable));
        }
        conn.buf.reserve(READ_BUFFER);
        if conn.io.read_buf(&mut conn.buf).await? == 0 {
            return Err(if conn.buf.is_empty() {
                ProtoError::ClosedBeforeResponse
            } else {
                ProtoError::ClosedInHead
            });
        }
    }
}

/// Reads what the response says about its connection (its framing as
/// [`h1::framing`] classified it).
fn note_response(state: &ConnState, headers: &HeaderMap, framing: h1::Framing) {
    state
        .last_chunked
        .store(framing == h1::Framing::Chunked, Ordering::Relaxed);
    if let Some(ka) = headers.get("keep-alive").and_then(|v| v.to_str().ok()) {
        let (timeout, max) = parse_keep_alive(ka);
        if let Some(t) = timeout {
            let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1);
            state.server_idle_ms.store(ms, Ordering::Relaxed);
        }
        if let Some(m) = max {
            // At most `max` further requests after any response that says so
            // (read as a remaining count, so a server counting down and one
            // repeating its total both bound the connection).
            let used = state.requests.load(Ordering::Relaxed);
            state
                .request_budget
                .fetch_min(used.saturating_add(m), Ordering::Relaxed);
        }
    }
}

impl Shared {
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently pooled live connection, or None. Closed and expired
    /// ones are dropped (and unannounced closes counted) on the way.
    fn checkout(&self) -> Option<Conn> {
        let now = Instant::now();
        let mut idle = self.lock_idle();
        while let Some(mut entry) = idle.pop() {
            if entry.expires <= now || !self.is_live(&mut entry.conn) {
                continue;
            }
            entry.conn.state.phase.store(IN_USE, Ordering::Relaxed);
            return Some(entry.conn);
        }
        None
    }

    /// [`Conn::is_live`], counting a close by the server that came soon after
    /// a chunked response (see the module docs).
    fn is_live(&self, conn: &mut Conn) -> bool {
        let live = conn.is_live();
        if !live {
            conn.state.note_server_close(now_ns(), self);
        }
        live
    }

    /// Pools a fresh connection (preconnect, or one a request opened but did not need).
    fn put(&self, conn: Conn) {
        self.push(conn, Instant::now() + DEFAULT_IDLE);
    }

    fn push(&self, conn: Conn, expires: Instant) {
        {
            let mut idle = self.lock_idle();
            if idle.len() >= self.max_idle.load(Ordering::Relaxed) {
                return;
            }
            conn.state.phase.store(IDLE, Ordering::Relaxed);
            idle.push(Idle { conn, expires });
        }
        self.returned.notify_waiters();
    }

    /// Pools a connection whose response was read to its end, unless one of
    /// the module docs' rules retires it.
    fn put_back(&self, conn: Conn) {
        let state = &conn.state;
        state.idle_since_ns.store(now_ns(), Ordering::Relaxed);
        if state.requests.load(Ordering::Relaxed) >= state.request_budget.load(Ordering::Relaxed) {
            return;
        }
        if state.last_chunked.load(Ordering::Relaxed)
            && self.quick_closes.load(Ordering::Relaxed) >= QUICK_CLOSES_TO_LEARN
        {
            return;
        }
        let expires = Instant::now() + state.idle_limit();
        self.push(conn, expires);
    }
}

/// An error and its sources joined with `: ` (repeated messages once).
pub(super) fn chain_of(e: &(dyn std::error::Error + 'static)) -> String {
    join_chain(e.to_string(), e.source())
}

pub(super) fn join_chain(
    top: String,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    let mut parts: Vec<String> = vec![top];
    while let Some(err) = source {
        let msg = err.to_string();
        if !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        source = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests;
