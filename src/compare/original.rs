//! Reading the original tool's result JSON of every era into the common view.
//!
//! Containers, by the original tool's version:
//! * one file with `{"metadata", "results": {"<key>": {…}}}`: E1, E2, E3
//!   (simple and advanced), E4, and the embedding benchmark before v0.5.0;
//! * one file per point, `{"metadata", "sweep_value", "result"}` (completion,
//!   v0.5.0+) or `{"metadata", "config_key", "result"}` (embedding, v0.5.0+),
//!   usually a directory of them, read in file-name order.
//!
//! Each result object is recognised by its keys, not by the file name:
//!
//! | era | recognised by | notes |
//! |---|---|---|
//! | E1 v-initial | `tokens_per_second_in_batch` | means only |
//! | E1–E3 simple | `throughput.batch_tokens_per_second` | non-streaming, sample std |
//! | E3 advanced | `batch_metrics.combined_throughput` | streaming, sample std |
//! | E4 | `batch_metrics.e2e_tps` (or `wall_clock_tps`) in a single file | sample std |
//! | E5 | the same keys in a per-point file | population std; `ttfo` from v0.7.0 |
//! | embedding | `throughput.batch_embeddings_per_second` | estimated tokens, sample std |
//!
//! Units: the original writes seconds; TTFT, TTFO, TPOT and decode time become
//! milliseconds here. Wall times stay in seconds (`wall_time_s`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::view::{MetricValue, PointMetrics, SourceKind, SourceView, WorkKind};

/// The eras the reader distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// E1 v-initial: `avg_*` keys, means only.
    V0Initial,
    /// E1–E3 simple: tokens, timings, throughput.
    Simple,
    /// E3 advanced: prefill, decode and combined throughput.
    Advanced,
    /// E4: HEAD layout in one file.
    E4,
    /// E5: one file per sweep value.
    E5,
    /// The embedding benchmark.
    Embedding,
}

impl Era {
    /// Human-readable era name (shown as the source kind).
    #[must_use]
    pub fn label(self, has_ttfo: bool) -> &'static str {
        match self {
            Era::V0Initial => "E1 v-initial",
            Era::Simple => "E1–E3 simple",
            Era::Advanced => "E3 advanced",
            Era::E4 => "E4 (v0.2–v0.3)",
            Era::E5 if has_ttfo => "E5 (v0.7.0+)",
            Era::E5 => "E5 (v0.5–v0.6)",
            Era::Embedding => "embedding",
        }
    }

    fn note(self, has_ttfo: bool) -> &'static str {
        match self {
            Era::V0Initial => "v-initial files hold means over runs only (no std). `avg_tokens_per_second` (output tokens / request time, prefill included) is shown as output_tps_per_request, whose tokenomics definition excludes TTFT: close only when TTFT is small against E2E.",
            Era::Simple => "E1–E3 simple: non-streaming requests; std is the sample std (n−1). `request_tokens_per_second` (output tokens / whole request time, prefill included) is shown as output_tps_per_request, whose tokenomics definition excludes TTFT: close only when TTFT is small against E2E.",
            Era::Advanced => "E3 advanced: wall-clock timing, TTFT at the first non-empty content delta, sample std. combined_tps is the sum of per-request decode rates, not an aggregate throughput, and has no tokenomics counterpart. e2e_ms is derived as mean TTFT + mean decode time.",
            Era::E4 => "E4: sample std (the steady-state std is the population std); TTFT stamped after JSON parsing and the latency window ending at [DONE] (definitions before v0.7.0); 1 s steady-state buckets before v0.3.0. e2e_ms is derived as mean TTFT + mean decode time.",
            Era::E5 if has_ttfo => "E5 v0.7.0+: population std and the timing definitions tokenomics follows; every float was rounded to 4 significant digits. e2e_ms is derived as mean TTFT + mean decode time.",
            Era::E5 => "E5 before v0.7.0 (no ttfo): TTFT stamped after JSON parsing and the latency window ending at [DONE]; the original itself says these numbers are not directly comparable with v0.7.0+. e2e_ms is derived as mean TTFT + mean decode time.",
            Era::Embedding => "Embedding: token counts are estimates (words × 1.3), not server counts, so e2e_total_tps and tokens_per_s_per_request use estimated tokens; std is the sample std; failed requests were pooled as zeros.",
        }
    }
}

fn path_get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k))
}

