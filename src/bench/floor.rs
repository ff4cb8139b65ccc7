//! The floor: what one read per event costs on this machine before any client
//! work, measured beside each capacity level.
//!
//! The same streams, the same request body and the same simulator process as
//! the level, read by the thinnest reader the runtime allows: one task per
//! stream on the client's runtime, a plain `TcpStream` (`TCP_NODELAY`), the
//! request written as one buffer, the response read into an 8 KiB buffer (one
//! per worker thread) and thrown away. It parses nothing: it counts the SSE
//! events in each read (occurrences of `data: `) and knows a response has
//! ended when its bytes end with the chunked terminator `0\r\n\r\n`. What it spends is the runtime's
//! wake-up and the system calls (`epoll_wait`, `recvfrom` and the ACK each read
//! sends), the part of the client's CPU per event no parsing can remove.
//!
//! ```text
//! floor µs CPU/event = (cpu(w1) − cpu(w0)) / E_floor × 10⁶
//!                      E_floor = `data: ` occurrences read in [w0, w1)
//! ```
//!
//! `E_floor` counts every SSE event, the role, finish, usage and `[DONE]`
//! events too (4 per response, 1.6 % at 256 events per request), where the
//! client's `E` counts token events only: the floor is, if anything, low.
//!
//! A second reader, [`measure_epoll`], does the same without the async
//! runtime: one thread (on the client's CPUs) and one `epoll` set over
//! non-blocking sockets, one `read` per readiness. It is the floor of a
//! hand-written event loop: what remains of the client's CPU per event when
//! neither the runtime's task wake-ups nor any parsing is paid.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use http::Method;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use super::system::CpuSnapshot;
use crate::client::transport::h1::encode_request;
use crate::client::transport::Outgoing;
use crate::error::Error;

/// What the floor reader measured at one level.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Floor {
    /// SSE events read in the window (`E_floor`).
    pub events: u64,
    /// Events per second in the window.
    pub events_per_s: f64,
    /// CPU µs per event (None when no event was read).
    pub cpu_us_per_event: Option<f64>,
    /// Client CPU cores busy during the window.
    pub client_cpu: f64,
}

/// Where the floor reader connects and what it sends.
struct Target {
    addr: String,
    request: Bytes,
}

impl Target {
    /// `POST {path}/chat/completions` to the simulator at `base_url` with `body`
    /// and the client's content headers, encoded as the client encodes requests.
    fn new(base_url: &str, body: &[u8]) -> Result<Target, Error> {
        let url = url::Url::parse(base_url).map_err(|e| Error::Bench {
            message: format!("floor reader: `{base_url}` is not a URL: {e}"),
            hint: None,
        })?;
        let host = url.host_str().unwrap_or("127.0.0.1");
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = format!("{host}:{port}");
        let path = format!("{}/chat/completions", url.path().trim_end_matches('/'));
        let invalid = |what: &str| Error::Bench {
            message: format!("floor reader: {what} of `{base_url}` is not valid in a request"),
            hint: None,
        };
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let out = Outgoing {
            method: Method::POST,
            uri: path.parse().map_err(|_| invalid("the path"))?,
            headers,
            body: Bytes::copy_from_slice(body),
        };
        let host = HeaderValue::from_str(&addr).map_err(|_| invalid("the host"))?;
        Ok(Target {
            request: Bytes::from(encode_request(&out, &host)),
            addr,
        })
    }
}

/// Counters shared by the floor's streams.
#[derive(Default)]
struct Shared {
    /// Count events from now on.
    open: AtomicBool,
    events: AtomicU64,
    /// Streams that read one whole response.
    warmed: AtomicUsize,
}

/// Runs `streams` floor readers against the simulator at `base_url`, warms up
/// until each read one whole response (at most `max_warmup`), then measures
/// over `window`.
///
/// # Errors
/// When the simulator's address cannot be read from `base_url`.
pub async fn measure(
    base_url: &str,
    body: &[u8],
    streams: u32,
    window: Duration,
    max_warmup: Duration,
) -> Result<Floor, Error> {
    let target = Arc::new(Target::new(base_url, body)?);
    let shared = Arc::new(Shared::default());
    let tasks: Vec<_> = (0..streams)
        .map(|_| tokio::spawn(read_loop(Arc::clone(&target), Arc::clone(&shared))))
        .collect();
    let until = tokio::time::Instant::now() + max_warmup;
    while shared.warmed.load(Ordering::Acquire) < streams as usize
        && tokio::time::Instant::now() < until
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shared.open.store(true, Ordering::Release);
    let cpu0 = CpuSnapshot::this_process();
    let e0 = shared.events.load(Ordering::Acquire);
    let t0 = tokio::time::Instant::now();
    tokio::time::sleep(window).await;
    let e1 = shared.events.load(Ordering::Acquire);
    let cpu1 = CpuSnapshot::this_process();
    let elapsed = t0.elapsed();
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(floor_of(e1 - e0, elapsed, &cpu0, &cpu1))
}

