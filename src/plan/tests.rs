//! Tests of plan building: matrix order, ids, seeds, defaults, shards, the size guard.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use super::{default_concurrency_requests, default_rate_requests, point_seed};
use crate::manifest::{load_with_env, LoadOptions, Manifest};
use crate::vocab::SimTiming;
use crate::vocab::{
    ApiKind, Arrival, FileFormat, MalformedPolicy, StageKind, TokenizerSource, AUTO_METRICS_URL,
};

fn load_path(path: &Path) -> Manifest {
    load_with_env(path, &LoadOptions::default(), Vec::new())
        .unwrap_or_else(|e| panic!("{} does not load:\n{e}", path.display()))
}

/// Writes `text` as `m.toml` in a fresh directory and loads it.
fn manifest(text: &str) -> (tempfile::TempDir, Manifest) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.toml");
    std::fs::write(&path, text).expect("write");
    let m = load_path(&path);
    (dir, m)
}

fn plan(text: &str, opts: &PlanOptions) -> (tempfile::TempDir, Result<Plan, ManifestError>) {
    let (dir, m) = manifest(text);
    let p = build(&m, opts);
    (dir, p)
}

fn ok_plan(text: &str) -> (tempfile::TempDir, Plan) {
    let (dir, p) = plan(text, &PlanOptions::default());
    (dir, p.unwrap_or_else(|e| panic!("plan fails: {e}")))
}

fn ids(p: &Plan) -> Vec<&str> {
    p.points.iter().map(|p| p.id.as_str()).collect()
}

const HEAD: &str = r#"
[experiment]
name = "t"

[endpoints.a]
simulator = {}

[endpoints.b]
base_url = "http://localhost:8000/v1"
model = "m"

[scenarios.x]
spec = "D(8,8)"

[scenarios.y]
spec = "D(16,16)"
"#;

