//! What a point holds in memory, estimated before anything runs, so the size
//! guard can refuse a plan that would exhaust the machine (`experiment.max_memory_mb`,
//! default 4096; `--allow-large` lifts it like the other guards).
//!
//! ```text
//! run bytes     = requests per run × request bytes        (bodies, built before the clock starts)
//!               + slots × 4096                            (a request task in flight)
//!               + prefix groups × prefix tokens × 8       (the shared prefixes)
//! request bytes = (input tokens × turns + prefix tokens) × 8 + image pixels × 4 + 1024
//! record bytes  = 512 + output tokens × n × 8             (each record keeps its chunk times)
//! peak          = the largest run + every record of the experiment (all are kept to the end)
//! ```
//!
//! Input tokens are the workload's high estimate (the maximum, or mean + 4σ for
//! normal lengths); output tokens are the same for the output, capped by
//! `max_tokens_cap`. Slots are the requests in flight: the batch of a burst,
//! the concurrency of a closed loop (at most its requests), a rate's
//! `max_concurrency` (else its requests), a ramp's largest stage. 8 bytes a
//! token covers synthetic text (about 5–6 bytes a token) with its JSON escaping;
//! 4 bytes a pixel is base64 of raw RGB noise (which PNG cannot compress).

use std::collections::BTreeMap;

use super::ManifestError;
use super::{EndpointSpec, LoadSpec, PointSpec, ScenarioSpec};
use crate::manifest::raw::defaults;
use crate::manifest::Manifest;
use crate::vocab::workload::{Workload, MAX_TOKENS};
use crate::vocab::StageKind;

/// Bytes of one token of prompt text in a request body.
pub const BYTES_PER_TOKEN: u64 = 8;
/// Bytes of one image pixel in a request body.
pub const BYTES_PER_PIXEL: u64 = 4;
/// Bytes of a request task in flight, before its response.
pub const BYTES_PER_SLOT: u64 = 4096;
/// Bytes of a record besides its chunk times.
pub const BYTES_PER_RECORD: u64 = 512;

/// The output tokens one request may receive.
fn output_tokens_high(w: &Workload, cap: u32) -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let out = match w {
        Workload::Deterministic { output, .. } => u64::from(*output),
        Workload::Normal {
            output_mean,
            output_std,
            ..
        } => (output_mean + 4.0 * output_std).clamp(1.0, f64::from(MAX_TOKENS)) as u64,
        Workload::Uniform { output_max, .. } => u64::from(*output_max),
        Workload::Image { .. } => 64,
        Workload::Embedding { .. } | Workload::Rerank { .. } | Workload::EmbeddingText { .. } => 0,
    };
    out.min(u64::from(cap))
}

/// Requests in flight at once at this load.
fn slots(load: &LoadSpec) -> u64 {
    match load {
        LoadSpec::Burst { batch } => u64::from(*batch),
        LoadSpec::Concurrency {
            concurrency,
            requests,
            ..
        } => u64::from((*concurrency).min(*requests)),
        LoadSpec::Rate {
            max_concurrency,
            requests,
            ..
        } => u64::from(max_concurrency.unwrap_or(*requests).min(*requests)),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        LoadSpec::Ramp { stages } => stages
            .iter()
            .map(|s| match s.kind {
                StageKind::Concurrency => s.value as u64,
                // An open-loop stage keeps at most rate × duration in flight.
                StageKind::Rate => (s.value * s.duration.as_secs_f64()).ceil() as u64,
            })
            .max()
            .unwrap_or(0),
    }
}

/// Bytes of one request body of `scenario`.
#[must_use]
pub fn request_bytes(scenario: &ScenarioSpec) -> u64 {
    let w = &scenario.workload;
    let prefix = scenario.prefix.as_ref().map_or(0, |p| u64::from(p.tokens));
    let images = scenario.images.as_ref().map_or(0, |i| {
        u64::from(i.width) * u64::from(i.height) * u64::from(i.count)
    });
    let tokens = w
        .input_tokens_high()
        .saturating_mul(u64::from(scenario.turns.max(1)))
        .saturating_add(prefix);
    tokens
        .saturating_mul(BYTES_PER_TOKEN)
        .saturating_add((w.image_pixels() + images).saturating_mul(BYTES_PER_PIXEL))
        .saturating_add(1024)
}

/// Bytes one run of `point` holds while it runs (see the module docs).
#[must_use]
pub fn run_bytes(point: &PointSpec, scenario: &ScenarioSpec) -> u64 {
    let prefixes = scenario.prefix.as_ref().map_or(0, |p| {
        u64::from(p.groups) * u64::from(p.tokens) * BYTES_PER_TOKEN
    });
    point
        .requests_per_run()
        .saturating_mul(request_bytes(scenario))
        .saturating_add(slots(&point.load).saturating_mul(BYTES_PER_SLOT))
        .saturating_add(prefixes)
}

/// Bytes of every record `point` leaves (warmup included), `n` completions a request.
#[must_use]
pub fn records_bytes(point: &PointSpec, scenario: &ScenarioSpec, n: u32) -> u64 {
    let per_record = output_tokens_high(&scenario.workload, scenario.max_tokens_cap)
        .saturating_mul(u64::from(n.max(1)))
        .saturating_mul(8)
        .saturating_add(BYTES_PER_RECORD);
    super::matrix::total_requests(point).saturating_mul(per_record)
}

/// Rejects plans whose estimated peak memory is above `experiment.max_memory_mb`
/// (see the module docs): the largest run plus every record of the experiment.
pub(crate) fn memory_guard(
    m: &Manifest,
    points: &[PointSpec],
    endpoints: &BTreeMap<String, EndpointSpec>,
    scenarios: &BTreeMap<String, ScenarioSpec>,
) -> Result<(), ManifestError> {
    let max_mb = m
        .raw
        .experiment
        .max_memory_mb
        .unwrap_or(defaults::MAX_MEMORY_MB);
    let mut records = 0u64;
    let mut largest: Option<(u64, &PointSpec)> = None;
    for p in points {
        let (Some(sc), Some(ep)) = (scenarios.get(&p.scenario), endpoints.get(&p.endpoint)) else {
            continue;
        };
        records = records.saturating_add(records_bytes(p, sc, ep.n));
        let run = run_bytes(p, sc);
        if largest.is_none_or(|(b, _)| run > b) {
            largest = Some((run, p));
        }
    }
    let Some((run, point)) = largest else {
        return Ok(());
    };
    let peak_mb = run.saturating_add(records).div_ceil(1 << 20);
    if peak_mb > max_mb {
        return Err(ManifestError {
            file: m.path.clone(),
            key: Some("experiment.max_memory_mb".into()),
            message: format!(
                "the plan would hold about {peak_mb} MiB ({} MiB for one run of `{}`, {} MiB of records), above the limit of {max_mb} MiB",
                run.div_ceil(1 << 20),
                point.id,
                records.div_ceil(1 << 20)
            ),
            hint: Some(
                "lower the batch, concurrency, requests or token lengths, raise experiment.max_memory_mb, or pass --allow-large".into(),
            ),
        });
    }
    Ok(())
}
