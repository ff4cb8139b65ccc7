//! Validation of a deserialized manifest: names, ranges, cross-references,
//! mode-specific and API-specific keys. No I/O; the first problem found is
//! returned with its key path and a fix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::dataset_config::DatasetConfig;
use super::limits;
use super::raw::{RawExperiment, RawManifest};
use super::ManifestError;
use crate::suggest::suggestion;
use crate::vocab::name::{check_name, NameKind};

mod endpoint;
mod grid;
mod scenario;
mod simulator;
use endpoint::endpoint;
use grid::grid;
use scenario::scenario;

/// SLO metrics that can be bounded.
pub const SLO_METRICS: [&str; 5] = ["ttft_ms", "ttfo_ms", "tpot_ms", "itl_ms", "e2e_ms"];

/// Body fields tokenomics sets itself; `extra_body` may not override them.
const RESERVED_BODY_KEYS: [&str; 5] = ["model", "messages", "prompt", "input", "stream"];

/// Collects the first error; `key` is a full key path.
struct Checker<'a> {
    file: &'a Path,
}

type Check = Result<(), ManifestError>;

impl Checker<'_> {
    fn fail(
        &self,
        key: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ManifestError {
        ManifestError::new(self.file, Some(key.into()), message, Some(hint.into()))
    }

    fn name(&self, key: &str, kind: NameKind, name: &str) -> Check {
        check_name(kind, name).map_err(|e| self.fail(key, e.message, e.hint))
    }

    /// `v` must be finite and `> 0` (or `≥ 0` when `zero_ok`).
    fn positive(&self, key: &str, v: Option<f64>, zero_ok: bool, hint: &str) -> Check {
        match v {
            Some(x) if !x.is_finite() || x < 0.0 || (!zero_ok && x == 0.0) => Err(self.fail(
                key,
                format!(
                    "{} is out of range: expected a number {}",
                    short_number(x),
                    if zero_ok { "≥ 0" } else { "> 0" }
                ),
                hint,
            )),
            _ => Ok(()),
        }
    }

    fn fraction(&self, key: &str, v: Option<f64>, hint: &str) -> Check {
        match v {
            Some(x) if !(0.0..=1.0).contains(&x) => Err(self.fail(
                key,
                format!("{x} is out of range: expected a number from 0 to 1"),
                hint,
            )),
            _ => Ok(()),
        }
    }

    fn at_least_one<T: Into<u64> + Copy>(&self, key: &str, v: Option<T>, hint: &str) -> Check {
        match v {
            Some(x) if x.into() == 0 => Err(self.fail(key, "must be at least 1, found 0", hint)),
            _ => Ok(()),
        }
    }

    /// `v` must be at most `max` (a number with its unit, e.g. `s` or `ms`).
    fn at_most(&self, key: &str, v: Option<f64>, max: f64, unit: &str) -> Check {
        match v {
            Some(x) if x > max => Err(self.fail(
                key,
                format!("{} {unit} is above the limit of {max} {unit}", short_number(x)),
                format!("give at most {max} {unit} (the limits are listed in the README's Reliability section)"),
            )),
            _ => Ok(()),
        }
    }

    /// A count must be at most `max`.
    fn count_at_most<T: Into<u64> + Copy>(&self, key: &str, v: Option<T>, max: u64) -> Check {
        match v.map(Into::into) {
            Some(x) if x > max => Err(self.fail(
                key,
                format!("{x} is above the limit of {max}"),
                format!("give at most {max} (the limits are listed in the README's Reliability section)"),
            )),
            _ => Ok(()),
        }
    }
}