/// A `{mean, std}` object (or a bare number) at `path`.
fn stat_at(v: &Value, path: &[&str]) -> Option<MetricValue> {
    let x = path_get(v, path)?;
    if let Some(n) = x.as_f64() {
        return Some(MetricValue::mean_std(n, None));
    }
    let mean = x.get("mean")?.as_f64()?;
    let std = x.get("std").and_then(Value::as_f64);
    Some(MetricValue::mean_std(mean, std))
}

fn num_at(v: &Value, path: &[&str]) -> Option<f64> {
    path_get(v, path).and_then(Value::as_f64)
}

/// Recognises the era of one result object (see the module table).
#[must_use]
pub fn detect_era(result: &Value, per_point_file: bool) -> Option<Era> {
    let has = |p: &[&str]| path_get(result, p).is_some();
    if has(&["tokens_per_second_in_batch"]) || has(&["avg_tokens_per_second"]) {
        Some(Era::V0Initial)
    } else if has(&["throughput", "batch_embeddings_per_second"]) {
        Some(Era::Embedding)
    } else if has(&["batch_metrics", "combined_throughput"]) {
        Some(Era::Advanced)
    } else if has(&["batch_metrics", "e2e_tps"]) || has(&["batch_metrics", "wall_clock_tps"]) {
        Some(if per_point_file { Era::E5 } else { Era::E4 })
    } else if has(&["throughput", "batch_tokens_per_second"]) {
        Some(Era::Simple)
    } else {
        None
    }
}

fn put(m: &mut BTreeMap<String, MetricValue>, name: &str, v: Option<MetricValue>) {
    if let Some(v) = v {
        m.insert(name.to_string(), v);
    }
}

/// The prefill and decode fields that the advanced (E3) and E4/E5 layouts share:
/// (metric, path in the result, whether the value is in seconds and becomes ms).
const PHASE_FIELDS: [(&str, &[&str], bool); 5] = [
    ("ttft_ms", &["prefill_metrics", "ttft"], true),
    (
        "input_tps_per_request",
        &["prefill_metrics", "input_throughput"],
        false,
    ),
    (
        "output_tps_per_request",
        &["decode_metrics", "output_throughput"],
        false,
    ),
    ("tpot_ms", &["decode_metrics", "tpot"], true),
    ("decode_ms", &["decode_metrics", "decode_time"], true),
];

/// Reads the [`PHASE_FIELDS`] of result `r` into `m`.
fn put_phase_fields(m: &mut BTreeMap<String, MetricValue>, r: &Value) {
    for (name, path, seconds) in PHASE_FIELDS {
        let v = stat_at(r, path);
        put(
            m,
            name,
            if seconds {
                v.map(|v| v.scaled(1000.0))
            } else {
                v
            },
        );
    }
}

/// Mean TTFT + mean decode time (ms): the "total latency" the original plots.
fn derived_e2e(m: &BTreeMap<String, MetricValue>) -> Option<MetricValue> {
    let decode = m.get("decode_ms")?.mean?;
    let ttft = m.get("ttft_ms").and_then(|t| t.mean).unwrap_or(0.0);
    Some(MetricValue::mean_std(ttft + decode, None))
}