thread_local! {
    /// The read buffer of the floor's streams on this thread (8 KiB, like a connection's).
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 8 * 1024]);
}

/// One stream: request, read to the end, again; ends on any error.
async fn read_loop(target: Arc<Target>, shared: Arc<Shared>) {
    let Ok(mut tcp) = TcpStream::connect(&target.addr).await else {
        return;
    };
    if tcp.set_nodelay(true).is_err() {
        return;
    }
    let finder = memchr::memmem::Finder::new(b"data: ");
    let mut first = true;
    loop {
        if tcp.write_all(&target.request).await.is_err() {
            return;
        }
        let mut tail = [0u8; 5];
        loop {
            if tcp.readable().await.is_err() {
                return;
            }
            // Read into the worker thread's buffer: no stream holds one of its
            // own, so the floor adds no memory the next level would inherit.
            let done = READ_BUF.with_borrow_mut(|buf| match tcp.try_read(buf) {
                Ok(0) => Err(()),
                Ok(n) => {
                    let read = &buf[..n];
                    if shared.open.load(Ordering::Relaxed) {
                        let events = finder.find_iter(read).count() as u64;
                        shared.events.fetch_add(events, Ordering::Relaxed);
                    }
                    Ok(ends_response(&mut tail, read))
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
                Err(_) => Err(()),
            });
            match done {
                Ok(true) => break,
                Ok(false) => {}
                Err(()) => return,
            }
        }
        if first {
            first = false;
            shared.warmed.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// The floor of a hand-written event loop: like [`measure`], on one thread of
/// its own with `epoll` instead of the runtime.
///
/// # Errors
/// When the simulator's address cannot be read, or the thread cannot be started.
pub async fn measure_epoll(
    base_url: &str,
    body: &[u8],
    streams: u32,
    window: Duration,
    max_warmup: Duration,
) -> Result<Floor, Error> {
    let target = Target::new(base_url, body)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Started from a runtime worker, the thread inherits its CPU pinning.
    std::thread::Builder::new()
        .name("floor-epoll".into())
        .spawn(move || {
            let _ = tx.send(epoll::run(&target, streams as usize, window, max_warmup));
        })
        .map_err(|e| Error::Bench {
            message: format!("floor reader: cannot start its thread: {e}"),
            hint: None,
        })?;
    rx.await
        .map_err(|_| Error::Bench {
            message: "floor reader: its thread ended without a result".into(),
            hint: None,
        })?
        .map_err(|e| Error::Bench {
            message: format!("floor reader (epoll): {e}"),
            hint: None,
        })
}

mod epoll {
    //! The `epoll` loop of [`super::measure_epoll`].

    use std::io::{self, Read as _, Write as _};
    use std::net::TcpStream;
    use std::os::fd::AsRawFd as _;
    use std::time::{Duration, Instant};

    use super::{ends_response, Floor, Target};
    use crate::bench::system::CpuSnapshot;

    /// One stream's socket and where its response stands.
    struct Conn {
        tcp: TcpStream,
        tail: [u8; 5],
        responses: u32,
    }

    /// An `epoll` instance, closed on drop.
    struct Epoll(i32);

    impl Epoll {
        /// Stops watching `tcp` (a connection that failed).
        fn remove(&self, tcp: &TcpStream) {
            // SAFETY: both descriptors are open; a null event is allowed for DEL.
            unsafe {
                libc::epoll_ctl(
                    self.0,
                    libc::EPOLL_CTL_DEL,
                    tcp.as_raw_fd(),
                    std::ptr::null_mut(),
                )
            };
        }
    }

    impl Drop for Epoll {
        fn drop(&mut self) {
            // SAFETY: the descriptor was returned by epoll_create1 and is closed once.
            unsafe { libc::close(self.0) };
        }
    }

    pub(super) fn run(
        target: &Target,
        streams: usize,
        window: Duration,
        max_warmup: Duration,
    ) -> io::Result<Floor> {
        // SAFETY: plain system call; the result is checked.
        let ep = Epoll(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) });
        if ep.0 < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut conns = Vec::with_capacity(streams);
        for i in 0..streams {
            let mut tcp = TcpStream::connect(&target.addr)?;
            tcp.set_nodelay(true)?;
            tcp.write_all(&target.request)?;
            tcp.set_nonblocking(true)?;
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: i as u64,
            };
            // SAFETY: both descriptors are open; `ev` outlives the call.
            if unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, tcp.as_raw_fd(), &mut ev) } != 0
            {
                return Err(io::Error::last_os_error());
            }
            conns.push(Conn {
                tcp,
                tail: [0; 5],
                responses: 0,
            });
        }
        let finder = memchr::memmem::Finder::new(b"data: ");
        let mut buf = vec![0u8; 8 * 1024];
        let mut ready = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
        let started = Instant::now();
        let mut window_start: Option<(Instant, CpuSnapshot)> = None;
        let mut events = 0u64;
        let mut live = streams;
        loop {
            let now = Instant::now();
            match &window_start {
                None => {
                    let warmed = conns.iter().all(|c| c.responses > 0);
                    if warmed || now - started >= max_warmup {
                        window_start = Some((now, CpuSnapshot::this_process()));
                    }
                }
                Some((t0, cpu0)) if now - *t0 >= window => {
                    let cpu1 = CpuSnapshot::this_process();
                    return Ok(super::floor_of(events, now - *t0, cpu0, &cpu1));
                }
                Some(_) => {}
            }
            if live == 0 {
                return Err(io::Error::other("every connection failed"));
            }
            // SAFETY: `ready` holds `ready.len()` events and outlives the call.
            let n = unsafe { libc::epoll_wait(ep.0, ready.as_mut_ptr(), ready.len() as i32, 50) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for ev in &ready[..n as usize] {
                let conn = &mut conns[ev.u64 as usize];
                let got = match conn.tcp.read(&mut buf) {
                    Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(got) => Ok(got),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => Err(e),
                };
                let Ok(got) = got else {
                    ep.remove(&conn.tcp);
                    live -= 1;
                    continue;
                };
                let read = &buf[..got];
                if window_start.is_some() {
                    events += finder.find_iter(read).count() as u64;
                }
                if ends_response(&mut conn.tail, read) {
                    conn.responses += 1;
                    // The send buffer is empty between responses: the request fits.
                    if conn.tcp.write_all(&target.request).is_err() {
                        ep.remove(&conn.tcp);
                        live -= 1;
                    }
                }
            }
        }
    }
}