#[test]
fn matrix_order_is_grid_endpoint_scenario_value() {
    let text = format!(
        r#"{HEAD}
[[grid]]
endpoints = ["b", "a"]
scenarios = ["y", "x"]
mode = "burst"
batch_sizes = [4, 1]

[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "concurrency"
concurrency = [2]
"#
    );
    let (_d, p) = ok_plan(&text);
    assert_eq!(
        ids(&p),
        [
            "b.y.burst-4",
            "b.y.burst-1",
            "b.x.burst-4",
            "b.x.burst-1",
            "a.y.burst-4",
            "a.y.burst-1",
            "a.x.burst-4",
            "a.x.burst-1",
            "a.x.concurrency-2",
        ]
    );
    let indices: Vec<usize> = p.points.iter().map(|p| p.index).collect();
    assert_eq!(indices, (0..9).collect::<Vec<_>>());
    assert_eq!(p.points[0].grid, "grid[0]");
    assert_eq!(p.points[8].grid, "grid[1]");
    assert_eq!(p.endpoints.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(p.scenarios.keys().collect::<Vec<_>>(), ["x", "y"]);
}

#[test]
fn duplicate_ids_are_prefixed_with_the_grid_name() {
    let text = format!(
        r#"{HEAD}
[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "burst"
batch_sizes = [1, 2]

[[grid]]
name = "again"
endpoints = ["a"]
scenarios = ["x"]
mode = "burst"
batch_sizes = [2, 3]
runs = 1
"#
    );
    let (_d, p) = ok_plan(&text);
    assert_eq!(
        ids(&p),
        [
            "a.x.burst-1",
            "grid0.a.x.burst-2",
            "again.a.x.burst-2",
            "a.x.burst-3"
        ]
    );
    assert_eq!(p.points[2].grid, "again");
    assert_eq!(p.points[2].runs, 1);
    assert_ne!(p.points[1].seed, p.points[2].seed);
}

#[test]
fn ids_are_path_safe() {
    let (_d, p) = ok_plan(&format!(
        r#"{HEAD}
[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "rate"
rates = [0.5, 2.0, 12.25]
"#
    ));
    assert_eq!(ids(&p), ["a.x.rate-0.5", "a.x.rate-2", "a.x.rate-12.25"]);
    for id in ids(&p) {
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{id}"
        );
    }
}

#[test]
fn point_seeds_follow_the_documented_formula() {
    // Reference values: Python `int.from_bytes(sha256(s.encode()).digest()[:8], "big")`.
    assert_eq!(
        point_seed(42, "vllm.short.burst-8"),
        11_530_756_078_836_664_108
    );
    assert_eq!(point_seed(0, "a.b.rate-0.5"), 11_453_502_226_061_925_735);
}

#[test]
fn seeds_depend_on_identity_not_position() {
    let one = format!(
        r#"{HEAD}
[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "burst"
batch_sizes = [8]
"#
    );
    let two = format!(
        r#"{HEAD}
[[grid]]
endpoints = ["b"]
scenarios = ["y"]
mode = "burst"
batch_sizes = [1, 2]

[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "burst"
batch_sizes = [8]
"#
    );
    let (_d1, p1) = ok_plan(&one);
    let (_d2, p2) = ok_plan(&two);
    let a1 = &p1.points[0];
    let a2 = p2
        .points
        .iter()
        .find(|p| p.id == "a.x.burst-8")
        .expect("point");
    assert_eq!(a1.index, 0);
    assert_eq!(a2.index, 2);
    assert_eq!(a1.seed, a2.seed);
    assert_eq!(a1.seed, point_seed(42, "a.x.burst-8"));
    let (_d3, p3) = ok_plan(&one.replace("name = \"t\"", "name = \"t\"\nseed = 7"));
    assert_ne!(p3.points[0].seed, a1.seed);
}

#[test]
fn default_request_counts() {
    assert_eq!(default_concurrency_requests(1), 64);
    assert_eq!(default_concurrency_requests(8), 64);
    assert_eq!(default_concurrency_requests(16), 128);
    assert_eq!(default_rate_requests(2.0, None), 64);
    assert_eq!(default_rate_requests(10.5, None), 84);
    assert_eq!(default_rate_requests(2.5, Some(3.0)), 8);
    assert_eq!(default_rate_requests(0.01, Some(1.0)), 1);
    let (_d, p) = ok_plan(&format!(
        r#"{HEAD}
[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "concurrency"
concurrency = [1, 32]

[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "concurrency"
concurrency = [4]
requests = 10
duration_s = 2.5

[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "rate"
rates = [4.0]
duration_s = 5
"#
    ));
    let loads: Vec<&LoadSpec> = p.points.iter().map(|p| &p.load).collect();
    assert_eq!(
        loads,
        [
            &LoadSpec::Concurrency {
                concurrency: 1,
                requests: 64,
                duration: None
            },
            &LoadSpec::Concurrency {
                concurrency: 32,
                requests: 256,
                duration: None
            },
            &LoadSpec::Concurrency {
                concurrency: 4,
                requests: 10,
                duration: Some(Duration::from_millis(2500))
            },
            &LoadSpec::Rate {
                rate: 4.0,
                arrival: Arrival::Poisson,
                requests: 20,
                duration: Some(Duration::from_secs(5)),
                max_concurrency: None
            },
        ]
    );
}

#[test]
fn ramp_grids_give_one_point_per_pair() {
    let (_d, p) = ok_plan(&format!(
        r#"{HEAD}
[[grid]]
endpoints = ["a", "b"]
scenarios = ["x"]
mode = "ramp"
stages = [{{ rate = 2, duration_s = 5 }}, {{ concurrency = 8, duration_s = 1.5 }}]
"#
    ));
    assert_eq!(ids(&p), ["a.x.ramp-8", "b.x.ramp-8"]);
    assert_eq!(
        p.points[0].load,
        LoadSpec::Ramp {
            stages: vec![
                Stage {
                    kind: StageKind::Rate,
                    value: 2.0,
                    duration: Duration::from_secs(5)
                },
                Stage {
                    kind: StageKind::Concurrency,
                    value: 8.0,
                    duration: Duration::from_millis(1500)
                },
            ]
        }
    );
}

#[test]
fn defaults_are_filled_in() {
    let (_d, p) = ok_plan(&format!(
        r#"{HEAD}
[[grid]]
endpoints = ["a", "b"]
scenarios = ["x"]
mode = "burst"
batch_sizes = [1]
"#
    ));
    let e = &p.experiment;
    assert_eq!(e.name, "t");
    assert_eq!(e.description, "");
    assert_eq!(e.seed, 42);
    // Unset, the results root is `results/` where tokenomics runs, not beside the manifest.
    assert_eq!(e.output_root, std::path::PathBuf::from("results"));
    assert_eq!(e.max_failure_rate, None);
    assert!((e.steady_state_threshold - 0.8).abs() < 1e-12);
    assert_eq!(e.bucket, Duration::from_millis(50));
    assert_eq!(e.percentiles, [50.0, 90.0, 95.0, 99.0]);
    assert!(e.slos.is_empty());

    let b = &p.endpoints["b"];
    assert!(matches!(&b.target, EndpointTarget::Url(u) if u == "http://localhost:8000/v1"));
    assert_eq!(b.model, "m");
    assert_eq!(b.api, ApiKind::Chat);
    assert!(b.stream);
    assert_eq!(b.timeouts.total, Duration::from_secs(600));
    assert_eq!(b.timeouts.connect, Duration::from_secs(10));
    assert_eq!(b.timeouts.first_byte, None);
    assert_eq!(b.timeouts.idle, None);
    assert_eq!(b.retry.max_retries, 0);
    assert_eq!(b.temperature, None);
    assert!(!b.ignore_eos && !b.min_tokens);
    assert_eq!(b.n, 1);
    assert_eq!(b.tokenizer, None);
    assert_eq!(b.health_path, "/v1/models");
    assert_eq!(b.malformed, MalformedPolicy::Skip);
    assert_eq!(b.max_event_bytes, 16 * 1024 * 1024);
    assert!(b.scrape.is_none());
    assert!(b.extra_body.is_empty() && b.headers.is_empty());

    let a = &p.endpoints["a"];
    match &a.target {
        EndpointTarget::Simulator(sim) => {
            assert_eq!(sim.model, "sim-model");
            assert_eq!(sim.ttft, Duration::from_millis(50));
            assert_eq!(sim.itl, Duration::from_millis(10));
            assert_eq!(sim.timing, SimTiming::Fixed);
        }
        EndpointTarget::Url(u) => panic!("expected a simulator, got {u}"),
    }
    assert_eq!(a.model, "sim-model");

    let x = &p.scenarios["x"];
    assert_eq!(x.dataset.name, "synthetic");
    assert_eq!(x.dataset.source, DatasetSource::Synthetic);
    assert_eq!(x.dataset.prompt_column, "text");
    assert_eq!(x.max_tokens_cap, 4096);
    assert_eq!(x.turns, 1);
    assert!(!x.replay && !x.compat_original);
    assert!(x.images.is_none() && x.prefix.is_none() && x.lora.is_none());

    assert!(p.points.iter().all(|pt| pt.runs == 3 && pt.warmup == 3));
}

#[test]
fn explicit_values_are_resolved() {
    let (d, p) = ok_plan(
        r#"
[experiment]
name = "t"
output_dir = "../out"
runs = 2
warmup = 0
bucket_ms = 25

[experiment.slo]
ttft_ms = { p99 = 500, max = 2000 }
e2e_ms = 10000

[endpoints.e]
base_url = "https://api.example.com/openai/v1/"
model = "m"
timeout_s = 5
tokenizer = { path = "tok/tokenizer.json" }
retries = { max = 2 }
metrics = {}

[endpoints.sim]
simulator = { ttft_ms = 20, itl_ms = 5, batching = { itl_per_seq_ms = 0.5, max_batch = 8 }, faults = { http_500 = 0.25 } }
model = "served"
metrics = { interval_ms = 50 }

[datasets.rows]
source = { file = "data/../data/rows.jsonl" }

[scenarios.s]
spec = "D(8,8)"
dataset = "rows"
prefix = { tokens = 100 }

[[grid]]
endpoints = ["e", "sim"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [1]
"#,
    );
    let e = &p.experiment;
    assert_eq!(
        e.output_root,
        d.path().parent().expect("parent").join("out")
    );
    assert_eq!(e.bucket, Duration::from_millis(25));
    assert_eq!(
        e.slos,
        [
            Slo {
                metric: "e2e_ms".into(),
                percentile: None,
                max: 10000.0
            },
            Slo {
                metric: "ttft_ms".into(),
                percentile: Some(99.0),
                max: 500.0
            },
            Slo {
                metric: "ttft_ms".into(),
                percentile: None,
                max: 2000.0
            },
        ]
    );
    let ep = &p.endpoints["e"];
    assert!(
        matches!(&ep.target, EndpointTarget::Url(u) if u == "https://api.example.com/openai/v1")
    );
    assert_eq!(ep.health_path, "/openai/v1/models");
    assert_eq!(ep.timeouts.total, Duration::from_secs(5));
    assert_eq!(
        ep.timeouts.connect,
        Duration::from_secs(5),
        "connect is capped at total"
    );
    assert_eq!(
        ep.tokenizer,
        Some(TokenizerSource::File(d.path().join("tok/tokenizer.json")))
    );
    assert_eq!(ep.retry.max_retries, 2);
    assert_eq!(ep.retry.backoff, Duration::from_millis(500));
    assert!(ep.retry.on_rate_limit && ep.retry.on_server_error);
    let scrape = ep.scrape.as_ref().expect("scrape");
    assert_eq!(scrape.url, "https://api.example.com/metrics");
    assert_eq!(scrape.interval, Duration::from_secs(1));
    // A simulator's metrics page is only known at run time: the URL defaults to "auto".
    let sim_scrape = p.endpoints["sim"]
        .scrape
        .as_ref()
        .expect("simulator scrape");
    assert_eq!(sim_scrape.url, AUTO_METRICS_URL);
    assert_eq!(sim_scrape.interval, Duration::from_millis(50));
    match &p.endpoints["sim"].target {
        EndpointTarget::Simulator(sim) => {
            assert_eq!(sim.model, "served");
            assert_eq!(
                sim.timing,
                SimTiming::Batching {
                    itl_per_seq: Duration::from_micros(500),
                    prefill_per_token: Duration::ZERO,
                    max_batch: 8
                }
            );
            assert!((sim.faults.http_500 - 0.25).abs() < 1e-12);
        }
        EndpointTarget::Url(u) => panic!("expected a simulator, got {u}"),
    }
    let s = &p.scenarios["s"];
    assert_eq!(
        s.dataset.source,
        DatasetSource::File {
            path: d.path().join("data/rows.jsonl"),
            format: FileFormat::Jsonl
        }
    );
    assert_eq!(
        s.prefix,
        Some(PrefixSpec {
            tokens: 100,
            groups: 1
        })
    );
    assert!(p.points.iter().all(|pt| pt.runs == 2 && pt.warmup == 0));
}

#[test]
fn dataset_config_paths_resolve_against_the_config_directory() {
    let path = Path::new("tests/fixtures/manifests/valid/dataset_configs.toml");
    let p = build(&load_path(path), &PlanOptions::default()).expect("plans");
    let short = &p.scenarios["short"].dataset;
    assert_eq!(
        short.source,
        DatasetSource::File {
            path: PathBuf::from("tests/fixtures/manifests/valid/data/short_prompts.txt"),
            format: FileFormat::Txt
        }
    );
    let local = &p.scenarios["local"].dataset;
    assert_eq!(
        local.source,
        DatasetSource::File {
            path: PathBuf::from("tests/fixtures/manifests/valid/data/rows.jsonl"),
            format: FileFormat::Jsonl
        }
    );
    assert_eq!(local.max_rows, Some(3));
    assert_eq!(local.system_prompt.as_deref(), Some("Be brief."));
    let gsm = &p.scenarios["gsm8k"].dataset;
    assert_eq!(
        gsm.source,
        DatasetSource::HuggingFace {
            repo: "openai/gsm8k".into(),
            config: Some("main".into()),
            split: "test".into(),
            revision: None
        }
    );
    assert_eq!(gsm.raw_config["prompt_column"], "question");
}

fn big_grid(extra_experiment: &str) -> String {
    format!(
        r#"
[experiment]
name = "t"
runs = 2
warmup = 1
{extra_experiment}

[endpoints.a]
simulator = {{}}

[scenarios.x]
spec = "D(8,8)"

[[grid]]
endpoints = ["a"]
scenarios = ["x"]
mode = "burst"
batch_sizes = [1, 2, 3, 4, 5, 6, 7]
"#
    )
}

#[test]
fn size_guard_limits_points_and_requests() {
    // 7 points; requests = Σ (1 warmup + 2 runs × b) for b in 1..=7 = 7 + 2 × 28 = 63.
    let (_d, p) = plan(&big_grid("max_points = 6"), &PlanOptions::default());
    let err = p.expect_err("too many points");
    assert_eq!(err.key.as_deref(), Some("experiment.max_points"));
    assert!(err.message.contains("7 points (63 requests)"), "{err}");
    assert!(err
        .hint
        .as_deref()
        .is_some_and(|h| h.contains("--allow-large")));
    insta::assert_snapshot!(
        "size_guard_points",
        err.to_string()
            .replace(&err.file.display().to_string(), "m.toml")
    );

    let (_d, p) = plan(&big_grid("max_requests = 62"), &PlanOptions::default());
    let err = p.expect_err("too many requests");
    assert_eq!(err.key.as_deref(), Some("experiment.max_requests"));
    assert!(err.message.contains("63 requests"), "{err}");

    let (_d, p) = plan(
        &big_grid("max_requests = 63\nmax_points = 7"),
        &PlanOptions::default(),
    );
    assert_eq!(p.expect("at the limits").points.len(), 7);

    let allow = PlanOptions {
        allow_large: true,
        shard: None,
    };
    let (_d, p) = plan(&big_grid("max_points = 1"), &allow);
    assert_eq!(p.expect("allowed").points.len(), 7);
}

#[test]
fn memory_guard_refuses_plans_that_would_exhaust_memory() {
    // One run of a burst of 1000 requests of 2,000,000 tokens: ~16 GB of bodies.
    let text = format!(
        "{HEAD}\n[scenarios.huge]\nspec = \"D(2000000,4)\"\n\n[[grid]]\nendpoints = [\"a\"]\nscenarios = [\"huge\"]\nmode = \"burst\"\nbatch_sizes = [1000]\n"
    );
    let (_d, p) = plan(&text, &PlanOptions::default());
    let err = p.expect_err("16 GB of bodies");
    assert_eq!(err.key.as_deref(), Some("experiment.max_memory_mb"));
    assert!(err.message.contains("a.huge.burst-1000"), "{err}");
    assert!(err.message.contains("above the limit of 4096 MiB"), "{err}");
    assert!(err.hint.is_some_and(|h| h.contains("--allow-large")));
    let allow = PlanOptions {
        allow_large: true,
        shard: None,
    };
    let (_d, p) = plan(&text, &allow);
    assert_eq!(p.expect("allowed").points.len(), 1);
    // Raising the limit lets it through too.
    let raised = text.replace("name = \"t\"", "name = \"t\"\nmax_memory_mb = 100000");
    let (_d, p) = plan(&raised, &PlanOptions::default());
    assert!(p.is_ok());
}

#[test]
fn memory_estimate_counts_bodies_slots_prefixes_and_records() {
    let (_d, p) = ok_plan(&format!(
        "{HEAD}\n[scenarios.z]\nspec = \"D(1000,100)\"\nturns = 2\nprefix = {{ tokens = 50, groups = 3 }}\n\n[[grid]]\nendpoints = [\"a\"]\nscenarios = [\"z\"]\nmode = \"concurrency\"\nconcurrency = [8]\nrequests = 5\n"
    ));
    let point = &p.points[0];
    let sc = &p.scenarios["z"];
    let body = (1000 * 2 + 50) * estimate::BYTES_PER_TOKEN + 1024;
    assert_eq!(estimate::request_bytes(sc), body);
    // 5 requests; 8 workers but only 5 requests, so 5 slots; 3 prefixes of 50 tokens.
    assert_eq!(
        estimate::run_bytes(point, sc),
        5 * body + 5 * estimate::BYTES_PER_SLOT + 3 * 50 * estimate::BYTES_PER_TOKEN
    );
    let per_record = 100 * 8 + estimate::BYTES_PER_RECORD;
    assert_eq!(
        estimate::records_bytes(point, sc, 1),
        matrix::total_requests(point) * per_record
    );
}

#[test]
fn default_size_guard_is_500_points() {
    let values: Vec<String> = (1..=501).map(|v| v.to_string()).collect();
    let text = big_grid("warmup = 0\nruns = 1")
        .replace("warmup = 1\n", "")
        .replace("runs = 2\n", "")
        .replace(
            "batch_sizes = [1, 2, 3, 4, 5, 6, 7]",
            &format!("batch_sizes = [{}]", values.join(", ")),
        );
    let (_d, p) = plan(&text, &PlanOptions::default());
    let err = p.expect_err("501 points");
    assert!(err.message.contains("501 points"), "{err}");
    assert!(err.message.contains("limit of 500 points"), "{err}");
}

#[test]
fn shards_partition_the_plan() {
    let text = big_grid("");
    let (_d, full) = ok_plan(&text);
    let mut seen = Vec::new();
    for i in 1..=3 {
        let (_d, p) = plan(
            &text,
            &PlanOptions {
                allow_large: false,
                shard: Some((i, 3)),
            },
        );
        let p = p.expect("shard plans");
        for pt in &p.points {
            assert_eq!(pt.index % 3, (i - 1) as usize);
            let orig = &full.points[pt.index];
            assert_eq!((&orig.id, orig.seed), (&pt.id, pt.seed));
        }
        seen.extend(p.points.iter().map(|pt| pt.index));
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..7).collect::<Vec<_>>());

    let (_d, p) = plan(
        &text,
        &PlanOptions {
            allow_large: false,
            shard: Some((2, 3)),
        },
    );
    assert_eq!(
        p.expect("shard")
            .points
            .iter()
            .map(|pt| pt.index)
            .collect::<Vec<_>>(),
        [1, 4]
    );

    for bad in [(0, 3), (4, 3), (1, 0)] {
        let (_d, p) = plan(
            &text,
            &PlanOptions {
                allow_large: false,
                shard: Some(bad),
            },
        );
        assert!(p.expect_err("bad shard").message.contains("invalid shard"));
    }
    let (_d, p) = plan(
        &text,
        &PlanOptions {
            allow_large: false,
            shard: Some((8, 8)),
        },
    );
    assert!(p
        .expect_err("empty shard")
        .message
        .contains("selects no points"));
}

#[test]
fn shards_keep_only_the_endpoints_they_use() {
    let (_d, p) = plan(
        &format!(
            r#"{HEAD}
[[grid]]
endpoints = ["a", "b"]
scenarios = ["x"]
mode = "burst"
batch_sizes = [1]
"#
        ),
        &PlanOptions {
            allow_large: false,
            shard: Some((2, 2)),
        },
    );
    let p = p.expect("plans");
    assert_eq!(ids(&p), ["b.x.burst-1"]);
    assert_eq!(p.endpoints.keys().collect::<Vec<_>>(), ["b"]);
}

#[test]
fn env_and_set_overrides_reach_the_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.toml");
    std::fs::write(&path, big_grid("")).expect("write");
    let opts = LoadOptions {
        overrides: vec![
            "grid[0].batch_sizes=[2, 4]".into(),
            "experiment.runs=5".into(),
        ],
    };
    let env = vec![
        ("TOKENOMICS_EXPERIMENT__RUNS".to_owned(), "4".to_owned()),
        ("TOKENOMICS_EXPERIMENT__WARMUP".to_owned(), "0".to_owned()),
    ];
    let m = load_with_env(&path, &opts, env).expect("loads");
    let p = build(&m, &PlanOptions::default()).expect("plans");
    assert_eq!(ids(&p), ["a.x.burst-2", "a.x.burst-4"]);
    assert!(p.points.iter().all(|pt| pt.runs == 5 && pt.warmup == 0));
    assert!(
        p.resolved_manifest.contains("batch_sizes = [2, 4]"),
        "{}",
        p.resolved_manifest
    );
}

#[test]
fn plan_table_for_the_demo() {
    let p = build(
        &load_path(Path::new("experiments/demo.toml")),
        &PlanOptions::default(),
    )
    .expect("demo plans");
    let table = render_table(&p);
    assert_eq!(table.lines().count(), p.points.len() + 2);
    insta::assert_snapshot!("demo_plan_table", table);
}

#[test]
fn plan_serializes_to_json() {
    let p = build(
        &load_path(Path::new("experiments/demo.toml")),
        &PlanOptions::default(),
    )
    .expect("demo plans");
    let json = serde_json::to_value(&p).expect("serializes");
    assert_eq!(
        json["points"].as_array().map(Vec::len),
        Some(p.points.len())
    );
    assert_eq!(json["points"][0]["id"], p.points[0].id.as_str());
    assert_eq!(json["points"][0]["load"]["mode"], "burst");
    assert_eq!(json["experiment"]["name"], "demo");
    let back: Plan = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back.points.len(), p.points.len());
}

/// Every shipped manifest loads and plans, so examples can never rot.
#[test]
fn every_shipped_manifest_loads_and_plans() {
    let mut checked = 0;
    for dir in ["experiments", "tests/fixtures/manifests/valid"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for file in files {
            let m = load_path(&file);
            let p = build(&m, &PlanOptions::default())
                .unwrap_or_else(|e| panic!("{} does not plan:\n{e}", file.display()));
            assert!(
                !p.points.is_empty() || !p.searches.is_empty(),
                "{}",
                file.display()
            );
            assert!(!render_table(&p).is_empty());
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} manifests found");
}

#[test]
fn reference_manifest_covers_every_mode_and_api() {
    let p = build(
        &load_path(Path::new("experiments/reference.toml")),
        &PlanOptions::default(),
    )
    .expect("reference plans");
    for mode in ["burst", "concurrency", "rate", "ramp"] {
        assert!(
            p.points.iter().any(|pt| pt.load.mode_name() == mode),
            "{mode}"
        );
    }
    for api in [ApiKind::Chat, ApiKind::Embeddings, ApiKind::Rerank] {
        assert!(p.endpoints.values().any(|e| e.api == api), "{api:?}");
    }
    let modes: Vec<&str> = p.searches.iter().map(|s| s.kind.mode_name()).collect();
    assert_eq!(modes, ["sweep", "slo_search"]);
}
