//! `tokenomics merge`: combine the results of `--shard i/n` runs into one directory.
//!
//! Shards of one plan keep the original point indices, so merging is a union:
//! points are taken from every shard (sorted by index; a point present in two
//! shards is an error), records and server-metric samples are concatenated, and
//! the environment of the first shard is kept with every shard's command listed.

use std::path::{Path, PathBuf};

use super::{read::read_results, write_all, ResultsDir, SinkError};

/// Merges the shard results in `inputs` into a new results directory `output`.
///
/// # Errors
/// When a shard cannot be read, two shards hold the same point, the shards come
/// from different experiments, or the output cannot be written.
pub fn merge(inputs: &[PathBuf], output: &Path) -> Result<PathBuf, SinkError> {
    let mut shards = Vec::new();
    for dir in inputs {
        shards.push((dir, read_results(dir)?));
    }
    let Some((first_dir, first)) = shards.first() else {
        return Err(SinkError::Encode {
            path: output.to_path_buf(),
            message: "no shards to merge".into(),
        });
    };
    let mut merged = first.clone();
    merged.points.clear();
    merged.records.clear();
    merged.server_metrics.clear();
    merged.searches.clear();
    for (dir, shard) in &shards {
        if shard.plan.experiment.name != first.plan.experiment.name {
            return Err(SinkError::Encode {
                path: (*dir).clone(),
                message: format!(
                    "shard of experiment `{}` cannot be merged with `{}` (from {})",
                    shard.plan.experiment.name,
                    first.plan.experiment.name,
                    first_dir.display()
                ),
            });
        }
        for p in &shard.points {
            if merged.points.iter().any(|q| q.spec.index == p.spec.index) {
                return Err(SinkError::Encode {
                    path: (*dir).clone(),
                    message: format!("point `{}` is in more than one shard", p.spec.id),
                });
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
    std::fs::create_dir_all(output).map_err(|source| SinkError::Io {
        path: output.to_path_buf(),
        source,
    })?;
    let dir = ResultsDir::new(output);
    super::write_atomic(
        &dir.file("manifest.resolved.toml"),
        merged.plan.resolved_manifest.as_bytes(),
    )?;
    write_all(&dir, &merged)?;
    Ok(output.to_path_buf())
}
