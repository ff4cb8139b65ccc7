//! Every failure accounted for, nothing lost, no secret leaked: faults injected by
//! the simulator, a canary API key, Ctrl-C, and `kill -9` followed by `resume`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{bin, records, run_dir, summary, write};
use tokenomics::record::{Outcome, TimeoutKind};
use tokenomics::simulator::faults::fault_for;
use tokenomics::vocab::FaultKind;

const FAULTS_MANIFEST: &str = r#"
schema = 1
[experiment]
name = "faults"
seed = 5
runs = 1
warmup = 0
max_failure_rate = 0.05

[endpoints.faulty]
simulator = { ttft_ms = 5, itl_ms = 2, faults = { seed = 11, http_500 = 0.1, http_429 = 0.1, retry_after_s = 1, stream_cut = 0.1, malformed_event = 0.1, stall = 0.1, stall_ms = 3000, refuse = 0.1 } }
idle_timeout_s = 0.5
malformed_events = "fail"

[scenarios.s]
spec = "D(16,20)"

[[grid]]
endpoints = ["faulty"]
scenarios = ["s"]
mode = "concurrency"
concurrency = [4]
requests = 60
"#;

/// The simulator decides each request's fault from its seed and the request's arrival
/// number; the outcome counts in the records must equal what it injected, every request
/// must have exactly one record, and the failure rate above `max_failure_rate` gives exit 5
/// with every output still written.
#[test]
fn injected_faults_become_exactly_the_expected_outcomes() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(tmp.path(), "faults.toml", FAULTS_MANIFEST);
    let m = tokenomics::manifest::load(&manifest, &tokenomics::manifest::LoadOptions::default())
        .unwrap();
    let plan = tokenomics::plan::build(&m, &tokenomics::plan::PlanOptions::default()).unwrap();
    let tokenomics::plan::EndpointTarget::Simulator(sim) = &plan.endpoints["faulty"].target else {
        panic!("simulator endpoint expected")
    };
    let mut expected: BTreeMap<Outcome, usize> = BTreeMap::new();
    for seq in 0..60 {
        let outcome = match fault_for(&sim.faults, seq) {
            None => Outcome::Ok,
            Some(FaultKind::Refuse) => Outcome::ConnectError,
            Some(FaultKind::Http500) => Outcome::HttpError,
            Some(FaultKind::Http429) => Outcome::RateLimited,
            Some(FaultKind::StreamCut) => Outcome::StreamCut,
            Some(FaultKind::MalformedEvent) => Outcome::MalformedEvent,
            Some(FaultKind::Stall) => Outcome::Timeout,
        };
        *expected.entry(outcome).or_default() += 1;
    }
    assert!(
        expected.len() >= 6,
        "the seed should inject most kinds: {expected:?}"
    );

    bin()
        .arg("run")
        .arg(&manifest)
        .args(["--quiet", "--output"])
        .arg(tmp.path().join("out"))
        .assert()
        .code(5);
    let dir = run_dir(&tmp.path().join("out"), "faults");
    let recs = records(&dir);
    let mut got: BTreeMap<Outcome, usize> = BTreeMap::new();
    for r in &recs {
        *got.entry(r.outcome).or_default() += 1;
    }
    assert_eq!(got, expected);
    let mut indices: Vec<u32> = recs.iter().map(|r| r.request_index).collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        (0..60).collect::<Vec<_>>(),
        "exactly one record per request"
    );
    for r in &recs {
        match r.outcome {
            Outcome::HttpError => assert_eq!(r.http_status, Some(500)),
            Outcome::RateLimited => {
                assert_eq!(r.http_status, Some(429));
                assert_eq!(r.retry_after_s, Some(1.0));
            }
            Outcome::Timeout => assert_eq!(r.timeout_kind, Some(TimeoutKind::Idle)),
            Outcome::Ok => assert_eq!(r.output_tokens, 20),
            _ => {}
        }
        if !r.outcome.is_ok() {
            assert!(
                r.error.as_deref().is_some_and(|e| !e.is_empty()),
                "failure without a cause: {r:?}"
            );
        }
        // The simulator keeps connections alive and refuses a re-sent request
        // again: the client's own reconnect only follows a refused pooled connection.
        if r.reconnects > 0 {
            assert_eq!(r.outcome, Outcome::ConnectError, "{r:?}");
        }
    }
    let s = summary(&dir);
    let outcomes = &s["points"][0]["summary"]["reliability"]["outcomes"];
    for (outcome, n) in &expected {
        assert_eq!(
            outcomes[outcome.as_str()].as_u64(),
            Some(*n as u64),
            "summary count of {outcome}"
        );
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A canary API key reaches the server but no file, log or message.
#[test]
fn api_key_never_appears_in_any_output() {
    let canary = "sk-canary-7f3a9c1e5b2d4f60";
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(
        tmp.path(),
        "canary.toml",
        r#"
schema = 1
[experiment]
name = "canary"
runs = 1
warmup = 1

[endpoints.sim]
simulator = { ttft_ms = 2, itl_ms = 1, faults = { seed = 2, http_500 = 0.3, stream_cut = 0.2 } }
api_key_env = "CANARY_TEST_API_KEY"

[scenarios.s]
spec = "D(8,8)"

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [8]
"#,
    );
    let out = bin()
        .arg("run")
        .arg(&manifest)
        .args(["--output"])
        .arg(tmp.path().join("out"))
        .arg("--log")
        .arg("debug")
        .env("CANARY_TEST_API_KEY", canary)
        .assert()
        .success();
    let o = out.get_output();
    assert!(!String::from_utf8_lossy(&o.stdout).contains(canary));
    assert!(!String::from_utf8_lossy(&o.stderr).contains(canary));
    let dir = run_dir(&tmp.path().join("out"), "canary");
    let all = files(&dir);
    assert!(all.len() >= 7, "{all:?}");
    for f in all {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "the API key leaked into {}",
            f.display()
        );
    }
    // The variable named by the manifest must be set: a clear preflight error naming it.
    bin()
        .arg("run")
        .arg(&manifest)
        .args(["--quiet", "--output"])
        .arg(tmp.path().join("out2"))
        .env_remove("CANARY_TEST_API_KEY")
        .assert()
        .code(4)
        .stderr(predicates::str::contains("CANARY_TEST_API_KEY"));
}