/// Converts one result object of `era` into metrics in tokenomics names and units.
#[must_use]
pub fn result_metrics(era: Era, r: &Value) -> BTreeMap<String, MetricValue> {
    let mut m = BTreeMap::new();
    let to_ms = |v: Option<MetricValue>| v.map(|v| v.scaled(1000.0));
    match era {
        Era::V0Initial => {
            put(&mut m, "input_tokens", stat_at(r, &["avg_input_tokens"]));
            put(&mut m, "output_tokens", stat_at(r, &["avg_output_tokens"]));
            put(&mut m, "wall_time_s", stat_at(r, &["elapsed_time"]));
            put(
                &mut m,
                "e2e_output_tps",
                stat_at(r, &["tokens_per_second_in_batch"]),
            );
            put(
                &mut m,
                "output_tps_per_request",
                stat_at(r, &["avg_tokens_per_second"]),
            );
        }
        Era::Simple | Era::Advanced | Era::Embedding => {
            put(
                &mut m,
                "wall_time_s",
                stat_at(r, &["timings", "batch_total_seconds"]),
            );
            put(
                &mut m,
                "fastest_s",
                stat_at(r, &["timings", "fastest_seconds"]),
            );
            put(
                &mut m,
                "slowest_s",
                stat_at(r, &["timings", "slowest_seconds"]),
            );
            put(
                &mut m,
                "spread_s",
                stat_at(r, &["timings", "spread_seconds"]),
            );
            if era == Era::Embedding {
                put(
                    &mut m,
                    "input_tokens",
                    stat_at(r, &["tokens", "total_per_batch"]),
                );
                put(
                    &mut m,
                    "items_per_s",
                    stat_at(r, &["throughput", "batch_embeddings_per_second"]),
                );
                put(
                    &mut m,
                    "e2e_total_tps",
                    stat_at(r, &["throughput", "batch_tokens_per_second"]),
                );
                put(
                    &mut m,
                    "items_per_s_per_request",
                    stat_at(r, &["throughput", "request_embeddings_per_second"]),
                );
                put(
                    &mut m,
                    "tokens_per_s_per_request",
                    stat_at(r, &["throughput", "request_tokens_per_second"]),
                );
            } else {
                put(
                    &mut m,
                    "input_tokens",
                    stat_at(r, &["tokens", "input_per_request"]),
                );
                put(
                    &mut m,
                    "output_tokens",
                    stat_at(r, &["tokens", "output_per_request"]),
                );
            }
            if era == Era::Simple {
                put(
                    &mut m,
                    "e2e_output_tps",
                    stat_at(r, &["throughput", "batch_tokens_per_second"]),
                );
                put(
                    &mut m,
                    "output_tps_per_request",
                    stat_at(r, &["throughput", "request_tokens_per_second"]),
                );
            }
            if era == Era::Advanced {
                put_phase_fields(&mut m, r);
                put(
                    &mut m,
                    "combined_tps",
                    stat_at(r, &["batch_metrics", "combined_throughput"]),
                );
                if !m.contains_key("wall_time_s") {
                    put(
                        &mut m,
                        "wall_time_s",
                        stat_at(r, &["batch_metrics", "batch_duration"]),
                    );
                }
                put(
                    &mut m,
                    "failure_rate_pct",
                    num_at(r, &["reliability", "failure_rate"])
                        .map(|f| MetricValue::mean_std(f, None)),
                );
                let e2e = derived_e2e(&m);
                put(&mut m, "e2e_ms", e2e);
            }
        }
        Era::E4 | Era::E5 => {
            put(
                &mut m,
                "input_tokens",
                stat_at(r, &["tokens", "input_per_request"]),
            );
            put(
                &mut m,
                "output_tokens",
                stat_at(r, &["tokens", "output_per_request"]),
            );
            put_phase_fields(&mut m, r);
            put(
                &mut m,
                "ttfo_ms",
                to_ms(stat_at(r, &["prefill_metrics", "ttfo"])),
            );
            put(
                &mut m,
                "e2e_output_tps",
                stat_at(r, &["batch_metrics", "e2e_tps"])
                    .or_else(|| stat_at(r, &["batch_metrics", "wall_clock_tps"])),
            );
            put(
                &mut m,
                "wall_time_s",
                stat_at(r, &["batch_metrics", "wall_time"]),
            );
            let total = num_at(r, &["reliability", "total_requests"]);
            let failed = num_at(r, &["reliability", "failed"]);
            if let (Some(t), Some(f)) = (total, failed) {
                if t > 0.0 {
                    put(
                        &mut m,
                        "failure_rate_pct",
                        Some(MetricValue::mean_std(f / t * 100.0, None)),
                    );
                }
            }
            if let Some(median) = num_at(r, &["phased_metrics", "steady_state_tps", "median"]) {
                let std = num_at(r, &["phased_metrics", "steady_state_tps", "median_std"]);
                put(
                    &mut m,
                    "steady_state_tps",
                    Some(MetricValue::mean_std(median, std)),
                );
            }
            put(
                &mut m,
                "peak_active",
                num_at(r, &["phased_metrics", "peak_active_requests"])
                    .map(|p| MetricValue::mean_std(p, None)),
            );
            let e2e = derived_e2e(&m);
            put(&mut m, "e2e_ms", e2e);
        }
    }
    m
}

fn mode_of(metadata: &Value) -> String {
    match metadata.get("execution_mode").and_then(Value::as_str) {
        Some("sustained") => "concurrency".into(),
        Some(other) => other.to_string(),
        None if metadata.get("concurrency_levels").is_some() => "concurrency".into(),
        None => "burst".into(),
    }
}

/// Splits an embedding config key `batch_{B}_seq_{S}` into (B, `seq_{S}`).
fn parse_embedding_key(key: &str) -> Option<(f64, String)> {
    let rest = key.strip_prefix("batch_")?;
    let (b, seq) = rest.split_once("_seq_")?;
    Some((b.parse().ok()?, format!("seq_{seq}")))
}