/// A number as a message shows it: in full up to a billion, else `1e300` style.
fn short_number(x: f64) -> String {
    if x.abs() < 1e9 {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Validates `raw` (with its datasets already read).
pub(crate) fn validate(
    file: &Path,
    raw: &RawManifest,
    datasets: &BTreeMap<String, DatasetConfig>,
) -> Check {
    let c = Checker { file };
    if let Some(schema) = raw.schema {
        if schema != super::raw::defaults::SCHEMA {
            return Err(c.fail(
                "schema",
                format!("unsupported manifest schema {schema}"),
                "this version of tokenomics reads schema = 1",
            ));
        }
    }
    experiment(&c, &raw.experiment)?;
    if raw.endpoints.is_empty() {
        return Err(c.fail(
            "endpoints",
            "no endpoints are defined",
            "add an [endpoints.<name>] table with base_url and model, or simulator = {}",
        ));
    }
    for (name, ep) in &raw.endpoints {
        endpoint(&c, name, ep)?;
    }
    if raw.scenarios.is_empty() {
        return Err(c.fail(
            "scenarios",
            "no scenarios are defined",
            "add a [scenarios.<name>] table with spec = \"D(512,128)\"",
        ));
    }
    for (name, sc) in &raw.scenarios {
        scenario(&c, name, sc, datasets)?;
    }
    if raw.grid.is_empty() {
        return Err(c.fail(
            "grid",
            "no grids are defined",
            "add a [[grid]] table with endpoints, scenarios and a mode",
        ));
    }
    let mut grid_names = BTreeSet::new();
    for (i, g) in raw.grid.iter().enumerate() {
        grid(&c, i, g, raw)?;
        if let Some(name) = &g.name {
            if !grid_names.insert(name.as_str()) {
                return Err(c.fail(
                    format!("grid[{i}].name"),
                    format!("grid name `{name}` is used twice"),
                    "give every grid a different name",
                ));
            }
        }
    }
    Ok(())
}

fn experiment(c: &Checker, e: &RawExperiment) -> Check {
    c.name("experiment.name", NameKind::Experiment, &e.name)?;
    c.at_least_one(
        "experiment.runs",
        e.runs,
        "every point runs at least once; use runs = 1",
    )?;
    c.fraction(
        "experiment.max_failure_rate",
        e.max_failure_rate,
        "a fraction of measured requests, e.g. 0.05 for 5%",
    )?;
    c.at_least_one(
        "experiment.max_points",
        e.max_points,
        "raise it, or pass --allow-large",
    )?;
    c.at_least_one(
        "experiment.max_requests",
        e.max_requests,
        "raise it, or pass --allow-large",
    )?;
    c.at_least_one(
        "experiment.max_memory_mb",
        e.max_memory_mb,
        "raise it, or pass --allow-large",
    )?;
    if let Some(ps) = &e.percentiles {
        if ps.is_empty() {
            return Err(c.fail(
                "experiment.percentiles",
                "the list of percentiles is empty",
                "list at least one, e.g. percentiles = [50, 90, 99]",
            ));
        }
        let mut seen = Vec::new();
        for (i, p) in ps.iter().enumerate() {
            if !(p.is_finite() && *p > 0.0 && *p <= 100.0) {
                return Err(c.fail(
                    format!("experiment.percentiles[{i}]"),
                    format!("percentile {p} is out of range"),
                    "percentiles lie in (0, 100], e.g. 50, 99 or 99.9",
                ));
            }
            if seen.contains(p) {
                return Err(c.fail(
                    format!("experiment.percentiles[{i}]"),
                    format!("percentile {p} is listed twice"),
                    "list each percentile once",
                ));
            }
            seen.push(*p);
        }
    }
    if let Some(t) = e.steady_state_threshold {
        if !(t.is_finite() && t > 0.0 && t <= 1.0) {
            return Err(c.fail(
                "experiment.steady_state_threshold",
                format!("{t} is out of range: expected a number in (0, 1]"),
                "a bucket counts as steady when active requests ≥ threshold × the reference; 0.8 is the default",
            ));
        }
    }
    c.positive(
        "experiment.bucket_ms",
        e.bucket_ms,
        false,
        "steady-state buckets are 50 ms wide by default",
    )?;
    c.at_most("experiment.bucket_ms", e.bucket_ms, limits::MAX_MS, "ms")?;
    if e.output_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        return Err(c.fail(
            "experiment.output_dir",
            "`output_dir` is empty",
            "remove it to write under results/ beside the manifest",
        ));
    }
    if let Some(slo) = &e.slo {
        for metric in slo.keys() {
            if !SLO_METRICS.contains(&metric.as_str()) {
                return Err(c.fail(
                    format!("experiment.slo.{metric}"),
                    format!("unknown SLO metric `{metric}`"),
                    suggestion(metric, &SLO_METRICS, "SLO metrics"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
