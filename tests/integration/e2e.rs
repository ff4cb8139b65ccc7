//! End to end against the embedded simulator: the demo manifest as the README runs it,
//! and a fixed-timing point whose true TTFT and ITL are known.

use crate::common::{bin, median, records, repo, run_dir, summary, write};
use tokenomics::record::Outcome;

/// The README's first command, on the shipped demo manifest (runs reduced to 1 to keep
/// the suite quick; everything else as shipped).
#[test]
fn demo_manifest_runs_end_to_end_and_writes_every_output() {
    let out = tempfile::tempdir().unwrap();
    let assert = bin()
        .args([
            "run",
            "experiments/demo.toml",
            "--quiet",
            "--run-id",
            "t",
            "--set",
            "experiment.runs=1",
        ])
        .arg("--output")
        .arg(out.path())
        .current_dir(repo())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let dir = run_dir(out.path(), "demo");
    assert!(
        stdout.contains(&format!("results: {}", dir.display())),
        "{stdout}"
    );
    assert!(stdout.contains("report.html"), "{stdout}");
    for f in [
        "requests.parquet",
        "summary.json",
        "manifest.resolved.toml",
        "environment.json",
        "plan.json",
        "report.html",
        "records.spool.jsonl",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "half-written files left: {leftovers:?}"
    );

    // Row count = Σ over points of runs × requests + warmups, all ok.
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("plan.json")).unwrap()).unwrap();
    let spec: tokenomics::plan::Plan = serde_json::from_value(plan).unwrap();
    let expected_measured: u64 = spec
        .points
        .iter()
        .map(|p| p.requests_per_run() * u64::from(p.runs))
        .sum();
    let expected_warmup: u64 = spec.points.iter().map(|p| u64::from(p.warmup)).sum();
    let recs = records(&dir);
    assert_eq!(
        recs.iter().filter(|r| !r.warmup).count() as u64,
        expected_measured
    );
    assert_eq!(
        recs.iter().filter(|r| r.warmup).count() as u64,
        expected_warmup
    );
    let failed: Vec<_> = recs.iter().filter(|r| r.outcome != Outcome::Ok).collect();
    assert!(
        failed.is_empty(),
        "failed requests against the simulator: {failed:?}"
    );
    // Every streamed request has one chunk timestamp per output token, and tokens from usage.
    for r in recs.iter().filter(|r| !r.warmup) {
        assert_eq!(
            r.output_token_source,
            tokenomics::record::TokenSource::Usage
        );
        if r.first_token_ns.is_some() {
            assert_eq!(
                r.chunk_ns.len() as u32,
                r.output_tokens,
                "request {}",
                r.request_id
            );
        }
    }
    let s = summary(&dir);
    assert_eq!(s["schema_version"], 1);
    assert_eq!(s["points"].as_array().unwrap().len(), spec.points.len());
}