/// The figures of a window of `elapsed` in which `events` were read.
fn floor_of(events: u64, elapsed: Duration, cpu0: &CpuSnapshot, cpu1: &CpuSnapshot) -> Floor {
    let secs = elapsed.as_secs_f64();
    let cpu_s = cpu1
        .cpu_ns
        .unwrap_or(0)
        .saturating_sub(cpu0.cpu_ns.unwrap_or(0)) as f64
        / 1e9;
    Floor {
        events,
        events_per_s: if secs > 0.0 {
            events as f64 / secs
        } else {
            0.0
        },
        cpu_us_per_event: (events > 0).then(|| cpu_s * 1e6 / events as f64),
        client_cpu: if secs > 0.0 { cpu_s / secs } else { 0.0 },
    }
}

/// Keeps the last 5 bytes read in `tail`; true when they are `0\r\n\r\n`.
fn ends_response(tail: &mut [u8; 5], read: &[u8]) -> bool {
    if read.len() >= 5 {
        tail.copy_from_slice(&read[read.len() - 5..]);
    } else {
        tail.rotate_left(read.len());
        tail[5 - read.len()..].copy_from_slice(read);
    }
    tail == b"0\r\n\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminator_is_found_across_reads() {
        let mut tail = [0u8; 5];
        assert!(!ends_response(&mut tail, b"data: x\r\n\r\n"));
        assert!(!ends_response(&mut tail, b"\r\n0\r"));
        assert!(ends_response(&mut tail, b"\n\r\n"));
        assert!(!ends_response(&mut tail, b"5\r\nhello\r\n"));
        assert!(ends_response(&mut tail, b"\r\n0\r\n\r\n"));
    }

    #[test]
    fn the_request_is_the_clients_shape() {
        let t = Target::new("http://127.0.0.1:8123/v1", b"{}").expect("target");
        assert_eq!(t.addr, "127.0.0.1:8123");
        let text = std::str::from_utf8(&t.request).expect("utf8");
        assert!(text.starts_with("POST /v1/chat/completions HTTP/1.1\r\n"));
        assert!(text.contains("\r\ncontent-length: 2\r\n\r\n{}"));
    }
}
