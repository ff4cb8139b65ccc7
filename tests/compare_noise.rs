//! Two runs of one manifest on the simulator differ only by noise, and
//! `compare` must not call that noise worse or better: every row stays
//! `within noise` or `equal` at the default settings. A third run against a
//! server 20 % slower per token must still read `worse`, with an interval,
//! from the same five runs a point: the intervals that keep noise quiet have
//! not gone deaf.
//!
//! Its own test binary, so no other test shares the CPUs while the runs are
//! measured; the optimised build, as the README's test command builds it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::cargo_bin("tokenomics").expect("binary built by cargo");
    c.env_remove("RUST_LOG");
    c
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The rows of `compare --json a b`.
fn compare_rows(a: &Path, b: &Path) -> Vec<Value> {
    let output = bin()
        .arg("compare")
        .arg(a)
        .arg(b)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    report["comparisons"][0]["rows"]
        .as_array()
        .expect("rows")
        .clone()
}

/// One line per row, with everything that decided its verdict.
fn describe(r: &Value) -> String {
    format!(
        "{} {}.{} {}: {} → {} ({:+.1} %, CI {})",
        r["point"].as_str().unwrap_or(""),
        r["metric"].as_str().unwrap_or(""),
        r["stat"].as_str().unwrap_or(""),
        r["verdict"].as_str().unwrap_or(""),
        r["baseline"],
        r["candidate"],
        r["delta_pct"].as_f64().unwrap_or(0.0),
        r["ci"]
    )
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "timing comparisons need the optimised build: cargo test --release"
)]
fn two_runs_of_one_manifest_get_no_verdicts_and_a_slower_server_does() {
    let out = tempfile::tempdir().unwrap();
    // The demo, smaller: five repetitions a point, the sustained grid's too (it
    // sets its own `runs`), so intervals exist and a stall in one run widens
    // them rather than passing for a change; 16-token answers, burst 1 and 4,
    // concurrency 4.
    let run = |id: &str, extra: &[&str]| -> PathBuf {
        let mut cmd = bin();
        cmd.args(["run", "experiments/demo.toml", "--quiet", "--run-id", id])
            .arg("--output")
            .arg(out.path())
            .current_dir(repo());
        for s in [
            "experiment.runs=5",
            "experiment.warmup=1",
            "scenarios.short.spec=\"D(32,16)\"",
            "grid[0].batch_sizes=[1,4]",
            "grid[1].concurrency=[4]",
            "grid[1].runs=5",
            "grid[1].requests=8",
            "grid[1].scenarios=[\"short\"]",
        ]
        .iter()
        .chain(extra)
        {
            cmd.args(["--set", s]);
        }
        cmd.assert().success();
        out.path().join("demo").join(id)
    };
    let a = run("a", &[]);
    let b = run("b", &[]);
    let slower = run("slower", &["endpoints.sim.simulator.itl_ms=6"]);

    let rows = compare_rows(&a, &b);
    assert!(rows.len() > 20, "{} rows", rows.len());
    let verdicts: Vec<String> = rows
        .iter()
        .filter(|r| r["verdict"] == "worse" || r["verdict"] == "better")
        .map(describe)
        .collect();
    assert!(
        verdicts.is_empty(),
        "verdicts between two runs of one manifest:\n{}",
        verdicts.join("\n")
    );
    assert!(Path::new(&a).join("requests.parquet").is_file());

    // The points of `sim` (burst 1, burst 4, concurrency 4): the median gap
    // between tokens grew by about a fifth, and the interval says so.
    let rows = compare_rows(&a, &slower);
    let itl: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["metric"] == "itl_ms"
                && r["stat"] == "p50"
                && r["point"].as_str().is_some_and(|p| p.starts_with("sim/"))
        })
        .collect();
    assert_eq!(itl.len(), 3, "{rows:#?}");
    for r in itl {
        let ci = r["ci"].as_array().expect("an interval");
        assert!(
            r["verdict"] == "worse" && ci[0].as_f64().is_some_and(|lo| lo > 0.0),
            "{}",
            describe(r)
        );
    }
}
