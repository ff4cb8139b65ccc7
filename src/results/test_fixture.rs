//! [`ExperimentResults`] for tests. [`sample_results`]: two generation series
//! (burst 1/2/4/8), one embeddings series, failures, and hostile strings
//! (`<script>`) in every user-controlled place. [`small_results`]: one burst
//! point with two runs and no records. [`with_embeddings`]: that point and two
//! embeddings points with their records.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::metrics::{
    ClientCheck, PointSummary, Reliability, RunSummary, Stat, TokenAccounting, UsageExtras,
};
use crate::plan::{
    DatasetSource, DatasetSpec, EndpointSpec, EndpointTarget, ExperimentSpec, LoadSpec, Plan,
    PointSpec, RetryPolicy, ScenarioSpec, Timeouts,
};
use crate::record::{Outcome, RequestRecord, TokenSource};
use crate::results::{Environment, ExperimentResults, PointResult};
use crate::vocab::workload::{TextLength, Workload};
use crate::vocab::{ApiKind, EncodingFormat, MalformedPolicy};

/// The hostile string planted in names, descriptions, errors and answers.
pub const SCRIPT: &str = "<script>alert(1)</script>";

/// Descriptive statistics the way the metrics stage defines them
/// (population std, linear-interpolation percentiles).
pub fn stat(values: &[f64]) -> Stat {
    if values.is_empty() {
        return Stat::default();
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let pct = |p: f64| {
        let rank = p / 100.0 * (n - 1.0);
        let lo = rank.floor() as usize;
        let hi = rank.ceil() as usize;
        v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
    };
    Stat {
        n: v.len() as u64,
        mean,
        std,
        min: v[0],
        max: v[v.len() - 1],
        p50: pct(50.0),
        p90: pct(90.0),
        p95: pct(95.0),
        p99: pct(99.0),
        ..Stat::default()
    }
}

pub(crate) fn endpoint(name: &str, model: &str, api: ApiKind, stream: bool) -> EndpointSpec {
    EndpointSpec {
        name: name.into(),
        target: EndpointTarget::Url("http://127.0.0.1:8000/v1".into()),
        model: model.into(),
        api,
        stream,
        api_key_env: None,
        timeouts: Timeouts {
            total: Duration::from_secs(600),
            connect: Duration::from_secs(10),
            first_byte: None,
            idle: None,
        },
        extra_body: serde_json::Map::new(),
        headers: BTreeMap::new(),
        headers_env: BTreeMap::new(),
        temperature: Some(0.7),
        ignore_eos: true,
        min_tokens: false,
        n: 1,
        tokenizer: None,
        health_path: "/health".into(),
        retry: RetryPolicy::default(),
        malformed: MalformedPolicy::Skip,
        max_event_bytes: 1 << 20,
        scrape: None,
        encoding_format: EncodingFormat::Float,
        embed_batch_in_one_request: false,
        path_override: None,
        embedding_dim: None,
        preconnect: true,
    }
}

pub(crate) fn scenario(name: &str, workload: Workload) -> ScenarioSpec {
    ScenarioSpec {
        name: name.into(),
        workload,
        dataset: DatasetSpec {
            name: "synthetic".into(),
            source: DatasetSource::Synthetic,
            prompt_column: "text".into(),
            image_column: None,
            system_prompt: None,
            messages_column: None,
            max_rows: None,
            delimiter: None,
            raw_config: serde_json::json!({ "prompt": SCRIPT }),
        },
        images: None,
        prefix: None,
        turns: 1,
        lora: None,
        compat_original: false,
        max_tokens_cap: 4096,
        replay: false,
    }
}

/// One generation request with `out` output tokens, TTFT `ttft_ms` and a
/// constant gap `itl_ms` between content events.
fn gen_record(
    point: &PointSpec,
    run: u32,
    i: u32,
    ttft_ms: f64,
    itl_ms: f64,
    out: u32,
) -> RequestRecord {
    let start = u64::from(i) * 1_000_000;
    let first = start + (ttft_ms * 1e6) as u64;
    let chunks: Vec<u64> = (0..out)
        .map(|k| first + (f64::from(k) * itl_ms * 1e6) as u64)
        .collect();
    let last = *chunks.last().unwrap_or(&first);
    RequestRecord {
        point_index: point.index as u32,
        point_id: point.id.clone(),
        run_index: run,
        request_index: i,
        attempt: 1,
        request_id: format!("{}-{run}-{i}", point.id),
        model: SCRIPT.into(),
        dispatch_ns: start,
        start_ns: start,
        first_byte_ns: Some(first),
        first_chunk_ns: Some(first),
        first_token_ns: Some(first),
        first_output_ns: Some(first),
        last_token_ns: Some(last),
        end_ns: last + 1000,
        chunk_ns: chunks,
        events: out,
        outcome: Outcome::Ok,
        target_input_tokens: Some(100),
        built_input_tokens: Some(100 + i),
        target_output_tokens: Some(out),
        max_tokens: Some(out),
        server_input_tokens: Some(100 + i),
        server_output_tokens: Some(out),
        input_tokens: 100 + i,
        output_tokens: out,
        input_token_source: TokenSource::Usage,
        output_token_source: TokenSource::Usage,
        finish_reason: Some("length".into()),
        n: 1,
        items: 1,
        ..RequestRecord::default()
    }
}

fn failed(point: &PointSpec, run: u32, i: u32, outcome: Outcome) -> RequestRecord {
    RequestRecord {
        point_index: point.index as u32,
        point_id: point.id.clone(),
        run_index: run,
        request_index: i,
        attempt: 1,
        model: SCRIPT.into(),
        start_ns: u64::from(i) * 1_000_000,
        end_ns: u64::from(i) * 1_000_000 + 5_000_000,
        outcome,
        http_status: (outcome == Outcome::HttpError).then_some(500),
        error: Some(format!("server said {SCRIPT} & failed")),
        n: 1,
        items: 1,
        ..RequestRecord::default()
    }
}

fn summarise(
    spec: &PointSpec,
    runs: &[RunSummary],
    records: &[RequestRecord],
    mode: &str,
) -> PointSummary {
    let ok: Vec<&RequestRecord> = records.iter().filter(|r| r.is_measured_ok()).collect();
    let ms = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / 1e6;
    let ttft: Vec<f64> = ok
        .iter()
        .filter_map(|r| r.first_token_ns.map(|t| ms(r.start_ns, t)))
        .collect();
    let e2e: Vec<f64> = ok
        .iter()
        .map(|r| ms(r.start_ns, r.last_token_ns.unwrap_or(r.end_ns)))
        .collect();
    let decode: Vec<f64> = e2e.iter().zip(&ttft).map(|(e, t)| e - t).collect();
    let tpot: Vec<f64> = ok
        .iter()
        .zip(&decode)
        .filter(|(r, _)| r.output_tokens > 1)
        .map(|(r, d)| d / f64::from(r.output_tokens - 1))
        .collect();
    let itl: Vec<f64> = ok
        .iter()
        .flat_map(|r| {
            r.chunk_ns
                .windows(2)
                .map(|w| ms(w[0], w[1]))
                .collect::<Vec<_>>()
        })
        .collect();
    let total = records.iter().filter(|r| !r.warmup).count() as u64;
    let n_ok = ok.len() as u64;
    let mut outcomes = BTreeMap::new();
    for r in records.iter().filter(|r| !r.warmup) {
        *outcomes.entry(r.outcome.as_str().to_string()).or_insert(0) += 1;
    }
    let per_run = |f: fn(&RunSummary) -> f64| stat(&runs.iter().map(f).collect::<Vec<_>>());
    let steady: Vec<f64> = runs.iter().filter_map(|r| r.steady_state_tps).collect();
    let steady_stat = stat(&steady);
    PointSummary {
        point_index: spec.index as u32,
        point_id: spec.id.clone(),
        endpoint: spec.endpoint.clone(),
        scenario: spec.scenario.clone(),
        mode: mode.into(),
        load_value: spec.load.value(),
        runs: runs.len() as u32,
        input_tokens: stat(
            &ok.iter()
                .map(|r| f64::from(r.input_tokens))
                .collect::<Vec<_>>(),
        ),
        output_tokens: stat(
            &ok.iter()
                .map(|r| f64::from(r.output_tokens))
                .collect::<Vec<_>>(),
        ),
        ttft_ms: stat(&ttft),
        ttfo_ms: stat(&ttft),
        tpot_ms: stat(&tpot),
        itl_ms: stat(&itl),
        e2e_ms: stat(&e2e),
        decode_ms: stat(&decode),
        input_tps_per_request: stat(
            &ok.iter()
                .zip(&ttft)
                .map(|(r, t)| f64::from(r.input_tokens) / (t / 1000.0))
                .collect::<Vec<_>>(),
        ),
        output_tps_per_request: stat(&tpot.iter().map(|t| 1000.0 / t).collect::<Vec<_>>()),
        e2e_output_tps: per_run(|r| r.e2e_output_tps),
        e2e_total_tps: per_run(|r| r.e2e_total_tps),
        requests_per_s: per_run(|r| r.requests_per_s),
        wall_time_s: per_run(|r| r.wall_time_s),
        items_per_s: per_run(|r| r.items_per_s),
        steady_state_tps: (!steady.is_empty()).then_some(steady_stat.mean),
        steady_state_tps_std: steady_stat.std,
        peak_active: runs.iter().map(|r| r.peak_active).max().unwrap_or(0),
        peak_active_buckets: runs
            .iter()
            .map(|r| r.peak_active_buckets)
            .max()
            .unwrap_or(0),
        reliability: Reliability {
            total,
            ok: n_ok,
            failed: total - n_ok,
            failure_rate_pct: if total > 0 {
                (total - n_ok) as f64 / total as f64 * 100.0
            } else {
                0.0
            },
            outcomes,
            ..Reliability::default()
        },
        tokens: TokenAccounting {
            output_sources: BTreeMap::from([("usage".to_string(), n_ok)]),
            input_sources: BTreeMap::from([("usage".to_string(), n_ok)]),
            input_mismatches: 1,
            output_mismatches: 0,
            output_target_misses: 0,
        },
        goodput_rps: None,
        goodput_tps: None,
        slo_attainment: None,
        slo_results: Vec::new(),
        usage: UsageExtras {
            finish_reasons: BTreeMap::from([("length".to_string(), n_ok)]),
            ..UsageExtras::default()
        },
        client_warnings: if spec.load.value() >= 8.0 {
            vec![format!("send lag p99 above 5 ms at {SCRIPT}")]
        } else {
            Vec::new()
        },
        server_timings: None,
    }
}

/// Builds the fixture. `slowdown` multiplies every latency (1.0 = baseline)
/// and divides every throughput, so compare tests can make a slower twin.
pub fn sample_results_with(slowdown: f64) -> ExperimentResults {
    let mut endpoints = BTreeMap::new();
    endpoints.insert(
        "vllm".to_string(),
        endpoint("vllm", SCRIPT, ApiKind::Chat, true),
    );
    endpoints.insert(
        "sglang".to_string(),
        endpoint("sglang", "qwen3-4b", ApiKind::Chat, true),
    );
    endpoints.insert(
        "embed".to_string(),
        endpoint("embed", "qwen3-embedding", ApiKind::Embeddings, false),
    );
    let mut scenarios = BTreeMap::new();
    scenarios.insert(
        "short".to_string(),
        scenario(
            "short",
            Workload::Deterministic {
                input: 100,
                output: 20,
            },
        ),
    );
    scenarios.insert(
        "embed-200".to_string(),
        scenario("embed-200", Workload::Embedding { tokens: 260 }),
    );

    let mut specs = Vec::new();
    for ep in ["vllm", "sglang"] {
        for b in [1u32, 2, 4, 8] {
            specs.push((ep, "short", b));
        }
    }
    for b in [1u32, 8] {
        specs.push(("embed", "embed-200", b));
    }
    let mut points = Vec::new();
    let mut plan_points = Vec::new();
    let mut all_records = Vec::new();
    for (index, (ep, sc, b)) in specs.into_iter().enumerate() {
        let spec = PointSpec {
            index,
            id: format!("{ep}.{sc}.burst-{b}"),
            grid: "grid[0]".into(),
            endpoint: ep.into(),
            scenario: sc.into(),
            load: LoadSpec::Burst { batch: b },
            runs: 2,
            warmup: 1,
            seed: 42 + index as u64,
        };
        let pooling = ep == "embed";
        // The second endpoint is a quarter slower, so the series differ.
        let slowdown = slowdown * if ep == "sglang" { 1.25 } else { 1.0 };
        let mut runs = Vec::new();
        let mut records = Vec::new();
        for run in 0..2u32 {
            let mut ok = 0u64;
            let mut out_tokens = 0u64;
            for i in 0..b {
                let r = if !pooling && b == 8 && run == 1 && i >= 6 {
                    failed(
                        &spec,
                        run,
                        i,
                        if i == 6 {
                            Outcome::HttpError
                        } else {
                            Outcome::Timeout
                        },
                    )
                } else {
                    let ttft = (20.0 + 5.0 * f64::from(b) + f64::from(i)) * slowdown;
                    let itl = (8.0 + f64::from(b) * 0.5 + f64::from(run)) * slowdown;
                    let mut r = gen_record(&spec, run, i, ttft, itl, if pooling { 1 } else { 20 });
                    if pooling {
                        r.output_tokens = 0;
                        r.chunk_ns.clear();
                        r.first_token_ns = None;
                        r.first_output_ns = None;
                        r.last_token_ns = None;
                        r.input_tokens = 260;
                    }
                    ok += 1;
                    out_tokens += u64::from(r.output_tokens);
                    r
                };
                records.push(r);
            }
            let mut warm = gen_record(&spec, run, 0, 10.0, 5.0, 4);
            warm.warmup = true;
            records.push(warm);
            let wall = (0.2 + 0.05 * f64::from(b) + 0.01 * f64::from(run)) * slowdown;
            let tokens: Vec<u32> = (0..12).map(|k| if k < 10 { 3 * b } else { 0 }).collect();
            let active: Vec<u32> = (0..12).map(|k| if k < 10 { b } else { 0 }).collect();
            runs.push(RunSummary {
                run_index: run,
                t0_wall_ns: 1_700_000_000_000_000_000,
                wall_time_s: wall,
                requests: u64::from(b),
                ok,
                e2e_output_tps: out_tokens as f64 / wall,
                e2e_total_tps: (out_tokens + 260 * ok) as f64 / wall,
                requests_per_s: ok as f64 / wall,
                steady_state_tps: (!pooling).then_some(60.0 * f64::from(b) / slowdown),
                steady_state_buckets: if pooling { 0 } else { 10 },
                peak_active: b,
                peak_active_buckets: b,
                tokens_per_bucket: if pooling { Vec::new() } else { tokens },
                active_per_bucket: if pooling { Vec::new() } else { active },
                items_per_s: ok as f64 / wall,
                goodput_rps: None,
                goodput_tps: None,
                client: ClientCheck {
                    send_lag_ms: stat(&[0.1, 0.2, 0.4]),
                    queue_ms: Stat::default(),
                    cpu_utilisation: 0.12,
                    loop_lag_ms: Some(0.3),
                    warnings: Vec::new(),
                },
            });
        }
        let summary = summarise(&spec, &runs, &records, "burst");
        points.push(PointResult {
            spec: spec.clone(),
            summary,
            runs,
        });
        plan_points.push(spec);
        all_records.extend(records);
    }

    let plan = Plan {
        experiment: ExperimentSpec {
            name: "demo".into(),
            description: format!("A demo run {SCRIPT} with hostile text"),
            seed: 42,
            output_root: PathBuf::from("results"),
            max_failure_rate: Some(0.5),
            steady_state_threshold: 0.8,
            bucket: Duration::from_millis(50),
            slos: Vec::new(),
            percentiles: vec![50.0, 90.0, 95.0, 99.0],
            warmup_shape: crate::vocab::WarmupShape::default(),
        },
        endpoints,
        scenarios,
        points: plan_points,
        searches: Vec::new(),
        manifest_path: PathBuf::from("experiments/demo.toml"),
        resolved_manifest: format!("[experiment]\nname = \"demo\"\ndescription = \"{SCRIPT}\"\n"),
    };
    let mut server_models = BTreeMap::new();
    server_models.insert(
        "vllm".to_string(),
        serde_json::json!({ "object": "list", "data": [{ "id": SCRIPT, "object": "model" }] }),
    );
    ExperimentResults {
        plan,
        environment: Environment {
            tool_version: "0.1.0".into(),
            git_commit: Some("abc123".into()),
            git_dirty: Some(false),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpu_count: 2,
            hostname: Some("bench-host".into()),
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: Some("2026-01-01T00:01:00Z".into()),
            command: vec!["tokenomics".into(), "run".into(), "demo.toml".into()],
            server_models,
        },
        points,
        records: all_records,
        interrupted: false,
        server_metrics: Vec::new(),
        searches: Vec::new(),
    }
}

/// The baseline fixture.
pub fn sample_results() -> ExperimentResults {
    sample_results_with(1.0)
}

/// A small but complete results value: one burst point, two runs, no records.
pub fn small_results() -> ExperimentResults {
    let experiment = ExperimentSpec {
        name: "demo".into(),
        description: "a test".into(),
        seed: 42,
        output_root: PathBuf::from("results"),
        max_failure_rate: Some(0.1),
        steady_state_threshold: 0.8,
        bucket: Duration::from_millis(50),
        slos: Vec::new(),
        percentiles: vec![50.0, 99.0],
        warmup_shape: crate::vocab::WarmupShape::default(),
    };
    let spec = PointSpec {
        index: 0,
        id: "sim.short.burst-8".into(),
        grid: "grid[0]".into(),
        endpoint: "sim".into(),
        scenario: "short".into(),
        load: LoadSpec::Burst { batch: 8 },
        runs: 2,
        warmup: 1,
        seed: 9,
    };
    let run = |i: u32, tps: f64| RunSummary {
        run_index: i,
        wall_time_s: 1.25,
        requests: 8,
        ok: 8,
        e2e_output_tps: tps,
        steady_state_tps: Some(tps * 1.1),
        steady_state_buckets: 2,
        peak_active: 8,
        peak_active_buckets: 8,
        tokens_per_bucket: vec![0, 3, 8, 8, 2],
        active_per_bucket: vec![8, 8, 8, 6, 1],
        ..RunSummary::default()
    };
    let summary = PointSummary {
        point_id: spec.id.clone(),
        endpoint: "sim".into(),
        scenario: "short".into(),
        mode: "burst".into(),
        load_value: 8.0,
        runs: 2,
        ttft_ms: Stat::from_values(&[50.0, 52.0, 61.0]),
        e2e_output_tps: Stat::from_values(&[100.0, 120.0]),
        steady_state_tps: Some(121.0),
        peak_active: 8,
        peak_active_buckets: 8,
        ..PointSummary::default()
    };
    ExperimentResults {
        plan: Plan {
            experiment,
            endpoints: BTreeMap::new(),
            scenarios: BTreeMap::new(),
            points: vec![spec.clone()],
            searches: Vec::new(),
            manifest_path: PathBuf::from("experiments/demo.toml"),
            resolved_manifest: "[experiment]\nname = \"demo\"\n".into(),
        },
        environment: Environment {
            tool_version: "0.1.0".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpu_count: 2,
            started_at: "2026-01-02T03:04:05+00:00".into(),
            command: vec!["tokenomics".into(), "run".into()],
            ..Environment::default()
        },
        points: vec![PointResult {
            spec,
            summary,
            runs: vec![run(0, 100.0), run(1, 120.0)],
        }],
        records: Vec::new(),
        interrupted: false,
        server_metrics: Vec::new(),
        searches: Vec::new(),
    }
}

// ---- embeddings -------------------------------------------------------------------

const MS_NS: u64 = 1_000_000;

/// An embeddings request of run `run` that ended `end_ms` after the batch start.
fn embed_record(
    point: u32,
    run: u32,
    request: u32,
    attempt: u32,
    (start_ms, end_ms): (u64, u64),
    input: u32,
    outcome: Outcome,
) -> RequestRecord {
    RequestRecord {
        point_index: point,
        run_index: run,
        request_index: request,
        attempt,
        start_ns: start_ms * MS_NS,
        end_ns: end_ms * MS_NS,
        outcome,
        input_tokens: input,
        items: 1,
        items_returned: u32::from(outcome.is_ok()),
        embedding_dim: outcome.is_ok().then_some(384),
        ..RequestRecord::default()
    }
}

/// The generation point of [`small_results`] plus an embeddings endpoint with
/// two points: `E(260)` at batch 2 (two runs, with a retry and a failure) and
/// `E(short)` at batch 1 (one run).
pub fn with_embeddings() -> ExperimentResults {
    use Outcome::{HttpError, Ok as Fine, Timeout};
    let mut results = small_results();
    let html = sample_results();
    results
        .plan
        .endpoints
        .insert("embed".into(), html.plan.endpoints["embed"].clone());
    let e260 = html.plan.scenarios["embed-200"].clone();
    let mut short = e260.clone();
    short.name = "short".into();
    short.workload = Workload::EmbeddingText {
        length: TextLength::Short,
    };
    results.plan.scenarios.insert("embed-200".into(), e260);
    results.plan.scenarios.insert("words".into(), short);
    let spec = |index: usize, scenario: &str, batch: u32, runs: u32| PointSpec {
        index,
        id: format!("embed.{scenario}.burst-{batch}"),
        grid: "grid[1]".into(),
        endpoint: "embed".into(),
        scenario: scenario.into(),
        load: LoadSpec::Burst { batch },
        runs,
        warmup: 2,
        seed: 1,
    };
    let run = |run_index: u32, wall_time_s: f64| RunSummary {
        run_index,
        wall_time_s,
        ..RunSummary::default()
    };
    let a = spec(1, "embed-200", 2, 2);
    let b = spec(2, "words", 1, 1);
    results.plan.points.extend([a.clone(), b.clone()]);
    results.points.push(PointResult {
        spec: a,
        summary: PointSummary::default(),
        runs: vec![run(0, 0.5), run(1, 0.4)],
    });
    results.points.push(PointResult {
        spec: b,
        summary: PointSummary::default(),
        runs: vec![run(0, 0.125)],
    });
    let mut warm = embed_record(1, 0, 0, 1, (0, 1), 999, Fine);
    warm.warmup = true;
    results.records = vec![
        warm,
        // point 1, run 0: two successes
        embed_record(1, 0, 0, 1, (0, 100), 250, Fine),
        embed_record(1, 0, 1, 1, (0, 200), 270, Fine),
        // point 1, run 1: one success; request 1 fails, is retried, and times out
        embed_record(1, 1, 0, 1, (0, 100), 260, Fine),
        embed_record(1, 1, 1, 1, (0, 50), 0, HttpError),
        embed_record(1, 1, 1, 2, (60, 300), 0, Timeout),
        // point 2, run 0
        embed_record(2, 0, 0, 1, (0, 80), 12, Fine),
    ];
    results
}

/// The embeddings points of [`with_embeddings`] alone, their endpoint sending a
/// whole batch in one request.
pub fn lone_embeddings_series() -> ExperimentResults {
    let mut results = with_embeddings();
    results.points.retain(|p| p.spec.endpoint == "embed");
    results.plan.points.retain(|p| p.endpoint == "embed");
    let ep = results.plan.endpoints.get_mut("embed").unwrap();
    ep.embed_batch_in_one_request = true;
    results
}