const LONG_MANIFEST: &str = r#"
schema = 1
[experiment]
name = "long"
runs = 3
warmup = 0

[endpoints.sim]
simulator = { ttft_ms = 5, itl_ms = 4 }

[scenarios.s]
spec = "D(8,50)"

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "concurrency"
concurrency = [2]
requests = 40
"#;

/// Polls `cond` every 20 ms for at most `limit` (bounded; no timing is asserted).
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn spool_lines(dir: &Path, needle: &str) -> usize {
    std::fs::read_to_string(dir.join("records.spool.jsonl"))
        .map(|s| s.lines().filter(|l| l.contains(needle)).count())
        .unwrap_or(0)
}

fn spawn_run(manifest: &Path, out: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("tokenomics"))
        .arg("run")
        .arg(manifest)
        .args(["--quiet", "--run-id", "r", "--output"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Ctrl-C stops sending, keeps what was measured, marks the results interrupted, exits 130.
#[test]
fn ctrl_c_writes_partial_results_and_exits_130() {
    stop_writes_partial_results(libc::SIGINT, 130);
}

/// SIGTERM (Kubernetes, systemd, `timeout`) and SIGHUP stop a run exactly like
/// a first Ctrl-C, with the conventional codes 143 and 129.
#[test]
fn sigterm_and_sighup_stop_like_ctrl_c() {
    stop_writes_partial_results(libc::SIGTERM, 143);
    stop_writes_partial_results(libc::SIGHUP, 129);
}

fn stop_writes_partial_results(signal: i32, code: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(tmp.path(), "long.toml", LONG_MANIFEST);
    let out = tmp.path().join("out");
    let mut child = spawn_run(&manifest, &out);
    let dir = out.join("long/r");
    assert!(
        wait_for(Duration::from_secs(60), || spool_lines(
            &dir,
            "\"kind\":\"record\""
        ) >= 5),
        "the run never produced records"
    );
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(i32::try_from(child.id()).unwrap(), signal);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(code), "signal {signal}");
    let s = summary(&dir);
    assert_eq!(s["interrupted"], true);
    let recs = records(&dir);
    assert!(
        recs.len() >= 5 && recs.len() < 120,
        "{} records",
        recs.len()
    );
    let mut ids: Vec<&str> = recs.iter().map(|r| r.request_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), recs.len(), "one record per request");
    assert!(recs
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Ok | Outcome::Cancelled)));
    assert!(dir.join("report.html").is_file());
}

