//! Tests of SSE framing and event timestamps (see the module docs of `crate::client::sse`).

use super::*;
use futures::StreamExt;
use proptest::prelude::*;
use std::sync::atomic::AtomicU64;

/// A clock that returns 1, 2, 3... on successive reads: chunk k is stamped k.
fn counting_clock() -> impl Fn() -> u64 + Unpin {
    let n = Arc::new(AtomicU64::new(0));
    move || n.fetch_add(1, Ordering::Relaxed) + 1
}

fn chunks_of(parts: &[&[u8]]) -> Vec<Result<Bytes, String>> {
    parts
        .iter()
        .map(|p| Ok(Bytes::copy_from_slice(p)))
        .collect()
}

/// Runs the adapter over `parts` and returns the events and the final error.
fn run_parts(
    parts: Vec<Result<Bytes, String>>,
    limit: usize,
) -> (Vec<TimedEvent>, Option<SseError<String>>) {
    futures::executor::block_on(async move {
        let mut s = TimedEventStream::new(futures::stream::iter(parts), limit, counting_clock());
        let mut events = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Ok(ev) => events.push(ev),
                Err(e) => return (events, Some(e)),
            }
        }
        (events, None)
    })
}

fn datas(events: &[TimedEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.data.as_str()).collect()
}

/// llama.cpp's stream, in the shape llama-server sends it: role-only first
/// chunk, one event per token, a finish chunk, a usage-only chunk, `[DONE]`.
const LLAMA_STREAM: &str = concat!(
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}],\"object\":\"chat.completion.chunk\"}\n\n",
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"I\"}}],\"object\":\"chat.completion.chunk\"}\n\n",
    "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\" am\"}}],\"object\":\"chat.completion.chunk\"}\n\n",
    "data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"object\":\"chat.completion.chunk\"}\n\n",
    "data: {\"choices\":[],\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":2,\"prompt_tokens\":37,\"total_tokens\":39,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn whole_stream_yields_every_event_in_order() {
    let (events, err) = run_parts(chunks_of(&[LLAMA_STREAM.as_bytes()]), 1 << 20);
    assert!(err.is_none());
    assert_eq!(events.len(), 6);
    assert!(events[0]
        .event
        .data
        .as_str()
        .contains("\"role\":\"assistant\""));
    assert!(events[4].event.data.as_str().contains("\"choices\":[]"));
    assert_eq!(events[5].event.data, "[DONE]");
    assert!(events.iter().all(|e| e.event.event == "message"));
    assert!(events.iter().all(|e| e.at_ns == 1 && !e.completed_at_eof));
}

/// Splitting the stream at every byte offset gives the same events, and each
/// event carries the time of the read that held its final byte.
#[test]
fn split_at_every_offset_same_events_and_completing_read_time() {
    for stream in [LLAMA_STREAM.to_string(), LLAMA_STREAM.replace('\n', "\r\n")] {
        let bytes = stream.as_bytes();
        let (whole, _) = run_parts(chunks_of(&[bytes]), 1 << 20);
        // Offset of the last byte of each event's terminating blank line.
        let sep = if stream.contains('\r') {
            "\r\n\r\n"
        } else {
            "\n\n"
        };
        let ends: Vec<usize> = stream
            .match_indices(sep)
            .map(|(i, s)| i + s.len() - 1)
            .collect();
        assert_eq!(ends.len(), whole.len());
        for k in 1..bytes.len() {
            let (events, err) = run_parts(chunks_of(&[&bytes[..k], &bytes[k..]]), 1 << 20);
            assert!(err.is_none(), "split at {k}");
            assert_eq!(datas(&events), datas(&whole), "split at {k}");
            for (ev, &end) in events.iter().zip(&ends) {
                let expected = if end < k { 1 } else { 2 };
                assert_eq!(ev.at_ns, expected, "split at {k}, event ending at {end}");
            }
        }
    }
}

