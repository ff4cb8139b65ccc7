//! Bytes → timestamped SSE events, as a pure stream adapter.
//!
//! [`TimedEventStream`] wraps any `Stream<Item = Result<Bytes, E>>` (a response
//! body, or a recorded byte stream in tests) and yields [`TimedEvent`]s. It is
//! built from three small pieces:
//!
//! 1. A tap (`ChunkTap`, private) reads the network chunks. It stamps each one
//!    with the injected clock **as it is read, before any decoding**, repairs
//!    invalid UTF-8 with a [`Utf8Repair`] (U+FFFD replacement, like a lossy
//!    decoder; a code point split across reads is kept until its last byte
//!    arrives), and hands the text to the parser one event at a time, cut by an
//!    [`EventSizeGuard`] that also enforces the size limit (so the parser's
//!    buffer holds at most one event, and events that precede an oversized one
//!    in the same read are still delivered).
//! 2. A line parser (`SseParser`, private) turns the repaired text into events
//!    as the SSE specification says: `data:` lines joined with `\n`, `event:`
//!    names (default `message`), `id:` kept from event to event, `retry:`
//!    milliseconds, `:` comments and unknown fields ignored, one space after
//!    the colon dropped, LF, CR or CRLF line ends, and an event with no data
//!    dispatches nothing. It works on bytes with `memchr` and keeps only a line
//!    that continues in a later read. An event whose data is one line inside
//!    one read (nearly every event) shares that read's buffer ([`Data`]); only
//!    data of several lines, or of a line split across reads, is copied.
//! 3. Each event is stamped with the arrival time of the chunk that completed it:
//!    the parser only pulls a new chunk when its buffer holds no complete event,
//!    so the most recently read chunk is always the one that completed the event
//!    being returned.
//!
//! At end of stream the tap feeds a blank line to the parser, so a last event
//! that lacks its terminating blank line is still delivered (flagged
//! [`TimedEvent::completed_at_eof`], stamped with the arrival of the last real
//! chunk). A truncated final event can thus be told apart from a malformed one.
//!
//! The adapter allocates nothing per chunk, and nothing per event beyond the
//! rare copies above and a copy of the last event ID when the server sends
//! IDs; state shared between the tap and the outer stream is two atomics (no
//! locks).

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

/// One server-sent event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// The event type: `message` unless an `event:` field named another.
    pub event: Cow<'static, str>,
    /// The event's `data:` values, joined by LF.
    pub data: Data,
    /// The last event ID (kept from event to event).
    pub id: String,
    /// The event's `retry`, when it had a valid one.
    pub retry: Option<std::time::Duration>,
}

/// An event's data. When it was one `data:` line inside one read (nearly
/// always), it shares that read's buffer instead of being copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Data(Bytes);

impl Data {
    /// The data's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The data as text. It is always UTF-8: the parser is fed repaired text
    /// and cuts it only at ASCII bytes (line ends, `:` and the space after
    /// it), so the empty string an invalid byte would give never occurs.
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Self {
        Data(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl PartialEq<&str> for Data {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// One SSE event and when it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedEvent {
    /// The parsed event (`event` is `"message"` unless the server named it).
    pub event: Event,
    /// Arrival time (on the injected clock) of the network chunk that completed the event.
    pub at_ns: u64,
    /// The stream ended before the event's terminating blank line: the event was
    /// completed by the end of the stream, so its last line may be truncated.
    pub completed_at_eof: bool,
}

/// Why the event stream stopped.
#[derive(Debug)]
pub enum SseError<E> {
    /// The underlying byte stream failed.
    Transport(E),
    /// One event (or unterminated data waiting for its end) grew past the limit.
    Oversize {
        /// The configured limit in bytes (`max_event_bytes`).
        limit: usize,
        /// Bytes buffered for the event when the limit was crossed.
        seen: usize,
    },
    /// The SSE parser rejected the input (not expected for repaired UTF-8 text).
    Parse(String),
}

impl<E: std::fmt::Display> std::fmt::Display for SseError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SseError::Transport(e) => write!(f, "{e}"),
            SseError::Oversize { limit, seen } => write!(
                f,
                "an SSE event grew to {seen} bytes without ending, over the limit of {limit} bytes \
                 (max_event_bytes)"
            ),
            SseError::Parse(e) => write!(f, "the SSE stream could not be parsed: {e}"),
        }
    }
}

