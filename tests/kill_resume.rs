//! Any number of stops, nothing lost and nothing counted twice: a run and its
//! resumes are killed with SIGKILL at random moments (several seeds), then
//! resumed to the end, finalized and resumed again. The outputs must hold
//! exactly one final record per planned request, every warmup once, and only
//! requests the server really received (its own request log).
//!
//! Its own test binary: it starts `tokenomics simulate` on a free loopback
//! port and several `tokenomics` processes, bounded in requests and time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("tokenomics")
}

/// A small deterministic generator (SplitMix64) for the kill moments.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

struct Simulator {
    child: Child,
    base_url: String,
    log: PathBuf,
}

impl Simulator {
    fn start(dir: &Path) -> Simulator {
        let log = dir.join("sim-log.jsonl");
        let mut child = Command::new(bin())
            .args(["simulate", "--port", "0", "--ttft-ms", "5", "--itl-ms", "2"])
            .arg("--request-log")
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tokenomics simulate starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("address line");
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Simulator {
            child,
            base_url,
            log,
        }
    }

    /// Stops it with SIGINT and reads the request ids it received.
    fn stop(mut self) -> BTreeSet<String> {
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(i32::try_from(self.child.id()).unwrap(), libc::SIGINT);
        }
        self.child.wait().unwrap();
        std::fs::read_to_string(&self.log)
            .expect("request log")
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["request_id"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn manifest(base_url: &str) -> String {
    format!(
        r#"
schema = 1
[experiment]
name = "kr"
runs = 3
warmup = 2

[endpoints.sim]
base_url = "{base_url}"
model = "sim-model"

[scenarios.s]
spec = "D(8,12)"

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [4]

[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "concurrency"
concurrency = [2]
requests = 12
"#
    )
}

/// Starts `args` and SIGKILLs it after `after`, unless it ends first.
/// Returns true when it was killed.
fn run_and_kill(args: &[&str], dir: &Path, after: Duration) -> bool {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if start.elapsed() >= after {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// (point, run, request, turn, warmup): one planned request.
type Request = (u32, u32, u32, u32, bool);

/// The last attempt of a request: (attempt, request id, succeeded).
type LastAttempt = (u32, String, bool);

/// Every request with a final record, and the request ids of the successful
/// ones, read from the outputs.
fn outputs(run: &Path) -> (Vec<Request>, Vec<String>) {
    let records = tokenomics::results::parquet::read_records(&run.join("requests.parquet"))
        .expect("requests.parquet");
    let mut last: BTreeMap<Request, LastAttempt> = BTreeMap::new();
    let mut identities = BTreeSet::new();
    for r in &records {
        let id = (
            r.point_index,
            r.run_index,
            r.request_index,
            r.turn,
            r.warmup,
        );
        assert!(
            identities.insert((id, r.attempt)),
            "record {id:?} attempt {} written twice",
            r.attempt
        );
        let e = last.entry(id).or_insert((0, String::new(), false));
        if r.attempt >= e.0 {
            *e = (r.attempt, r.request_id.clone(), r.outcome.is_ok());
        }
    }
    let ok = last
        .values()
        .filter(|(_, _, ok)| *ok)
        .map(|(_, id, _)| id.clone())
        .collect();
    (last.into_keys().collect(), ok)
}

#[test]
fn killed_runs_and_resumes_end_with_one_record_per_request() {
    for seed in [1u64, 2, 3] {
        let tmp = tempfile::tempdir().unwrap();
        let sim = Simulator::start(tmp.path());
        std::fs::write(tmp.path().join("kr.toml"), manifest(&sim.base_url)).unwrap();
        let run = tmp.path().join("results/kr/r");
        let mut rng = Rng(seed);

        // The run, killed once its spool exists plus a random moment.
        let run_args = ["run", "kr.toml", "--quiet", "--run-id", "r"];
        let mut child = Command::new(bin())
            .args(run_args)
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !run.join("records.spool.jsonl").exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        let _ = child.kill();
        child.wait().unwrap();

        // Resumes, each killed at a random moment (or let finish), and a
        // finalize now and then.
        let resume = ["resume", "results/kr/r"];
        let finalize = ["resume", "results/kr/r", "--finalize-only"];
        for _ in 0..4 {
            if rng.below(3) == 0 {
                run_and_kill(&finalize, tmp.path(), Duration::from_secs(60));
            }
            run_and_kill(
                &resume,
                tmp.path(),
                Duration::from_millis(100 + rng.below(500)),
            );
        }
        // Then to the end, finalized and resumed again: nothing changes.
        let status = Command::new(bin())
            .args(resume)
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0), "seed {seed}: the last resume");
        let (first, first_ok) = outputs(&run);
        for args in [&finalize[..], &resume[..]] {
            let status = Command::new(bin())
                .args(args)
                .current_dir(tmp.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert_eq!(status.code(), Some(0), "seed {seed}: {args:?}");
            assert_eq!(
                outputs(&run),
                (first.clone(), first_ok.clone()),
                "seed {seed}: {args:?}"
            );
        }

        // Exactly the planned requests: 2 points × 3 runs × (4 | 12), and 2
        // warmups per point.
        let measured: Vec<_> = first.iter().filter(|k| !k.4).collect();
        let warmups: Vec<_> = first.iter().filter(|k| k.4).collect();
        assert_eq!(measured.len(), 3 * 4 + 3 * 12, "seed {seed}");
        assert_eq!(warmups.len(), 2 * 2, "seed {seed}: {warmups:?}");
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["interrupted"], false, "seed {seed}");
        for p in summary["points"].as_array().unwrap() {
            assert_eq!(p["runs"].as_array().unwrap().len(), 3, "seed {seed}");
        }
        // Every success was received by the server.
        let received = sim.stop();
        for id in &first_ok {
            assert!(
                received.contains(id),
                "seed {seed}: {id} never reached the server"
            );
        }
        assert_eq!(
            first_ok.len(),
            first.len(),
            "seed {seed}: every request succeeded"
        );
    }
}
