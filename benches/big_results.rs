//! Big results: how long tokenomics takes to write `requests.parquet` for a
//! million request rows, to render the HTML report from them, and to plan a
//! 10,000-point matrix. Prints figures; asserts nothing about time.
//!
//! `cargo bench --bench big_results` (`-- ROWS` to change the row count).
//! The records are synthetic: 10 points × 5 runs, each request 64 output
//! tokens over 16 content events, no network involved.

use std::time::Instant;

use tokenomics::manifest::{load, LoadOptions};
use tokenomics::metrics::{summarize_point, summarize_run, RunContext};
use tokenomics::plan::{build, PlanOptions};
use tokenomics::record::{Outcome, RequestRecord, TokenSource};
use tokenomics::results::{ExperimentResults, PointResult};

const POINTS: u32 = 10;
const RUNS: u32 = 5;

fn manifest(
    dir: &std::path::Path,
    name: &str,
    concurrency: &[u32],
    requests: u64,
) -> std::path::PathBuf {
    let levels: Vec<String> = concurrency.iter().map(u32::to_string).collect();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"
schema = 1
[experiment]
name = "big"
runs = {RUNS}
warmup = 0
[endpoints.sim]
simulator = {{ ttft_ms = 20, itl_ms = 5 }}
[scenarios.s]
spec = "D(128,64)"
[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "concurrency"
concurrency = [{}]
requests = {requests}
"#,
            levels.join(", ")
        ),
    )
    .expect("write manifest");
    path
}

/// Loads and plans a manifest (the size guards lifted, as `--allow-large`).
fn plan_of(path: &std::path::Path) -> tokenomics::plan::Plan {
    let m = load(path, &LoadOptions::default()).expect("manifest");
    build(
        &m,
        &PlanOptions {
            allow_large: true,
            shard: None,
        },
    )
    .expect("plan")
}

fn record(point: u32, run: u32, i: u32) -> RequestRecord {
    let start = u64::from(i) * 2_000_000;
    let first = start + 20_000_000 + u64::from(i % 7) * 100_000;
    let chunks: Vec<u64> = (0..16).map(|k| first + k * 20_000_000).collect();
    RequestRecord {
        point_index: point,
        point_id: format!("sim.s.concurrency-{}", point + 1),
        run_index: run,
        request_index: i,
        attempt: 1,
        request_id: format!("{point}-{run}-{i}"),
        dispatch_ns: start,
        start_ns: start,
        first_byte_ns: Some(start + 1_000_000),
        first_chunk_ns: Some(first),
        first_token_ns: Some(first),
        first_output_ns: Some(first),
        last_token_ns: chunks.last().copied(),
        end_ns: chunks.last().copied().unwrap_or(first) + 100_000,
        chunk_ns: chunks,
        outcome: Outcome::Ok,
        input_tokens: 128,
        output_tokens: 64,
        server_input_tokens: Some(128),
        server_output_tokens: Some(64),
        input_token_source: TokenSource::Usage,
        output_token_source: TokenSource::Usage,
        n: 1,
        ..RequestRecord::default()
    }
}

fn main() {
    let rows: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let per_run = rows / (POINTS * RUNS);
    let tmp = tempfile::tempdir().expect("tempdir");

    let levels: Vec<u32> = (1..=POINTS).collect();
    let plan = plan_of(&manifest(
        tmp.path(),
        "big.toml",
        &levels,
        u64::from(per_run),
    ));

    let t = Instant::now();
    let mut records = Vec::with_capacity(rows as usize);
    let mut points = Vec::new();
    for spec in &plan.points {
        let p = u32::try_from(spec.index).expect("index");
        let mut runs = Vec::new();
        let first = records.len();
        for run in 0..RUNS {
            let recs: Vec<RequestRecord> = (0..per_run).map(|i| record(p, run, i)).collect();
            let ctx = RunContext {
                run_index: run,
                t0_wall_ns: 0,
                wall_time_s: f64::from(per_run) * 0.002 + 0.5,
                reference_concurrency: Some(p + 1),
                bucket_s: plan.experiment.bucket.as_secs_f64(),
                steady_state_threshold: plan.experiment.steady_state_threshold,
                slos: Vec::new(),
                cpu_utilisation: 0.0,
                loop_lag_ms: None,
            };
            runs.push(summarize_run(&recs, &ctx));
            records.extend(recs);
        }
        let refs: Vec<&RequestRecord> = records[first..].iter().collect();
        let summary = summarize_point(spec, &plan.experiment, &runs, &refs);
        points.push(PointResult {
            spec: spec.clone(),
            summary,
            runs,
        });
    }
    println!(
        "summaries of {} rows: {:.2} s",
        records.len(),
        t.elapsed().as_secs_f64()
    );
    let results = ExperimentResults {
        plan,
        environment: Default::default(),
        points,
        records,
        interrupted: false,
        server_metrics: Vec::new(),
        searches: Vec::new(),
    };

    let path = tmp.path().join("requests.parquet");
    let t = Instant::now();
    tokenomics::sink::parquet::write_records(&path, &results.records).expect("parquet");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "requests.parquet, {} rows: {:.2} s ({:.1} MiB)",
        results.records.len(),
        t.elapsed().as_secs_f64(),
        size as f64 / (1u64 << 20) as f64
    );

    let t = Instant::now();
    let read = tokenomics::results::parquet::read_records(&path).expect("read back");
    println!(
        "read back {} rows: {:.2} s",
        read.len(),
        t.elapsed().as_secs_f64()
    );
    drop(read);

    let t = Instant::now();
    let html = tokenomics::sink::html::render_report(&results).expect("report");
    println!(
        "report.html from {} rows: {:.2} s ({:.1} MiB)",
        results.records.len(),
        t.elapsed().as_secs_f64(),
        html.len() as f64 / (1u64 << 20) as f64
    );

    let levels: Vec<u32> = (1..=10_000).collect();
    let path = manifest(tmp.path(), "wide.toml", &levels, 8);
    let t = Instant::now();
    let plan = plan_of(&path);
    println!(
        "plan of {} points (load + build): {:.2} s",
        plan.points.len(),
        t.elapsed().as_secs_f64()
    );
}
