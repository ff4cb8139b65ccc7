//! Server-sent event bytes of streamed generations (vLLM-shaped chunks).
//!
//! A stream is, in order (each event `data: {json}\n\n`):
//!
//! 1. chat only: one role chunk per choice, `"delta":{"role":"assistant","content":""}`;
//! 2. per generation step `k`: one chunk per choice with `delta.content` (chat) or
//!    `text` (completions) equal to `" tok{k}"`;
//! 3. one final chunk per choice with `finish_reason: "length"` and an empty
//!    delta / text;
//! 4. with `stream_options.include_usage`: a chunk with `"choices":[]` and
//!    `usage{prompt_tokens, completion_tokens, total_tokens}`;
//! 5. `data: [DONE]`.
//!
//! The last event before `[DONE]` (the usage chunk, else the last final chunk)
//! also carries the simulator's own [`Timings`] in llama.cpp's `timings` shape,
//! as llama-server sends them.
//!
//! Each request pre-serialises the part of a chunk that never changes (id,
//! object, created, model), so a token event costs one small buffer write.

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};

/// The terminating event.
pub const DONE: &[u8] = b"data: [DONE]\n\n";

/// The event sent by the malformed-event fault.
pub const MALFORMED: &[u8] = b"data: {not json\n\n";

/// Which generation API a stream answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenKind {
    /// `/v1/chat/completions`: `chat.completion.chunk`, `delta.content`.
    Chat,
    /// `/v1/completions`: `text_completion`, `text`.
    Completion,
}

impl GenKind {
    /// The `object` of streamed chunks.
    #[must_use]
    pub fn chunk_object(self) -> &'static str {
        match self {
            GenKind::Chat => "chat.completion.chunk",
            GenKind::Completion => "text_completion",
        }
    }

    /// The `object` of a non-streamed response.
    #[must_use]
    pub fn object(self) -> &'static str {
        match self {
            GenKind::Chat => "chat.completion",
            GenKind::Completion => "text_completion",
        }
    }

    /// The prefix of response ids.
    #[must_use]
    pub fn id_prefix(self) -> &'static str {
        match self {
            GenKind::Chat => "chatcmpl-sim-",
            GenKind::Completion => "cmpl-sim-",
        }
    }
}

/// The simulator's own account of one request, written as llama.cpp's
/// `timings` object: `prompt_ms` from the request's arrival to its first token,
/// `predicted_ms` from the first token to the last, no prompt cache
/// (`cache_n` = 0). Per-token figures are derived as llama-server derives
/// them (generation steps after the first token), 0 when undefined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timings {
    pub prompt_n: u64,
    pub prompt_ms: f64,
    pub predicted_n: u64,
    pub predicted_ms: f64,
}

impl Timings {
    /// Timings from nanosecond instants: arrival, first token, last token.
    #[must_use]
    pub fn from_instants(
        prompt_n: u64,
        predicted_n: u64,
        arrival_ns: u64,
        first_ns: u64,
        last_ns: u64,
    ) -> Timings {
        #[allow(clippy::cast_precision_loss)]
        let ms = |ns: u64| ns as f64 / 1e6;
        Timings {
            prompt_n,
            prompt_ms: ms(first_ns.saturating_sub(arrival_ns)),
            predicted_n,
            predicted_ms: ms(last_ns.saturating_sub(first_ns)),
        }
    }

    /// The JSON object.
    #[must_use]
    pub fn to_json(self) -> String {
        #[allow(clippy::cast_precision_loss)]
        let per = |ms: f64, n: u64| if n > 0 { ms / n as f64 } else { 0.0 };
        #[allow(clippy::cast_precision_loss)]
        let rate = |ms: f64, n: u64| if ms > 0.0 { 1e3 / ms * n as f64 } else { 0.0 };
        let steps = self.predicted_n.saturating_sub(1);
        format!(
            "{{\"cache_n\":0,\"prompt_n\":{},\"prompt_ms\":{},\"prompt_per_token_ms\":{},\"prompt_per_second\":{},\"predicted_n\":{},\"predicted_ms\":{},\"predicted_per_token_ms\":{},\"predicted_per_second\":{}}}",
            self.prompt_n,
            self.prompt_ms,
            per(self.prompt_ms, self.prompt_n),
            rate(self.prompt_ms, self.prompt_n),
            self.predicted_n,
            self.predicted_ms,
            per(self.predicted_ms, steps),
            rate(self.predicted_ms, steps),
        )
    }
}