#[test]
fn byte_by_byte_reads_stamp_the_final_byte() {
    let bytes = LLAMA_STREAM.as_bytes();
    let parts: Vec<&[u8]> = bytes.chunks(1).collect();
    let (events, err) = run_parts(chunks_of(&parts), 1 << 20);
    assert!(err.is_none());
    let ends: Vec<u64> = LLAMA_STREAM
        .match_indices("\n\n")
        .map(|(i, _)| (i + 2) as u64)
        .collect();
    let stamps: Vec<u64> = events.iter().map(|e| e.at_ns).collect();
    assert_eq!(stamps, ends);
}

#[test]
fn multi_line_data_comments_and_crlf() {
    let stream =
        ": keep-alive\r\n\r\ndata: {\"a\":\r\ndata: 1}\r\n: note inside\r\n\r\n:ping\n\ndata:x\n\n";
    let (events, err) = run_parts(chunks_of(&[stream.as_bytes()]), 1 << 20);
    assert!(err.is_none());
    assert_eq!(datas(&events), vec!["{\"a\":\n1}", "x"]);
}

#[test]
fn named_error_event_keeps_its_name() {
    let stream = "data: {\"x\":1}\n\nevent: error\ndata: {\"message\":\"overloaded\"}\n\n";
    let (events, _) = run_parts(chunks_of(&[stream.as_bytes()]), 1 << 20);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event.event, "message");
    assert_eq!(events[1].event.event, "error");
    assert_eq!(events[1].event.data, "{\"message\":\"overloaded\"}");
}

#[test]
fn final_event_without_blank_line_is_flushed_and_flagged() {
    let (events, err) = run_parts(
        chunks_of(&[b"data: {\"a\":1}\n\ndata: [DO", b"NE]"]),
        1 << 20,
    );
    assert!(err.is_none());
    assert_eq!(datas(&events), vec!["{\"a\":1}", "[DONE]"]);
    assert!(!events[0].completed_at_eof);
    assert!(events[1].completed_at_eof);
    // Stamped with the last real read, not with the end of the stream.
    assert_eq!(events[1].at_ns, 2);
}

#[test]
fn oversize_event_ends_the_stream() {
    let big = format!("data: {}\n\n", "x".repeat(5000));
    let stream = format!("data: small\n\n{big}data: after\n\n");
    let parts: Vec<&[u8]> = stream.as_bytes().chunks(100).collect();
    let (events, err) = run_parts(chunks_of(&parts), 1024);
    assert_eq!(datas(&events), vec!["small"]);
    match err {
        Some(SseError::Oversize { limit, seen }) => {
            assert_eq!(limit, 1024);
            assert!(seen > 1024);
        }
        other => panic!("expected oversize, got {other:?}"),
    }
}

#[test]
fn events_before_an_oversize_one_in_the_same_read_are_delivered() {
    let stream = format!("data: a\n\ndata: b\r\n\r\ndata: {}\n\n", "x".repeat(100));
    let (events, err) = run_parts(chunks_of(&[stream.as_bytes()]), 50);
    assert_eq!(datas(&events), vec!["a", "b"]);
    assert!(matches!(err, Some(SseError::Oversize { limit: 50, .. })));
}

#[test]
fn pieces_end_at_event_boundaries() {
    let mut g = EventSizeGuard::new(1 << 20);
    let text = b"data: a\r\n\r\n: c\n\ndata: b\n\npartial";
    assert_eq!(g.next_piece(text), Ok(11));
    assert_eq!(g.next_piece(&text[11..]), Ok(5));
    assert_eq!(g.next_piece(&text[16..]), Ok(9));
    assert_eq!(g.next_piece(&text[25..]), Ok(7));
}

#[test]
fn unterminated_line_counts_toward_the_limit() {
    let parts: Vec<Vec<u8>> = (0..100).map(|_| vec![b'a'; 100]).collect();
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let (events, err) = run_parts(chunks_of(&parts), 2048);
    assert!(events.is_empty());
    assert!(matches!(err, Some(SseError::Oversize { .. })));
}

