//! Tests of chunk and body parsing (see the module docs of `crate::client::openai`).

use super::*;

fn parse(data: &str, acc: &mut TextAcc) -> ChunkInfo {
    parse_chunk(data, acc).expect("valid chunk")
}

#[test]
fn llama_cpp_timings_are_read_from_the_last_chunk() {
    let mut acc = TextAcc::new(false, false);
    // The last event of a llama-server stream with include_usage.
    let info = parse(
        r#"{"choices":[],"created":1757141666,"id":"chatcmpl-x","model":"m","object":"chat.completion.chunk","usage":{"completion_tokens":35,"prompt_tokens":237,"total_tokens":272,"prompt_tokens_details":{"cached_tokens":236}},"timings":{"cache_n":236,"prompt_n":1,"prompt_ms":30.958,"prompt_per_token_ms":30.958,"prompt_per_second":32.3,"predicted_n":35,"predicted_ms":661.064,"predicted_per_token_ms":18.9,"predicted_per_second":52.9}}"#,
        &mut acc,
    );
    assert_eq!(
        info.timings,
        Some(ServerTimings {
            prefill_ms: Some(30.958),
            decode_ms: Some(661.064),
            cached_tokens: Some(236),
        })
    );
    assert_eq!(info.usage.and_then(|u| u.cached), Some(236));
    // A chunk without timings has none.
    let info = parse(
        r#"{"choices":[{"delta":{"content":"a"},"index":0}]}"#,
        &mut acc,
    );
    assert_eq!(info.timings, None);
}