/// A point on the simulator's fixed timing model: the first token is sent 30 ms after
/// the request arrives and then one every 5 ms. The client's TTFT must be at least the
/// true 30 ms and at most 30 ms + tolerance; its ITL median must be within tolerance of
/// 5 ms. Tolerances cover loopback transit and scheduling noise on a loaded 2-core CI
/// machine (the fidelity benchmark, `tokenomics bench-client --fidelity`, measures the
/// actual error).
#[test]
fn measured_ttft_and_itl_match_the_simulator_timing() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(
        tmp.path(),
        "fixed.toml",
        r#"
schema = 1
[experiment]
name = "fixed"
seed = 7
runs = 2
warmup = 1

[endpoints.sim]
simulator = { ttft_ms = 30, itl_ms = 5 }

[scenarios.s]
spec = "D(64,40)"

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "concurrency"
concurrency = [4]
requests = 12
"#,
    );
    bin()
        .arg("run")
        .arg(&manifest)
        .args(["--quiet", "--output"])
        .arg(tmp.path().join("out"))
        .assert()
        .success();
    let dir = run_dir(&tmp.path().join("out"), "fixed");
    let recs: Vec<_> = records(&dir).into_iter().filter(|r| !r.warmup).collect();
    assert_eq!(recs.len(), 24);
    let ttft: Vec<f64> = recs
        .iter()
        .map(|r| (r.first_token_ns.expect("streamed") - r.start_ns) as f64 / 1e6)
        .collect();
    let min_ttft = ttft.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        min_ttft >= 30.0,
        "TTFT below the simulator's 30 ms: {min_ttft} ms"
    );
    let ttft_p50 = median(ttft);
    assert!(ttft_p50 <= 30.0 + 15.0, "TTFT p50 {ttft_p50} ms vs 30 ms");
    let gaps: Vec<f64> = recs
        .iter()
        .flat_map(|r| {
            r.chunk_ns
                .windows(2)
                .map(|w| (w[1] - w[0]) as f64 / 1e6)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        gaps.len(),
        24 * 39,
        "one gap between each pair of the 40 tokens"
    );
    let itl_p50 = median(gaps);
    assert!((itl_p50 - 5.0).abs() <= 1.5, "ITL p50 {itl_p50} ms vs 5 ms");
    for r in &recs {
        assert_eq!(r.output_tokens, 40);
        assert!(r.first_chunk_ns.unwrap() <= r.first_token_ns.unwrap());
        assert!(r.first_token_ns.unwrap() < r.last_token_ns.unwrap());
        // The simulator reports its own timings as llama-server does: the
        // server's prefill (arrival → first token) lies inside the client's
        // TTFT, and its decode (first → last token) is 39 steps of 5 ms on
        // an absolute schedule (a late first token shortens it a little).
        let ttft = (r.first_token_ns.unwrap() - r.start_ns) as f64 / 1e6;
        let decode = (r.last_token_ns.unwrap() - r.first_token_ns.unwrap()) as f64 / 1e6;
        let prefill = r.server_prefill_ms.expect("the simulator sends timings");
        let server_decode = r.server_decode_ms.expect("the simulator sends timings");
        assert!(
            (30.0..=ttft).contains(&prefill),
            "server prefill {prefill} ms vs 30 ms and client TTFT {ttft} ms"
        );
        assert!(
            (39.0 * 5.0 - 5.0..=39.0 * 5.0 + 15.0).contains(&server_decode),
            "server decode {server_decode} ms vs 195 ms"
        );
        assert!(
            (decode - server_decode).abs() <= 15.0,
            "client decode {decode} ms vs server decode {server_decode} ms"
        );
        assert_eq!(r.server_cached_tokens, Some(0));
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let timings = &summary["points"][0]["summary"]["server_timings"];
    assert_eq!(timings["requests"], 24, "{timings}");
    let gap = timings["ttft_minus_prefill_ms"]["mean"]
        .as_f64()
        .expect("mean");
    assert!(
        (0.0..=15.0).contains(&gap),
        "TTFT − server prefill {gap} ms"
    );
}

/// `preconnect` (default true) opens a burst's connections before its clock: no
/// measured request opens one. With `preconnect = false` every request of the burst
/// opens its own, and its `connect_ms` says how long that took.
#[test]
fn preconnect_keeps_handshakes_out_of_measured_requests_unless_switched_off() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(
        tmp.path(),
        "pre.toml",
        r#"
schema = 1
[experiment]
name = "pre"
runs = 2
warmup = 1

[endpoints.sim]
simulator = { ttft_ms = 5, itl_ms = 1 }

[scenarios.s]
spec = "D(16,4)"

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [8]
"#,
    );
    for (preconnect, out) in [(None, "on"), (Some(false), "off")] {
        let mut cmd = bin();
        cmd.arg("run")
            .arg(&manifest)
            .args(["--quiet", "--output"])
            .arg(tmp.path().join(out));
        if let Some(p) = preconnect {
            cmd.args(["--set", &format!("endpoints.sim.preconnect={p}")]);
        }
        cmd.assert().success();
        let recs: Vec<_> = records(&run_dir(&tmp.path().join(out), "pre"))
            .into_iter()
            .filter(|r| !r.warmup)
            .collect();
        assert_eq!(recs.len(), 16);
        for r in &recs {
            assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.error);
            assert_eq!(r.reconnects, 0);
            if preconnect.is_none() {
                assert_eq!(r.connect_ms, None, "{} opened a connection", r.request_id);
            }
        }
        if preconnect == Some(false) {
            // The first burst opens all 8 (the warmup's connection is one of them
            // at most); the second finds the first's connections kept alive.
            let opened = recs.iter().filter(|r| r.connect_ms.is_some()).count();
            assert!(opened >= 7, "{opened} of 16 opened a connection");
            assert!(recs.iter().all(|r| r.connect_ms.is_none_or(|ms| ms > 0.0)));
        }
    }
}