#[test]
fn many_small_events_and_comments_stay_under_the_limit() {
    let one = ": ping\ndata: 0123456789\n\n";
    let stream = one.repeat(1000);
    let parts: Vec<&[u8]> = stream.as_bytes().chunks(7).collect();
    let (events, err) = run_parts(chunks_of(&parts), 64);
    assert!(err.is_none());
    assert_eq!(events.len(), 1000);
}

#[test]
fn leading_byte_order_marks_do_not_panic() {
    let bom = "\u{feff}".as_bytes();
    let (events, err) = run_parts(chunks_of(&[&bom[..2], &bom[2..], b"data: 1\n\n"]), 1 << 20);
    assert!(err.is_none());
    assert_eq!(datas(&events), vec!["1"]);
    // A second mark is not a BOM but part of the first field's name (ignored).
    let (events, err) = run_parts(chunks_of(&[bom, bom, b"data: 1\n\ndata: 2\n\n"]), 1 << 20);
    assert!(err.is_none());
    assert_eq!(datas(&events), vec!["2"]);
    let (events, err) = run_parts(chunks_of(&[bom]), 1 << 20);
    assert!(err.is_none() && events.is_empty());
}

#[test]
fn transport_error_is_passed_through() {
    let parts = vec![
        Ok(Bytes::from_static(b"data: 1\n\n")),
        Err("connection reset".to_string()),
    ];
    let (events, err) = run_parts(parts, 1 << 20);
    assert_eq!(datas(&events), vec!["1"]);
    assert!(matches!(err, Some(SseError::Transport(e)) if e == "connection reset"));
}

#[test]
fn invalid_utf8_is_replaced_and_split_code_points_survive() {
    let snow = "☃".as_bytes(); // 3 bytes
    let (events, err) = run_parts(
        chunks_of(&[b"data: a", &snow[..1], &snow[1..], b"\xff b\n\n"]),
        1 << 20,
    );
    assert!(err.is_none());
    assert_eq!(datas(&events), vec!["a☃\u{FFFD} b"]);
}

#[test]
fn utf8_repair_is_split_independent() {
    let input: &[u8] = b"ok \xe2\x98\x83 \xf0\x9f A \xc3 \xed\xa0\x80 end \xe2\x98";
    let whole = {
        let mut r = Utf8Repair::default();
        let mut out = r.push(Bytes::copy_from_slice(input)).to_vec();
        out.extend(r.finish().unwrap_or_default());
        out
    };
    assert_eq!(
        String::from_utf8(whole.clone()).unwrap(),
        String::from_utf8_lossy(input)
    );
    for k in 0..=input.len() {
        let mut r = Utf8Repair::default();
        let mut out = r.push(Bytes::copy_from_slice(&input[..k])).to_vec();
        out.extend_from_slice(&r.push(Bytes::copy_from_slice(&input[k..])));
        out.extend(r.finish().unwrap_or_default());
        assert_eq!(out, whole, "split at {k}");
    }
}

#[test]
fn size_guard_tracks_crlf_and_cr_boundaries() {
    let mut g = EventSizeGuard::new(20);
    // Each event is under 20 bytes; the stream as a whole is far over.
    for _ in 0..50 {
        assert!(g.scan(b"data: 12345\r\n\r\n").is_ok());
        assert!(g.scan(b"data: 12345\r\r").is_ok());
        assert!(g.scan(b"data: 12345\n\n").is_ok());
    }
    // Two data lines in one event add up.
    assert!(g.scan(b"data: 1234567\ndata: 1234567\n").is_err());
}

/// Bytes drawn mostly from SSE syntax, so that random inputs form real events.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event: error".to_vec()),
        Just(b":".to_vec()),
        Just(b"id: 7".to_vec()),
        Just(b"retry: 10".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(b" ".to_vec()),
        Just(b"{\"x\":1}".to_vec()),
        Just(b"[DONE]".to_vec()),
        Just("\u{feff}".as_bytes().to_vec()),
        Just("☃".as_bytes().to_vec()),
        Just(vec![0xff]),
        Just(vec![0xe2, 0x98]),
        proptest::collection::vec(any::<u8>(), 0..4),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|v| v.concat())
}

