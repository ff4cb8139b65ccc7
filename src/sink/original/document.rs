//! The file of a completion point: `metadata`, `sweep_value` and `result`
//! with the original's keys, in its order and units.

use serde_json::{json, Map, Value};

use super::layout::sweep_value;
use super::number::round_floats;
use crate::metrics::Stat;
use crate::plan::{DatasetSource, DatasetSpec, EndpointTarget, LoadSpec, PointSpec, ScenarioSpec};
use crate::results::{ExperimentResults, PointResult};
use crate::vocab::workload::Workload;
use crate::vocab::LoraStrategy;

/// `{mean, std}` of a Stat, scaled (1e-3 turns ms into s).
pub(super) fn mean_std(s: &Stat, scale: f64) -> Value {
    json!({ "mean": s.mean * scale, "std": s.std * scale })
}

/// The run's start as the original's `datetime.now().isoformat()` (local, no offset).
pub(super) fn local_timestamp(started_at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(started_at).map_or_else(
        |_| started_at.to_string(),
        |t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%dT%H:%M:%S%.6f")
                .to_string()
        },
    )
}

/// A LoRA strategy under the original's name for the same assignment: its
/// `uniform` is round-robin and its `mixed` a random pick per request.
/// `weighted` has no equivalent and keeps tokenomics' name.
pub(super) fn lora_strategy_name(s: LoraStrategy) -> &'static str {
    match s {
        LoraStrategy::Single => "single",
        LoraStrategy::Uniform | LoraStrategy::Mixed => "mixed",
        LoraStrategy::RoundRobin => "uniform",
        LoraStrategy::AllUnique => "all-unique",
        LoraStrategy::Weighted => "weighted",
        LoraStrategy::Zipf => "zipf",
    }
}

/// True when `source` is written in the original's config format
/// (`{"type", "path", "huggingface_kwargs"}`) rather than tokenomics' TOML keys.
fn original_format_source(raw: &Value) -> bool {
    raw.get("source")
        .and_then(Value::as_object)
        .is_some_and(|s| !s.contains_key("huggingface") && !s.contains_key("file"))
}

/// The `dataset_config` object: the original's config shape
/// (`{"source": {"type", ["path"], ["huggingface_kwargs"]}, "prompt_column",
/// ["image_column"], "description"}`). A config read from the original's JSON
/// format is copied as written, as the original copies it; any other dataset is
/// described in that shape (tokenomics-only keys such as `system_prompt` or
/// `max_rows` have no place in it and stay in summary.json).
fn dataset_config(ds: &DatasetSpec) -> Value {
    if original_format_source(&ds.raw_config) {
        return ds.raw_config.clone();
    }
    let (source, column) = match &ds.source {
        DatasetSource::Aime => (json!({"type": "aime"}), "Question".to_string()),
        DatasetSource::Synthetic => (json!({"type": "synthetic"}), ds.prompt_column.clone()),
        DatasetSource::HuggingFace {
            repo,
            config,
            split,
            revision,
        } => {
            let mut kwargs = Map::new();
            if let Some(c) = config {
                kwargs.insert("name".into(), json!(c));
            }
            kwargs.insert("split".into(), json!(split));
            if let Some(r) = revision {
                kwargs.insert("revision".into(), json!(r));
            }
            (
                json!({"type": "huggingface", "path": repo, "huggingface_kwargs": kwargs}),
                ds.prompt_column.clone(),
            )
        }
        DatasetSource::File { path, .. } => {
            let written = ds.raw_config["source"]["file"]
                .as_str()
                .map_or_else(|| path.display().to_string(), str::to_string);
            (
                json!({"type": "file", "path": written}),
                ds.prompt_column.clone(),
            )
        }
    };
    let mut m = Map::new();
    m.insert("source".into(), source);
    m.insert("prompt_column".into(), json!(column));
    if let Some(c) = &ds.image_column {
        m.insert("image_column".into(), json!(c));
    }
    let description = ds.raw_config["description"].as_str().map_or_else(
        || format!("tokenomics dataset `{}`", ds.name),
        str::to_string,
    );
    m.insert("description".into(), json!(description));
    Value::Object(m)
}

