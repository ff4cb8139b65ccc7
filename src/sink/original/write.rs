//! [`OriginalJsonSink`]: one file per completion or embeddings point in
//! `original/`, at the path the layout (`super::layout`) gives it.

use super::document::point_document;
use super::embeddings::embedding_document;
use super::layout::{generates, is_embeddings, Layout};
use super::number::to_python_json;
use crate::results::layout::ORIGINAL_DIR;
use crate::results::{write_atomic, ExperimentResults, ResultsDir};
use crate::sink::writer::{Sink, SinkError};

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
            let path = dir.path.join(ORIGINAL_DIR).join(&rel);
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