/// Every shipped manifest validates and plans (so examples can never rot).
#[test]
fn every_shipped_manifest_validates() {
    let mut files = Vec::new();
    for dir in ["experiments", "experiments/published"] {
        let Ok(rd) = std::fs::read_dir(repo().join(dir)) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    assert!(
        files.len() >= 2,
        "expected shipped manifests, found {files:?}"
    );
    for f in files {
        bin().arg("validate").arg(&f).assert().success();
        bin().arg("plan").arg(&f).assert().success();
    }
}

/// `compat = "original"` reproduces the original tool's length draws: with seed 42,
/// sweep value 1 and run 0, `U(50,150)/(20,80)` gives (50,74), (131,68), (70,66)
/// (the original spec's test vectors), and prompts reach at least their targets.
#[test]
fn compat_original_reproduces_the_original_length_draws() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(
        tmp.path(),
        "compat.toml",
        r#"
schema = 1
[experiment]
name = "compat"
seed = 42
runs = 1
warmup = 0

[endpoints.sim]
simulator = { ttft_ms = 1, itl_ms = 1 }
tokenizer = { path = "tokenizer.json" }

[scenarios.s]
spec = "U(50,150)/(20,80)"
compat = "original"

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "concurrency"
concurrency = [1]
requests = 3
"#,
    );
    std::fs::copy(
        repo().join("tests/fixtures/tokenizers/minilm/tokenizer.json"),
        tmp.path().join("tokenizer.json"),
    )
    .unwrap();
    let m = tokenomics::manifest::load(&manifest, &tokenomics::manifest::LoadOptions::default())
        .unwrap();
    let plan = tokenomics::plan::build(&m, &tokenomics::plan::PlanOptions::default()).unwrap();
    let prep = tokenomics::dataset::Preparer::new(&plan).unwrap();
    let run = prep.prepare_run(&plan.points[0], 0, 3).unwrap();
    let got: Vec<(u32, u32)> = run
        .requests
        .iter()
        .map(|r| {
            (
                r.target_input_tokens.unwrap(),
                r.target_output_tokens.unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![(50, 74), (131, 68), (70, 66)]);
    for r in &run.requests {
        assert!(r.built_input_tokens.unwrap() >= r.target_input_tokens.unwrap());
        assert_eq!(r.max_tokens, r.target_output_tokens);
    }
    // Same manifest, same bytes.
    let again = prep.prepare_run(&plan.points[0], 0, 3).unwrap();
    assert_eq!(run.requests, again.requests);
}

/// Scraping the embedded simulator's `/metrics` page (`url = "auto"`): the samples land
/// in `server_metrics.parquet` and the report's server section, and `resume
/// --finalize-only` rebuilds both from the spool alone.
#[test]
fn scraped_simulator_metrics_reach_parquet_report_and_resume() {
    use tokenomics::results::layout::SERVER_METRICS_FILE as FILE_NAME;
    use tokenomics::results::parquet::read_samples;
    let tmp = tempfile::tempdir().unwrap();
    // 8 requests at once against 4 slots: 4 run while 4 wait, each about 20 + 80 × 5 ms,
    // so the run lasts ~0.8 s, dozens of 20 ms scrape intervals.
    let manifest = write(
        tmp.path(),
        "scrape.toml",
        r#"
schema = 1
[experiment]
name = "scrape"
runs = 1
warmup = 0

[endpoints.sim]
simulator = { ttft_ms = 20, itl_ms = 5, batching = { itl_per_seq_ms = 0.05, max_batch = 4 } }
metrics = { url = "auto", interval_ms = 20 }

[scenarios.s]
spec = "D(32,80)"

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [8]
"#,
    );
    bin()
        .arg("run")
        .arg(&manifest)
        .args(["--quiet", "--run-id", "r", "--output"])
        .arg(tmp.path().join("out"))
        .assert()
        .success();
    let dir = run_dir(&tmp.path().join("out"), "scrape");
    let samples = read_samples(&dir.join(FILE_NAME)).expect("server_metrics.parquet");
    assert!(!samples.is_empty());
    for name in [
        "running",
        "waiting",
        "kv_cache_usage",
        "prompt_tokens_total",
        "generation_tokens_total",
    ] {
        assert!(
            samples.iter().any(|s| s.name == name),
            "no `{name}` sample in {samples:?}"
        );
    }
    assert!(samples
        .iter()
        .all(|s| s.endpoint == "sim" && s.point_index == 0 && s.run_index == 0));
    // The simulator never runs more than its 4 slots, nor queues more than the other 4.
    let peak = |name: &str| {
        samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.value)
            .fold(0.0, f64::max)
    };
    assert!(
        peak("running") > 0.0 && peak("running") <= 4.0,
        "{samples:?}"
    );
    assert!(peak("waiting") <= 4.0);
    assert!(peak("kv_cache_usage") <= 1.0);
    // summary.json carries the same samples.
    let s = summary(&dir);
    assert_eq!(
        s["server_metrics"].as_array().map(Vec::len),
        Some(samples.len())
    );
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("<section id=\"server\">"));
    assert!(report.contains("id=\"chart-server-sim_s_burst-8\""));

    // A crash before the outputs: only plan.json and the spool remain.
    for f in ["summary.json", "requests.parquet", FILE_NAME, "report.html"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    bin()
        .arg("resume")
        .arg(&dir)
        .arg("--finalize-only")
        .assert()
        .success();
    assert_eq!(read_samples(&dir.join(FILE_NAME)).unwrap(), samples);
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("id=\"chart-server-sim_s_burst-8\""));
}