#[test]
fn odd_timings_never_fail_the_chunk() {
    let mut acc = TextAcc::new(false, false);
    for (timings, want) in [
        ("null", None),
        ("\"fast\"", None),
        ("[1,2]", None),
        ("{}", None),
        (r#"{"prompt_ms":-1,"predicted_ms":"2","cache_n":1.5}"#, None),
        (
            r#"{"prompt_ms":12,"cache_n":-3}"#,
            Some(ServerTimings {
                prefill_ms: Some(12.0),
                ..ServerTimings::default()
            }),
        ),
    ] {
        let info = parse(
            &format!(r#"{{"choices":[],"timings":{timings}}}"#),
            &mut acc,
        );
        assert_eq!(info.timings, want, "timings = {timings}");
    }
}

#[test]
fn role_only_chunk_has_no_text() {
    let mut acc = TextAcc::new(true, false);
    let info = parse(
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"object":"chat.completion.chunk"}"#,
        &mut acc,
    );
    assert!(!info.has_text && !info.has_output);
    assert_eq!(info.finished, 0);
    assert!(info.has_choices);
    assert_eq!(acc.output_text.as_deref(), Some(""));
}

#[test]
fn content_delta_is_output_and_whitespace_counts() {
    let mut acc = TextAcc::new(true, false);
    let info = parse(
        r#"{"choices":[{"delta":{"content":" "},"index":0}]}"#,
        &mut acc,
    );
    assert!(info.has_text && info.has_output);
    assert_eq!(info.chars, 1);
    let info = parse(
        r#"{"choices":[{"delta":{"content":"h\u00e9\"llo"},"index":0}]}"#,
        &mut acc,
    );
    assert_eq!(info.chars, 6);
    assert_eq!(acc.output_text.as_deref(), Some(" hé\"llo"));
}

#[test]
fn reasoning_is_text_but_not_output() {
    for field in ["reasoning_content", "reasoning"] {
        let mut acc = TextAcc::new(true, false);
        let data = format!(r#"{{"choices":[{{"delta":{{"{field}":"think"}}}}]}}"#);
        let info = parse(&data, &mut acc);
        assert!(info.has_text, "{field}");
        assert!(!info.has_output, "{field}");
        assert_eq!(acc.output_text.as_deref(), Some(""));
    }
}

#[test]
fn completions_text_and_list_of_parts() {
    let mut acc = TextAcc::new(true, false);
    let info = parse(
        r#"{"choices":[{"text":"abc","index":0,"finish_reason":null}],"object":"text_completion"}"#,
        &mut acc,
    );
    assert!(info.has_output);
    let info = parse(
        r#"{"choices":[{"delta":{"content":[{"type":"text","text":"x"},"y",{"type":"image_url","image_url":{"url":"u"}}]}}]}"#,
        &mut acc,
    );
    assert!(info.has_output);
    assert_eq!(info.chars, 2);
    let info = parse(r#"{"choices":[{"delta":{"output_text":"z"}}]}"#, &mut acc);
    assert!(info.has_output);
    assert_eq!(acc.output_text.as_deref(), Some("abcxyz"));
    let info = parse(r#"{"choices":[{"delta":{"content":[]}}]}"#, &mut acc);
    assert!(!info.has_text);
}

#[test]
fn usage_only_last_chunk_and_details() {
    let mut acc = TextAcc::default();
    let info = parse(
        r#"{"choices":[],"usage":{"completion_tokens":12,"prompt_tokens":37,"total_tokens":49,"prompt_tokens_details":{"cached_tokens":5},"completion_tokens_details":{"reasoning_tokens":3}}}"#,
        &mut acc,
    );
    assert!(!info.has_text);
    assert_eq!(
        info.usage,
        Some(UsageCounts {
            prompt: Some(37),
            completion: Some(12),
            total: Some(49),
            reasoning: Some(3),
            cached: Some(5),
            implausible: None,
        })
    );
}

#[test]
fn usage_top_level_fallbacks_null_and_lenient_numbers() {
    let mut acc = TextAcc::default();
    let info = parse(
        r#"{"usage":{"prompt_tokens":10.0,"completion_tokens":"7","reasoning_tokens":2,"cached_tokens":1,"prompt_tokens_details":null}}"#,
        &mut acc,
    );
    let u = info.usage.expect("usage");
    assert_eq!(
        (u.prompt, u.completion, u.reasoning, u.cached),
        (Some(10), Some(7), Some(2), Some(1))
    );
    assert_eq!(parse(r#"{"usage":null}"#, &mut acc).usage, None);
    assert_eq!(parse(r#"{"usage":{}}"#, &mut acc).usage, None);
    // Implausible counts read as absent, and are kept as written.
    let u = parse(r#"{"usage":{"prompt_tokens":-1}}"#, &mut acc)
        .usage
        .expect("usage");
    assert_eq!(u.prompt, None);
    assert_eq!(u.implausible.as_deref(), Some("prompt_tokens = -1"));
    let u = parse(
        r#"{"usage":{"completion_tokens":1e30,"prompt_tokens":5}}"#,
        &mut acc,
    )
    .usage
    .expect("usage");
    assert_eq!((u.prompt, u.completion), (Some(5), None));
    assert_eq!(
        u.implausible.as_deref(),
        Some("completion_tokens = 1000000000000000000000000000000")
    );
    let u = parse(r#"{"usage":{"completion_tokens":"2.5"}}"#, &mut acc)
        .usage
        .expect("usage");
    assert_eq!(u.implausible.as_deref(), Some("completion_tokens = 2.5"));
}

#[test]
fn finish_reason_is_kept_and_counted_per_choice() {
    let mut acc = TextAcc::default();
    let info = parse(
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"length"},{"index":2,"delta":{},"finish_reason":null}]}"#,
        &mut acc,
    );
    assert_eq!(info.finished, 2);
    assert_eq!(acc.finish_reason.as_deref(), Some("length"));
}

#[test]
fn only_choice_zero_goes_into_the_text() {
    let mut acc = TextAcc::new(true, false);
    let info = parse(
        r#"{"choices":[{"delta":{"content":"b"},"index":1},{"index":0,"delta":{"content":"a"}}]}"#,
        &mut acc,
    );
    assert_eq!(info.chars, 2);
    assert_eq!(acc.output_text.as_deref(), Some("a"));
}

#[test]
fn error_objects_are_recognised() {
    let mut acc = TextAcc::default();
    let info = parse(
        r#"{"error":{"message":"context length exceeded","type":"invalid_request_error","code":400}}"#,
        &mut acc,
    );
    assert_eq!(info.error.as_deref(), Some("context length exceeded"));
    let info = parse(
        r#"{"object":"error","message":"boom","type":"InternalServerError","code":500}"#,
        &mut acc,
    );
    assert_eq!(info.error.as_deref(), Some("boom"));
    let info = parse(r#"{"error":null,"choices":[]}"#, &mut acc);
    assert_eq!(info.error, None);
}

#[test]
fn non_stream_message_and_word_estimate() {
    let mut acc = TextAcc::new(false, true);
    let info = parse(
        r#"{"choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"hmm ok","content":"one two  three"},"finish_reason":"stop"}],"usage":null}"#,
        &mut acc,
    );
    assert!(info.has_output);
    let words = acc.words.expect("counting");
    // "hmm ok" then "one two  three": the pieces join without a separator,
    // so "ok" and "one" read as one word, as in the concatenated text.
    assert_eq!(words.words, 4);
    assert_eq!(words.estimate_tokens(), 5);
}

#[test]
fn malformed_chunks_are_errors() {
    let mut acc = TextAcc::default();
    for bad in [
        "not json",
        "{\"choices\":[",
        "[1,2]",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]} trailing",
        "{\"choices\":5}",
    ] {
        assert!(parse_chunk(bad, &mut acc).is_err(), "{bad}");
        assert!(parse_body(bad.as_bytes(), &mut acc).is_err(), "{bad}");
    }
}
