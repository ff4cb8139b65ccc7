//! `original/`: one JSON file per point in the original tool's v0.5+ layout, so
//! its plotting scripts and existing comparisons read tokenomics results as-is.
//!
//! **Files.** `original/<sweep_value>.json`, where the sweep value is the point's
//! load value (batch size, concurrency, or rate) written as an integer when it is
//! one (`8.json`) and as a decimal otherwise (`2.5.json`). When the plan holds
//! more than one series (points differing in endpoint, scenario, mode or grid),
//! each series gets its own directory, so every directory is a valid results
//! directory of the original: `original/<endpoint>__<scenario>/<value>.json`,
//! extended to `<endpoint>__<scenario>__<mode>` and then
//! `<endpoint>__<scenario>__<mode>__<grid>` only when the shorter name would be
//! shared by two series. Names keep `[A-Za-z0-9._-]` and replace anything else
//! with `_`. Two points of one series with the same value (which a plan should
//! not contain) get `<value>__<point index>.json` for the later one.
//!
//! **Layout** (keys in this order; times in **seconds** and rates in tokens/s, as
//! the original):
//!
//! ```text
//! { "metadata": { timestamp, model, scenario, prompt_source, max_tokens, num_images,
//!                 image_size, input_tokens, dataset_config, api_base, execution_mode,
//!                 num_runs, warmup_runs, temperature, num_completions, stream, description,
//!                 seed, lora_config, steady_state_threshold, bucket_size_seconds,
//!                 + burst: batch_sizes | concurrency: concurrency_levels, num_prompts
//!                 | rate: rates, num_prompts },
//!   "sweep_value": 8,
//!   "result": {
//!     "tokens": {"input_per_request": {mean, std}, "output_per_request": {mean, std}},
//!     "prefill_metrics": {"ttft": {mean, std}, "ttfo": {mean, std}, "input_throughput": {mean, std}},
//!     "decode_metrics": {"output_throughput": {mean, std}, "tpot": {mean, std}, "decode_time": {mean, std}},
//!     "batch_metrics": {"e2e_tps": {mean, std}, "wall_time": {mean, std}},
//!     "reliability": {"total_requests", "successful", "failed"},
//!     "usage_extras": {reasoning_tokens{mean, std, total}, cached_tokens{mean, total,
//!                      cache_hit_rate}, finish_reasons{…}}   (each key only when there is data),
//!     "phased_metrics": {"steady_state_tps": {"median", "median_std"}, "peak_active_requests",
//!                        "time_series": {"output_tokens_per_bucket", "active_requests_per_bucket"}}
//!                       ({} when no run had a successful request; the time series is the last run's)
//! } }
//! ```
//!
//! Mapping of tokenomics values: `execution_mode` is `burst`, `sustained`
//! (concurrency), `rate` or `ramp` (the last two have no equivalent in the
//! original); `scenario` is the workload string (null when replaying a
//! dataset); `prompt_source` is `scenario` or `dataset_replay`; `max_tokens` the
//! scenario's cap; `api_base` the endpoint URL (`simulator` for the embedded
//! simulator); `timestamp` the run's start in local time without an offset
//! (`2026-01-02T03:04:05.000000`); `input_tokens` is always null (the original
//! sets it only for its fixed-filler prompts); `usage_extras` has no `cost` or
//! `providers` (the records do not carry them).
//!
//! **Embeddings** (`api = "embeddings"` points) follow the original's embedding
//! benchmark instead: `batch_{B}_seq_{S}.json`, where B is the load value and S
//! the sequence-length label of the scenario: `short`, `medium`, `long`, `mixed`
//! for `E(short)` …, the word count for `E(<n>w)`, the token count for `E(n)`
//! (the scenario's name for any other shape). An embeddings series (points of
//! one endpoint, mode and grid, whatever their scenario) is one original results
//! directory: alone in the plan it is written flat, beside other series it gets
//! `original/<endpoint>/` (extended with `__<mode>`, then `__<grid>`, when two
//! embeddings series would share the name, and with `__embeddings` should it
//! equal a completion series' directory). Layout (keys in this order):
//!
//! ```text
//! { "metadata": { timestamp, model, api_base, batch_sizes, sequence_lengths (ints or
//!                 strings), num_runs, warmup_runs, concurrent_requests, seed, description },
//!   "config_key": "batch_{B}_seq_{S}",
//!   "result": {
//!     "tokens":     {"total_per_batch": STAT, "embeddings_per_batch": STAT},
//!     "timings":    {"batch_total_seconds": STAT, "fastest_seconds": STAT,
//!                    "slowest_seconds": STAT, "spread_seconds": STAT},
//!     "throughput": {"batch_embeddings_per_second": STAT, "batch_tokens_per_second": STAT,
//!                    "request_embeddings_per_second": STAT, "request_tokens_per_second": STAT} } }
//! STAT = {mean, std, min, max}, std the sample std (n − 1; 0 below two values), all 0 without values
//! ```
//!
//! The values, over the point's measured requests (each request's final attempt;
//! warmups excluded), times from the run's t0 (the batch start):
//! * per successful request, pooled over runs: `total_per_batch` = its input
//!   tokens and `embeddings_per_batch` = embeddings returned (per request,
//!   despite the names, as in the original); `request_embeddings_per_second` =
//!   embeddings / elapsed and `request_tokens_per_second` = input tokens /
//!   elapsed, elapsed = end − start (requests with elapsed 0 are left out);
//! * one value per run: `batch_total_seconds` = the run's wall time;
//!   `fastest_seconds` / `slowest_seconds` = the earliest / latest end of any of
//!   its requests (failed ones too: the batch waits for them), `spread_seconds`
//!   = slowest − fastest; `batch_embeddings_per_second` = Σ embeddings / wall
//!   time and `batch_tokens_per_second` = Σ input tokens / wall time, over its
//!   successful requests.
//!
//! Differences from the original: input tokens are tokenomics' headline count
//! (the server's `usage` when it reports one) rather than words × 1.3; failed
//! requests are left out of the per-request lists instead of counting as zeros;
//! `concurrent_requests` is false when the endpoint sends a whole batch in one
//! request (`batch_in_one_request`). Rerank and score points are not written
//! (the original's score benchmark has another layout).
//!
//! **Numbers.** Every float is rounded to 4 significant digits,
//! `round(x, −floor(log10|x|) + 3)` (0 stays 0.0), with ties to even on the
//! exact binary value, as Python's `round`; integers are left alone. The text
//! matches Python's `json.dump(indent=2)`: two-space indent, `": "` and `","`
//! separators, floats in `repr` form (`16660.0`, `1e-05`, `1e+16`), non-ASCII
//! escaped as `\uXXXX`. A non-finite float (never produced by the metrics) is
//! written as `null`. Files are written atomically.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};

