//! The per-request timing log, for fidelity checks against the client.
//!
//! Every inference request (chat, completions, embeddings, rerank, score; not
//! `/health`, `/v1/models`, `/metrics` or `/tokenize`) produces exactly one
//! [`SimRequestLog`] when it ends: normally, with a fault, or because the client
//! went away. All times are [`crate::clock::now_ns`], the clock the client uses.
//! Each request builds its entry privately and pushes it once, when it ends,
//! into a shared `Mutex<Vec>`, so the per-token path takes no lock.

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::vocab::FaultKind;

/// What the simulator did with one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimRequestLog {
    /// Arrival order among inference requests (0-based): the `seq` of the fault rule.
    pub seq: u64,
    /// The `x-request-id` header, when the request had one.
    pub request_id: Option<String>,
    /// The request path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The request asked for an SSE stream (false when its body was never
    /// parsed: refuse, 500 and 429 faults, 400 answers).
    pub stream: bool,
    /// When the request's headers were parsed (the timing model's origin).
    pub arrival_ns: u64,
    /// When the first body bytes were handed to the connection (the role chunk for
    /// streamed chat, the first token for streamed completions, the whole body
    /// otherwise); `None` when no body byte was sent.
    pub first_byte_ns: Option<u64>,
    /// One time per generation step, in order. Streams: when the step's token
    /// event(s) were handed to the connection. Non-streamed responses: when the
    /// step's tokens were generated (the body goes out after the last one).
    /// Empty for pooling requests.
    pub token_ns: Vec<u64>,
    /// The prompt-token estimate used for `usage` and prefill.
    pub prompt_tokens: u32,
    /// HTTP status sent; `None` when the connection was closed without a response.
    pub status: Option<u16>,
    /// The fault injected, if any.
    pub fault: Option<FaultKind>,
    /// True when the whole response was produced (`[DONE]` for streams); false
    /// after a fault that ends the response early or when the client went away.
    pub completed: bool,
}

/// The shared list of finished entries.
#[derive(Debug, Default)]
pub struct LogStore {
    entries: Mutex<Vec<SimRequestLog>>,
}

impl LogStore {
    /// Appends one finished entry.
    pub fn push(&self, entry: SimRequestLog) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    /// A copy of every entry so far, in completion order.
    #[must_use]
    pub fn snapshot(&self) -> Vec<SimRequestLog> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Removes and returns every entry so far.
    #[must_use]
    pub fn take(&self) -> Vec<SimRequestLog> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Builds one request's entry and pushes it to the store when dropped.
/// Without a store (logging disabled) every method is a no-op.
pub struct Recorder {
    entry: Option<(SimRequestLog, Arc<LogStore>)>,
}

impl Recorder {
    /// Most token times reserved up front (the vector grows past it if needed).
    const RESERVE_TOKENS: u32 = 4_096;

    /// A recorder for a request that arrived at `arrival_ns`.
    #[must_use]
    pub fn new(
        store: Option<&Arc<LogStore>>,
        seq: u64,
        request_id: Option<String>,
        path: &str,
        arrival_ns: u64,
    ) -> Recorder {
        Recorder {
            entry: store.map(|store| {
                let entry = SimRequestLog {
                    seq,
                    request_id,
                    path: path.to_owned(),
                    stream: false,
                    arrival_ns,
                    first_byte_ns: None,
                    token_ns: Vec::new(),
                    prompt_tokens: 0,
                    status: None,
                    fault: None,
                    completed: false,
                };
                (entry, Arc::clone(store))
            }),
        }
    }

    fn with(&mut self, f: impl FnOnce(&mut SimRequestLog)) {
        if let Some((entry, _)) = &mut self.entry {
            f(entry);
        }
    }

    /// Records the request's shape once the body is parsed.
    pub fn request(&mut self, stream: bool, prompt_tokens: u32, max_tokens: u32) {
        self.with(|e| {
            e.stream = stream;
            e.prompt_tokens = prompt_tokens;
            e.token_ns
                .reserve(max_tokens.min(Self::RESERVE_TOKENS) as usize);
        });
    }

    /// Records the response status.
    pub fn status(&mut self, status: u16) {
        self.with(|e| e.status = Some(status));
    }

    /// Records the injected fault.
    pub fn fault(&mut self, fault: Option<FaultKind>) {
        self.with(|e| e.fault = fault);
    }

    /// Records the first body byte (only the first call counts).
    pub fn first_byte(&mut self, t_ns: u64) {
        self.with(|e| {
            e.first_byte_ns.get_or_insert(t_ns);
        });
    }

    /// Records one generation step.
    pub fn token(&mut self, t_ns: u64) {
        self.with(|e| e.token_ns.push(t_ns));
    }

    /// Marks the response as fully produced.
    pub fn completed(&mut self) {
        self.with(|e| e.completed = true);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some((entry, store)) = self.entry.take() {
            store.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_pushes_once_on_drop() {
        let store = Arc::new(LogStore::default());
        {
            let mut r = Recorder::new(Some(&store), 3, Some("r-1".into()), "/v1/completions", 10);
            r.request(true, 5, 2);
            r.status(200);
            r.first_byte(11);
            r.first_byte(99);
            r.token(12);
            r.token(13);
            r.completed();
            assert!(store.snapshot().is_empty(), "nothing before the end");
        }
        let log = store.take();
        assert_eq!(log.len(), 1);
        let e = &log[0];
        assert_eq!((e.seq, e.arrival_ns, e.first_byte_ns), (3, 10, Some(11)));
        assert_eq!(e.token_ns, vec![12, 13]);
        assert_eq!(e.request_id.as_deref(), Some("r-1"));
        assert!(e.completed && e.stream);
        assert!(store.snapshot().is_empty(), "take empties the store");
    }

    #[test]
    fn disabled_recorder_records_nothing() {
        let mut r = Recorder::new(None, 0, None, "/v1/embeddings", 1);
        r.token(2);
        r.completed();
        assert!(r.entry.is_none());
    }
}