/// One parsed point with its era.
struct RawPoint {
    era: Era,
    point: PointMetrics,
}

fn point_from(
    key: &str,
    result: &Value,
    metadata: &Value,
    per_point_file: bool,
) -> Result<RawPoint, String> {
    let era = detect_era(result, per_point_file).ok_or_else(|| {
        format!("result `{key}` has none of the keys of a known era of the original's output")
    })?;
    let (load, label) = if era == Era::Embedding {
        parse_embedding_key(key)
            .map(|(b, s)| (b, Some(s)))
            .ok_or_else(|| format!("embedding result key `{key}` is not `batch_<B>_seq_<S>`"))?
    } else {
        let load = key.parse::<f64>().map_err(|_| {
            format!("result key `{key}` is not a number (batch size or concurrency)")
        })?;
        (load, None)
    };
    Ok(RawPoint {
        era,
        point: PointMetrics {
            kind: if era == Era::Embedding {
                WorkKind::Embedding
            } else {
                WorkKind::Generation
            },
            label,
            load,
            mode: Some(mode_of(metadata)),
            metrics: result_metrics(era, result),
        },
    })
}

/// True when `v` looks like one of the original's result documents.
#[must_use]
pub fn looks_original(v: &Value) -> bool {
    v.get("results").is_some_and(Value::is_object)
        || (v.get("result").is_some_and(Value::is_object)
            && (v.get("sweep_value").is_some() || v.get("config_key").is_some()))
}

fn points_of_document(v: &Value) -> Result<(Vec<RawPoint>, Value), String> {
    let metadata = v.get("metadata").cloned().unwrap_or(Value::Null);
    let mut out = Vec::new();
    if let Some(results) = v.get("results").and_then(Value::as_object) {
        for (key, r) in results {
            out.push(point_from(key, r, &metadata, false)?);
        }
    } else if let Some(r) = v.get("result") {
        let key = match (v.get("sweep_value"), v.get("config_key")) {
            (Some(s), _) => match s {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            (None, Some(Value::String(k))) => k.clone(),
            _ => return Err("a per-point file needs `sweep_value` or `config_key`".into()),
        };
        // The phased metrics of a point with no successful request are `{}`.
        out.push(point_from(&key, r, &metadata, true)?);
    } else {
        return Err("neither `results` nor `result` is present".into());
    }
    Ok((out, metadata))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("`{}` is not valid JSON: {e}", path.display()))
}

