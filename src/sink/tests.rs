//! Tests of the sinks together: a results directory written by every sink
//! reads back whole (`crate::results::read`), and merging shards writes one
//! directory with every point.

use super::json::JsonSink;
use super::parquet::ParquetSink;
use super::server_metrics::tests::samples;
use super::*;
use crate::record::{Outcome, RequestRecord};
use crate::results::layout::{SERVER_METRICS_FILE, SPOOL_FILE, SUMMARY_FILE};
use crate::results::read::read_results;
use crate::results::spool::SpoolWriter;
use crate::results::test_fixture::small_results;

fn with_records() -> ExperimentResults {
    let mut r = small_results();
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
    results.server_metrics = samples();
    write_all(&rd, &results).unwrap();
    assert!(dir.path().join(SERVER_METRICS_FILE).is_file());
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
    std::fs::remove_file(dir.path().join(SERVER_METRICS_FILE)).unwrap();
    assert!(read_results(dir.path()).unwrap().server_metrics.is_empty());
}

#[test]
fn falls_back_to_the_spool_without_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let rd = ResultsDir::new(dir.path());
    let results = with_records();
    JsonSink.write(&rd, &results).unwrap();
    let mut w = SpoolWriter::append(&rd.file(SPOOL_FILE)).unwrap();
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
        .write(&ResultsDir::new(dir.path()), &small_results())
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

/// The fixture split into two shards: even point indices in the first, odd in the second.
fn shards(dir: &std::path::Path) -> Vec<PathBuf> {
    let full = crate::results::test_fixture::sample_results();
    (0..2usize)
        .map(|k| {
            let mut shard = full.clone();
            shard.points.retain(|p| p.spec.index % 2 == k);
            let kept: Vec<u32> = shard
                .points
                .iter()
                .map(|p| u32::try_from(p.spec.index).unwrap())
                .collect();
            shard.records.retain(|r| kept.contains(&r.point_index));
            shard.plan.points = shard.points.iter().map(|p| p.spec.clone()).collect();
            shard.environment.command = vec!["tokenomics".into(), format!("shard-{k}")];
            let path = dir.join(format!("shard{k}"));
            write_all(&ResultsDir::create(&path).unwrap(), &shard).unwrap();
            path
        })
        .collect()
}

#[test]
fn merging_shards_writes_every_point_once() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = shards(tmp.path());
    let out = tmp.path().join("merged");
    assert_eq!(write_merged(&inputs, &out).unwrap(), out);
    let merged = read_results(&out).unwrap();
    let full = crate::results::test_fixture::sample_results();
    let ids = |r: &ExperimentResults| -> Vec<String> {
        r.points.iter().map(|p| p.spec.id.clone()).collect()
    };
    assert_eq!(ids(&merged), ids(&full));
    assert_eq!(merged.plan.points.len(), full.points.len());
    assert_eq!(merged.records.len(), full.records.len());
    assert_eq!(
        merged.environment.command,
        ["tokenomics", "shard-0", "--", "tokenomics", "shard-1"]
    );
    assert!(out.join(crate::results::layout::REPORT_FILE).is_file());
}

#[test]
fn merging_a_shard_twice_or_another_experiment_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = shards(tmp.path());
    let twice = vec![inputs[0].clone(), inputs[0].clone()];
    let err = write_merged(&twice, &tmp.path().join("m1")).unwrap_err();
    assert!(
        err.to_string().contains("is in more than one shard"),
        "{err}"
    );
    assert!(!tmp.path().join("m1").exists(), "nothing is written");
    // Another experiment's shard.
    let mut other = read_results(&inputs[1]).unwrap();
    other.plan.experiment.name = "other".into();
    JsonSink
        .write(&ResultsDir::new(&inputs[1]), &other)
        .unwrap();
    let err = write_merged(&inputs, &tmp.path().join("m2")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("cannot merge `") && text.contains("shard of experiment `other`"),
        "{text}"
    );
}
