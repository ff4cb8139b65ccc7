//! Turning a compare input path into a [`SourceView`].
//!
//! | input | how it is recognised |
//! |---|---|
//! | results directory | holds `summary.json` (also: the `summary.json` file itself) |
//! | experiment directory | its subdirectories hold `summary.json`; the newest one is used |
//! | reference file | a `.toml` file |
//! | original tool's output | any other `.json` file, or a directory of `*.json` files |
//!
//! "Newest" is the run whose `summary.json` was modified last (ties: the
//! greatest directory name, which is the latest for timestamp run ids).
//!
//! `summary.json` is read through minimal view types that default every field,
//! so this module depends only on the field names of the summary contract.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::original::load_original;
use super::reference::load_reference;
use super::view::{MetricValue, PointMetrics, SourceKind, SourceView, WorkKind};

/// File name of the summary in a results directory.
pub const SUMMARY_FILE: &str = "summary.json";

/// A statistic as `summary.json` writes it; `null` (no values, `n = 0`) reads as 0.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatView {
    n: u64,
    #[serde(deserialize_with = "null_as_zero")]
    mean: f64,
    #[serde(deserialize_with = "null_as_zero")]
    std: f64,
    #[serde(deserialize_with = "null_as_zero")]
    p50: f64,
    #[serde(deserialize_with = "null_as_zero")]
    p90: f64,
    #[serde(deserialize_with = "null_as_zero")]
    p95: f64,
    #[serde(deserialize_with = "null_as_zero")]
    p99: f64,
}