use serde_json::ser::{Formatter, PrettyFormatter};
use serde_json::{json, Map, Value};

use super::{write_atomic, ExperimentResults, PointResult, ResultsDir, Sink, SinkError};
use crate::metrics::Stat;
use crate::plan::{
    DatasetSource, DatasetSpec, EndpointTarget, LoadSpec, Plan, PointSpec, ScenarioSpec,
};
use crate::record::RequestRecord;
use crate::vocab::workload::{TextLength, Workload};
use crate::vocab::{ApiKind, LoraStrategy};

/// Directory (inside the results directory) holding the files.
pub const DIR_NAME: &str = "original";

/// Writes the original tool's per-point files (module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct OriginalJsonSink;

impl Sink for OriginalJsonSink {
    fn name(&self) -> &'static str {
        "original"
    }

    fn write(&self, dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError> {
        let layout = Layout::new(&results.plan, &results.points);
        for point in &results.points {
            let doc = if generates(&results.plan, &point.spec) {
                point_document(results, point, &layout.series_values(&point.spec))
            } else if is_embeddings(&results.plan, &point.spec) {
                embedding_document(results, point, &layout)
            } else {
                continue;
            };
            let rel = layout.path_of(&point.spec);
            let path = dir.path.join(DIR_NAME).join(&rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| SinkError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            write_atomic(&path, &to_python_json(&doc, &path)?)?;
        }
        Ok(())
    }
}

/// True when the point's endpoint generates text (unknown endpoints are assumed to).
fn generates(plan: &Plan, spec: &PointSpec) -> bool {
    plan.endpoints
        .get(&spec.endpoint)
        .is_none_or(|e| e.api.generates())
}

/// True when the point's endpoint is an embeddings endpoint.
fn is_embeddings(plan: &Plan, spec: &PointSpec) -> bool {
    plan.endpoints
        .get(&spec.endpoint)
        .is_some_and(|e| e.api == ApiKind::Embeddings)
}

/// The original's sequence-length label of an embeddings point (module docs):
/// a string for the word-count shapes, an integer for counts.
fn sequence_length(plan: &Plan, spec: &PointSpec) -> Value {
    match plan.scenarios.get(&spec.scenario).map(|s| &s.workload) {
        Some(Workload::EmbeddingText { length }) => match length {
            TextLength::Short => json!("short"),
            TextLength::Medium => json!("medium"),
            TextLength::Long => json!("long"),
            TextLength::Mixed => json!("mixed"),
            TextLength::Words(n) => json!(n),
        },
        Some(Workload::Embedding { tokens }) => json!(tokens),
        _ => json!(spec.scenario),
    }
}

/// A sequence-length label as it appears in `batch_{B}_seq_{S}`.
fn sequence_text(label: &Value) -> String {
    match label {
        Value::String(s) => path_safe(s),
        other => other.to_string(),
    }
}

/// `batch_{B}_seq_{S}` of an embeddings point.
fn config_key(plan: &Plan, spec: &PointSpec) -> String {
    format!(
        "batch_{}_seq_{}",
        value_stem(spec.load.value()),
        sequence_text(&sequence_length(plan, spec))
    )
}

// ---- rounding and number formatting ----------------------------------------------

/// Rounds `x` to 4 significant digits: `round(x, −floor(log10|x|) + 3)`, 0 stays 0.
///
/// Formatting with 3 decimals in scientific notation rounds the exact binary
/// value half-to-even, as Python's `round` does; parsing gives the nearest double.
#[must_use]
pub fn round_sig4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.3e}").parse().unwrap_or(x)
}

/// Rounds every float in `v` with [`round_sig4`]; integers are left alone.
pub fn round_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64() {
                *v = serde_json::Number::from_f64(round_sig4(x)).map_or(Value::Null, Value::Number);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_floats),
        Value::Object(map) => map.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// A float in Python's `repr` form: shortest round-trip digits, fixed notation