/// What follows the token events of a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tail {
    /// More steps follow.
    More,
    /// The last step: final chunks, the usage chunk when `usage` is
    /// `Some((prompt_tokens, completion_tokens))`, then `[DONE]`; the last
    /// event before `[DONE]` carries `timings`.
    Last {
        usage: Option<(u64, u64)>,
        timings: Timings,
    },
}

/// Ends a chunk's top-level object: `,"timings":{…}` when given, then `}` and
/// the event's blank line.
fn end_chunk(buf: &mut BytesMut, timings: Option<&Timings>) {
    if let Some(t) = timings {
        buf.put_slice(b",\"timings\":");
        buf.put_slice(t.to_json().as_bytes());
    }
    buf.put_slice(b"}\n\n");
}

/// The chunk writer of one streamed request.
#[derive(Debug)]
pub struct SseFormat {
    kind: GenKind,
    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[`
    head: Bytes,
    n: u32,
}

impl SseFormat {
    /// `model_json` is the model name already JSON-encoded (with quotes).
    #[must_use]
    pub fn new(kind: GenKind, id: &str, created: u64, model_json: &str, n: u32) -> SseFormat {
        let mut head = String::with_capacity(96 + id.len() + model_json.len());
        let _ = write!(
            head,
            "data: {{\"id\":\"{id}\",\"object\":\"{}\",\"created\":{created},\"model\":{model_json},\"choices\":[",
            kind.chunk_object()
        );
        SseFormat {
            kind,
            head: Bytes::from(head),
            n: n.max(1),
        }
    }

    fn buffer(&self, events: u32, extra: usize) -> BytesMut {
        BytesMut::with_capacity((self.head.len() + 96) * events as usize + extra)
    }

    /// Role chunks (one per choice), chat only; empty for completions.
    #[must_use]
    pub fn role(&self) -> Bytes {
        if self.kind != GenKind::Chat {
            return Bytes::new();
        }
        let mut buf = self.buffer(self.n, 0);
        for i in 0..self.n {
            buf.put_slice(&self.head);
            let _ = write!(
                buf,
                "{{\"index\":{i},\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
            );
        }
        buf.freeze()
    }

    /// Appends the token events of step `k` (one per choice) to `buf`.
    pub fn put_tokens(&self, buf: &mut BytesMut, k: u32) {
        for i in 0..self.n {
            buf.put_slice(&self.head);
            let _ = match self.kind {
                GenKind::Chat => write!(
                    buf,
                    "{{\"index\":{i},\"delta\":{{\"content\":\" tok{k}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
                ),
                GenKind::Completion => write!(
                    buf,
                    "{{\"index\":{i},\"text\":\" tok{k}\",\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
                ),
            };
        }
    }

    /// Appends the final chunks (one per choice, `finish_reason: "length"`);
    /// the last one carries `timings` when given.
    pub fn put_finish(&self, buf: &mut BytesMut, timings: Option<&Timings>) {
        for i in 0..self.n {
            buf.put_slice(&self.head);
            let _ = match self.kind {
                GenKind::Chat => write!(
                    buf,
                    "{{\"index\":{i},\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"length\"}}"
                ),
                GenKind::Completion => write!(
                    buf,
                    "{{\"index\":{i},\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"length\"}}"
                ),
            };
            buf.put_slice(b"]");
            end_chunk(buf, timings.filter(|_| i + 1 == self.n));
        }
    }

    /// Appends the usage-only chunk (`"choices":[]`), with `timings` when given.
    pub fn put_usage(
        &self,
        buf: &mut BytesMut,
        prompt_tokens: u64,
        completion_tokens: u64,
        timings: Option<&Timings>,
    ) {
        buf.put_slice(&self.head);
        buf.put_slice(b"]");
        let total = prompt_tokens + completion_tokens;
        let _ = write!(
            buf,
            ",\"usage\":{{\"prompt_tokens\":{prompt_tokens},\"completion_tokens\":{completion_tokens},\"total_tokens\":{total}}}"
        );
        end_chunk(buf, timings);
    }

    /// The bytes of step `k`, then what `tail` asks for. `malformed` puts the
    /// malformed event first.
    #[must_use]
    pub fn step(&self, k: u32, malformed: bool, tail: Tail) -> Bytes {
        let events = match tail {
            Tail::More => self.n,
            Tail::Last { .. } => 2 * self.n + 1,
        };
        let mut buf = self.buffer(events, MALFORMED.len() + DONE.len());
        if malformed {
            buf.put_slice(MALFORMED);
        }
        self.put_tokens(&mut buf, k);
        if let Tail::Last { usage, timings } = tail {
            self.put_finish(&mut buf, usage.is_none().then_some(&timings));
            if let Some((prompt, completion)) = usage {
                self.put_usage(&mut buf, prompt, completion, Some(&timings));
            }
            buf.put_slice(DONE);
        }
        buf.freeze()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn events(bytes: &[u8]) -> Vec<String> {
        let text = std::str::from_utf8(bytes).expect("utf-8");
        assert!(text.ends_with("\n\n"));
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| e.strip_prefix("data: ").expect("data event").to_owned())
            .collect()
    }

    fn json(event: &str) -> Value {
        serde_json::from_str(event).expect("valid json")
    }

    #[test]
    fn chat_chunks_parse_and_carry_fields() {
        let f = SseFormat::new(GenKind::Chat, "chatcmpl-sim-3", 1_700, "\"m\\\"x\"", 2);
        let role = events(&f.role());
        assert_eq!(role.len(), 2);
        let r = json(&role[1]);
        assert_eq!(r["choices"][0]["index"], 1);
        assert_eq!(r["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(r["model"], "m\"x");
        assert_eq!(r["object"], "chat.completion.chunk");
        assert_eq!(r["created"], 1_700);

        let mid = events(&f.step(4, false, Tail::More));
        assert_eq!(mid.len(), 2);
        assert_eq!(json(&mid[0])["choices"][0]["delta"]["content"], " tok4");
        assert_eq!(json(&mid[1])["choices"][0]["index"], 1);

        let last = events(&f.step(
            5,
            true,
            Tail::Last {
                usage: Some((7, 12)),
                timings: TIMINGS,
            },
        ));
        assert_eq!(last[0], "{not json");
        assert_eq!(last.len(), 1 + 2 + 2 + 1 + 1);
        assert_eq!(json(&last[3])["choices"][0]["finish_reason"], "length");
        let usage = json(&last[5]);
        assert_eq!(usage["choices"].as_array().map(Vec::len), Some(0));
        assert_eq!(usage["usage"]["prompt_tokens"], 7);
        assert_eq!(usage["usage"]["completion_tokens"], 12);
        assert_eq!(usage["usage"]["total_tokens"], 19);
        assert_eq!(last[6], "[DONE]");
        // Only the usage chunk, the last event, carries the timings.
        assert_eq!(usage["timings"]["prompt_ms"], 25.5);
        assert_eq!(usage["timings"]["predicted_n"], 6);
        assert_eq!(usage["timings"]["predicted_ms"], 50.0);
        assert_eq!(usage["timings"]["predicted_per_token_ms"], 10.0);
        assert_eq!(usage["timings"]["predicted_per_second"], 100.0);
        assert_eq!(usage["timings"]["prompt_per_token_ms"], 25.5 / 7.0);
        assert_eq!(usage["timings"]["cache_n"], 0);
        for e in &last[1..5] {
            assert!(json(e).get("timings").is_none(), "{e}");
        }
    }

    const TIMINGS: Timings = Timings {
        prompt_n: 7,
        prompt_ms: 25.5,
        predicted_n: 6,
        predicted_ms: 50.0,
    };

    #[test]
    fn timings_come_from_instants_and_stay_finite() {
        let t = Timings::from_instants(7, 6, 1_000_000, 26_500_000, 76_500_000);
        assert_eq!(t, TIMINGS);
        // A one-token answer has no generation steps: per-token figures are 0.
        let one = Timings::from_instants(3, 1, 5, 5, 5);
        let v: Value = serde_json::from_str(&one.to_json()).expect("valid json");
        assert_eq!(v["predicted_per_token_ms"], 0.0);
        assert_eq!(v["predicted_per_second"], 0.0);
        assert_eq!(v["prompt_per_second"], 0.0);
    }

    #[test]
    fn completion_chunks_use_text_and_no_role() {
        let f = SseFormat::new(GenKind::Completion, "cmpl-sim-0", 1, "\"m\"", 1);
        assert!(f.role().is_empty());
        let last = events(&f.step(
            0,
            false,
            Tail::Last {
                usage: None,
                timings: TIMINGS,
            },
        ));
        assert_eq!(last.len(), 3, "token, finish, [DONE] without usage");
        assert_eq!(
            json(&last[1])["timings"]["prompt_n"],
            7,
            "on the last chunk"
        );
        let token = json(&last[0]);
        assert_eq!(token["choices"][0]["text"], " tok0");
        assert_eq!(token["object"], "text_completion");
        assert_eq!(json(&last[1])["choices"][0]["finish_reason"], "length");
        assert_eq!(last[2], "[DONE]");
    }
}
