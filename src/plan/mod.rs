//! STAGE 2: a validated manifest → the run matrix ([`Plan`]).

mod run_spec;

pub use run_spec::*;

use crate::manifest::Manifest;

/// Options that shape the plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Allow matrices above the size guard.
    pub allow_large: bool,
    /// `--shard i/n`: keep only this deterministic slice of the points.
    pub shard: Option<(u32, u32)>,
}

/// A plan error (bad cross-reference, matrix too large).
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct PlanError {
    pub file: std::path::PathBuf,
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// Expands `manifest` into its run matrix.
///
/// # Errors
/// A [`PlanError`] naming the key and the fix.
pub fn build(manifest: &Manifest, opts: &PlanOptions) -> Result<Plan, PlanError> {
    let _ = (manifest, opts);
    todo!("plan::build")
}