fn null_as_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(0.0))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReliabilityView {
    total: u64,
    failure_rate_pct: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SummaryView {
    point_index: u32,
    endpoint: String,
    scenario: String,
    mode: String,
    load_value: f64,
    input_tokens: StatView,
    output_tokens: StatView,
    ttft_ms: StatView,
    ttfo_ms: StatView,
    tpot_ms: StatView,
    itl_ms: StatView,
    e2e_ms: StatView,
    decode_ms: StatView,
    input_tps_per_request: StatView,
    output_tps_per_request: StatView,
    e2e_output_tps: StatView,
    e2e_total_tps: StatView,
    requests_per_s: StatView,
    wall_time_s: StatView,
    items_per_s: StatView,
    steady_state_tps: Option<f64>,
    steady_state_tps_std: f64,
    peak_active: u32,
    reliability: ReliabilityView,
    goodput_rps: Option<StatView>,
    goodput_tps: Option<StatView>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RunView {
    requests: u64,
    ok: u64,
    e2e_output_tps: f64,
    e2e_total_tps: f64,
    requests_per_s: f64,
    wall_time_s: f64,
    items_per_s: f64,
    steady_state_tps: Option<f64>,
    /// Absent from files written before it was recorded.
    steady_state_buckets: Option<u32>,
    goodput_rps: Option<f64>,
    goodput_tps: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PointEntry {
    spec: Value,
    summary: SummaryView,
    runs: Vec<RunView>,
    /// Filled in from the endpoint's API after parsing.
    #[serde(skip)]
    kind: WorkKind,
}

fn full_stat(s: &StatView) -> Option<MetricValue> {
    (s.n > 0).then(|| MetricValue {
        mean: Some(s.mean),
        std: Some(s.std),
        p50: Some(s.p50),
        p90: Some(s.p90),
        p95: Some(s.p95),
        p99: Some(s.p99),
        n: Some(s.n),
        per_run: Vec::new(),
        per_request: Vec::new(),
        approx: false,
    })
}

fn with_runs(v: Option<MetricValue>, per_run: Vec<f64>) -> Option<MetricValue> {
    v.map(|mut v| {
        v.per_run = per_run;
        v
    })
}

fn point_metrics(e: &PointEntry) -> PointMetrics {
    let s = &e.summary;
    let spec_str = |k: &str| e.spec.get(k).and_then(Value::as_str).map(str::to_string);
    let endpoint = if s.endpoint.is_empty() {
        spec_str("endpoint").unwrap_or_default()
    } else {
        s.endpoint.clone()
    };
    let scenario = if s.scenario.is_empty() {
        spec_str("scenario").unwrap_or_default()
    } else {
        s.scenario.clone()
    };
    let mode = if s.mode.is_empty() {
        e.spec
            .get("load")
            .and_then(|l| l.get("mode"))
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        Some(s.mode.clone())
    };
    let mut m = std::collections::BTreeMap::new();
    let mut put = |name: &str, v: Option<MetricValue>| {
        if let Some(v) = v {
            m.insert(name.to_string(), v);
        }
    };
    put("input_tokens", full_stat(&s.input_tokens));
    put("output_tokens", full_stat(&s.output_tokens));
    put("ttft_ms", full_stat(&s.ttft_ms));
    put("ttfo_ms", full_stat(&s.ttfo_ms));
    put("tpot_ms", full_stat(&s.tpot_ms));
    put("itl_ms", full_stat(&s.itl_ms));
    put("e2e_ms", full_stat(&s.e2e_ms));
    put("decode_ms", full_stat(&s.decode_ms));
    put("input_tps_per_request", full_stat(&s.input_tps_per_request));
    put(
        "output_tps_per_request",
        full_stat(&s.output_tps_per_request),
    );
    let runs = &e.runs;
    let col = |f: fn(&RunView) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    put(
        "e2e_output_tps",
        with_runs(full_stat(&s.e2e_output_tps), col(|r| r.e2e_output_tps)),
    );
    put(
        "e2e_total_tps",
        with_runs(full_stat(&s.e2e_total_tps), col(|r| r.e2e_total_tps)),
    );
    put(
        "requests_per_s",
        with_runs(full_stat(&s.requests_per_s), col(|r| r.requests_per_s)),
    );
    put(
        "wall_time_s",
        with_runs(full_stat(&s.wall_time_s), col(|r| r.wall_time_s)),
    );
    // Items/s is the pooling APIs' throughput; for generation it repeats requests/s.
    if s.items_per_s.mean > 0.0 && s.output_tokens.mean == 0.0 {
        put(
            "items_per_s",
            with_runs(full_stat(&s.items_per_s), col(|r| r.items_per_s)),
        );
    }
    if let Some(g) = &s.goodput_rps {
        put(
            "goodput_rps",
            with_runs(
                full_stat(g),
                runs.iter().filter_map(|r| r.goodput_rps).collect(),
            ),
        );
    }
    if let Some(g) = &s.goodput_tps {
        put(
            "goodput_tps",
            with_runs(
                full_stat(g),
                runs.iter().filter_map(|r| r.goodput_tps).collect(),
            ),
        );
    }
    if let Some(ss) = s.steady_state_tps {
        // n: the steady buckets behind the runs' medians, when every run says.
        let with_median: Vec<&RunView> = runs
            .iter()
            .filter(|r| r.steady_state_tps.is_some())
            .collect();
        let buckets: Option<u64> = if with_median.is_empty() {
            None
        } else {
            with_median
                .iter()
                .map(|r| r.steady_state_buckets.map(u64::from))
                .sum()
        };
        put(
            "steady_state_tps",
            Some(MetricValue {
                mean: Some(ss),
                std: Some(s.steady_state_tps_std),
                n: buckets,
                per_run: runs.iter().filter_map(|r| r.steady_state_tps).collect(),
                ..MetricValue::default()
            }),
        );
    }
    if s.reliability.total > 0 {
        // Per run: failed / sent × 100 (runs that sent nothing are left out).
        #[allow(clippy::cast_precision_loss)]
        let per_run = runs
            .iter()
            .filter(|r| r.requests > 0)
            .map(|r| r.requests.saturating_sub(r.ok) as f64 / r.requests as f64 * 100.0)
            .collect();
        put(
            "failure_rate_pct",
            Some(MetricValue {
                mean: Some(s.reliability.failure_rate_pct),
                per_run,
                n: Some(s.reliability.total),
                ..MetricValue::default()
            }),
        );
    }
    if s.peak_active > 0 {
        put(
            "peak_active",
            Some(MetricValue::mean_std(f64::from(s.peak_active), None)),
        );
    }
    PointMetrics {
        kind: e.kind,
        label: Some(format!("{endpoint}/{scenario}")),
        load: s.load_value,
        mode,
        metrics: m,
    }
}

fn str_at<'a>(v: &'a Value, paths: &[&[&str]]) -> Option<&'a str> {
    paths.iter().find_map(|p| {
        p.iter()
            .try_fold(v, |cur, k| cur.get(k))
            .and_then(Value::as_str)
    })
}

/// Reads a tokenomics results directory (its `summary.json`).
///
/// # Errors
/// When the file cannot be read or parsed.
pub fn load_results_dir(dir: &Path) -> Result<SourceView, String> {
    let file = dir.join(SUMMARY_FILE);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("`{}` is not valid JSON: {e}", file.display()))?;
    let points_v = v
        .get("points")
        .cloned()
        .ok_or_else(|| format!("`{}` has no `points` array", file.display()))?;
    let mut entries: Vec<PointEntry> = serde_json::from_value(points_v)
        .map_err(|e| format!("`{}`: unexpected `points` layout: {e}", file.display()))?;
    // What each point measured, from its endpoint's API (generation when unknown).
    for e in &mut entries {
        let endpoint = e.spec.get("endpoint").and_then(Value::as_str).unwrap_or("");
        let api = [v.get("endpoints"), v.pointer("/plan/endpoints")]
            .into_iter()
            .flatten()
            .find_map(|eps| eps.get(endpoint)?.get("api")?.as_str());
        e.kind = api.map_or(WorkKind::Generation, WorkKind::of_api);
    }
    let experiment = str_at(
        &v,
        &[&["experiment", "name"], &["plan", "experiment", "name"]],
    )
    .map(str::to_string);
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match experiment {
        Some(e) if !run_id.is_empty() && e != run_id => format!("{e}/{run_id}"),
        Some(e) => e,
        None => dir.display().to_string(),
    };
    let mut models: Vec<String> = Vec::new();
    for eps in [v.get("endpoints"), v.pointer("/plan/endpoints")]
        .into_iter()
        .flatten()
    {
        if let Some(map) = eps.as_object() {
            for ep in map.values() {
                if let Some(m) = ep.get("model").and_then(Value::as_str) {
                    if !models.iter().any(|x| x == m) {
                        models.push(m.to_string());
                    }
                }
            }
        }
    }
    let mut notes = vec![
        "tokenomics definitions: population std, TTFT at the arrival of the read completing the first content event, latencies in ms.".to_string(),
    ];
    if let Some(sv) = v.get("schema_version") {
        notes.push(format!("summary.json schema_version {sv}"));
    }
    if v.get("interrupted").and_then(Value::as_bool) == Some(true) {
        notes.push("This run was interrupted: some points may be partial.".into());
    }
    let mut points: Vec<PointMetrics> = entries.iter().map(point_metrics).collect();
    let parquet_path = dir.join(crate::results::layout::REQUESTS_FILE);
    if parquet_path.is_file() {
        match crate::results::parquet::read_records(&parquet_path) {
            Ok(records) => attach_per_request(&mut points, &entries, &records),
            Err(e) => notes.push(format!(
                "Per-request values unavailable ({e}): latency rows have no interval."
            )),
        }
    }
    Ok(SourceView {
        name,
        kind: SourceKind::Results,
        path: dir.to_path_buf(),
        model: (!models.is_empty()).then(|| models.join(", ")),
        scenario: None,
        hardware: v
            .pointer("/environment/hostname")
            .and_then(Value::as_str)
            .map(|h| format!("host {h}")),
        notes,
        points,
    })
}

