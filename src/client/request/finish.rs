//! The end of an exchange: outcome, token counts and timings into the
//! [`RequestRecord`].

use super::{max_content_events, Exchange, Failure, Received};
use crate::client::{HttpClient, RequestContext, Response};
use crate::dataset::PreparedRequest;
use crate::record::{Outcome, RequestRecord, TokenSource};

/// Builds the record from what was measured.
#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
    client: &HttpClient,
    req: &PreparedRequest,
    ctx: &RequestContext,
    st: Exchange,
    result: Result<(), Failure>,
    noticed: u64,
    n: u32,
    want_text: bool,
) -> Response {
    let (outcome, timeout_kind, error, retry_after_s) = match result {
        Ok(()) => (Outcome::Ok, None, None, None),
        Err(f) => (
            f.outcome,
            f.timeout_kind,
            Some(client.scrub(f.cause)),
            f.retry_after_s,
        ),
    };
    let end_ns = if outcome.is_ok() {
        st.end.unwrap_or(noticed)
    } else {
        noticed
    };

    let sent_ns = st.conn.sent_at_ns.map(|t| st.rel(t));
    let target_input = req.target_input_tokens.or(req.built_input_tokens);
    let mut usage = st.usage.unwrap_or_default();
    // Usage that cannot be right is kept as the server wrote it (the note and
    // the raw server counts), but never feeds the headline counts, which fall
    // back to what the client counted.
    let limit = max_content_events(req.max_tokens, n);
    let mut usage_note = usage.implausible.clone();
    if usage.completion.is_some_and(|c| c > limit) {
        usage_note.get_or_insert_with(|| {
            format!(
                "completion_tokens = {}, more than max_tokens × n allows",
                usage.completion.unwrap_or_default()
            )
        });
    }
    if usage
        .prompt
        .is_some_and(|p| u64::from(p) > 4 * u64::from(crate::vocab::workload::MAX_TOKENS))
    {
        usage_note
            .get_or_insert_with(|| format!("prompt_tokens = {}", usage.prompt.unwrap_or_default()));
    }
    let server_counts = (usage.prompt, usage.completion);
    if let Some(note) = &usage_note {
        tracing::warn!(
            "request {}: implausible usage ({note}); using the client's counts",
            ctx.request_id
        );
        usage.prompt = None;
        usage.completion = None;
        usage.total = None;
    }
    let (input_tokens, input_token_source) = match (st.received, usage.prompt) {
        (Received::Nothing, _) => (0, TokenSource::None),
        (_, Some(p)) => (p, TokenSource::Usage),
        (Received::Pooling, None) => {
            match usage.total.map(|t| (t, TokenSource::Usage)).or_else(|| {
                req.built_input_tokens
                    .or(req.target_input_tokens)
                    .map(|t| (t, TokenSource::Target))
            }) {
                Some(x) => x,
                None => (0, TokenSource::None),
            }
        }
        (_, None) => target_input.map_or((0, TokenSource::None), |t| (t, TokenSource::Target)),
    };
    let (output_tokens, output_token_source) = match (st.received, usage.completion) {
        (Received::Nothing | Received::Pooling, _) => (0, TokenSource::None),
        (_, Some(c)) => (c, TokenSource::Usage),
        (Received::Stream, None) => (st.content_events, TokenSource::ChunkCount),
        (Received::Body, None) => (
            st.acc.words.map_or(0, |w| w.estimate_tokens()),
            TokenSource::Estimate,
        ),
    };

    let pooling = st.pooling.as_ref();
    // Pre-sized for `max_tokens × n` on the hot path; records outlive the request.
    let mut chunk_ns = st.chunk_ns;
    chunk_ns.shrink_to_fit();
    let record = RequestRecord {
        point_index: ctx.point_index,
        point_id: ctx.point_id.to_string(),
        run_index: ctx.run_index,
        request_index: req.index,
        attempt: ctx.attempt,
        request_id: ctx.request_id.clone(),
        warmup: ctx.warmup,
        turn: ctx.turn,
        conversation: req.conversation,
        prefix_group: req.prefix_group,
        model: req.model.clone(),
        lora: req.lora.clone(),
        scheduled_ns: ctx.scheduled_ns,
        dispatch_ns: ctx.dispatch_ns,
        start_ns: st.start,
        #[allow(clippy::cast_precision_loss)]
        connect_ms: st.conn.connect_ns.map(|ns| ns as f64 / 1e6),
        sent_ns,
        first_byte_ns: st.first_byte,
        first_chunk_ns: st.first_chunk,
        first_token_ns: st.first_token,
        first_output_ns: st.first_output,
        last_token_ns: st.last_token,
        end_ns,
        chunk_ns,
        events: st.events,
        outcome,
        timeout_kind,
        http_status: st.http_status,
        error,
        retry_after_s,
        malformed_events: st.malformed,
        reconnects: st.conn.reconnects,
        target_input_tokens: req.target_input_tokens,
        built_input_tokens: req.built_input_tokens,
        target_output_tokens: req.target_output_tokens,
        max_tokens: req.max_tokens,
        server_input_tokens: server_counts.0,
        server_output_tokens: server_counts.1,
        usage_note,
        client_output_tokens: (st.received == Received::Stream).then_some(st.content_events),
        input_tokens,
        output_tokens,
        input_token_source,
        output_token_source,
        reasoning_tokens: usage.reasoning,
        cached_tokens: usage.cached,
        server_prefill_ms: st.timings.and_then(|t| t.prefill_ms),
        server_decode_ms: st.timings.and_then(|t| t.decode_ms),
        server_cached_tokens: st.timings.and_then(|t| t.cached_tokens),
        finish_reason: st.acc.finish_reason.map(|f| client.scrub(f)),
        n,
        output_chars: st.output_chars,
        items: req.items,
        items_returned: pooling.map_or(0, |p| p.items_returned),
        embedding_dim: pooling.and_then(|p| p.embedding_dim),
    };
    let text = if want_text && outcome.is_ok() {
        st.acc.output_text
    } else {
        None
    };
    Response { record, text }
}
