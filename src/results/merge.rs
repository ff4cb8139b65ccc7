//! `tokenomics merge`: combine the results of `--shard i/n` runs into one.
//!
//! Shards of one plan keep the original point indices, so merging is a union:
//! points are taken from every shard (sorted by index; a point present in two
//! shards is an error), records and server-metric samples are concatenated, and
//! the environment of the first shard is kept with every shard's command listed.
//! Writing the merged results into a directory is the sinks' job.

use std::path::{Path, PathBuf};

use super::error::ResultsError;
use super::model::ExperimentResults;
use super::read::read_results;

/// Reads the shard results in `inputs` and merges them; `output` is where they
/// will go (named when there is nothing to merge).
///
/// # Errors
/// When a shard cannot be read, two shards hold the same point, or the shards
/// come from different experiments.
pub fn merge_shards(inputs: &[PathBuf], output: &Path) -> Result<ExperimentResults, ResultsError> {
    let mut shards = Vec::new();
    for dir in inputs {
        shards.push((dir, read_results(dir)?));
    }
    let Some((first_dir, first)) = shards.first() else {
        return Err(ResultsError::merge(output, "no shards to merge"));
    };
    let mut merged = first.clone();
    merged.points.clear();
    merged.records.clear();
    merged.server_metrics.clear();
    merged.searches.clear();
    for (dir, shard) in &shards {
        if shard.plan.experiment.name != first.plan.experiment.name {
            return Err(ResultsError::merge(
                dir,
                format!(
                    "shard of experiment `{}` cannot be merged with `{}` (from {})",
                    shard.plan.experiment.name,
                    first.plan.experiment.name,
                    first_dir.display()
                ),
            ));
        }
        for p in &shard.points {
            if merged.points.iter().any(|q| q.spec.index == p.spec.index) {
                return Err(ResultsError::merge(
                    dir,
                    format!("point `{}` is in more than one shard", p.spec.id),
                )
                .with_hint("merge each shard once; shards of one plan hold different points"));
            }
            merged.points.push(p.clone());
        }
        merged.records.extend(shard.records.iter().cloned());
        merged
            .server_metrics
            .extend(shard.server_metrics.iter().cloned());
        merged.searches.extend(shard.searches.iter().cloned());
        merged.interrupted |= shard.interrupted;
        if !std::ptr::eq(shard, first) {
            merged.environment.command.push("--".into());
            merged
                .environment
                .command
                .extend(shard.environment.command.iter().cloned());
        }
    }
    merged.points.sort_by_key(|p| p.spec.index);
    merged.plan.points = merged.points.iter().map(|p| p.spec.clone()).collect();
    merged.plan.searches = merged.searches.iter().map(|s| s.spec.clone()).collect();
    Ok(merged)
}
