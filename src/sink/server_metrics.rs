//! `server_metrics.parquet`: the servers' Prometheus samples scraped during the
//! runs (endpoints with `metrics = { … }`), one row per sample in a tidy long
//! format, written only when there are samples.
//!
//! Each scrape of a metrics page gives one row per known series (see
//! the runner's scraper, `crate::runner::scrape`, for the names per server); labelled series of one
//! name (e.g. one per `model_name`) are summed by the scraper, so the rows carry
//! no labels. Times share the origin of the `*_ns` timestamps of
//! `requests.parquet`: the run's `t0`. Zstd compression.
//!
//! | column | type | null? | meaning |
//! |---|---|---|---|
//! | `point_index` | UInt32 | no | index of the point in the plan |
//! | `point_id` | Utf8 | yes | stable id of the point (null if the plan does not list the index) |
//! | `run_index` | UInt32 | no | repetition the sample was taken in |
//! | `endpoint` | Utf8 | no | endpoint name in the manifest |
//! | `t_ms` | Float64 | no | time of the scrape, ms since the run's t0 (slightly negative just before the first request) |
//! | `metric` | Utf8 | no | normalised name: `running`, `waiting`, `kv_cache_usage` (0–1), `prompt_tokens_total`, `generation_tokens_total` |
//! | `raw_name` | Utf8 | no | the series name on the server, e.g. `vllm:num_requests_running` |
//! | `value` | Float64 | no | the value (summed over the series' labels) |
//!
//! Rows are in scrape order: by point, then run, then time.
//! `crate::results::parquet::read_samples` rebuilds the [`ServerMetricSample`]s
//! (the `point_id` column is ignored).
//! `summary.json` carries the same samples; this file is for analysis tools.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::writer::{Sink, SinkError};
use crate::results::layout::SERVER_METRICS_FILE;
use crate::results::{write_atomic, ExperimentResults, ResultsDir, ServerMetricSample};

/// Writes `server_metrics.parquet` when the results hold samples (module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerMetricsSink;

impl Sink for ServerMetricsSink {
    fn name(&self) -> &'static str {
        "server_metrics"
    }

    fn write(&self, dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError> {
        if results.server_metrics.is_empty() {
            return Ok(());
        }
        let ids: std::collections::BTreeMap<u32, &str> = results
            .plan
            .points
            .iter()
            .map(|p| (u32::try_from(p.index).unwrap_or(u32::MAX), p.id.as_str()))
            .chain(results.points.iter().map(|p| {
                (
                    u32::try_from(p.spec.index).unwrap_or(u32::MAX),
                    p.spec.id.as_str(),
                )
            }))
            .collect();
        write_samples(
            &dir.file(SERVER_METRICS_FILE),
            &results.server_metrics,
            |i| ids.get(&i).copied(),
        )
    }
}

/// One Arrow batch of `samples`; `point_id` names a point index.
fn build_batch<'a>(
    samples: &'a [ServerMetricSample],
    point_id: impl Fn(u32) -> Option<&'a str>,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let strings = |f: &dyn Fn(&'a ServerMetricSample) -> Option<&'a str>| -> ArrayRef {
        Arc::new(samples.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<(&str, bool, ArrayRef)> = vec![
        (
            "point_index",
            false,
            Arc::new(UInt32Array::from_iter_values(
                samples.iter().map(|s| s.point_index),
            )),
        ),
        (
            "point_id",
            true,
            strings(&|s: &ServerMetricSample| point_id(s.point_index)),
        ),
        (
            "run_index",
            false,
            Arc::new(UInt32Array::from_iter_values(
                samples.iter().map(|s| s.run_index),
            )),
        ),
        (
            "endpoint",
            false,
            strings(&|s: &ServerMetricSample| Some(s.endpoint.as_str())),
        ),
        (
            "t_ms",
            false,
            Arc::new(Float64Array::from_iter_values(
                samples.iter().map(|s| s.t_ms),
            )),
        ),
        (
            "metric",
            false,
            strings(&|s: &ServerMetricSample| Some(s.name.as_str())),
        ),
        (
            "raw_name",
            false,
            strings(&|s: &ServerMetricSample| Some(s.raw_name.as_str())),
        ),
        (
            "value",
            false,
            Arc::new(Float64Array::from_iter_values(
                samples.iter().map(|s| s.value),
            )),
        ),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, nullable, a)| Field::new(*name, a.data_type().clone(), *nullable))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|c| c.2).collect(),
    )
}