/// After `kill -9`, `resume` recovers every spooled record and finishes the run.
#[test]
fn resume_recovers_a_killed_run() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(tmp.path(), "long.toml", LONG_MANIFEST);
    let out = tmp.path().join("out");
    let mut child = spawn_run(&manifest, &out);
    let dir = out.join("long/r");
    assert!(
        wait_for(Duration::from_secs(90), || spool_lines(
            &dir,
            "\"kind\":\"run_finished\""
        ) >= 1),
        "no run finished before the kill"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!dir.join("summary.json").exists());
    // The same --run-id again is refused, pointing to `resume`; the spool stays.
    let spool_len = std::fs::metadata(dir.join("records.spool.jsonl"))
        .unwrap()
        .len();
    bin()
        .arg("run")
        .arg(&manifest)
        .args(["--quiet", "--run-id", "r", "--output"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("tokenomics resume"));
    assert_eq!(
        std::fs::metadata(dir.join("records.spool.jsonl"))
            .unwrap()
            .len(),
        spool_len
    );
    let spooled = tokenomics::results::spool::read_spool(&dir.join("records.spool.jsonl")).unwrap();
    let before: Vec<String> = spooled
        .records
        .iter()
        .filter(|r| {
            spooled
                .runs
                .iter()
                .any(|run| run.finished.is_some() && run.started.run_index == r.run_index)
        })
        .map(|r| r.request_id.clone())
        .collect();
    assert!(
        before.len() >= 40,
        "a finished run holds 40 records, got {}",
        before.len()
    );

    bin().arg("resume").arg(&dir).assert().success();
    let recs = records(&dir);
    for id in &before {
        assert!(
            recs.iter().any(|r| &r.request_id == id),
            "record {id} lost by resume"
        );
    }
    let measured: Vec<_> = recs
        .iter()
        .filter(|r| !r.warmup && r.outcome.is_ok())
        .collect();
    assert_eq!(measured.len(), 120, "3 runs × 40 requests after resume");
    let s = summary(&dir);
    assert_eq!(s["interrupted"], false);
    assert_eq!(s["points"][0]["runs"].as_array().unwrap().len(), 3);
}

/// A stop during preflight is heard at once: an endpoint that accepts the
/// connection and never answers holds the preflight, and Ctrl-C ends the run
/// with 130 (not the preflight's failure, 4, after its timeout).
#[test]
fn ctrl_c_during_preflight_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let manifest = write(
        tmp.path(),
        "silent.toml",
        &format!(
            r#"
schema = 1
[experiment]
name = "silent"
[endpoints.e]
base_url = "http://127.0.0.1:{port}/v1"
model = "m"
[scenarios.s]
spec = "D(8,8)"
[[grid]]
endpoints = ["e"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [1]
"#
        ),
    );
    let out = tmp.path().join("out");
    let mut child = spawn_run(&manifest, &out);
    // The preflight's connection arrives: the run is waiting on it.
    let (_conn, _) = silent.accept().unwrap();
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(i32::try_from(child.id()).unwrap(), libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(summary(&out.join("silent/r"))["interrupted"], true);
}
