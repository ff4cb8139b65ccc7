//! Fuzz target: arbitrary bytes as a streamed response body.
//!
//! Input layout: byte 0 picks the event size limit (`16·b + 1` bytes, so small
//! limits are hit often), byte 1 the number `k` (0–7) of read-length bytes that
//! follow; the rest is the body, delivered in reads of those lengths (cycled).
//! The body is parsed by [`TimedEventStream`] twice, once in those reads and once
//! whole, and every event's data is decoded as a completion chunk.
//!
//! Checked: nothing panics; both parses give the same events and both end with an
//! error or both without; read stamps never go back; without an error no event
//! exceeds the limit; a chunk with output text also has text.

#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use tokenomics::client::openai::{parse_chunk, TextAcc};
use tokenomics::client::sse::{SseError, TimedEvent, TimedEventStream};

/// Events (name, data, completed at EOF) and whether the stream ended in an error.
type Parsed = (Vec<(String, String, bool)>, bool);

fn parse(reads: Vec<Bytes>, limit: usize) -> Parsed {
    let clock = AtomicU64::new(0);
    let tick = || clock.fetch_add(1, Ordering::Relaxed) + 1;
    let body = futures::stream::iter(reads.into_iter().map(Ok::<Bytes, String>));
    let mut events: Vec<TimedEvent> = Vec::new();
    let failed = futures::executor::block_on(async {
        let mut stream = TimedEventStream::new(body, limit, tick);
        while let Some(item) = stream.next().await {
            match item {
                Ok(ev) => events.push(ev),
                Err(SseError::Transport(e)) => panic!("no transport errors were injected: {e}"),
                Err(_) => return true,
            }
        }
        false
    });
    assert!(events.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
    if !failed {
        assert!(events.iter().all(|e| e.event.data.len() <= limit));
    }
    let shape = events
        .into_iter()
        .map(|e| (e.event.event, e.event.data, e.completed_at_eof))
        .collect();
    (shape, failed)
}

fuzz_target!(|data: &[u8]| {
    let [limit_byte, k, rest @ ..] = data else {
        return;
    };
    let limit = usize::from(*limit_byte) * 16 + 1;
    let k = usize::from(*k % 8).min(rest.len());
    let (lengths, body) = rest.split_at(k);

    let mut reads = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < body.len() {
        let len = lengths
            .get(i % k.max(1))
            .map_or(body.len(), |l| usize::from(*l) + 1);
        let end = (at + len).min(body.len());
        reads.push(Bytes::copy_from_slice(&body[at..end]));
        at = end;
        i += 1;
    }

    let (split_events, split_failed) = parse(reads, limit);
    let (whole_events, whole_failed) = parse(vec![Bytes::copy_from_slice(body)], limit);
    assert_eq!(split_events, whole_events);
    assert_eq!(split_failed, whole_failed);

    let mut acc = TextAcc::new(true, true);
    for (_, data, _) in &split_events {
        if let Ok(info) = parse_chunk(data, &mut acc) {
            assert!(!info.has_output || info.has_text);
        }
    }
});
