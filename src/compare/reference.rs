//! Reference files: published numbers transcribed as TOML
//! (`results/reference/*.toml`; the format is documented in
//! `results/reference/README.md`).
//!
//! ```toml
//! schema = 1
//! name = "e-lfm2.5-1.2b-sustained"
//! source = "README image assets/example_visualization.png"
//! hardware = "not stated"
//! model = "LiquidAI/LFM2.5-1.2B-Instruct"
//! notes = ["…"]
//!
//! [[points]]
//! label = "lfm2.5-1.2b/n512-128"   # optional: endpoint/scenario of the manifest
//! load = 1
//! metrics.ttft_ms = { mean = 10.0 }
//! metrics.e2e_output_tps = { mean = 565.7, std = 12.0, approx = true }
//! ```
//!
//! Unknown keys and unknown metric names are errors, so a typo cannot silently
//! drop a number.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::view::{
    closest_metric, metric_info, MetricValue, PointMetrics, SourceKind, SourceView, WorkKind,
};

/// The schema version this reader accepts.
pub const REFERENCE_SCHEMA: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceFile {
    schema: u32,
    name: String,
    #[serde(default)]
    title: Option<String>,
    source: String,
    hardware: String,
    model: String,
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    scenario: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    /// The API the numbers come from (`chat`, `completions`, `embeddings`,
    /// `rerank`, `score`); chat when not given.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    streaming: Option<bool>,
    #[serde(default)]
    runs: Option<u32>,
    #[serde(default)]
    manifest: Option<String>,
    #[serde(default)]
    definitions: Option<String>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    points: Vec<ReferencePoint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferencePoint {
    #[serde(default)]
    label: Option<String>,
    load: f64,
    #[serde(default)]
    mode: Option<String>,
    metrics: BTreeMap<String, ReferenceValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceValue {
    #[serde(default)]
    mean: Option<f64>,
    #[serde(default)]
    std: Option<f64>,
    #[serde(default)]
    p50: Option<f64>,
    #[serde(default)]
    p90: Option<f64>,
    #[serde(default)]
    p95: Option<f64>,
    #[serde(default)]
    p99: Option<f64>,
    #[serde(default)]
    n: Option<u64>,
    #[serde(default)]
    approx: bool,
    #[serde(default)]
    note: Option<String>,
}

/// Parses a reference file's text (`path` only names it in errors).
///
/// # Errors
/// A message naming the file, the key and what is wrong.
pub fn parse_reference(text: &str, path: &Path) -> Result<SourceView, String> {
    let file: ReferenceFile = toml::from_str(text)
        .map_err(|e| format!("`{}` is not a valid reference file: {e}", path.display()))?;
    if file.schema != REFERENCE_SCHEMA {
        return Err(format!(
            "`{}`: schema {} is not supported (this build reads schema {REFERENCE_SCHEMA})",
            path.display(),
            file.schema
        ));
    }
    let mut notes = Vec::new();
    if let Some(t) = &file.title {
        notes.push(t.clone());
    }
    notes.push(format!("Source: {}", file.source));
    if let Some(s) = &file.server {
        notes.push(format!("Server: {s}"));
    }
    if let Some(d) = &file.definitions {
        notes.push(format!("Definitions: {d}"));
    }
    if let Some(s) = file.streaming {
        notes.push(format!("Streaming: {}", if s { "yes" } else { "no" }));
    }
    if let Some(r) = file.runs {
        notes.push(format!("Runs per point: {r}"));
    }
    if let Some(m) = &file.manifest {
        notes.push(format!("Reproducing manifest: {m}"));
    }
    notes.extend(file.notes.iter().cloned());
    let mut points = Vec::new();
    for (i, p) in file.points.into_iter().enumerate() {
        if !p.load.is_finite() || p.load < 0.0 {
            return Err(format!(
                "`{}`: points[{i}].load must be a non-negative number",
                path.display()
            ));
        }
        let mut metrics = BTreeMap::new();
        for (name, v) in p.metrics {
            if metric_info(&name).is_none() {
                let hint = closest_metric(&name)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "`{}`: points[{i}].metrics.{name} is not a known metric{hint}",
                    path.display()
                ));
            }
            if v.mean.is_none()
                && v.p50.is_none()
                && v.p90.is_none()
                && v.p95.is_none()
                && v.p99.is_none()
            {
                return Err(format!(
                    "`{}`: points[{i}].metrics.{name} has no value (give mean, p50, p90, p95 or p99)",
                    path.display()
                ));
            }
            if let Some(n) = &v.note {
                notes.push(format!(
                    "{name} at {}: {n}",
                    crate::report::format::format_load(p.load)
                ));
            }
            metrics.insert(
                name,
                MetricValue {
                    mean: v.mean,
                    std: v.std,
                    p50: v.p50,
                    p90: v.p90,
                    p95: v.p95,
                    p99: v.p99,
                    n: v.n,
                    per_run: Vec::new(),
                    per_request: Vec::new(),
                    approx: v.approx,
                },
            );
        }
        points.push(PointMetrics {
            kind: file
                .kind
                .as_deref()
                .map_or(WorkKind::Generation, WorkKind::of_api),
            label: p.label,
            load: p.load,
            mode: p.mode.or_else(|| file.mode.clone()),
            metrics,
        });
    }
    Ok(SourceView {
        name: file.name,
        kind: SourceKind::Reference,
        path: path.to_path_buf(),
        model: Some(file.model),
        scenario: file.scenario,
        hardware: Some(file.hardware),
        notes,
        points,
    })
}

