//! Two runs of one manifest on the simulator differ only by noise, and
//! `compare` must not call that noise worse or better: every row stays
//! `within noise` or `equal` at the default settings. (A slower server is
//! flagged: the integration test `compare_flags_the_slower_run_and_not_a_run_against_itself`.)
//!
//! Its own test binary, so no other test shares the CPUs while the two runs are
//! measured; the optimised build, as the README's test command builds it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn bin() -> Command {
    let mut c = Command::cargo_bin("tokenomics").expect("binary built by cargo");
    c.env_remove("RUST_LOG");
    c
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "timing comparisons need the optimised build: cargo test --release"
)]
fn two_runs_of_one_manifest_get_no_verdicts() {
    let out = tempfile::tempdir().unwrap();
    // The demo, smaller: five repetitions a point, the sustained grid's too (it
    // sets its own `runs`), so intervals exist and a stall in one run widens
    // them rather than passing for a change; 16-token answers, burst 1 and 4,
    // concurrency 4.
    let run = |id: &str| -> PathBuf {
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
        ] {
            cmd.args(["--set", s]);
        }
        cmd.assert().success();
        out.path().join("demo").join(id)
    };
    let a = run("a");
    let b = run("b");
    let output = bin()
        .arg("compare")
        .arg(&a)
        .arg(&b)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let rows = report["comparisons"][0]["rows"].as_array().expect("rows");
    assert!(rows.len() > 20, "{} rows", rows.len());
    let verdicts: Vec<String> = rows
        .iter()
        .filter(|r| r["verdict"] == "worse" || r["verdict"] == "better")
        .map(|r| {
            format!(
                "{} {} {}: {:+.1} %",
                r["point"].as_str().unwrap_or(""),
                r["metric"].as_str().unwrap_or(""),
                r["verdict"].as_str().unwrap_or(""),
                r["delta_pct"].as_f64().unwrap_or(0.0)
            )
        })
        .collect();
    assert!(
        verdicts.is_empty(),
        "verdicts between two runs of one manifest:\n{}",
        verdicts.join("\n")
    );
    assert!(Path::new(&a).join("requests.parquet").is_file());
}