/// Fills `per_request` of the per-request metrics from the records: successful,
/// measured (not warmup) requests, last attempt of each, grouped by point.
fn attach_per_request(
    points: &mut [PointMetrics],
    entries: &[PointEntry],
    records: &[crate::record::RequestRecord],
) {
    use std::collections::BTreeMap;
    let all: Vec<&crate::record::RequestRecord> = records.iter().collect();
    let finals = crate::metrics::final_attempts(&all, |r| {
        (r.point_index, r.run_index, r.request_index, r.turn)
    });
    // Per point, per run: requests of one run share its conditions, so the
    // bootstrap resamples runs first (see `bootstrap::diff_ci_by_run`).
    let mut by_point: BTreeMap<u32, BTreeMap<u32, Vec<crate::metrics::RequestMetrics>>> =
        BTreeMap::new();
    for r in finals.into_iter().filter(|r| r.outcome.is_ok()) {
        by_point
            .entry(r.point_index)
            .or_default()
            .entry(r.run_index)
            .or_default()
            .push(crate::metrics::request_metrics(r));
    }
    type Pick = fn(&crate::metrics::RequestMetrics) -> Option<f64>;
    let columns: [(&str, Pick); 7] = [
        ("ttft_ms", |m| m.ttft_ms),
        ("ttfo_ms", |m| m.ttfo_ms),
        ("tpot_ms", |m| m.tpot_ms),
        ("e2e_ms", |m| Some(m.e2e_ms)),
        ("decode_ms", |m| Some(m.decode_ms)),
        ("input_tps_per_request", |m| m.input_tps),
        ("output_tps_per_request", |m| m.output_tps),
    ];
    for (point, entry) in points.iter_mut().zip(entries) {
        let Some(ms) = by_point.get(&entry.summary.point_index) else {
            continue;
        };
        for (name, pick) in columns {
            if let Some(v) = point.metrics.get_mut(name) {
                v.per_request = ms
                    .values()
                    .map(|run| run.iter().filter_map(pick).collect())
                    .collect();
            }
        }
        // ITL is pooled over every gap of every request, so its values per run
        // are the run's gaps: a stall in one run widens the interval instead
        // of passing for a change.
        if let Some(v) = point.metrics.get_mut("itl_ms") {
            v.per_request = ms
                .values()
                .map(|run| run.iter().flat_map(|m| m.itl_ms.iter().copied()).collect())
                .collect();
        }
    }
}

