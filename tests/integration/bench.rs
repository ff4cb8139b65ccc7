//! `bench-client` end to end, tiny: the simulator runs as its own process (the
//! real `tokenomics simulate`), the client is the real one. Only the structure
//! of the figures is checked, never their values (timing belongs to benchmarks).

use std::path::PathBuf;
use std::time::Duration;

use tokenomics::bench::{capacity, fidelity, soak, SimSetup, SimTimingArgs};

use crate::common::bin;

fn setup() -> SimSetup {
    SimSetup {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_tokenomics")),
        cpus: Vec::new(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn finite_non_negative(v: Option<f64>, what: &str) {
    let v = v.unwrap_or_else(|| panic!("{what} is missing"));
    assert!(v.is_finite() && v >= 0.0, "{what} = {v}");
}

#[test]
fn tiny_capacity_counts_events_cpu_and_memory() {
    let opts = capacity::CapacityOptions {
        streams: vec![8],
        window: Duration::from_millis(500),
        events_per_request: 32,
        prompt_words: 0,
        itl_ms: 1.0,
        max_warmup: Duration::from_secs(20),
        client_cpus: 2,
        sim_cpus: 2,
        floor: true,
    };
    let mut seen = 0;
    let report = runtime()
        .block_on(capacity::run(&setup(), &opts, &mut |_| seen += 1))
        .expect("capacity runs");
    assert_eq!(seen, 1, "one callback per level");
    assert_eq!(report.levels.len(), 1);
    let l = &report.levels[0];
    assert_eq!(l.streams, 8);
    assert!(l.warmup_complete, "every stream finished a request");
    assert!(l.events > 0, "events were read in the window");
    assert!(l.window_s > 0.0 && l.events_per_s > 0.0);
    assert_eq!(l.failed, 0);
    finite_non_negative(l.cpu_us_per_event, "CPU per event");
    finite_non_negative(l.rss_kib_per_stream, "RSS per stream");
    finite_non_negative(l.sim_cpu, "simulator CPU");
    assert_eq!(
        l.targets.iter().map(|t| t.metric).collect::<Vec<_>>(),
        vec!["cpu_us_per_event"],
        "8 streams only has the CPU target"
    );
    let row = capacity::row(l);
    assert!(row.contains('8'));
    for (floor, what) in [(&l.floor, "runtime"), (&l.floor_epoll, "epoll")] {
        let floor = floor
            .as_ref()
            .unwrap_or_else(|| panic!("the {what} floor ran"));
        assert!(floor.events > 0, "the {what} floor reader read events");
        finite_non_negative(floor.cpu_us_per_event, "floor CPU per event");
        let cell = format!("{:.2}", floor.cpu_us_per_event.expect("floor"));
        assert!(row.contains(&cell), "the row shows the {what} floor: {row}");
    }
}

#[test]
fn tiny_fidelity_matches_every_record_to_the_simulator_log() {
    let opts = fidelity::FidelityOptions {
        streams: vec![1, 4],
        window: Duration::from_millis(300),
        timing: SimTimingArgs {
            ttft_ms: 5.0,
            itl_ms: 2.0,
        },
        tokens: 6,
        bursts: vec![4],
        burst_rounds: 2,
    };
    let mut bursts_seen = 0;
    let report = runtime()
        .block_on(fidelity::run(&setup(), &opts, &mut |_| {}, &mut |_| {
            bursts_seen += 1;
        }))
        .expect("fidelity runs");
    assert_eq!(
        report.levels.iter().map(|l| l.streams).collect::<Vec<_>>(),
        vec![1, 4]
    );
    for l in &report.levels {
        let c = &l.comparison;
        assert!(c.records > l.streams as usize, "{c:?}");
        assert_eq!(
            c.unmatched, 0,
            "every record is in the simulator log: {c:?}"
        );
        assert_eq!(c.matched, c.records);
        assert_eq!(c.failed, 0);
        assert_eq!(c.warmup, l.streams as usize, "one warmup per stream");
        assert_eq!(c.itl_count_mismatch, 0);
        assert_eq!(c.ttft.samples, c.records - c.warmup);
        assert_eq!(
            c.itl.samples,
            c.ttft.samples * 5,
            "5 gaps per 6-token request"
        );
        assert_eq!(c.request_lag.samples, c.ttft.samples);
        assert_eq!(c.delivery_lag.samples, c.ttft.samples * 6, "every token");
        // Every request was written, and its lag splits at that moment.
        assert_eq!(
            (c.sending.samples, c.to_server.samples),
            (c.ttft.samples, c.ttft.samples)
        );
        finite_non_negative(c.sending.bias_ms, "sending");
        let (req, snd, srv) = (
            c.request_lag.bias_ms.unwrap(),
            c.sending.bias_ms.unwrap(),
            c.to_server.bias_ms.unwrap(),
        );
        assert!((snd + srv - req).abs() < 1e-6, "{req} ≠ {snd} + {srv}");
        for (what, s) in [("TTFT", &c.ttft), ("ITL", &c.itl)] {
            finite_non_negative(s.mae_ms, what);
            finite_non_negative(s.p99_abs_ms, what);
            finite_non_negative(s.max_abs_ms, what);
            assert!(s.p99_abs_ms <= s.max_abs_ms, "{what}: p99 ≤ max");
        }
    }
    assert_eq!(report.levels[0].targets.len(), 1, "TTFT target at 1 stream");

    // Bursts of 4, twice each way: every request matched and counted; the
    // preconnected ones found their connections open, the cold ones opened one each.
    assert_eq!(bursts_seen, 1);
    let b = &report.bursts[0];
    assert_eq!((b.burst, b.rounds), (4, 2));
    for (name, m, opened) in [("preconnected", &b.preconnected, 0), ("cold", &b.cold, 8)] {
        let c = &m.comparison;
        assert_eq!(
            (c.records, c.matched, c.failed, c.warmup),
            (8, 8, 0, 0),
            "{name}: {c:?}"
        );
        assert_eq!(c.ttft.samples, 8, "{name}");
        assert_eq!(c.sending.samples, 8, "{name}");
        // Re-based rounds keep each request's write after its start.
        finite_non_negative(c.sending.max_abs_ms, name);
        assert!(c.sending.bias_ms.is_some_and(|b| b >= 0.0), "{name}: {c:?}");
        assert_eq!(m.opened, opened, "{name}");
        finite_non_negative(c.ttft.mae_ms, name);
    }
    assert!(b.targets.is_empty(), "targets only at 64 and 512");
    assert!(fidelity::burst_rows(b).contains("preconnected"));
}

#[test]
fn tiny_soak_samples_memory_and_gives_a_verdict() {
    let opts = soak::SoakOptions {
        streams: 8,
        duration: Duration::from_millis(3_500),
        interval: Duration::from_secs(1),
        events_per_request: 16,
        itl_ms: 1.0,
        max_warmup: Duration::from_secs(20),
    };
    let mut lines = 0;
    let report = runtime()
        .block_on(soak::run(&setup(), &opts, &mut |_| lines += 1))
        .expect("soak runs");
    assert_eq!(lines, report.samples.len());
    assert!(report.samples.len() >= 3, "{:?}", report.samples);
    assert!(report.samples.iter().all(|s| s.rss_bytes.is_some()));
    assert!(report.rss_series.len() >= 3);
    assert!(report.events_per_s > 0.0);
    assert_eq!(report.failed, 0);
    let growth = report.growth_percent.expect("a verdict");
    assert!(growth.is_finite());
    assert_eq!(report.flat, Some(growth <= soak::FLAT_GROWTH_PERCENT));
    assert!(report.verdict.is_some());
    assert!(soak::verdict_line(&report).starts_with("verdict: RSS"));
}

#[test]
fn bench_client_command_prints_a_table_and_writes_json() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("bench.json");
    let out = bin()
        .args([
            "bench-client",
            "--quick",
            "--streams",
            "4",
            "--events-per-stream",
            "16",
            "--json",
        ])
        .arg(&json)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("machine: "), "{stdout}");
    assert!(stdout.contains("events/s"), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("JSON");
    let level = &v["capacity"]["levels"][0];
    assert_eq!(level["streams"], 4);
    assert!(level["events"].as_u64().is_some_and(|e| e > 0), "{level}");
    assert!(v["fidelity"].is_null() && v["soak"].is_null());
}

#[test]
fn bench_client_rejects_bad_values_with_exit_2() {
    bin()
        .args(["bench-client", "--streams", "0"])
        .assert()
        .code(2);
}

#[test]
fn tiny_arrival_level_counts_lags_gaps_and_pacer_cpu() {
    let opts = tokenomics::bench::arrival::ArrivalOptions {
        rates: vec![200.0],
        window: Duration::from_millis(250),
        burstiness: 2.0,
    };
    let mut seen = 0;
    let report = runtime()
        .block_on(tokenomics::bench::arrival::run(
            &setup(),
            &opts,
            &mut |_| seen += 1,
        ))
        .expect("arrival runs");
    assert_eq!(seen, 2, "Poisson and gamma");
    assert_eq!(report.levels.len(), 2);
    for l in &report.levels {
        assert_eq!(l.requests, 50);
        assert_eq!(l.ok, 50);
        assert_eq!(l.server_gaps, 49, "one gap between each pair of arrivals");
        finite_non_negative(l.send_lag.p99_ms, "send lag p99");
        finite_non_negative(l.ks_distance, "KS distance");
        finite_non_negative(l.pacer_cpu_pct, "pacer CPU");
        assert!(l.expected_near_zero_share > 0.0 && l.expected_near_zero_share < 0.05);
    }
}

/// The long-response level measures both halves on their own sizes: long
/// responses to a long prompt, and short ones, each with events counted and no
/// failure.
#[test]
fn tiny_long_level_measures_both_halves() {
    let opts = tokenomics::bench::long::LongOptions {
        streams: 2,
        tokens: 3000,
        prompt_words: 2000,
        window: Duration::from_millis(300),
        max_warmup: Duration::from_secs(20),
        client_cpus: 2,
        sim_cpus: 2,
    };
    let mut lines = Vec::new();
    let r = runtime()
        .block_on(tokenomics::bench::long::run(&setup(), &opts, &mut |l| {
            lines.push(l.to_owned());
        }))
        .expect("long level runs");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[1].contains("3,000") && lines[1].contains("2,000"),
        "{lines:?}"
    );
    for half in [&r.short, &r.long] {
        assert!(half.events > 0, "{half:?}");
        assert_eq!(half.failed, 0, "{half:?}");
    }
    assert_eq!((r.tokens, r.prompt_words), (3000, 2000));
}