/// The synthetic images each request carried: `(count, "N" or "WxH")` as the
/// original's `--num-images` / `--image-size` (dataset images are not counted,
/// as the original's vision replay reports none).
fn synthetic_images(sc: &ScenarioSpec) -> Option<(u32, String)> {
    let (w, h, n) = match (&sc.images, &sc.workload) {
        (Some(i), _) if !i.from_dataset => (i.width, i.height, i.count),
        (
            None,
            Workload::Image {
                width,
                height,
                count,
            },
        ) => (*width, *height, *count),
        _ => return None,
    };
    let size = if w == h {
        w.to_string()
    } else {
        format!("{w}x{h}")
    };
    Some((n, size))
}

/// The `metadata` object of one point.
pub(super) fn metadata(results: &ExperimentResults, spec: &PointSpec, series: &[f64]) -> Value {
    let plan = &results.plan;
    let exp = &plan.experiment;
    let endpoint = plan.endpoints.get(&spec.endpoint);
    let scenario = plan.scenarios.get(&spec.scenario);
    let replay = scenario.is_some_and(|s| s.replay);
    let images = scenario.and_then(synthetic_images);
    let compat = scenario.is_some_and(|s| s.compat_original);
    let dataset_config = scenario.map_or(Value::Null, |s| dataset_config(&s.dataset));
    let lora = scenario
        .and_then(|s| s.lora.as_ref())
        .map_or(Value::Null, |l| {
            json!({
                "strategy": lora_strategy_name(l.strategy),
                "lora_names": l.adapters,
                "base_model_ratio": l.base_model_ratio,
            })
        });
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put(
        "timestamp",
        json!(local_timestamp(&results.environment.started_at)),
    );
    put("model", json!(endpoint.map(|e| e.model.clone())));
    put(
        "scenario",
        json!(scenario
            .filter(|_| !replay)
            .map(|s| s.workload.to_spec_string())),
    );
    put(
        "prompt_source",
        json!(if replay { "dataset_replay" } else { "scenario" }),
    );
    put("max_tokens", json!(scenario.map(|s| s.max_tokens_cap)));
    put("num_images", json!(images.as_ref().map_or(0, |i| i.0)));
    put("image_size", json!(images.map(|i| i.1)));
    put("input_tokens", Value::Null);
    put("dataset_config", dataset_config);
    put(
        "api_base",
        json!(endpoint.map(|e| match &e.target {
            EndpointTarget::Url(u) => u.clone(),
            EndpointTarget::Simulator(_) => "simulator".to_string(),
        })),
    );
    let mode = match spec.load {
        LoadSpec::Burst { .. } => "burst",
        LoadSpec::Concurrency { .. } => "sustained",
        LoadSpec::Rate { .. } => "rate",
        LoadSpec::Ramp { .. } => "ramp",
    };
    put("execution_mode", json!(mode));
    put("num_runs", json!(spec.runs));
    put("warmup_runs", json!(spec.warmup));
    let temperature = endpoint
        .and_then(|e| e.temperature)
        .or(compat.then_some(crate::vocab::workload::ORIGINAL_TEMPERATURE));
    put("temperature", json!(temperature));
    put("num_completions", json!(endpoint.map_or(1, |e| e.n)));
    put("stream", json!(endpoint.is_some_and(|e| e.stream)));
    put(
        "description",
        json!(legend_description(&exp.description, spec, mode)),
    );
    put("seed", json!(exp.seed));
    put("lora_config", lora);
    put("steady_state_threshold", json!(exp.steady_state_threshold));
    put("bucket_size_seconds", json!(exp.bucket.as_secs_f64()));
    let values: Vec<Value> = series.iter().map(|&v| sweep_value(v)).collect();
    match &spec.load {
        LoadSpec::Burst { .. } => put("batch_sizes", json!(values)),
        LoadSpec::Concurrency { requests, .. } => {
            put("concurrency_levels", json!(values));
            put("num_prompts", json!(requests));
        }
        LoadSpec::Rate { requests, .. } => {
            put("rates", json!(values));
            put("num_prompts", json!(requests));
        }
        LoadSpec::Ramp { .. } => {}
    }
    Value::Object(m)
}

