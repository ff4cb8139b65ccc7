//! What every section reads off a point (its mode, load value, whether it is
//! a pooling point, its anchor on the page) and the key–value rows of the
//! report's fact lists.

use serde::Serialize;

use crate::results::{ExperimentResults, PointResult};

/// One row of a fact list.
#[derive(Serialize)]
pub struct KeyValue {
    key: String,
    value: String,
}

/// A key–value row.
pub fn kv(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: value.into(),
    }
}

/// True when the point's endpoint answers pooling requests (embeddings,
/// rerank, score) rather than generating text; judged from the summary when
/// the plan does not list the endpoint.
#[must_use]
pub fn is_pooling(results: &ExperimentResults, p: &PointResult) -> bool {
    match results.plan.endpoints.get(&p.spec.endpoint) {
        Some(ep) => !ep.api.generates(),
        None => p.summary.output_tokens.n == 0 && p.summary.items_per_s.mean > 0.0,
    }
}

/// The point's load mode (`burst`, `concurrency`, `rate`, `ramp`).
#[must_use]
pub fn point_mode(p: &PointResult) -> String {
    if p.summary.mode.is_empty() {
        p.spec.load.mode_name().to_string()
    } else {
        p.summary.mode.clone()
    }
}

/// The point's load value (batch size, concurrency, rate, …).
#[must_use]
pub fn point_load(p: &PointResult) -> f64 {
    if p.summary.load_value > 0.0 {
        p.summary.load_value
    } else {
        p.spec.load.value()
    }
}

/// The point's anchor on the page: `point-` + its id with characters other
/// than `[A-Za-z0-9_-]` replaced by `_`.
#[must_use]
pub fn anchor_for(point_id: &str) -> String {
    let mut s = String::from("point-");
    for c in point_id.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            s.push(c);
        } else {
            s.push('_');
        }
    }
    s
}