/// Splits `bytes` at the given cut points (taken modulo the length).
pub(in crate::client) fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Result<Bytes, String>> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| if bytes.is_empty() { 0 } else { c % bytes.len() })
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for p in points {
        out.push(Ok(Bytes::copy_from_slice(&bytes[prev..p])));
        prev = p;
    }
    out.push(Ok(Bytes::copy_from_slice(&bytes[prev..])));
    out
}

fn shape(events: &[TimedEvent]) -> Vec<(String, String, bool)> {
    events
        .iter()
        .map(|e| {
            (
                e.event.event.to_string(),
                e.event.data.as_str().to_owned(),
                e.completed_at_eof,
            )
        })
        .collect()
}

/// Every event field, for comparing two parsers.
type Fields = Vec<(String, String, String, Option<std::time::Duration>)>;

fn full(events: &[Event]) -> Fields {
    events
        .iter()
        .map(|e| {
            let data = e.data.as_str().to_owned();
            (e.event.to_string(), data, e.id.clone(), e.retry)
        })
        .collect()
}

/// [`full`] of `eventsource-stream`'s events.
fn full_theirs(events: &[eventsource_stream::Event]) -> Fields {
    events
        .iter()
        .map(|e| (e.event.clone(), e.data.clone(), e.id.clone(), e.retry))
        .collect()
}

proptest! {
    /// The parser reads SSE exactly as `eventsource-stream` (a spec-following
    /// parser) does, on any valid text that ends with a blank line.
    #[test]
    fn parser_agrees_with_eventsource_stream(bytes in sse_bytes()) {
        let text = String::from_utf8_lossy(&bytes);
        let text = format!("{}\n\n", text.trim_start_matches('\u{feff}'));
        let (ours, err) = run_parts(chunks_of(&[text.as_bytes()]), 1 << 20);
        prop_assert!(err.is_none());
        let ours: Vec<Event> = ours.into_iter().map(|e| e.event).collect();
        // A blank line first: eventsource-stream mishandles a leading BOM
        // and text without one gets the same events.
        let theirs: Vec<eventsource_stream::Event> = futures::executor::block_on(
            eventsource_stream::EventStream::new(futures::stream::iter(vec![
                Ok::<_, String>(Bytes::from(format!("\n{text}"))),
            ]))
            .filter_map(|e| async move { e.ok() })
            .collect(),
        );
        prop_assert_eq!(full(&ours), full_theirs(&theirs));
    }

    #[test]
    fn any_split_gives_the_same_events(
        bytes in sse_bytes(),
        cuts_a in proptest::collection::vec(any::<usize>(), 0..12),
        cuts_b in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (a, err_a) = run_parts(split(&bytes, &cuts_a), 1 << 20);
        let (b, err_b) = run_parts(split(&bytes, &cuts_b), 1 << 20);
        prop_assert!(err_a.is_none() && err_b.is_none());
        prop_assert_eq!(shape(&a), shape(&b));
        // Stamps never go back.
        prop_assert!(a.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
    }

    #[test]
    fn any_split_gives_the_same_events_up_to_an_oversize_error(
        bytes in sse_bytes(),
        cuts_a in proptest::collection::vec(any::<usize>(), 0..12),
        cuts_b in proptest::collection::vec(any::<usize>(), 0..12),
        limit in 1usize..40,
    ) {
        let (a, err_a) = run_parts(split(&bytes, &cuts_a), limit);
        let (b, err_b) = run_parts(split(&bytes, &cuts_b), limit);
        prop_assert_eq!(shape(&a), shape(&b));
        prop_assert_eq!(err_a.is_some(), err_b.is_some());
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        limit in 1usize..512,
    ) {
        let (events, err) = run_parts(split(&bytes, &cuts), limit);
        if err.is_none() {
            // Without an oversize error, no event exceeded the limit.
            prop_assert!(events.iter().all(|e| e.event.data.as_bytes().len() <= limit));
        }
    }
}