/// The pooling APIs end to end on the shipped `experiments/embeddings-demo.toml`:
/// embeddings answered as floats and as base64, a whole batch in one request,
/// rerank and score, all against the embedded simulator. Every request succeeds
/// with one answer per input, and the summary's items/s (embeddings or documents
/// per second) is Σ items of the run's successful requests / its wall time.
#[test]
fn embeddings_rerank_and_score_run_end_to_end() {
    let manifest = repo().join("experiments/embeddings-demo.toml");
    // What is sent: the encoding formats and the list input come from the manifest.
    let m = tokenomics::manifest::load(&manifest, &tokenomics::manifest::LoadOptions::default())
        .unwrap();
    let plan = tokenomics::plan::build(&m, &tokenomics::plan::PlanOptions::default()).unwrap();
    let prep = tokenomics::dataset::Preparer::new(&plan).unwrap();
    let body_of = |point_id: &str| -> (usize, serde_json::Value) {
        let p = plan.points.iter().find(|p| p.id == point_id).unwrap();
        let run = prep.prepare_run(p, 0, p.requests_per_run() as u32).unwrap();
        (
            run.requests.len(),
            serde_json::from_slice(&run.requests[0].body).unwrap(),
        )
    };
    let (n, float) = body_of("embed-float.short.burst-8");
    assert_eq!(
        (n, &float["encoding_format"]),
        (8, &serde_json::json!("float"))
    );
    assert_eq!(float["input"].as_array().map(Vec::len), Some(1));
    let (_, b64) = body_of("embed-base64.words-200.burst-1");
    assert_eq!(b64["encoding_format"], "base64");
    let (n, list) = body_of("embed-list.short.burst-8");
    assert_eq!((n, list["input"].as_array().map(Vec::len)), (1, Some(8)));
    let (_, rerank) = body_of("rerank.rank.concurrency-2");
    assert_eq!(rerank["documents"].as_array().map(Vec::len), Some(4));
    let (_, score) = body_of("score.rank.concurrency-2");
    assert_eq!(score["text_2"].as_array().map(Vec::len), Some(4));

    let out = tempfile::tempdir().unwrap();
    bin()
        .args(["run", "--quiet", "--set", "experiment.runs=1", "--output"])
        .arg(out.path())
        .arg(&manifest)
        .assert()
        .success();
    let dir = run_dir(out.path(), "embeddings-demo");
    let recs = records(&dir);
    assert!(!recs.is_empty());
    let api_of = |point_id: &str| plan.endpoints[point_id.split('.').next().unwrap()].api;
    for r in &recs {
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        assert_eq!(r.items_returned, r.items, "{}", r.point_id);
        match api_of(&r.point_id) {
            tokenomics::vocab::ApiKind::Embeddings => {
                assert_eq!(r.embedding_dim, Some(384), "{}", r.point_id);
                let expected = if r.point_id.starts_with("embed-list") && !r.warmup {
                    8
                } else {
                    1
                };
                assert_eq!(r.items, expected, "{}", r.point_id);
            }
            _ if !r.warmup => assert_eq!(r.items, 4, "{} documents", r.point_id),
            _ => assert!(r.items >= 1),
        }
    }
    // Every API is there: 8 embeddings points, the batched one, rerank and score.
    let s = summary(&dir);
    let points = s["points"].as_array().unwrap();
    assert_eq!(points.len(), plan.points.len());
    for p in points {
        let id = p["spec"]["id"].as_str().unwrap();
        let per_s = p["summary"]["items_per_s"]["mean"].as_f64().unwrap();
        assert!(per_s > 0.0, "{id}: items/s {per_s}");
        for run in p["runs"].as_array().unwrap() {
            let run_index = run["run_index"].as_u64().unwrap() as u32;
            let items: u32 = recs
                .iter()
                .filter(|r| r.point_id == id && !r.warmup && r.run_index == run_index)
                .map(|r| r.items_returned)
                .sum();
            let wall = run["wall_time_s"].as_f64().unwrap();
            let got = run["items_per_s"].as_f64().unwrap();
            let want = f64::from(items) / wall;
            assert!(
                (got - want).abs() <= 1e-9 * want,
                "{id} run {run_index}: items/s {got} vs {items} / {wall} s"
            );
        }
    }
    // The original tool's embedding layout, one directory per embeddings endpoint.
    for f in [
        "original/embed-float/batch_8_seq_short.json",
        "original/embed-base64/batch_1_seq_200.json",
        "original/embed-list/batch_8_seq_short.json",
    ] {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap();
        assert!(
            v["result"]["throughput"]["batch_embeddings_per_second"]["mean"]
                .as_f64()
                .unwrap()
                > 0.0,
            "{f}"
        );
    }
    // The report's pooling section lists every pooling point.
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("id=\"chart-pooling-items\""));
}