/// The newest run directory (holding `summary.json`) inside an experiment directory.
fn newest_run(dir: &Path) -> Result<Option<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
    let mut best: Option<(std::time::SystemTime, String, PathBuf)> = None;
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        let summary = p.join(SUMMARY_FILE);
        if !summary.is_file() {
            continue;
        }
        let mtime = std::fs::metadata(&summary)
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        let name = e.file_name().to_string_lossy().into_owned();
        let newer = match &best {
            None => true,
            Some((t, n, _)) => (mtime, &name) > (*t, n),
        };
        if newer {
            best = Some((mtime, name, p));
        }
    }
    Ok(best.map(|b| b.2))
}

/// Loads any compare input (see the module table).
///
/// # Errors
/// A message naming the path, what was expected there and how to fix it.
pub fn load_input(path: &Path) -> Result<SourceView, String> {
    if !path.exists() {
        return Err(format!("`{}` does not exist", path.display()));
    }
    if path.is_dir() {
        if path.join(SUMMARY_FILE).is_file() {
            return load_results_dir(path);
        }
        if let Some(run) = newest_run(path)? {
            let mut s = load_results_dir(&run)?;
            s.notes.push(format!(
                "Newest run of experiment directory `{}`: `{}`.",
                path.display(),
                run.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            return Ok(s);
        }
        return load_original(path).map_err(|e| {
            format!(
                "`{}` is neither a results directory (no summary.json), an experiment directory (no run with a summary.json) nor a directory of the original's result files: {e}",
                path.display()
            )
        });
    }
    match path.extension().and_then(|x| x.to_str()) {
        Some("toml") => load_reference(path),
        Some("json") if path.file_name().is_some_and(|n| n == SUMMARY_FILE) => {
            load_results_dir(path.parent().unwrap_or_else(|| Path::new(".")))
        }
        Some("json") => load_original(path),
        _ => Err(format!(
            "`{}`: expected a results or experiment directory, a reference `.toml` or an original result `.json`",
            path.display()
        )),
    }
}