/// Reads and parses a reference file.
///
/// # Errors
/// When the file cannot be read or is not a valid reference file.
pub fn load_reference(path: &Path) -> Result<SourceView, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    parse_reference(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
schema = 1
name = "demo"
source = "a README"
hardware = "not stated"
model = "m"
notes = ["n1"]

[[points]]
label = "ep/sc"
load = 4
metrics.ttft_ms = { mean = 10.0, std = 1.0 }
metrics.e2e_output_tps = { mean = 500.0, approx = true, note = "read off a chart" }
"#;

    #[test]
    fn parses_points_and_notes() {
        let s = parse_reference(GOOD, Path::new("demo.toml")).unwrap();
        assert_eq!(s.name, "demo");
        assert_eq!(s.points.len(), 1);
        let p = &s.points[0];
        assert_eq!(p.label.as_deref(), Some("ep/sc"));
        assert_eq!(p.load, 4.0);
        assert_eq!(p.metrics["ttft_ms"].std, Some(1.0));
        assert!(p.metrics["e2e_output_tps"].approx);
        assert!(s.notes.iter().any(|n| n.contains("read off a chart")));
    }

    #[test]
    fn unknown_metric_is_an_error_with_a_hint() {
        let bad = GOOD.replace("metrics.ttft_ms", "metrics.ttft_msec");
        let e = parse_reference(&bad, Path::new("x.toml")).unwrap_err();
        assert!(
            e.contains("ttft_msec") && e.contains("did you mean `ttft_ms`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_key_and_bad_schema_are_errors() {
        let bad = GOOD.replace("hardware", "hardwares");
        assert!(parse_reference(&bad, Path::new("x.toml")).is_err());
        let bad = GOOD.replace("schema = 1", "schema = 2");
        let e = parse_reference(&bad, Path::new("x.toml")).unwrap_err();
        assert!(e.contains("schema 2"), "{e}");
    }

    /// Every shipped reference parses, names a manifest that exists, and every
    /// point's label and load exist in that manifest's endpoints, scenarios and grids.
    #[test]
    fn shipped_references_match_their_manifests() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(root.join("results/reference"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        assert_eq!(files.len(), 7, "one reference per published result A-G");
        for f in files {
            let s = load_reference(&f).unwrap();
            assert!(!s.points.is_empty(), "{}", f.display());
            assert_eq!(
                Some(s.name.as_str()),
                f.file_stem().and_then(|n| n.to_str()),
                "name = file stem"
            );
            let raw: toml::Value = toml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            let manifest_rel = raw["manifest"].as_str().unwrap();
            let manifest_text = std::fs::read_to_string(root.join(manifest_rel)).unwrap();
            let manifest: toml::Value = toml::from_str(&manifest_text)
                .unwrap_or_else(|e| panic!("{manifest_rel} is not valid TOML: {e}"));
            assert_eq!(
                manifest["experiment"]["name"].as_str(),
                Some(s.name.as_str())
            );
            let grids = manifest["grid"].as_array().unwrap();
            for p in &s.points {
                let label = p.label.as_deref().unwrap();
                let (ep, sc) = label.split_once('/').unwrap();
                assert!(
                    manifest["endpoints"].get(ep).is_some(),
                    "{manifest_rel}: endpoint {ep}"
                );
                assert!(
                    manifest["scenarios"].get(sc).is_some(),
                    "{manifest_rel}: scenario {sc}"
                );
                let in_grid = grids.iter().any(|g| {
                    let has = |k: &str, v: &str| {
                        g[k].as_array()
                            .unwrap()
                            .iter()
                            .any(|x| x.as_str() == Some(v))
                    };
                    let loads = g
                        .get("batch_sizes")
                        .or_else(|| g.get("concurrency"))
                        .and_then(toml::Value::as_array)
                        .unwrap();
                    has("endpoints", ep)
                        && has("scenarios", sc)
                        && loads
                            .iter()
                            .any(|l| l.as_integer().map(|i| i as f64) == Some(p.load))
                });
                assert!(
                    in_grid,
                    "{manifest_rel}: no grid runs {label} at {}",
                    p.load
                );
            }
        }
    }
}