/// The `result` object of one point.
pub(super) fn result(point: &PointResult) -> Value {
    let s = &point.summary;
    let mut usage = Map::new();
    if s.usage.reasoning_tokens.n > 0 {
        usage.insert(
            "reasoning_tokens".into(),
            json!({
                "mean": s.usage.reasoning_tokens.mean,
                "std": s.usage.reasoning_tokens.std,
                "total": s.usage.reasoning_tokens_total,
            }),
        );
    }
    if s.usage.cached_tokens.n > 0 {
        usage.insert(
            "cached_tokens".into(),
            json!({
                "mean": s.usage.cached_tokens.mean,
                "total": s.usage.cached_tokens_total,
                "cache_hit_rate": s.usage.cache_hit_rate,
            }),
        );
    }
    if !s.usage.finish_reasons.is_empty() {
        usage.insert("finish_reasons".into(), json!(s.usage.finish_reasons));
    }
    let phased = if point.runs.iter().any(|r| r.ok > 0) {
        let last = point.runs.iter().max_by_key(|r| r.run_index);
        json!({
            "steady_state_tps": {
                "median": s.steady_state_tps,
                "median_std": s.steady_state_tps_std,
            },
            "peak_active_requests": s.peak_active_buckets,
            "time_series": {
                "output_tokens_per_bucket": last.map(|r| r.tokens_per_bucket.clone()).unwrap_or_default(),
                "active_requests_per_bucket": last.map(|r| r.active_per_bucket.clone()).unwrap_or_default(),
            },
        })
    } else {
        json!({})
    };
    json!({
        "tokens": {
            "input_per_request": mean_std(&s.input_tokens, 1.0),
            "output_per_request": mean_std(&s.output_tokens, 1.0),
        },
        "prefill_metrics": {
            "ttft": mean_std(&s.ttft_ms, 1e-3),
            "ttfo": mean_std(&s.ttfo_ms, 1e-3),
            "input_throughput": mean_std(&s.input_tps_per_request, 1.0),
        },
        "decode_metrics": {
            "output_throughput": mean_std(&s.output_tps_per_request, 1.0),
            "tpot": mean_std(&s.tpot_ms, 1e-3),
            "decode_time": mean_std(&s.decode_ms, 1e-3),
        },
        "batch_metrics": {
            "e2e_tps": mean_std(&s.e2e_output_tps, 1.0),
            "wall_time": mean_std(&s.wall_time_s, 1.0),
        },
        "reliability": {
            "total_requests": s.reliability.total,
            "successful": s.reliability.ok,
            "failed": s.reliability.failed,
        },
        "usage_extras": usage,
        "phased_metrics": phased,
    })
}

/// The whole document of one point, floats rounded.
pub(super) fn point_document(
    results: &ExperimentResults,
    point: &PointResult,
    series: &[f64],
) -> Value {
    let mut doc = json!({
        "metadata": metadata(results, &point.spec, series),
        "sweep_value": sweep_value(point.spec.load.value()),
        "result": result(point),
    });
    round_floats(&mut doc);
    doc
}

/// `metadata.description` of a point: the original's plot scripts label each
/// curve with it, so it names the experiment's description *and* the point's
/// endpoint, scenario and mode — two endpoints of one experiment get two
/// legend labels, one per (endpoint, scenario, mode).
pub(super) fn legend_description(description: &str, spec: &PointSpec, mode: &str) -> String {
    let what = format!("{}/{}, {mode}", spec.endpoint, spec.scenario);
    if description.is_empty() {
        what
    } else {
        format!("{description} ({what})")
    }
}
