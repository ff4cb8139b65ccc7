//! Where each point's file goes in `original/` (module docs of
//! `crate::sink::original`): one directory per series when there are several,
//! file stems from the sweep value or the embeddings config key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::plan::{Plan, PointSpec};
use crate::results::PointResult;
use crate::vocab::workload::{TextLength, Workload};
use crate::vocab::ApiKind;

/// True when the point's endpoint generates text (unknown endpoints are assumed to).
pub(super) fn generates(plan: &Plan, spec: &PointSpec) -> bool {
    plan.endpoints
        .get(&spec.endpoint)
        .is_none_or(|e| e.api.generates())
}

/// True when the point's endpoint is an embeddings endpoint.
pub(super) fn is_embeddings(plan: &Plan, spec: &PointSpec) -> bool {
    plan.endpoints
        .get(&spec.endpoint)
        .is_some_and(|e| e.api == ApiKind::Embeddings)
}

/// The original's sequence-length label of an embeddings point (module docs):
/// a string for the word-count shapes, an integer for counts.
pub(super) fn sequence_length(plan: &Plan, spec: &PointSpec) -> Value {
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
pub(super) fn sequence_text(label: &Value) -> String {
    match label {
        Value::String(s) => path_safe(s),
        other => other.to_string(),
    }
}

/// `batch_{B}_seq_{S}` of an embeddings point.
pub(super) fn config_key(plan: &Plan, spec: &PointSpec) -> String {
    format!(
        "batch_{}_seq_{}",
        value_stem(spec.load.value()),
        sequence_text(&sequence_length(plan, spec))
    )
}

/// Keeps `[A-Za-z0-9._-]`, replacing anything else with `_`.
pub(super) fn path_safe(s: &str) -> String {
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
pub(super) fn sweep_value(v: f64) -> Value {
    #[allow(clippy::cast_possible_truncation)]
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// The sweep value as a file stem: `8`, `2.5`.
pub(super) fn value_stem(v: f64) -> String {
    match sweep_value(v) {
        Value::Number(n) => n.to_string(),
        _ => path_safe(&v.to_string()),
    }
}

/// A series: the points that one run of the original would have swept.
pub(super) type SeriesKey = (String, String, &'static str, String);

/// An embeddings series: one run of the original's embedding benchmark
/// (endpoint, mode, grid), covering batch sizes × sequence lengths.
pub(super) type EmbedKey = (String, &'static str, String);

pub(super) fn embed_key(spec: &PointSpec) -> EmbedKey {
    (
        spec.endpoint.clone(),
        spec.load.mode_name(),
        spec.grid.clone(),
    )
}

/// The sweep of one embeddings series, for its files' metadata.
#[derive(Default)]
pub(super) struct EmbedSweep {
    /// Distinct load values, in plan order.
    pub(super) batch_sizes: Vec<f64>,
    /// Distinct sequence-length labels, in plan order.
    pub(super) sequence_lengths: Vec<Value>,
}

/// The shortest name of each key in `order` (by `name(level, key)`, levels
/// 0..=2) that no two keys share.
pub(super) fn unique_names<K: Clone + Eq + std::hash::Hash>(
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

pub(super) fn series_key(spec: &PointSpec) -> SeriesKey {
    (
        spec.endpoint.clone(),
        spec.scenario.clone(),
        spec.load.mode_name(),
        spec.grid.clone(),
    )
}

/// Where each point's file goes, and each series' sweep values.
pub(super) struct Layout {
    /// File path (relative to `original/`) by point id.
    files: HashMap<String, PathBuf>,
    /// Load values of each series, in plan order.
    values: HashMap<SeriesKey, Vec<f64>>,
    /// Batch sizes and sequence lengths of each embeddings series.
    sweeps: HashMap<EmbedKey, EmbedSweep>,
}

impl Layout {
    pub(super) fn new(plan: &Plan, points: &[PointResult]) -> Layout {
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

    pub(super) fn path_of(&self, spec: &PointSpec) -> PathBuf {
        self.files
            .get(&spec.id)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(format!("{}.json", value_stem(spec.load.value()))))
    }

    pub(super) fn series_values(&self, spec: &PointSpec) -> Vec<f64> {
        self.values
            .get(&series_key(spec))
            .cloned()
            .unwrap_or_default()
    }

    pub(super) fn sweep(&self, spec: &PointSpec) -> Option<&EmbedSweep> {
        self.sweeps.get(&embed_key(spec))
    }
}