/// `compare --fail-if-regression` on two runs of the demo manifest, the second with
/// the batching simulator's inter-token latency raised from 5 to 40 ms
/// (`--set endpoints.sim.simulator.itl_ms=40`): the rule on ITL p50 (+100 %) flags
/// every point of that endpoint and exits 7; a run compared with itself exits 0.
/// (The other endpoint kept its timing; whether scheduling noise on a loaded machine
/// moves its ITL is not asserted.)
#[test]
fn compare_flags_the_slower_run_and_not_a_run_against_itself() {
    let out = tempfile::tempdir().unwrap();
    // The demo, smaller: one run, no warmup, 16-token answers, burst 1 and 4, concurrency 4.
    let small = [
        "experiment.runs=1",
        "experiment.warmup=0",
        "scenarios.short.spec=\"D(32,16)\"",
        "grid[0].batch_sizes=[1,4]",
        "grid[1].concurrency=[4]",
        "grid[1].requests=4",
        "grid[1].scenarios=[\"short\"]",
    ];
    let run = |id: &str, extra: &[&str]| {
        let mut cmd = bin();
        cmd.args(["run", "experiments/demo.toml", "--quiet", "--run-id", id])
            .arg("--output")
            .arg(out.path())
            .current_dir(repo());
        for s in small.iter().chain(extra) {
            cmd.args(["--set", s]);
        }
        cmd.assert().success();
        out.path().join("demo").join(id)
    };
    let fast = run("fast", &[]);
    let slow = run("slow", &["endpoints.sim.simulator.itl_ms=40"]);
    // The override reached the plan of the second run only.
    let itl = |dir: &std::path::Path| {
        let s = summary(dir);
        s["plan"]["endpoints"]["sim"]["target"]["simulator"]["itl"].clone()
    };
    assert_eq!(
        itl(&fast),
        serde_json::json!({ "secs": 0, "nanos": 5_000_000 })
    );
    assert_eq!(
        itl(&slow),
        serde_json::json!({ "secs": 0, "nanos": 40_000_000 })
    );

    let compare = |a: &std::path::Path, b: &std::path::Path| {
        let output = bin()
            .arg("compare")
            .arg(a)
            .arg(b)
            .args(["--fail-if-regression", "itl_ms.p50:100"])
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).to_string(),
        )
    };
    let (code, text) = compare(&fast, &slow);
    assert_eq!(code, Some(7), "a regression exits 7:\n{text}");
    let flagged: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("REGRESSION itl_ms.p50:100 at "))
        .collect();
    // The points of `sim`: burst 1, burst 4 and concurrency 4, each flagged once.
    let sim: Vec<&&str> = flagged
        .iter()
        .filter(|l| l.contains(" at sim/short "))
        .collect();
    assert_eq!(sim.len(), 3, "{text}");
    // Labels carry the mode: burst 4 and concurrency 4 are different points.
    assert_eq!(sim.iter().filter(|l| l.contains(" burst @ 1 ")).count(), 1);
    assert_eq!(sim.iter().filter(|l| l.contains(" burst @ 4 ")).count(), 1);
    assert_eq!(
        sim.iter()
            .filter(|l| l.contains(" concurrency @ 4 "))
            .count(),
        1
    );
    assert!(sim.iter().all(|l| l.contains("in demo/slow")), "{text}");

    let (code, text) = compare(&fast, &fast);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("no regression beyond the thresholds"),
        "{text}"
    );
    assert!(!text.contains("REGRESSION"), "{text}");
}