/// Timestamped SSE events over a byte stream; see the module docs.
pub struct TimedEventStream<S, C> {
    tap: ChunkTap<S, C>,
    parser: SseParser,
    shared: Arc<TapShared>,
    limit: usize,
}

impl<S, C> TimedEventStream<S, C> {
    /// Wraps `bytes`; `clock` is read once per network chunk; events (or unterminated
    /// data) larger than `max_event_bytes` end the stream with [`SseError::Oversize`].
    pub fn new(bytes: S, max_event_bytes: usize, clock: C) -> Self {
        let shared = Arc::new(TapShared::default());
        let tap = ChunkTap {
            inner: bytes,
            clock,
            shared: Arc::clone(&shared),
            guard: EventSizeGuard::new(max_event_bytes),
            repair: Utf8Repair::default(),
            pending: Bytes::new(),
            started: false,
            after_cr: false,
            oversize: None,
            done: false,
        };
        TimedEventStream {
            tap,
            parser: SseParser::default(),
            shared,
            limit: max_event_bytes,
        }
    }
}

impl<S, E, C> Stream for TimedEventStream<S, C>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    C: Fn() -> u64 + Unpin,
{
    type Item = Result<TimedEvent, SseError<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            // Events already buffered go first: a new chunk is read only when the
            // parser holds no complete event, so the last chunk read is the one
            // that completed the event returned.
            match this.parser.next_event() {
                Ok(Some(event)) => {
                    return Poll::Ready(Some(Ok(TimedEvent {
                        event,
                        at_ns: this.shared.last_chunk_ns.load(Ordering::Relaxed),
                        completed_at_eof: this.shared.at_eof.load(Ordering::Relaxed),
                    })))
                }
                Ok(None) => {}
                Err(e) => return Poll::Ready(Some(Err(SseError::Parse(e)))),
            }
            match Pin::new(&mut this.tap).poll_next(cx) {
                Poll::Ready(Some(Ok(text))) => this.parser.push(text),
                Poll::Ready(Some(Err(TapError::Transport(e)))) => {
                    return Poll::Ready(Some(Err(SseError::Transport(e))))
                }
                Poll::Ready(Some(Err(TapError::Oversize(seen)))) => {
                    return Poll::Ready(Some(Err(SseError::Oversize {
                        limit: this.limit,
                        seen,
                    })))
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The SSE line grammar and event dispatch (see the module docs), fed with
/// valid UTF-8 text cut at character boundaries.
#[derive(Debug, Default)]
struct SseParser {
    /// Text not parsed yet.
    input: Bytes,
    /// The start of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// `line` ended with a CR at the end of the input: the next byte decides
    /// whether an LF belongs to that line end.
    cr_pending: bool,
    /// The current event's only `data` value so far, shared with its read.
    first: Option<Bytes>,
    /// The current event's `data` values joined by LF, once it has two.
    data: Vec<u8>,
    /// The event type buffer.
    event_type: String,
    /// The last event ID buffer (kept across events).
    id: String,
    /// The last `retry` of the current event.
    retry: Option<std::time::Duration>,
}

impl SseParser {
    /// Adds text to parse (call only once [`SseParser::next_event`] returned `None`).
    fn push(&mut self, text: Bytes) {
        debug_assert!(self.input.is_empty(), "push before the input was parsed");
        self.input = text;
    }

    /// Parses lines until an event is dispatched or the input runs out.
    ///
    /// A line that ends with a CR as the last byte of the input waits for the
    /// next byte: an LF there belongs to the same line end, so an event ending
    /// in CRLF is dispatched by the read that holds its final LF.
    ///
    /// # Errors
    /// When an `event`, `id` or `retry` value is not valid UTF-8 (not
    /// expected: the tap repairs the text before it gets here).
    fn next_event(&mut self) -> Result<Option<Event>, String> {
        loop {
            if self.cr_pending {
                if self.input.is_empty() {
                    return Ok(None);
                }
                self.cr_pending = false;
                if self.input[0] == b'\n' {
                    let _ = self.input.split_to(1);
                }
                if let Some(event) = self.held_line_done()? {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.input.is_empty() {
                return Ok(None);
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', &self.input) else {
                self.line.extend_from_slice(&self.input);
                self.input = Bytes::new();
                return Ok(None);
            };
            let cr = self.input[end] == b'\r';
            if cr && end + 1 == self.input.len() {
                self.line.extend_from_slice(&self.input[..end]);
                self.input = Bytes::new();
                self.cr_pending = true;
                return Ok(None);
            }
            let eol = if cr && self.input[end + 1] == b'\n' {
                2
            } else {
                1
            };
            let line = self.input.split_to(end + eol);
            if self.input.is_empty() {
                // Let go of the read buffer this text came from, so the
                // connection can read into it again instead of a new one.
                self.input = Bytes::new();
            }
            let event = if self.line.is_empty() {
                self.line_done(line.slice(..end))?
            } else {
                self.line.extend_from_slice(&line[..end]);
                self.held_line_done()?
            };
            if let Some(event) = event {
                return Ok(Some(event));
            }
        }
    }

    /// Handles the line gathered in `self.line` (a line split across reads),
    /// keeping its allocation.
    fn held_line_done(&mut self) -> Result<Option<Event>, String> {
        let whole = Bytes::copy_from_slice(&self.line);
        self.line.clear();
        self.line_done(whole)
    }

    /// Handles one complete line (without its line end).
    fn line_done(&mut self, line: Bytes) -> Result<Option<Event>, String> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let (name, value) = match memchr::memchr(b':', &line) {
            Some(colon) => {
                let space = usize::from(line.get(colon + 1) == Some(&b' '));
                (&line[..colon], colon + 1 + space)
            }
            None => (&line[..], line.len()),
        };
        let value_bytes = &line[value..];
        match name {
            b"data" => {
                if self.first.is_none() && self.data.is_empty() {
                    self.first = Some(line.slice(value..));
                } else {
                    if let Some(first) = self.first.take() {
                        self.data.extend_from_slice(&first);
                    }
                    self.data.push(b'\n');
                    self.data.extend_from_slice(value_bytes);
                }
            }
            b"event" => self.event_type = text(value_bytes)?.to_owned(),
            // An id with a NUL is ignored.
            b"id" if !value_bytes.contains(&0) => self.id = text(value_bytes)?.to_owned(),
            // A retry that is not a number is ignored.
            b"retry" => {
                if let Ok(ms) = text(value_bytes)?.parse::<u64>() {
                    self.retry = Some(std::time::Duration::from_millis(ms));
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// The empty line: the event gathered so far, unless it has no data.
    fn dispatch(&mut self) -> Result<Option<Event>, String> {
        let event_type = std::mem::take(&mut self.event_type);
        let retry = self.retry.take();
        let data = match self.first.take() {
            Some(only) => only,
            None if self.data.is_empty() => return Ok(None),
            None => Bytes::from(std::mem::take(&mut self.data)),
        };
        Ok(Some(Event {
            event: if event_type.is_empty() {
                Cow::Borrowed("message")
            } else {
                Cow::Owned(event_type)
            },
            data: Data(data),
            id: self.id.clone(),
            retry,
        }))
    }
}

/// `bytes` as text.
fn text(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| format!("an SSE field is not UTF-8: {e}"))
}

/// State the tap publishes for the outer stream (written by the tap, read right after).
#[derive(Default)]
struct TapShared {
    /// Arrival time of the most recently read network chunk.
    last_chunk_ns: AtomicU64,
    /// The byte stream has ended; events from now on were completed by its end.
    at_eof: AtomicBool,
}

/// Errors the tap passes through the parser.
#[derive(Debug)]
enum TapError<E> {
    Transport(E),
    Oversize(usize),
}

/// Reads network chunks: stamps, size-checks and UTF-8-repairs them.
struct ChunkTap<S, C> {
    inner: S,
    clock: C,
    shared: Arc<TapShared>,
    guard: EventSizeGuard,
    repair: Utf8Repair,
    /// Repaired text of the last read not yet given to the parser.
    pending: Bytes,
    /// Some text has been passed to the parser.
    started: bool,
    /// The last text given to the parser ended with a CR.
    after_cr: bool,
    /// An oversize error to report on the next poll.
    oversize: Option<usize>,
    done: bool,
}

/// The first text given to the parser, without a leading byte-order mark (the
/// SSE grammar allows one, at the very start of the stream).
fn first_text(text: Bytes) -> Bytes {
    if text.starts_with("\u{feff}".as_bytes()) {
        text.slice(3..)
    } else {
        text
    }
}

impl<S, E, C> Stream for ChunkTap<S, C>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    C: Fn() -> u64 + Unpin,
{
    type Item = Result<Bytes, TapError<E>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(seen) = this.oversize.take() {
            this.done = true;
            return Poll::Ready(Some(Err(TapError::Oversize(seen))));
        }
        loop {
            if !this.pending.is_empty() {
                // Hand the parser one event at a time, so that the events
                // before an oversized one in the same read are still delivered.
                let end = match this.guard.next_piece(&this.pending) {
                    Ok(end) => end,
                    Err(seen) => {
                        this.pending = Bytes::new();
                        if this.after_cr {
                            // The last text ended with a lone CR, which ended its
                            // line (and possibly an event) already; an LF now is
                            // the rest of that line end and changes nothing. It
                            // is sent so the parser settles the line end the
                            // same way whatever the read boundaries were, then
                            // the error is reported.
                            this.after_cr = false;
                            this.oversize = Some(seen);
                            return Poll::Ready(Some(Ok(Bytes::from_static(b"\n"))));
                        }
                        this.done = true;
                        return Poll::Ready(Some(Err(TapError::Oversize(seen))));
                    }
                };
                let piece = this.pending.split_to(end);
                if this.pending.is_empty() {
                    // Hold no reference to the read buffer (see `SseParser::next_event`).
                    this.pending = Bytes::new();
                }
                this.after_cr = piece.last() == Some(&b'\r');
                if this.started {
                    return Poll::Ready(Some(Ok(piece)));
                }
                this.started = true;
                return Poll::Ready(Some(Ok(first_text(piece))));
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    // Stamp first: the arrival time must not include any decoding.
                    let at = (this.clock)();
                    if chunk.is_empty() {
                        continue;
                    }
                    this.shared.last_chunk_ns.store(at, Ordering::Relaxed);
                    this.pending = this.repair.push(chunk);
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(TapError::Transport(e))));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    this.shared.at_eof.store(true, Ordering::Relaxed);
                    // Flush: an incomplete code point becomes U+FFFD, and a blank
                    // line delivers a final event that lacked its own.
                    let mut tail = this.repair.finish().unwrap_or_default();
                    tail.extend_from_slice(b"\n\n");
                    let tail = Bytes::from(tail);
                    if this.started {
                        return Poll::Ready(Some(Ok(tail)));
                    }
                    this.started = true;
                    return Poll::Ready(Some(Ok(first_text(tail))));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Bounds the bytes buffered for one event.
///
/// It follows the SSE line grammar on bytes (LF, CR or CRLF end a line; an
/// empty line ends an event; lines starting with `:` are comments): the size of
/// the current event is the bytes of its completed field lines plus the current
/// unterminated line. Comment lines are discarded by the parser, so they count
/// only while unterminated. [`EventSizeGuard::next_piece`] fails as soon as that
/// size exceeds the limit, so the parser's buffers never hold more than the limit.
/// Sizes are counted on the repaired text (an invalid byte counts as the three
/// bytes of its U+FFFD).
#[derive(Clone, Debug)]
pub struct EventSizeGuard {
    limit: usize,
    /// Bytes of completed non-comment lines (with their line ends) in the current event.
    event_len: usize,
    /// Bytes of the current, unterminated line.
    line_len: usize,
    line_is_comment: bool,
    /// The previous byte was a CR (a following LF belongs to the same line end).
    after_cr: bool,
}

impl EventSizeGuard {
    /// A guard for events of at most `limit` bytes.
    #[must_use]
    pub fn new(limit: usize) -> Self {
        EventSizeGuard {
            limit,
            event_len: 0,
            line_len: 0,
            line_is_comment: false,
            after_cr: false,
        }
    }

    /// Accounts for the next bytes of the stream, up to and including the first
    /// event boundary (an empty line, with the LF of its CRLF when present) in
    /// `bytes`, and returns how many bytes that is (all of them when there is no
    /// boundary).
    ///
    /// # Errors
    /// The buffered size of the current event (in bytes) once it exceeds the limit.
    pub fn next_piece(&mut self, bytes: &[u8]) -> Result<usize, usize> {
        let mut pos = 0;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            let end = memchr::memchr2(b'\n', b'\r', rest);
            self.line_bytes(&rest[..end.unwrap_or(rest.len())]);
            // Checked before the line end too: a comment line is dropped there,
            // but was buffered whole until then.
            self.check()?;
            let boundary = match end {
                None => {
                    pos = bytes.len();
                    false
                }
                Some(i) => {
                    pos += i + 1;
                    self.line_end(rest[i])
                }
            };
            self.check()?;
            if boundary {
                if bytes[pos - 1] == b'\r' && bytes.get(pos) == Some(&b'\n') {
                    self.line_end(b'\n');
                    pos += 1;
                }
                return Ok(pos);
            }
        }
        Ok(pos)
    }

    /// Accounts for all of `bytes`.
    ///
    /// # Errors
    /// As [`EventSizeGuard::next_piece`].
    pub fn scan(&mut self, mut bytes: &[u8]) -> Result<(), usize> {
        while !bytes.is_empty() {
            let n = self.next_piece(bytes)?;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Fails with the buffered size of the current event when it is over the limit.
    fn check(&self) -> Result<(), usize> {
        let size = self.event_len + self.line_len;
        if size > self.limit {
            Err(size)
        } else {
            Ok(())
        }
    }

    fn line_bytes(&mut self, seg: &[u8]) {
        if seg.is_empty() {
            return;
        }
        if self.line_len == 0 {
            self.line_is_comment = seg[0] == b':';
        }
        self.line_len += seg.len();
        self.after_cr = false;
    }

    /// Ends a line; true when it was the empty line that ends an event.
    fn line_end(&mut self, byte: u8) -> bool {
        if byte == b'\n' && self.after_cr {
            // The LF of a CRLF: the line already ended at the CR.
            self.after_cr = false;
            return false;
        }
        let blank = self.line_len == 0;
        if blank {
            self.event_len = 0;
        } else if !self.line_is_comment {
            self.event_len += self.line_len + 1;
        }
        self.line_len = 0;
        self.after_cr = byte == b'\r';
        blank
    }
}

/// Turns arbitrary bytes into valid UTF-8, chunk by chunk, like a lossy decoder.
///
/// Each maximal invalid sequence becomes U+FFFD. A code point cut by a chunk
/// boundary is held back (at most 3 bytes) until the next chunk, so the output
/// does not depend on where the input was split. Valid chunks with nothing held
/// back pass through without a copy.
#[derive(Clone, Debug, Default)]
pub struct Utf8Repair {
    pending: Vec<u8>,
}

impl Utf8Repair {
    /// The valid UTF-8 text that `chunk` completes (possibly empty).
    pub fn push(&mut self, chunk: Bytes) -> Bytes {
        if self.pending.is_empty() {
            match std::str::from_utf8(&chunk) {
                Ok(_) => return chunk,
                Err(e) if e.error_len().is_none() => {
                    let valid = e.valid_up_to();
                    self.pending.extend_from_slice(&chunk[valid..]);
                    return chunk.slice(..valid);
                }
                Err(_) => {}
            }
        }
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(&chunk);
        let mut out = Vec::with_capacity(input.len() + 8);
        let mut rest = &input[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(_) => {
                    out.extend_from_slice(rest);
                    break;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.extend_from_slice(&rest[..valid]);
                    match e.error_len() {
                        Some(bad) => {
                            out.extend_from_slice("\u{FFFD}".as_bytes());
                            rest = &rest[valid + bad..];
                        }
                        None => {
                            self.pending.extend_from_slice(&rest[valid..]);
                            break;
                        }
                    }
                }
            }
        }
        Bytes::from(out)
    }

    /// At end of input: what is still held back, as U+FFFD (None when nothing is).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        if self.pending.is_empty() {
            return None;
        }
        self.pending.clear();
        Some("\u{FFFD}".as_bytes().to_vec())
    }
}

#[cfg(test)]
pub(in crate::client) mod tests;
