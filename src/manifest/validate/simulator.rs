//! Checks of the `[simulator.NAME]` tables.

use super::{Check, Checker};
use crate::manifest::limits;
use crate::manifest::raw::RawSimulator;

pub(super) fn simulator(c: &Checker, name: &str, s: &RawSimulator) -> Check {
    let k = |field: &str| format!("endpoints.{name}.simulator.{field}");
    for (field, v) in [
        ("ttft_ms", s.ttft_ms),
        ("itl_ms", s.itl_ms),
        ("pooling_ms", s.pooling_ms),
        ("pooling_per_token_ms", s.pooling_per_token_ms),
    ] {
        c.positive(
            &k(field),
            v,
            true,
            "simulator timings are in milliseconds, ≥ 0",
        )?;
        c.at_most(&k(field), v, limits::MAX_MS, "ms")?;
    }
    c.count_at_most(
        &k("embedding_dim"),
        s.embedding_dim,
        u64::from(limits::MAX_EMBEDDING_DIM),
    )?;
    c.at_least_one(
        &k("embedding_dim"),
        s.embedding_dim,
        "e.g. embedding_dim = 384",
    )?;
    if s.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
        return Err(c.fail(
            k("model"),
            "`model` is empty",
            "remove it to serve `sim-model`",
        ));
    }
    if let Some(b) = &s.batching {
        for (field, v) in [
            ("itl_per_seq_ms", b.itl_per_seq_ms),
            ("prefill_per_token_ms", b.prefill_per_token_ms),
        ] {
            c.positive(
                &format!("endpoints.{name}.simulator.batching.{field}"),
                v,
                true,
                "simulator timings are in milliseconds, ≥ 0",
            )?;
            c.at_most(
                &format!("endpoints.{name}.simulator.batching.{field}"),
                v,
                limits::MAX_MS,
                "ms",
            )?;
        }
        c.at_least_one(
            &format!("endpoints.{name}.simulator.batching.max_batch"),
            b.max_batch,
            "the most sequences decoded at once, e.g. 256",
        )?;
        c.count_at_most(
            &format!("endpoints.{name}.simulator.batching.max_batch"),
            b.max_batch,
            u64::from(limits::MAX_CONCURRENCY),
        )?;
    }
    if let Some(f) = &s.faults {
        for (field, v) in [
            ("http_500", f.http_500),
            ("http_429", f.http_429),
            ("stream_cut", f.stream_cut),
            ("malformed_event", f.malformed_event),
            ("stall", f.stall),
            ("refuse", f.refuse),
        ] {
            c.fraction(
                &format!("endpoints.{name}.simulator.faults.{field}"),
                v,
                "fault rates are probabilities per request, from 0 to 1",
            )?;
        }
        c.positive(
            &format!("endpoints.{name}.simulator.faults.stall_ms"),
            f.stall_ms,
            true,
            "how long a stalled stream pauses, in ms",
        )?;
        c.at_most(
            &format!("endpoints.{name}.simulator.faults.stall_ms"),
            f.stall_ms,
            limits::MAX_MS,
            "ms",
        )?;
        c.count_at_most(
            &format!("endpoints.{name}.simulator.faults.retry_after_s"),
            f.retry_after_s,
            u64::from(limits::MAX_RETRY_AFTER_S),
        )?;
    }
    Ok(())
}