/// The default results root is `results/` in the directory tokenomics runs in
/// (not beside the manifest), each run directory keeps itself out of git, and
/// a second run in a clean checkout is not marked dirty by the first one's
/// outputs.
#[test]
fn outputs_go_to_results_in_the_working_directory_and_never_dirty_the_checkout() {
    let tmp = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| -> String {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(tmp.path())
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    std::fs::create_dir(tmp.path().join("exp")).unwrap();
    write(
        &tmp.path().join("exp"),
        "tiny.toml",
        r#"
schema = 1
[experiment]
name = "tiny"
runs = 1
warmup = 0

[endpoints.sim]
simulator = { ttft_ms = 1, itl_ms = 1 }

[scenarios.s]
spec = "D(8,4)"

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [2]
"#,
    );
    git(&["init", "-q"]);
    git(&["add", "exp/tiny.toml"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@localhost",
        "commit",
        "-qm",
        "manifest",
    ]);
    let run = |id: &str| {
        bin()
            .args(["run", "exp/tiny.toml", "--quiet", "--run-id", id])
            .current_dir(tmp.path())
            .assert()
            .success();
    };
    run("first");
    let first = tmp.path().join("results/tiny/first");
    assert!(
        first.join("summary.json").is_file(),
        "results/ in the working directory"
    );
    assert!(
        !tmp.path().join("exp/results").exists(),
        "nothing beside the manifest"
    );
    assert_eq!(
        git(&["status", "--porcelain"]),
        "",
        "run directories are ignored"
    );
    run("second");
    let env = |id: &str| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(
                tmp.path()
                    .join(format!("results/tiny/{id}/environment.json")),
            )
            .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(env("first")["git_dirty"], false);
    assert_eq!(
        env("second")["git_dirty"],
        false,
        "the first run's outputs are not a change"
    );
    // A change of the user's own is still one.
    std::fs::write(tmp.path().join("notes.txt"), "x").unwrap();
    run("third");
    assert_eq!(env("third")["git_dirty"], true);
}
