//! The file of an embeddings point, in the layout of the original's embedding
//! benchmark: tokens, timings and throughput as `{mean, std, min, max}`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::document::{legend_description, local_timestamp};
use super::layout::{config_key, sequence_length, sweep_value, Layout};
use super::number::round_floats;
use crate::plan::EndpointTarget;
use crate::record::RequestRecord;
use crate::results::{ExperimentResults, PointResult};

/// `{mean, std, min, max}` of `values` with the sample std (n − 1 in the
/// denominator; 0 for fewer than two values); every field 0 without values.
pub(super) fn sample_stat(values: &[f64]) -> Value {
    if values.is_empty() {
        return json!({ "mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0 });
    }
    #[allow(clippy::cast_precision_loss)]
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    // std = sqrt(Σ (x − mean)² / (n − 1))
    let std = if values.len() < 2 {
        0.0
    } else {
        (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    };
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    json!({ "mean": mean, "std": std, "min": min, "max": max })
}

/// The measured records of `point_index`, each request's final attempt only,
/// grouped by run.
pub(super) fn final_attempts_by_run(
    records: &[RequestRecord],
    point_index: u32,
) -> BTreeMap<u32, Vec<&RequestRecord>> {
    let of_point: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| r.point_index == point_index)
        .collect();
    let finals =
        crate::metrics::final_attempts(&of_point, |r| (r.run_index, r.request_index, r.turn));
    let mut runs: BTreeMap<u32, Vec<&RequestRecord>> = BTreeMap::new();
    for r in finals {
        runs.entry(r.run_index).or_default().push(r);
    }
    runs
}

/// The `result` object of an embeddings point (module docs for each value).
pub(super) fn embedding_result(results: &ExperimentResults, point: &PointResult) -> Value {
    let index = u32::try_from(point.spec.index).unwrap_or(u32::MAX);
    let by_run = final_attempts_by_run(&results.records, index);
    let (mut tokens, mut items, mut req_eps, mut req_tps) = (vec![], vec![], vec![], vec![]);
    let (mut wall, mut fastest, mut slowest, mut spread) = (vec![], vec![], vec![], vec![]);
    let (mut batch_eps, mut batch_tps) = (vec![], vec![]);
    for run in &point.runs {
        let recs = by_run.get(&run.run_index).map_or(&[][..], Vec::as_slice);
        wall.push(run.wall_time_s);
        // Ends are ns since the run's t0, the batch start.
        let ends = recs.iter().map(|r| r.end_ns as f64 / 1e9);
        if let (Some(first), Some(last)) = (ends.clone().reduce(f64::min), ends.reduce(f64::max)) {
            fastest.push(first);
            slowest.push(last);
            spread.push(last - first);
        }
        let ok: Vec<&RequestRecord> = recs.iter().copied().filter(|r| r.outcome.is_ok()).collect();
        for r in &ok {
            let (input, returned) = (f64::from(r.input_tokens), f64::from(r.items_returned));
            tokens.push(input);
            items.push(returned);
            let elapsed = r.end_ns.saturating_sub(r.start_ns) as f64 / 1e9;
            if elapsed > 0.0 {
                req_eps.push(returned / elapsed);
                req_tps.push(input / elapsed);
            }
        }
        if run.wall_time_s > 0.0 {
            let sum =
                |f: fn(&RequestRecord) -> u32| ok.iter().map(|r| f64::from(f(r))).sum::<f64>();
            batch_eps.push(sum(|r| r.items_returned) / run.wall_time_s);
            batch_tps.push(sum(|r| r.input_tokens) / run.wall_time_s);
        }
    }
    json!({
        "tokens": {
            "total_per_batch": sample_stat(&tokens),
            "embeddings_per_batch": sample_stat(&items),
        },
        "timings": {
            "batch_total_seconds": sample_stat(&wall),
            "fastest_seconds": sample_stat(&fastest),
            "slowest_seconds": sample_stat(&slowest),
            "spread_seconds": sample_stat(&spread),
        },
        "throughput": {
            "batch_embeddings_per_second": sample_stat(&batch_eps),
            "batch_tokens_per_second": sample_stat(&batch_tps),
            "request_embeddings_per_second": sample_stat(&req_eps),
            "request_tokens_per_second": sample_stat(&req_tps),
        },
    })
}

/// The whole document of an embeddings point, floats rounded.
pub(super) fn embedding_document(
    results: &ExperimentResults,
    point: &PointResult,
    layout: &Layout,
) -> Value {
    let plan = &results.plan;
    let spec = &point.spec;
    let endpoint = plan.endpoints.get(&spec.endpoint);
    let (batch_sizes, sequence_lengths) = layout.sweep(spec).map_or_else(
        || {
            (
                vec![sweep_value(spec.load.value())],
                vec![sequence_length(plan, spec)],
            )
        },
        |s| {
            (
                s.batch_sizes.iter().map(|&v| sweep_value(v)).collect(),
                s.sequence_lengths.clone(),
            )
        },
    );
    let mut doc = json!({
        "metadata": {
            "timestamp": local_timestamp(&results.environment.started_at),
            "model": endpoint.map(|e| e.model.clone()),
            "api_base": endpoint.map(|e| match &e.target {
                EndpointTarget::Url(u) => u.clone(),
                EndpointTarget::Simulator(_) => "simulator".to_string(),
            }),
            "batch_sizes": batch_sizes,
            "sequence_lengths": sequence_lengths,
            "num_runs": spec.runs,
            "warmup_runs": spec.warmup,
            "concurrent_requests": endpoint.is_none_or(|e| !e.embed_batch_in_one_request),
            "seed": plan.experiment.seed,
            "description": legend_description(&plan.experiment.description, spec, spec.load.mode_name()),
        },
        "config_key": config_key(plan, spec),
        "result": embedding_result(results, point),
    });
    round_floats(&mut doc);
    doc
}