/// Writes `samples` to `path` as Parquet (zstd), atomically; `point_id` names
/// each point index (None writes a null).
///
/// # Errors
/// When encoding or writing fails; the error names `path`.
pub fn write_samples<'a>(
    path: &Path,
    samples: &'a [ServerMetricSample],
    point_id: impl Fn(u32) -> Option<&'a str>,
) -> Result<(), SinkError> {
    let encode = |e: &dyn std::fmt::Display| SinkError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let batch = build_batch(samples, point_id).map_err(|e| encode(&e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut bytes = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props)).map_err(|e| encode(&e))?;
    writer.write(&batch).map_err(|e| encode(&e))?;
    writer.close().map_err(|e| encode(&e))?;
    Ok(write_atomic(path, &bytes)?)
}

#[cfg(test)]
pub(crate) mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;
    use crate::results::parquet::read_samples;
    use crate::results::test_fixture::small_results as sample_results;

    /// Samples of two scrapes of one run and one scrape of a point the plan lacks.
    pub(crate) fn samples() -> Vec<ServerMetricSample> {
        let s = |point: u32, t_ms: f64, name: &str, raw: &str, value: f64| ServerMetricSample {
            endpoint: "sim".into(),
            point_index: point,
            run_index: 1,
            t_ms,
            name: name.into(),
            raw_name: raw.into(),
            value,
        };
        vec![
            s(0, -0.25, "running", "vllm:num_requests_running", 0.0),
            s(0, -0.25, "kv_cache_usage", "vllm:gpu_cache_usage_perc", 0.0),
            s(0, 100.5, "running", "vllm:num_requests_running", 4.0),
            s(0, 100.5, "waiting", "vllm:num_requests_waiting", 2.0),
            s(0, 100.5, "kv_cache_usage", "vllm:gpu_cache_usage_perc", 0.5),
            s(
                9,
                3.0,
                "generation_tokens_total",
                "vllm:generation_tokens_total",
                1e6,
            ),
        ]
    }

    fn first_batch(path: &Path) -> RecordBatch {
        let file = std::fs::File::open(path).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
    }

    #[test]
    fn sink_writes_one_row_per_sample_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let rd = ResultsDir::new(dir.path());
        let mut results = sample_results();
        results.server_metrics = samples();
        ServerMetricsSink.write(&rd, &results).unwrap();
        let path = dir.path().join(SERVER_METRICS_FILE);
        assert_eq!(read_samples(&path).unwrap(), samples());
        let batch = first_batch(&path);
        assert_eq!(batch.num_rows(), 6);
        // Point 0 is in the plan; point 9 is not and gets a null id.
        let ids = batch.column_by_name("point_id").unwrap().as_string::<i32>();
        assert_eq!(ids.value(0), results.plan.points[0].id);
        assert!(ids.is_null(5));
        let metric = batch.column_by_name("metric").unwrap().as_string::<i32>();
        assert_eq!(metric.value(3), "waiting");
        // Only the final file remains.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn no_samples_no_file() {
        let dir = tempfile::tempdir().unwrap();
        ServerMetricsSink
            .write(&ResultsDir::new(dir.path()), &sample_results())
            .unwrap();
        assert!(!dir.path().join(SERVER_METRICS_FILE).exists());
    }

    #[test]
    fn module_doc_table_lists_every_column_in_order() {
        let documented: Vec<String> = include_str!("server_metrics.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! | `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect();
        let schema = build_batch(&[], |_| None).unwrap().schema();
        let actual: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(documented, actual);
    }

    #[test]
    fn errors_name_the_path_and_the_column() {
        let err = write_samples(
            Path::new("/nonexistent-dir-xyz/s.parquet"),
            &samples(),
            |_| None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir-xyz/s.parquet"));
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("bogus.parquet");
        std::fs::write(&bogus, b"not parquet").unwrap();
        let err = read_samples(&bogus).unwrap_err();
        assert!(err.to_string().contains("bogus.parquet"), "{err}");
        // requests.parquet is Parquet, but not this layout.
        let other = dir.path().join("requests.parquet");
        crate::sink::parquet::write_records(&other, &[crate::record::RequestRecord::default()])
            .unwrap();
        let err = read_samples(&other).unwrap_err().to_string();
        assert!(err.contains("column `t_ms` is missing"), "{err}");
    }
}