/// for decimal exponents −4..16 (always with a fraction, `16660.0`), otherwise
/// scientific with a signed, at least two-digit exponent (`1e-05`, `1.5e+16`).
#[must_use]
pub fn python_float_repr(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    let sci = format!("{x:e}"); // shortest digits: "-1.666e4", "1e-5"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa
        .strip_prefix('-')
        .map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp + 1;
            if k <= int_len {
                format!(
                    "{digits}{}.0",
                    "0".repeat((int_len - k).unsigned_abs() as usize)
                )
            } else {
                let (a, b) = digits.split_at(int_len.unsigned_abs() as usize);
                format!("{a}.{b}")
            }
        } else {
            format!(
                "0.{}{digits}",
                "0".repeat((-exp - 1).unsigned_abs() as usize)
            )
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{esign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// serde_json formatter producing Python's `json.dump(indent=2)` text (module docs).
struct PythonFormatter {
    pretty: PrettyFormatter<'static>,
}

impl Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float_repr(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // ensure_ascii: every non-ASCII character as \uXXXX (UTF-16, surrogate pairs beyond the BMP).
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// Serialises `doc` as Python's `json.dump(doc, f, indent=2)` would (module docs).
///
/// # Errors
/// When serialization fails (the error names `path`).
pub fn to_python_json(doc: &Value, path: &Path) -> Result<Vec<u8>, SinkError> {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        PythonFormatter {
            pretty: PrettyFormatter::with_indent(b"  "),
        },
    );
    doc.serialize(&mut ser).map_err(|e| SinkError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(out)
}

// ---- file layout ------------------------------------------------------------------

/// Keeps `[A-Za-z0-9._-]`, replacing anything else with `_`.
fn path_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The sweep value as the original writes it: an integer when it is one.
fn sweep_value(v: f64) -> Value {
    #[allow(clippy::cast_possible_truncation)]
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// The sweep value as a file stem: `8`, `2.5`.
fn value_stem(v: f64) -> String {
    match sweep_value(v) {
        Value::Number(n) => n.to_string(),
        _ => path_safe(&v.to_string()),
    }
}

/// A series: the points that one run of the original would have swept.
type SeriesKey = (String, String, &'static str, String);

/// An embeddings series: one run of the original's embedding benchmark
/// (endpoint, mode, grid), covering batch sizes × sequence lengths.
type EmbedKey = (String, &'static str, String);

fn embed_key(spec: &PointSpec) -> EmbedKey {
    (
        spec.endpoint.clone(),
        spec.load.mode_name(),
        spec.grid.clone(),
    )
}

/// The sweep of one embeddings series, for its files' metadata.
#[derive(Default)]
struct EmbedSweep {
    /// Distinct load values, in plan order.
    batch_sizes: Vec<f64>,
    /// Distinct sequence-length labels, in plan order.
    sequence_lengths: Vec<Value>,
}

/// The shortest name of each key in `order` (by `name(level, key)`, levels
/// 0..=2) that no two keys share.
fn unique_names<K: Clone + Eq + std::hash::Hash>(
    order: &[K],
    name: impl Fn(usize, &K) -> String,
) -> HashMap<K, String> {
    let mut out = HashMap::new();
    for level in 0..=2 {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for k in order {
            *count.entry(name(level, k)).or_default() += 1;
        }
        if level == 2 || count.values().all(|&c| c == 1) {
            for k in order {
                out.insert(k.clone(), name(level, k));
            }
            break;
        }
    }
    out
}

fn series_key(spec: &PointSpec) -> SeriesKey {
    (
        spec.endpoint.clone(),
        spec.scenario.clone(),
        spec.load.mode_name(),
        spec.grid.clone(),
    )
}

/// Where each point's file goes, and each series' sweep values.
struct Layout {
    /// File path (relative to `original/`) by point id.
    files: HashMap<String, PathBuf>,
    /// Load values of each series, in plan order.
    values: HashMap<SeriesKey, Vec<f64>>,
    /// Batch sizes and sequence lengths of each embeddings series.
    sweeps: HashMap<EmbedKey, EmbedSweep>,
}

impl Layout {
    fn new(plan: &Plan, points: &[PointResult]) -> Layout {
        // All points, planned first (stable layout across partial writes), then any extra.
        let mut specs: Vec<&PointSpec> = plan.points.iter().collect();
        for p in points {
            if !specs.iter().any(|s| s.id == p.spec.id) {
                specs.push(&p.spec);
            }
        }
        let (gen, embed): (Vec<&PointSpec>, Vec<&PointSpec>) = specs
            .into_iter()
            .filter(|s| generates(plan, s) || is_embeddings(plan, s))
            .partition(|s| generates(plan, s));

        let mut values: HashMap<SeriesKey, Vec<f64>> = HashMap::new();
        let mut order: Vec<SeriesKey> = Vec::new();
        for s in &gen {
            let key = series_key(s);
            if !values.contains_key(&key) {
                order.push(key.clone());
            }
            values.entry(key).or_default().push(s.load.value());
        }
        let mut sweeps: HashMap<EmbedKey, EmbedSweep> = HashMap::new();
        let mut embed_order: Vec<EmbedKey> = Vec::new();
        for s in &embed {
            let key = embed_key(s);
            if !sweeps.contains_key(&key) {
                embed_order.push(key.clone());
            }
            let sweep = sweeps.entry(key).or_default();
            let value = s.load.value();
            if !sweep.batch_sizes.contains(&value) {
                sweep.batch_sizes.push(value);
            }
            let label = sequence_length(plan, s);
            if !sweep.sequence_lengths.contains(&label) {
                sweep.sequence_lengths.push(label);
            }
        }

        // One series in all: flat. Several: one directory each, the shortest
        // unambiguous name per series.
        let several = order.len() + embed_order.len() > 1;
        let (dirs, embed_dirs) = if several {
            let dirs = unique_names(&order, |level, k: &SeriesKey| {
                let mut parts = vec![path_safe(&k.0), path_safe(&k.1)];
                if level >= 1 {
                    parts.push(k.2.to_string());
                }
                if level >= 2 {
                    parts.push(path_safe(&k.3));
                }
                parts.join("__")
            });
            let mut embed_dirs = unique_names(&embed_order, |level, k: &EmbedKey| {
                let mut parts = vec![path_safe(&k.0)];
                if level >= 1 {
                    parts.push(k.1.to_string());
                }
                if level >= 2 {
                    parts.push(path_safe(&k.2));
                }
                parts.join("__")
            });
            let taken: HashSet<&String> = dirs.values().collect();
            for name in embed_dirs.values_mut() {
                if taken.contains(name) {
                    name.push_str("__embeddings");
                }
            }
            (dirs, embed_dirs)
        } else {
            (HashMap::new(), HashMap::new())
        };

        // File names, disambiguating repeated names within a directory.
        let mut files = HashMap::new();
        let mut taken: HashSet<PathBuf> = HashSet::new();
        let mut place = |s: &PointSpec, base: PathBuf, stem: String| {
            let mut file = base.join(format!("{stem}.json"));
            if taken.contains(&file) {
                file = base.join(format!("{stem}__{}.json", s.index));
            }
            taken.insert(file.clone());
            files.insert(s.id.clone(), file);
        };
        for s in &gen {
            let base = dirs
                .get(&series_key(s))
                .map_or_else(PathBuf::new, PathBuf::from);
            place(s, base, value_stem(s.load.value()));
        }
        for s in &embed {
            let base = embed_dirs
                .get(&embed_key(s))
                .map_or_else(PathBuf::new, PathBuf::from);
            place(s, base, config_key(plan, s));
        }
        Layout {
            files,
            values,
            sweeps,
        }
    }

    fn path_of(&self, spec: &PointSpec) -> PathBuf {
        self.files
            .get(&spec.id)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(format!("{}.json", value_stem(spec.load.value()))))
    }

    fn series_values(&self, spec: &PointSpec) -> Vec<f64> {
        self.values
            .get(&series_key(spec))
            .cloned()
            .unwrap_or_default()
    }

    fn sweep(&self, spec: &PointSpec) -> Option<&EmbedSweep> {
        self.sweeps.get(&embed_key(spec))
    }
}

// ---- the document -----------------------------------------------------------------

/// `{mean, std}` of a Stat, scaled (1e-3 turns ms into s).
fn mean_std(s: &Stat, scale: f64) -> Value {
    json!({ "mean": s.mean * scale, "std": s.std * scale })
}

/// The run's start as the original's `datetime.now().isoformat()` (local, no offset).
fn local_timestamp(started_at: &str) -> String {
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
fn lora_strategy_name(s: LoraStrategy) -> &'static str {
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
fn metadata(results: &ExperimentResults, spec: &PointSpec, series: &[f64]) -> Value {
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
    put("description", json!(exp.description));
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
fn result(point: &PointResult) -> Value {
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
fn point_document(results: &ExperimentResults, point: &PointResult, series: &[f64]) -> Value {
    let mut doc = json!({
        "metadata": metadata(results, &point.spec, series),
        "sweep_value": sweep_value(point.spec.load.value()),
        "result": result(point),
    });
    round_floats(&mut doc);
    doc
}

// ---- embeddings ----------------------------------------------------------------

/// `{mean, std, min, max}` of `values` with the sample std (n − 1 in the
/// denominator; 0 for fewer than two values); every field 0 without values.
fn sample_stat(values: &[f64]) -> Value {
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
fn final_attempts_by_run(
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
fn embedding_result(results: &ExperimentResults, point: &PointResult) -> Value {
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
fn embedding_document(results: &ExperimentResults, point: &PointResult, layout: &Layout) -> Value {
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
            "description": plan.experiment.description,
        },
        "config_key": config_key(plan, spec),
        "result": embedding_result(results, point),
    });
    round_floats(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::json::tests::sample_results;

    #[test]
    fn rounding_matches_the_spec_examples() {
        // §7.4: 16657.4 → 16660.0, 0.0123456 → 0.01235, 599.4321 → 599.4; 0 stays 0.0
        assert_eq!(round_sig4(16657.4), 16660.0);
        assert_eq!(round_sig4(0.0123456), 0.01235);
        assert_eq!(round_sig4(599.4321), 599.4);
        assert_eq!(round_sig4(0.0), 0.0);
        assert_eq!(round_sig4(-599.4321), -599.4);
        // carry into the next power of ten: round(9999.6, 0) = 10000.0
        assert_eq!(round_sig4(9999.6), 10000.0);
        // exact binary tie 1.0625 → half to even at 3 decimals: 1.062 (Python: round(1.0625, 3))
        assert_eq!(round_sig4(1.0625), 1.062);
    }

    #[test]
    fn python_float_text() {
        assert_eq!(python_float_repr(16660.0), "16660.0");
        assert_eq!(python_float_repr(0.01235), "0.01235");
        assert_eq!(python_float_repr(0.0), "0.0");
        assert_eq!(python_float_repr(1e-5), "1e-05");
        assert_eq!(python_float_repr(0.0001), "0.0001");
        assert_eq!(python_float_repr(1.5e-7), "1.5e-07");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(123_500_000.0), "123500000.0");
        assert_eq!(python_float_repr(-2.5), "-2.5");
    }

    #[test]
    fn python_json_text() {
        // json.dumps({"a": 1, "b": [1.5, {}], "c": "é", "d": []}, indent=2)
        let v = json!({"a": 1, "b": [1.5, {}], "c": "é", "d": []});
        let text = String::from_utf8(to_python_json(&v, Path::new("x.json")).unwrap()).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": 1,\n  \"b\": [\n    1.5,\n    {}\n  ],\n  \"c\": \"\\u00e9\",\n  \"d\": []\n}"
        );
    }

    #[test]
    fn rounds_floats_and_leaves_integers() {
        let mut v = json!({"f": 16657.4, "i": 16657, "list": [0.0123456, 3], "n": null});
        round_floats(&mut v);
        assert_eq!(
            v,
            json!({"f": 16660.0, "i": 16657, "list": [0.01235, 3], "n": null})
        );
        assert!(v["i"].is_u64());
    }

    #[test]
    fn writes_the_original_layout() {
        let dir = tempfile::tempdir().unwrap();
        let rd = ResultsDir::new(dir.path());
        let mut results = sample_results();
        results.points[0].summary.ttft_ms = Stat::from_values(&[52.34567]);
        results.points[0].summary.reliability.total = 16;
        results.points[0].summary.reliability.ok = 15;
        results.points[0].summary.reliability.failed = 1;
        OriginalJsonSink.write(&rd, &results).unwrap();
        // one series → flat: original/8.json
        let path = dir.path().join("original/8.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(top, ["metadata", "sweep_value", "result"]);
        assert!(v["sweep_value"].is_u64());
        assert_eq!(v["sweep_value"], 8);
        let meta: Vec<&str> = v["metadata"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            meta,
            [
                "timestamp",
                "model",
                "scenario",
                "prompt_source",
                "max_tokens",
                "num_images",
                "image_size",
                "input_tokens",
                "dataset_config",
                "api_base",
                "execution_mode",
                "num_runs",
                "warmup_runs",
                "temperature",
                "num_completions",
                "stream",
                "description",
                "seed",
                "lora_config",
                "steady_state_threshold",
                "bucket_size_seconds",
                "batch_sizes"
            ]
        );
        assert_eq!(v["metadata"]["execution_mode"], "burst");
        assert_eq!(v["metadata"]["batch_sizes"], json!([8]));
        assert_eq!(v["metadata"]["bucket_size_seconds"], 0.05);
        let result: Vec<&str> = v["result"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            result,
            [
                "tokens",
                "prefill_metrics",
                "decode_metrics",
                "batch_metrics",
                "reliability",
                "usage_extras",
                "phased_metrics"
            ]
        );
        // ttft in seconds, 4 significant digits: 52.34567 ms → 0.05234567 s → 0.05235
        assert_eq!(v["result"]["prefill_metrics"]["ttft"]["mean"], 0.05235);
        assert_eq!(v["result"]["prefill_metrics"]["ttft"]["std"], 0.0);
        // e2e_tps per run 100 and 120 → mean 110, population std 10
        assert_eq!(v["result"]["batch_metrics"]["e2e_tps"]["mean"], 110.0);
        assert_eq!(v["result"]["batch_metrics"]["e2e_tps"]["std"], 10.0);
        assert_eq!(
            v["result"]["reliability"],
            json!({"total_requests": 16, "successful": 15, "failed": 1})
        );
        let phased = &v["result"]["phased_metrics"];
        assert_eq!(phased["steady_state_tps"]["median"], 121.0);
        assert_eq!(phased["peak_active_requests"], 8);
        assert_eq!(
            phased["time_series"]["output_tokens_per_bucket"],
            json!([0, 3, 8, 8, 2])
        );
        assert_eq!(v["result"]["usage_extras"], json!({}));
        // indent 2, Python float text
        assert!(
            text.starts_with("{\n  \"metadata\": {\n    \"timestamp\": "),
            "{text}"
        );
        assert!(text.contains("\"bucket_size_seconds\": 0.05,"));
    }

    #[test]
    fn several_series_get_subdirectories_and_empty_phased_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let rd = ResultsDir::new(dir.path());
        let mut results = sample_results();
        let mut other = results.points[0].clone();
        other.spec.id = "sim.long.burst-8".into();
        other.spec.index = 1;
        other.spec.scenario = "long/x".into();
        for r in &mut other.runs {
            r.ok = 0;
        }
        results.plan.points.push(other.spec.clone());
        results.points.push(other);
        OriginalJsonSink.write(&rd, &results).unwrap();
        assert!(dir.path().join("original/sim__short/8.json").is_file());
        let p = dir.path().join("original/sim__long_x/8.json");
        let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        assert_eq!(v["result"]["phased_metrics"], json!({}));
    }

    #[test]
    fn colliding_series_names_add_the_mode_and_rates_keep_decimals() {
        let mut results = sample_results();
        let mut rate = results.points[0].clone();
        rate.spec.id = "sim.short.rate-2.5".into();
        rate.spec.index = 1;
        rate.spec.load = LoadSpec::Rate {
            rate: 2.5,
            arrival: crate::vocab::Arrival::Poisson,
            requests: 20,
            duration: None,
            max_concurrency: None,
        };
        results.plan.points.push(rate.spec.clone());
        results.points.push(rate);
        let dir = tempfile::tempdir().unwrap();
        OriginalJsonSink
            .write(&ResultsDir::new(dir.path()), &results)
            .unwrap();
        assert!(dir
            .path()
            .join("original/sim__short__burst/8.json")
            .is_file());
        let p = dir.path().join("original/sim__short__rate/2.5.json");
        let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        assert_eq!(v["sweep_value"], 2.5);
        assert_eq!(v["metadata"]["execution_mode"], "rate");
        assert_eq!(v["metadata"]["rates"], json!([2.5]));
        assert_eq!(v["metadata"]["num_prompts"], 20);
    }

    // ---- embeddings ------------------------------------------------------------------

    const MS: u64 = 1_000_000;

    /// An embeddings request of run `run` that ended `end_ms` after the batch start.
    fn embed_record(
        point: u32,
        run: u32,
        request: u32,
        attempt: u32,
        (start_ms, end_ms): (u64, u64),
        input: u32,
        outcome: crate::record::Outcome,
    ) -> RequestRecord {
        RequestRecord {
            point_index: point,
            run_index: run,
            request_index: request,
            attempt,
            start_ns: start_ms * MS,
            end_ns: end_ms * MS,
            outcome,
            input_tokens: input,
            items: 1,
            items_returned: u32::from(outcome.is_ok()),
            embedding_dim: outcome.is_ok().then_some(384),
            ..RequestRecord::default()
        }
    }

    /// The generation point of `sample_results` plus an embeddings endpoint with
    /// two points: `E(260)` at batch 2 (two runs, with a retry and a failure) and
    /// `E(short)` at batch 1 (one run).
    fn with_embeddings() -> ExperimentResults {
        use crate::record::Outcome::{HttpError, Ok as Fine, Timeout};
        let mut results = sample_results();
        let html = crate::sink::html::test_fixture::sample_results();
        results
            .plan
            .endpoints
            .insert("embed".into(), html.plan.endpoints["embed"].clone());
        let e260 = html.plan.scenarios["embed-200"].clone();
        let mut short = e260.clone();
        short.name = "short".into();
        short.workload = Workload::EmbeddingText {
            length: TextLength::Short,
        };
        results.plan.scenarios.insert("embed-200".into(), e260);
        results.plan.scenarios.insert("words".into(), short);
        let spec = |index: usize, scenario: &str, batch: u32, runs: u32| PointSpec {
            index,
            id: format!("embed.{scenario}.burst-{batch}"),
            grid: "grid[1]".into(),
            endpoint: "embed".into(),
            scenario: scenario.into(),
            load: LoadSpec::Burst { batch },
            runs,
            warmup: 2,
            seed: 1,
        };
        let run = |run_index: u32, wall_time_s: f64| crate::metrics::RunSummary {
            run_index,
            wall_time_s,
            ..crate::metrics::RunSummary::default()
        };
        let a = spec(1, "embed-200", 2, 2);
        let b = spec(2, "words", 1, 1);
        results.plan.points.extend([a.clone(), b.clone()]);
        results.points.push(PointResult {
            spec: a,
            summary: crate::metrics::PointSummary::default(),
            runs: vec![run(0, 0.5), run(1, 0.4)],
        });
        results.points.push(PointResult {
            spec: b,
            summary: crate::metrics::PointSummary::default(),
            runs: vec![run(0, 0.125)],
        });
        let mut warm = embed_record(1, 0, 0, 1, (0, 1), 999, Fine);
        warm.warmup = true;
        results.records = vec![
            warm,
            // point 1, run 0: two successes
            embed_record(1, 0, 0, 1, (0, 100), 250, Fine),
            embed_record(1, 0, 1, 1, (0, 200), 270, Fine),
            // point 1, run 1: one success; request 1 fails, is retried, and times out
            embed_record(1, 1, 0, 1, (0, 100), 260, Fine),
            embed_record(1, 1, 1, 1, (0, 50), 0, HttpError),
            embed_record(1, 1, 1, 2, (60, 300), 0, Timeout),
            // point 2, run 0
            embed_record(2, 0, 0, 1, (0, 80), 12, Fine),
        ];
        results
    }

    fn read(path: &Path) -> (String, Value) {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v = serde_json::from_str(&text).unwrap();
        (text, v)
    }

    /// `{mean, std, min, max}` as written: sample std, every value rounded to 4 digits.
    fn stat4(mean: f64, std: f64, min: f64, max: f64) -> Value {
        json!({
            "mean": round_sig4(mean),
            "std": round_sig4(std),
            "min": round_sig4(min),
            "max": round_sig4(max),
        })
    }

    #[test]
    fn sample_stat_uses_n_minus_one() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − 5)² = 32, sample std = sqrt(32/7)
        let v = sample_stat(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(v["mean"], 5.0);
        assert!((v["std"].as_f64().unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(
            (v["min"].as_f64(), v["max"].as_f64()),
            (Some(2.0), Some(9.0))
        );
        assert_eq!(sample_stat(&[3.0])["std"], 0.0);
        assert_eq!(
            sample_stat(&[]),
            json!({"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0})
        );
    }

    #[test]
    fn embeddings_points_get_the_original_embedding_layout() {
        let dir = tempfile::tempdir().unwrap();
        OriginalJsonSink
            .write(&ResultsDir::new(dir.path()), &with_embeddings())
            .unwrap();
        // Beside the completion series, the embeddings series gets its own directory.
        assert!(dir.path().join("original/sim__short/8.json").is_file());
        let (text, v) = read(&dir.path().join("original/embed/batch_2_seq_260.json"));
        let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(top, ["metadata", "config_key", "result"]);
        assert_eq!(v["config_key"], "batch_2_seq_260");
        let meta = &v["metadata"];
        let keys: Vec<&str> = meta
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "timestamp",
                "model",
                "api_base",
                "batch_sizes",
                "sequence_lengths",
                "num_runs",
                "warmup_runs",
                "concurrent_requests",
                "seed",
                "description"
            ]
        );
        assert_eq!(meta["model"], "qwen3-embedding");
        assert_eq!(meta["api_base"], "http://127.0.0.1:8000/v1");
        assert_eq!(meta["batch_sizes"], json!([2, 1]));
        assert_eq!(meta["sequence_lengths"], json!([260, "short"]));
        assert_eq!(
            (&meta["num_runs"], &meta["warmup_runs"]),
            (&json!(2), &json!(2))
        );
        assert_eq!(meta["concurrent_requests"], true);
        assert_eq!(
            (&meta["seed"], &meta["description"]),
            (&json!(42), &json!("a test"))
        );

        let r = &v["result"];
        let groups: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(groups, ["tokens", "timings", "throughput"]);
        // Per successful request (final attempts, warmup excluded): tokens 250, 270, 260.
        // mean 260, Σ(x − 260)² = 200, sample std = sqrt(200/2) = 10
        assert_eq!(
            r["tokens"]["total_per_batch"],
            stat4(260.0, 10.0, 250.0, 270.0)
        );
        assert_eq!(
            r["tokens"]["embeddings_per_batch"],
            stat4(1.0, 0.0, 1.0, 1.0)
        );
        // One value per run: wall 0.5 and 0.4 s: mean 0.45, std sqrt(2·0.05²/1)
        let two = |a: f64, b: f64| {
            let m = (a + b) / 2.0;
            stat4(
                m,
                ((a - m).powi(2) + (b - m).powi(2)).sqrt(),
                a.min(b),
                a.max(b),
            )
        };
        let t = &r["timings"];
        assert_eq!(t["batch_total_seconds"], two(0.5, 0.4));
        // Run 0 ends at 0.1 and 0.2 s; run 1 at 0.1 and 0.3 s (the failed first attempt,
        // ended at 0.05 s, is not the request's final attempt).
        assert_eq!(t["fastest_seconds"], two(0.1, 0.1));
        assert_eq!(t["slowest_seconds"], two(0.2, 0.3));
        assert_eq!(t["spread_seconds"], two(0.1, 0.2));
        let th = &r["throughput"];
        // Σ embeddings / wall: 2/0.5 = 4 and 1/0.4 = 2.5; Σ tokens / wall: 520/0.5 and 260/0.4.
        assert_eq!(th["batch_embeddings_per_second"], two(4.0, 2.5));
        assert_eq!(th["batch_tokens_per_second"], two(1040.0, 650.0));
        // Per request over end − start: 1/0.1, 1/0.2, 1/0.1 and 250/0.1, 270/0.2, 260/0.1.
        let three = |xs: [f64; 3]| {
            let m = xs.iter().sum::<f64>() / 3.0;
            let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 2.0).sqrt();
            let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
            stat4(m, sd, min, xs.iter().copied().fold(0.0, f64::max))
        };
        assert_eq!(
            th["request_embeddings_per_second"],
            three([10.0, 5.0, 10.0])
        );
        assert_eq!(
            th["request_tokens_per_second"],
            three([2500.0, 1350.0, 2600.0])
        );
        assert_eq!(th["request_tokens_per_second"]["min"], 1350.0);
        // Python json.dump text: floats in repr form, two-space indent.
        assert!(
            text.contains("\"total_per_batch\": {\n        \"mean\": 260.0,"),
            "{text}"
        );
        assert!(text.contains("\"concurrent_requests\": true,"));

        // The word-count scenario: S = "short", one run → std 0.
        let (_, w) = read(&dir.path().join("original/embed/batch_1_seq_short.json"));
        assert_eq!(w["config_key"], "batch_1_seq_short");
        assert_eq!(
            w["result"]["tokens"]["total_per_batch"],
            stat4(12.0, 0.0, 12.0, 12.0)
        );
        // 1 embedding / 0.08 s = 12.5 per second
        assert_eq!(
            w["result"]["throughput"]["request_embeddings_per_second"],
            stat4(12.5, 0.0, 12.5, 12.5)
        );
    }

    #[test]
    fn a_lone_embeddings_series_is_flat_and_reads_back_as_the_original() {
        let mut results = with_embeddings();
        results.points.retain(|p| p.spec.endpoint == "embed");
        results.plan.points.retain(|p| p.endpoint == "embed");
        let ep = results.plan.endpoints.get_mut("embed").unwrap();
        ep.embed_batch_in_one_request = true;
        let dir = tempfile::tempdir().unwrap();
        OriginalJsonSink
            .write(&ResultsDir::new(dir.path()), &results)
            .unwrap();
        let orig = dir.path().join(DIR_NAME);
        let mut names: Vec<String> = std::fs::read_dir(&orig)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["batch_1_seq_short.json", "batch_2_seq_260.json"]);
        let (_, v) = read(&orig.join("batch_2_seq_260.json"));
        assert_eq!(v["metadata"]["concurrent_requests"], false);
        // `tokenomics compare` reads the directory as the original's embedding output.
        let view = crate::compare::original::load_original(&orig).unwrap();
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

    #[test]
    fn rerank_and_score_points_are_not_written() {
        let mut results = with_embeddings();
        results.plan.endpoints.get_mut("embed").unwrap().api = ApiKind::Rerank;
        let dir = tempfile::tempdir().unwrap();
        OriginalJsonSink
            .write(&ResultsDir::new(dir.path()), &results)
            .unwrap();
        // Only the completion series remains, so it is flat.
        let names: Vec<String> = std::fs::read_dir(dir.path().join(DIR_NAME))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["8.json"]);
    }

    /// `sample_results` with its endpoint `sim` and its scenario `short` (D(128,64)) in the plan.
    fn sample_with_specs() -> ExperimentResults {
        use crate::sink::html::test_fixture::{endpoint, scenario};
        let mut results = sample_results();
        let mut ep = endpoint("sim", "m", ApiKind::Chat, false);
        ep.temperature = None;
        results.plan.endpoints.insert("sim".into(), ep);
        results.plan.scenarios.insert(
            "short".into(),
            scenario("short", crate::vocab::workload::parse("D(128,64)").unwrap()),
        );
        results
    }

    /// The metadata of the single point of `results`, written and read back.
    fn written_metadata(results: &ExperimentResults) -> Value {
        let dir = tempfile::tempdir().unwrap();
        OriginalJsonSink
            .write(&ResultsDir::new(dir.path()), results)
            .unwrap();
        read(&dir.path().join("original/8.json")).1["metadata"].clone()
    }

    #[test]
    fn metadata_reports_what_compat_sent_in_the_originals_shapes() {
        use crate::plan::LoraSpec;
        use crate::vocab::{ImageFormat, ImageSpec};
        let mut results = sample_with_specs();
        let sc = results.plan.scenarios.values_mut().next().unwrap();
        sc.compat_original = true;
        sc.images = Some(ImageSpec {
            width: 640,
            height: 480,
            count: 2,
            format: ImageFormat::Png,
            from_dataset: false,
        });
        sc.lora = Some(LoraSpec {
            strategy: LoraStrategy::RoundRobin,
            adapters: vec!["a".into(), "b".into()],
            weights: vec![],
            base_model_ratio: 0.25,
            zipf_alpha: 1.0,
        });
        sc.dataset.source = DatasetSource::HuggingFace {
            repo: "openai/gsm8k".into(),
            config: Some("main".into()),
            split: "test".into(),
            revision: None,
        };
        sc.dataset.prompt_column = "question".into();
        sc.dataset.raw_config = json!({
            "source": {"huggingface": "openai/gsm8k", "config": "main", "split": "test"},
            "prompt_column": "question",
            "max_rows": 10
        });
        let m = written_metadata(&results);
        // The original's default temperature, sent by compat bodies.
        assert_eq!(m["temperature"], 0.7);
        assert_eq!(m["num_images"], 2);
        assert_eq!(m["image_size"], "640x480");
        // Round-robin is the original's `uniform`.
        assert_eq!(
            m["lora_config"],
            json!({"strategy": "uniform", "lora_names": ["a", "b"], "base_model_ratio": 0.25})
        );
        assert_eq!(
            m["dataset_config"],
            json!({
                "source": {
                    "type": "huggingface",
                    "path": "openai/gsm8k",
                    "huggingface_kwargs": {"name": "main", "split": "test"}
                },
                "prompt_column": "question",
                "description": "tokenomics dataset `synthetic`"
            })
        );
        let keys: Vec<&str> = m["dataset_config"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["source", "prompt_column", "description"]);
    }

    #[test]
    fn metadata_copies_original_configs_and_names_builtins_by_type() {
        let mut results = sample_with_specs();
        let original = json!({
            "source": {"type": "file", "path": "../data/sample_prompts.txt"},
            "prompt_column": "text",
            "description": "30k token testing"
        });
        let sc = results.plan.scenarios.values_mut().next().unwrap();
        sc.dataset.raw_config = original.clone();
        assert_eq!(written_metadata(&results)["dataset_config"], original);

        let sc = results.plan.scenarios.values_mut().next().unwrap();
        sc.dataset.source = DatasetSource::Aime;
        sc.dataset.raw_config = json!({"source": "aime", "description": "AIME"});
        let m = written_metadata(&results);
        assert_eq!(
            m["dataset_config"],
            json!({"source": {"type": "aime"}, "prompt_column": "Question", "description": "AIME"})
        );
        // Not compat, no temperature set: none was sent, none is reported.
        assert_eq!(written_metadata(&results)["temperature"], Value::Null);
        assert_eq!(written_metadata(&results)["num_images"], 0);
        assert_eq!(written_metadata(&results)["image_size"], Value::Null);
    }
}
