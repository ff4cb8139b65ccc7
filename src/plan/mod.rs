//! STAGE 2: a validated manifest → the run matrix ([`Plan`]).
//!
//! [`build`] fills in every default (see [`crate::manifest::raw::defaults`]),
//! resolves relative paths against the manifest's (or dataset config's)
//! directory, expands the grids into points (order, ids, seeds and request
//! counts are described in [`matrix`]), applies `--shard` and then the size
//! guard. [`render_table`] prints the result for `tokenomics plan`; the [`Plan`]
//! itself serializes to JSON for `plan --json`.

mod derive;
pub mod estimate;
pub mod matrix;
mod resolve;
mod run_spec;
mod search_spec;
mod table;

#[cfg(test)]
mod tests;

pub use derive::{default_concurrency_requests, default_rate_requests, format_value, point_seed};
pub use resolve::dataset as dataset_spec;
pub use run_spec::*;
pub use search_spec::{SearchSpec, MAX_PROBES};
pub use table::render_table;

use crate::manifest::{Manifest, ManifestError};

/// Options that shape the plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Allow matrices above the size guard.
    pub allow_large: bool,
    /// `--shard i/n`: keep only this deterministic slice of the points.
    pub shard: Option<(u32, u32)>,
}

/// Expands `manifest` into its run matrix.
///
/// # Errors
/// A [`ManifestError`] naming the key and the fix: an invalid or empty shard, or a
/// matrix above the size guard without `allow_large`.
pub fn build(manifest: &Manifest, opts: &PlanOptions) -> Result<Plan, ManifestError> {
    let experiment = resolve::experiment(manifest);
    let (mut endpoints, mut scenarios) = resolve::all(manifest)?;
    let mut points = matrix::expand(manifest)?;
    let mut searches = matrix::searches(manifest);
    for s in &mut searches {
        s.probe_base = points.len();
    }
    if let Some(shard) = opts.shard {
        points = matrix::shard(&manifest.path, points, &mut searches, shard)?;
    }
    if !opts.allow_large {
        matrix::size_guard(manifest, &points)?;
        estimate::memory_guard(manifest, &points, &endpoints, &scenarios)?;
    }
    endpoints.retain(|name, _| {
        points.iter().any(|p| &p.endpoint == name) || searches.iter().any(|s| &s.endpoint == name)
    });
    scenarios.retain(|name, _| {
        points.iter().any(|p| &p.scenario == name) || searches.iter().any(|s| &s.scenario == name)
    });
    Ok(Plan {
        experiment,
        endpoints,
        scenarios,
        points,
        searches,
        manifest_path: manifest.path.clone(),
        resolved_manifest: manifest.resolved_toml.clone(),
    })
}
