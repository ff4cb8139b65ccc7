//! Reading a results directory back into [`ExperimentResults`], so
//! `tokenomics report` can re-render outputs without re-running anything.
//!
//! Sources: `summary.json` (plan, environment, point and run summaries,
//! `interrupted`) and `requests.parquet` (every record). When
//! `requests.parquet` is missing but the spool `records.spool.jsonl` is there
//! (a run killed before its outputs were written), the records come from the
//! spool instead. `summary.json` must have `schema_version` 1.
//!
//! Server-metric samples come from `summary.json`; when it has none but
//! `server_metrics.parquet` is there (a summary written without them), they
//! are read from that file, so a re-rendered report keeps its server charts.

use std::path::Path;

use super::json::{SummaryFile, SCHEMA_VERSION, SUMMARY_FILE};
use super::{parquet, server_metrics, spool, ExperimentResults, SinkError};

/// Reads `dir` (a `results/<experiment>/<run-id>` directory).
///
/// # Errors
/// When `summary.json` is missing, unreadable, of another schema version, or
/// when neither `requests.parquet` nor the spool can be read; errors name the file.
pub fn read_results(dir: &Path) -> Result<ExperimentResults, SinkError> {
    let summary_path = dir.join(SUMMARY_FILE);
    let bytes = std::fs::read(&summary_path).map_err(|source| SinkError::Io {
        path: summary_path.clone(),
        source,
    })?;
    let decode = |message: String| SinkError::Decode {
        path: summary_path.clone(),
        message,
    };
    // Check the version first, so a newer layout gets a clear message rather than a field error.
    let version = serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| decode(format!("not valid JSON: {e}")))?
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(decode(format!(
            "schema_version is {}, this tokenomics reads {SCHEMA_VERSION}; use the tokenomics \
             version that wrote it (see `tool_version` in the file)",
            version.map_or_else(|| "missing".to_string(), |v| v.to_string())
        )));
    }
    let summary: SummaryFile = serde_json::from_slice(&bytes).map_err(|e| decode(e.to_string()))?;

    let parquet_path = dir.join(parquet::FILE_NAME);
    let spool_path = dir.join(spool::FILE_NAME);
    let records = if !parquet_path.exists() && spool_path.exists() {
        spool::read_spool(&spool_path)?.records
    } else {
        parquet::read_records(&parquet_path)?
    };
    let metrics_path = dir.join(server_metrics::FILE_NAME);
    let server_metrics = if summary.server_metrics.is_empty() && metrics_path.exists() {
        server_metrics::read_samples(&metrics_path)?
    } else {
        summary.server_metrics
    };
    Ok(ExperimentResults {
        plan: summary.plan,
        environment: summary.environment,
        points: summary.points,
        records,
        interrupted: summary.interrupted,
        server_metrics,
        searches: summary.searches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Outcome, RequestRecord};
    use crate::sink::json::{tests::sample_results, JsonSink};
    use crate::sink::parquet::ParquetSink;
    use crate::sink::spool::SpoolWriter;
    use crate::sink::{ResultsDir, Sink};

    fn with_records() -> ExperimentResults {
        let mut r = sample_results();
        r.records = (0..3)
            .map(|i| RequestRecord {
                point_id: "sim.short.burst-8".into(),
                request_index: i,
                attempt: 1,
                start_ns: 1_000 * u64::from(i),
                end_ns: 1_000 * u64::from(i) + 900,
                chunk_ns: vec![1_000 * u64::from(i) + 300],
                outcome: if i == 2 {
                    Outcome::StreamCut
                } else {
                    Outcome::Ok
                },
                warmup: i == 0,
                ..RequestRecord::default()
            })
            .collect();
        r.interrupted = true;
        r
    }

    #[test]
    fn round_trip_through_a_results_directory() {
        let dir = tempfile::tempdir().unwrap();
        let rd = ResultsDir::new(dir.path());
        let results = with_records();
        JsonSink.write(&rd, &results).unwrap();
        ParquetSink.write(&rd, &results).unwrap();
        let back = read_results(dir.path()).unwrap();
        assert_eq!(back.records, results.records);
        assert!(back.interrupted);
        // ExperimentResults has no PartialEq (the plan holds floats and maps): compare as JSON.
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&results).unwrap()
        );
    }

    #[test]
    fn server_metrics_come_from_the_summary_or_else_their_parquet_file() {
        let dir = tempfile::tempdir().unwrap();
        let rd = ResultsDir::new(dir.path());
        let mut results = with_records();
        results.server_metrics = crate::sink::server_metrics::tests::samples();
        crate::sink::write_all(&rd, &results).unwrap();
        assert!(dir.path().join(server_metrics::FILE_NAME).is_file());
        assert_eq!(
            read_results(dir.path()).unwrap().server_metrics,
            results.server_metrics
        );
        // A summary without samples: the Parquet file supplies them.
        let mut bare = results.clone();
        bare.server_metrics.clear();
        JsonSink.write(&rd, &bare).unwrap();
        assert_eq!(
            read_results(dir.path()).unwrap().server_metrics,
            results.server_metrics
        );
        // Neither: none.
        std::fs::remove_file(dir.path().join(server_metrics::FILE_NAME)).unwrap();
        assert!(read_results(dir.path()).unwrap().server_metrics.is_empty());
    }

    #[test]
    fn falls_back_to_the_spool_without_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let rd = ResultsDir::new(dir.path());
        let results = with_records();
        JsonSink.write(&rd, &results).unwrap();
        let mut w = SpoolWriter::create(&rd.file(spool::FILE_NAME)).unwrap();
        for r in &results.records {
            w.record(r).unwrap();
        }
        drop(w);
        assert_eq!(read_results(dir.path()).unwrap().records, results.records);
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_results(dir.path()).unwrap_err();
        assert!(err.to_string().contains("summary.json"), "{err}");
        // summary present, records missing
        JsonSink
            .write(&ResultsDir::new(dir.path()), &sample_results())
            .unwrap();
        let err = read_results(dir.path()).unwrap_err();
        assert!(err.to_string().contains("requests.parquet"), "{err}");
        // another schema version
        let p = dir.path().join(SUMMARY_FILE);
        std::fs::write(&p, r#"{"schema_version": 2}"#).unwrap();
        let err = read_results(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("summary.json") && err.contains("schema_version is 2"),
            "{err}"
        );
    }
}