/// Reads the original's result file(s) at `path`: one JSON file, or a directory
/// of per-point files (`*.json`, in file-name order like the original's loader).
///
/// # Errors
/// A message naming the file when it cannot be read or has no known layout.
pub fn load_original(path: &Path) -> Result<SourceView, String> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut f: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("cannot list `{}`: {e}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        f.sort();
        if f.is_empty() {
            return Err(format!("`{}` holds no *.json result files", path.display()));
        }
        f
    } else {
        vec![path.to_path_buf()]
    };
    let mut raw = Vec::new();
    let mut first_meta: Option<Value> = None;
    let mut notes = Vec::new();
    for file in &files {
        let v = read_json(file)?;
        if !looks_original(&v) {
            if files.len() > 1 {
                notes.push(format!(
                    "skipped `{}`: not an original result file",
                    file.display()
                ));
                continue;
            }
            return Err(format!(
                "`{}` is not a result file of the original tool (no `results` map and no per-point `result`)",
                file.display()
            ));
        }
        let (points, meta) =
            points_of_document(&v).map_err(|e| format!("`{}`: {e}", file.display()))?;
        match &first_meta {
            None => first_meta = Some(meta),
            Some(first) => {
                for key in ["model", "scenario", "api_base"] {
                    if first.get(key) != meta.get(key) {
                        notes.push(format!(
                            "`{}` has a different `{key}` than the first file; the first file's metadata is used",
                            file.display()
                        ));
                    }
                }
            }
        }
        raw.extend(points);
    }
    let meta = first_meta.unwrap_or(Value::Null);
    let eras: Vec<Era> = {
        let mut e: Vec<Era> = raw.iter().map(|p| p.era).collect();
        e.dedup();
        e
    };
    let has_ttfo = raw.iter().any(|p| p.point.metrics.contains_key("ttfo_ms"));
    let era_text = eras
        .iter()
        .map(|e| e.label(has_ttfo))
        .collect::<Vec<_>>()
        .join(" + ");
    let mut all_notes: Vec<String> = eras.iter().map(|e| e.note(has_ttfo).to_string()).collect();
    all_notes.push(
        "Matched by load value: the original's files do not name endpoints or scenarios.".into(),
    );
    if let Some(d) = meta.get("description").and_then(Value::as_str) {
        if !d.is_empty() {
            all_notes.push(format!("Description: {d}"));
        }
    }
    all_notes.extend(notes);
    let mut points: Vec<PointMetrics> = raw.into_iter().map(|r| r.point).collect();
    points.sort_by(|a, b| a.label.cmp(&b.label).then(a.load.total_cmp(&b.load)));
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let scenario = meta
        .get("scenario")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            meta.get("dataset_key")
                .and_then(Value::as_str)
                .map(|k| format!("dataset {k}"))
        });
    Ok(SourceView {
        name,
        kind: SourceKind::Original { era: era_text },
        path: path.to_path_buf(),
        model: meta
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string),
        scenario,
        hardware: None,
        notes: all_notes,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/original")
            .join(name)
    }

    fn mean(s: &SourceView, load: f64, metric: &str) -> Option<f64> {
        s.points
            .iter()
            .find(|p| p.load == load)?
            .metrics
            .get(metric)?
            .mean
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9 * b.abs().max(1.0))
    }

    #[test]
    fn v_initial() {
        let s = load_original(&fixture("e1_v_initial.json")).unwrap();
        assert_eq!(
            s.kind,
            SourceKind::Original {
                era: "E1 v-initial".into()
            }
        );
        assert_eq!(s.points.len(), 2);
        assert!(close(mean(&s, 2.0, "e2e_output_tps"), 400.0));
        assert!(close(mean(&s, 2.0, "output_tps_per_request"), 200.0));
        assert!(close(mean(&s, 1.0, "wall_time_s"), 0.4));
        assert_eq!(s.points[0].metrics["e2e_output_tps"].std, None);
        assert_eq!(s.model.as_deref(), Some("distill-llama-8b"));
    }

    #[test]
    fn simple_era() {
        let s = load_original(&fixture("e1_simple.json")).unwrap();
        assert_eq!(
            s.kind,
            SourceKind::Original {
                era: "E1–E3 simple".into()
            }
        );
        assert_eq!(
            s.points.iter().map(|p| p.load).collect::<Vec<_>>(),
            vec![1.0, 64.0]
        );
        let p = &s.points[1];
        assert!(close(p.metrics["e2e_output_tps"].mean, 3729.30));
        assert_eq!(p.metrics["e2e_output_tps"].std, Some(122.24));
        assert!(close(p.metrics["output_tokens"].mean, 6211.13));
        assert!(close(p.metrics["spread_s"].mean, 101.35));
        assert!(close(p.metrics["output_tps_per_request"].mean, 159.16));
        assert_eq!(p.mode.as_deref(), Some("burst"));
        assert!(!p.metrics.contains_key("ttft_ms"), "non-streaming: no TTFT");
    }

    #[test]
    fn advanced_era_converts_seconds_to_ms() {
        let s = load_original(&fixture("e3_advanced.json")).unwrap();
        assert_eq!(
            s.kind,
            SourceKind::Original {
                era: "E3 advanced".into()
            }
        );
        assert_eq!(s.scenario.as_deref(), Some("N(100,50)/(50,0)"));
        let p = &s.points[0];
        assert!(close(p.metrics["ttft_ms"].mean, 39.0));
        assert!(close(p.metrics["ttft_ms"].std, 15.0));
        assert!(close(p.metrics["tpot_ms"].mean, 8.6));
        assert!(close(p.metrics["decode_ms"].mean, 421.0));
        assert!(close(p.metrics["e2e_ms"].mean, 460.0), "TTFT + decode");
        assert!(close(p.metrics["combined_tps"].mean, 116.74));
        assert!(
            !p.metrics.contains_key("e2e_output_tps"),
            "combined is not e2e"
        );
        assert!(close(mean(&s, 2.0, "failure_rate_pct"), 16.67));
    }

    #[test]
    fn e4_single_file_sustained() {
        let s = load_original(&fixture("e4.json")).unwrap();
        assert_eq!(
            s.kind,
            SourceKind::Original {
                era: "E4 (v0.2–v0.3)".into()
            }
        );
        let p1 = &s.points[0];
        assert_eq!(p1.mode.as_deref(), Some("concurrency"));
        assert!(close(p1.metrics["ttft_ms"].mean, 12.0));
        assert!(close(p1.metrics["steady_state_tps"].mean, 600.0));
        assert!(close(p1.metrics["peak_active"].mean, 1.0));
        assert!(!p1.metrics.contains_key("ttfo_ms"));
        // Legacy `wall_clock_tps`, failures and an empty phased_metrics object.
        let p2 = &s.points[1];
        assert!(close(p2.metrics["e2e_output_tps"].mean, 1042.0));
        assert!(close(
            p2.metrics["failure_rate_pct"].mean,
            2.0 / 192.0 * 100.0
        ));
        assert!(!p2.metrics.contains_key("steady_state_tps"));
    }

    #[test]
    fn e5_directory_of_points() {
        let s = load_original(&fixture("e5_dir")).unwrap();
        assert_eq!(
            s.kind,
            SourceKind::Original {
                era: "E5 (v0.7.0+)".into()
            }
        );
        assert_eq!(
            s.points.iter().map(|p| p.load).collect::<Vec<_>>(),
            vec![1.0, 128.0]
        );
        let p = &s.points[1];
        assert!(close(p.metrics["e2e_output_tps"].mean, 16660.0));
        assert!(close(p.metrics["ttfo_ms"].mean, 340.0));
        assert!(close(p.metrics["steady_state_tps"].mean, 18120.0));
        assert!(close(p.metrics["steady_state_tps"].std, 210.0));
        assert!(close(p.metrics["e2e_ms"].mean, 940.0));
        assert!(s.points.iter().all(|p| p.label.is_none()));
        // A single per-point file reads the same way.
        let one = load_original(&fixture("e5_dir/128.json")).unwrap();
        assert_eq!(one.points.len(), 1);
        assert_eq!(one.points[0], s.points[1]);
    }

    #[test]
    fn embedding_both_layouts() {
        let single = load_original(&fixture("embedding_e1.json")).unwrap();
        let dir = load_original(&fixture("embedding_e5_dir")).unwrap();
        for s in [&single, &dir] {
            assert_eq!(
                s.kind,
                SourceKind::Original {
                    era: "embedding".into()
                }
            );
            assert_eq!(s.points.len(), 2);
            let p = &s.points[1];
            assert_eq!(p.label.as_deref(), Some("seq_200"));
            assert_eq!(p.load, 8.0);
            assert!(close(p.metrics["items_per_s"].mean, 42.5));
            assert!(close(p.metrics["e2e_total_tps"].mean, 11043.0));
            assert!(close(p.metrics["wall_time_s"].mean, 0.1939));
            assert!(close(p.metrics["input_tokens"].mean, 260.0));
        }
        assert_eq!(single.points, dir.points);
    }

    #[test]
    fn unknown_layouts_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.json");
        std::fs::write(&f, r#"{"results": {"8": {"something": 1}}}"#).unwrap();
        let e = load_original(&f).unwrap_err();
        assert!(e.contains("x.json") && e.contains("known era"), "{e}");
        std::fs::write(&f, r#"{"hello": 1}"#).unwrap();
        assert!(load_original(&f).unwrap_err().contains("not a result file"));
        std::fs::write(&f, "{not json").unwrap();
        assert!(load_original(&f).unwrap_err().contains("not valid JSON"));
    }

    /// The embeddings files the original-format sink writes read back as the
    /// original's embedding output.
    #[test]
    fn the_sinks_embeddings_files_read_back_as_the_original() {
        use crate::results::ResultsDir;
        use crate::sink::original::OriginalJsonSink;
        use crate::sink::Sink;
        let results = crate::results::test_fixture::lone_embeddings_series();
        let dir = tempfile::tempdir().unwrap();
        OriginalJsonSink
            .write(&ResultsDir::new(dir.path()), &results)
            .unwrap();
        let orig = dir.path().join(crate::results::layout::ORIGINAL_DIR);
        let view = load_original(&orig).unwrap();
        assert_eq!(view.points.len(), 2);
        let p = view
            .points
            .iter()
            .find(|p| p.label.as_deref() == Some("seq_260"))
            .unwrap();
        assert_eq!(p.load, 2.0);
        // items/s = mean of 4 and 2.5 embeddings/s
        assert!((p.metrics["items_per_s"].mean.unwrap() - 3.25).abs() < 1e-9);
        assert!((p.metrics["input_tokens"].mean.unwrap() - 260.0).abs() < 1e-9);
    }
}
