//! Tests of one exchange (see the module docs of `crate::client::request`).

use super::*;
use crate::client::sse::TimedEventStream;
use bytes::Bytes;
use futures::StreamExt;

#[test]
fn body_n_reads_n_only_when_present() {
    assert_eq!(
        body_n(br#"{"model":"m","messages":[{"role":"user","content":"say \"n\""}]}"#),
        1
    );
    assert_eq!(body_n(br#"{"model":"m","n":3,"max_tokens":5}"#), 3);
    assert_eq!(body_n(br#"{"model":"m","n":0}"#), 1);
    assert_eq!(body_n(br#"{"n":"x"}"#), 1);
    assert_eq!(body_n(br#"{"extra":{"n":4}}"#), 1);
}

#[test]
fn retry_after_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    assert_eq!(parse_retry_after("7", now), Some(7.0));
    assert_eq!(parse_retry_after(" 1.5 ", now), Some(1.5));
    assert_eq!(parse_retry_after("-3", now), None);
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
        Some(30.0)
    );
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now),
        Some(0.0)
    );
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn join_url_puts_one_slash() {
    assert_eq!(
        join_url("http://h/v1", "/chat/completions"),
        "http://h/v1/chat/completions"
    );
    assert_eq!(
        join_url("http://h/v1", "completions"),
        "http://h/v1/completions"
    );
}

fn exchange_for_test() -> Exchange {
    Exchange {
        received: Received::Stream,
        ..Exchange::new(
            1000,
            Vec::new(),
            TextAcc::default(),
            super::super::Secrets::default(),
            u32::MAX,
        )
    }
}

fn ev(data: &str, at: u64) -> TimedEvent {
    TimedEvent {
        event: super::super::sse::Event {
            event: "message".into(),
            data: data.into(),
            ..Default::default()
        },
        at_ns: at,
        completed_at_eof: false,
    }
}

#[test]
fn event_classification_sets_ttft_ttfo_and_chunks() {
    let mut st = exchange_for_test();
    let p = MalformedPolicy::Skip;
    let role = r#"{"choices":[{"delta":{"role":"assistant","content":null},"index":0}]}"#;
    let think = r#"{"choices":[{"delta":{"reasoning_content":"hm"},"index":0}]}"#;
    let out = r#"{"choices":[{"delta":{"content":"A"},"index":0}]}"#;
    let fin = r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0}]}"#;
    for (data, at) in [
        (role, 1100),
        (think, 1200),
        (out, 1300),
        ("garbage", 1350),
        (fin, 1400),
    ] {
        assert!(matches!(st.on_event(&ev(data, at), p), Ok(Flow::Continue)));
    }
    assert_eq!(st.first_chunk, Some(100));
    assert_eq!(st.first_token, Some(200));
    assert_eq!(st.first_output, Some(300));
    assert_eq!(st.last_token, Some(300));
    assert_eq!(st.chunk_ns, vec![200, 300]);
    assert_eq!(st.events, 5);
    assert_eq!(st.malformed, 1);
    assert!(st.stream_complete(1));
    assert!(!st.stream_complete(2));
    assert!(matches!(
        st.on_event(&ev(" [DONE]", 1500), p),
        Ok(Flow::Done(1500))
    ));
    assert_eq!(st.events, 5);
}

#[test]
fn malformed_policy_fail_and_truncated_last_event() {
    let mut st = exchange_for_test();
    let f = st
        .on_event(&ev("{not json", 1100), MalformedPolicy::Fail)
        .err()
        .expect("fails");
    assert_eq!(f.outcome, Outcome::MalformedEvent);
    let mut cut = ev("{\"choices\":[{\"delta\":{\"con", 1200);
    cut.completed_at_eof = true;
    let f = st
        .on_event(&cut, MalformedPolicy::Skip)
        .err()
        .expect("fails");
    assert_eq!(f.outcome, Outcome::StreamCut);
}

#[test]
fn error_events_and_error_objects_are_invalid_responses() {
    let mut st = exchange_for_test();
    let mut e = ev("{\"message\":\"overloaded\"}", 1100);
    e.event.event = "error".into();
    let f = st.on_event(&e, MalformedPolicy::Skip).err().expect("fails");
    assert_eq!(f.outcome, Outcome::InvalidResponse);
    assert!(f.cause.contains("overloaded"));
    let f = st
        .on_event(
            &ev(r#"{"error":{"message":"kv cache full"}}"#, 1200),
            MalformedPolicy::Skip,
        )
        .err()
        .expect("fails");
    assert_eq!(f.outcome, Outcome::InvalidResponse);
    assert!(f.cause.contains("kv cache full"));
    assert_eq!(st.first_chunk, Some(100));
}

#[test]
fn usage_is_latched_last_wins_and_completes_the_stream() {
    let mut st = exchange_for_test();
    let p = MalformedPolicy::Skip;
    let u1 = r#"{"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":5,"completion_tokens":1}}"#;
    let u2 = r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}"#;
    let none = r#"{"choices":[],"usage":null}"#;
    for d in [u1, u2, none] {
        assert!(st.on_event(&ev(d, 1100), p).is_ok());
    }
    assert_eq!(st.usage.as_ref().and_then(|u| u.completion), Some(9));
    assert!(st.stream_complete(4));
}

#[test]
fn the_last_timings_are_kept() {
    let mut st = exchange_for_test();
    let p = MalformedPolicy::Skip;
    let early =
        r#"{"choices":[{"delta":{"content":"a"}}],"timings":{"prompt_ms":1.5,"predicted_ms":0}}"#;
    let last = r#"{"choices":[],"timings":{"prompt_ms":2.5,"predicted_ms":40.25,"cache_n":3}}"#;
    let none = r#"{"choices":[],"timings":null}"#;
    for d in [early, last, none] {
        assert!(st.on_event(&ev(d, 1100), p).is_ok());
    }
    assert_eq!(
        st.timings,
        Some(ServerTimings {
            prefill_ms: Some(2.5),
            decode_ms: Some(40.25),
            cached_tokens: Some(3),
        })
    );
}

mod stream_props {
    //! Property tests of the whole streamed-response path: SSE bytes cut at
    //! arbitrary points → [`TimedEventStream`] → chunk JSON decoding →
    //! [`Exchange::on_event`]. Nothing panics, the measurements stay
    //! consistent, and they do not depend on where the reads were cut.

    use super::*;
    use crate::client::sse::tests::split;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// Keys of chat / completions chunks, and strangers.
    const CHUNK_KEYS: &[&str] = &[
        "choices",
        "delta",
        "message",
        "content",
        "reasoning_content",
        "reasoning",
        "text",
        "output_text",
        "finish_reason",
        "index",
        "role",
        "usage",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "completion_tokens_details",
        "reasoning_tokens",
        "error",
        "object",
        "bogus",
    ];

    fn json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value as J;
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::from),
            any::<u64>().prop_map(J::from),
            any::<f64>().prop_map(J::from),
            prop::sample::select(
                &[
                    "",
                    " ",
                    "a",
                    "stop",
                    "assistant",
                    "error",
                    "\u{FFFD}",
                    "[DONE]"
                ][..]
            )
            .prop_map(J::from),
            "\\PC{0,6}".prop_map(J::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(J::Array),
                prop::collection::btree_map(
                    prop::sample::select(CHUNK_KEYS).prop_map(str::to_owned),
                    inner,
                    0..4
                )
                .prop_map(|m| J::Object(m.into_iter().collect())),
            ]
        })
    }

    /// One event's data: a chunk, `[DONE]`, or text that is not JSON.
    fn data() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => json().prop_map(|v| v.to_string()),
            2 => Just(r#"{"choices":[{"index":0,"delta":{"content":"x"}}]}"#.to_owned()),
            1 => Just("[DONE]".to_owned()),
            1 => "\\PC{0,10}",
            1 => Just("{\"choices\":[{\"delta\":\n{\"content\":\"y\"}}]}".to_owned()),
        ]
    }

    /// An SSE stream: events (some named `error`), comments, odd line ends.
    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let event = (
            prop::sample::select(&["", "event: message\n", "event: error\n", ": ping\n"][..]),
            data(),
            prop::sample::select(&["\n\n", "\r\n\r\n", "\r\r"][..]),
        )
            .prop_map(|(head, data, end)| {
                let mut out = head.to_owned();
                for line in data.split('\n') {
                    out.push_str("data: ");
                    out.push_str(line);
                    out.push('\n');
                }
                out.pop();
                out.push_str(end);
                out
            });
        (prop::collection::vec(event, 0..12), any::<bool>()).prop_map(|(events, cut_last)| {
            let mut bytes = events.concat().into_bytes();
            if cut_last && !bytes.is_empty() {
                bytes.truncate(bytes.len() - 1);
            }
            bytes
        })
    }

    /// What the exchange measured, minus the times (they depend on the cuts).
    #[derive(Debug, PartialEq)]
    struct Shape {
        events: u32,
        content_events: u32,
        malformed: u32,
        output_chars: u32,
        finished_choices: u32,
        usage: Option<UsageCounts>,
        done: bool,
        failure: Option<(Outcome, String)>,
    }

    /// Runs the stream through the parser and the exchange, checking invariants.
    fn run(
        parts: Vec<Result<Bytes, String>>,
        limit: usize,
        policy: MalformedPolicy,
    ) -> Result<Shape, TestCaseError> {
        let n = Arc::new(AtomicU64::new(1000));
        let clock = move || n.fetch_add(1, Ordering::Relaxed) + 1;
        let mut st = exchange_for_test();
        st.acc = TextAcc::new(true, true);
        let (done, failure) = futures::executor::block_on(async {
            let mut events = TimedEventStream::new(futures::stream::iter(parts), limit, clock);
            while let Some(item) = events.next().await {
                match item {
                    Ok(ev) => match st.on_event(&ev, policy) {
                        Ok(Flow::Done(_)) => return (true, None),
                        Ok(Flow::Continue) => {}
                        Err(f) => return (false, Some(f)),
                    },
                    Err(e) => {
                        return (
                            false,
                            Some(Failure::new(Outcome::InvalidResponse, e.to_string())),
                        )
                    }
                }
            }
            (false, None)
        });
        prop_assert_eq!(st.chunk_ns.len(), st.content_events as usize);
        prop_assert!(st.chunk_ns.windows(2).all(|w| w[0] <= w[1]));
        prop_assert_eq!(st.first_token, st.chunk_ns.first().copied());
        prop_assert_eq!(st.last_token, st.chunk_ns.last().copied());
        if let Some(out) = st.first_output {
            prop_assert!(st.first_token.is_some_and(|t| t <= out));
        }
        prop_assert!(st.first_chunk.is_some() == (st.events > 0));
        prop_assert!(st.content_events + st.malformed <= st.events);
        prop_assert!((st.output_chars > 0) == (st.content_events > 0));
        if policy == MalformedPolicy::Fail {
            prop_assert!(st.malformed <= 1);
        }
        if let Some(f) = &failure {
            prop_assert!(!f.cause.is_empty());
            prop_assert!(matches!(
                f.outcome,
                Outcome::InvalidResponse | Outcome::MalformedEvent | Outcome::StreamCut
            ));
        }
        Ok(Shape {
            events: st.events,
            content_events: st.content_events,
            malformed: st.malformed,
            output_chars: st.output_chars,
            finished_choices: st.finished_choices,
            usage: st.usage,
            done,
            failure: failure.map(|f| (f.outcome, f.cause)),
        })
    }

    proptest! {
        #[test]
        fn any_stream_any_cuts_same_measurements(
            bytes in stream(),
            cuts_a in prop::collection::vec(any::<usize>(), 0..10),
            cuts_b in prop::collection::vec(any::<usize>(), 0..10),
            fail in any::<bool>(),
        ) {
            let policy = if fail { MalformedPolicy::Fail } else { MalformedPolicy::Skip };
            let a = run(split(&bytes, &cuts_a), 1 << 20, policy)?;
            let b = run(split(&bytes, &cuts_b), 1 << 20, policy)?;
            prop_assert_eq!(a, b);
        }

        #[test]
        fn arbitrary_bytes_and_small_limits_never_panic(
            bytes in prop_oneof![stream(), prop::collection::vec(any::<u8>(), 0..600)],
            cuts in prop::collection::vec(any::<usize>(), 0..10),
            limit in 1usize..200,
        ) {
            run(split(&bytes, &cuts), limit, MalformedPolicy::Skip)?;
        }

        /// A huge event ends the request as an invalid response naming the
        /// limit; the events before it are still measured.
        #[test]
        fn an_event_over_the_limit_is_an_invalid_response(
            before in 0u32..4,
            limit in 64usize..512,
            over in 1usize..4000,
            cuts in prop::collection::vec(any::<usize>(), 0..10),
        ) {
            let ok = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n";
            let mut text = ok.repeat(before as usize);
            text.push_str("data: ");
            text.push_str(&"y".repeat(limit + over));
            text.push_str("\n\n");
            text.push_str(ok);
            let shape = run(split(text.as_bytes(), &cuts), limit, MalformedPolicy::Skip)?;
            prop_assert_eq!(shape.content_events, before);
            let (outcome, cause) = shape.failure.expect("a failure");
            prop_assert_eq!(outcome, Outcome::InvalidResponse);
            prop_assert!(cause.contains("max_event_bytes"), "{}", cause);
        }
    }
}
