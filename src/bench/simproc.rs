//! The simulator in its own process: `<exe> simulate --port 0 …`, pinned to its
//! own CPUs, stopped by pid.
//!
//! * The child is started with `kill_on_drop`, so any early return or error of
//!   the benchmark kills it, and with `PR_SET_PDEATHSIG = SIGKILL`, so it also
//!   dies when the benchmark process is killed outright.
//! * Its CPU affinity is set between `fork` and `exec` (`sched_setaffinity` in
//!   `pre_exec`), so every thread it ever starts inherits it, and its tokio
//!   runtime sizes itself to those CPUs.
//! * The address is the one it prints on stdout (`listening on http://…/v1`).
//! * [`SimProcess::stop_and_take_log`] sends SIGINT: `tokenomics simulate` then
//!   writes its per-request log (`--request-log`, JSON lines of
//!   [`SimRequestLog`]) and exits; the log is read back and deleted.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, Command};

use super::system;
use crate::error::Error;
use crate::simulator::SimRequestLog;

/// Longest wait for the simulator to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for the simulator to write its log and exit after SIGINT.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of the simulator's stderr kept for error messages.
const STDERR_KEEP: usize = 4096;

/// How to start the simulator process.
#[derive(Clone, Debug)]
pub struct SimSetup {
    /// The `tokenomics` executable (its `simulate` subcommand is used).
    pub exe: PathBuf,
    /// CPUs to pin the simulator to; empty = not pinned.
    pub cpus: Vec<usize>,
}

/// The simulator's timing for one run (`SimTiming::Fixed`).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct SimTimingArgs {
    /// `--ttft-ms`.
    pub ttft_ms: f64,
    /// `--itl-ms`.
    pub itl_ms: f64,
}

/// A running simulator child process.
#[derive(Debug)]
pub struct SimProcess {
    child: Child,
    pid: u32,
    base_url: String,
    log_path: Option<PathBuf>,
    stderr: Arc<Mutex<Vec<u8>>>,
    exe: PathBuf,
}

impl SimProcess {
    /// Starts `<exe> simulate --port 0 --ttft-ms … --itl-ms … [--log <tmp>]` and
    /// waits for its address.
    ///
    /// # Errors
    /// When the executable cannot be started, exits early, or prints no address
    /// within 30 s; the message includes what it wrote to stderr.
    pub async fn start(
        setup: &SimSetup,
        timing: SimTimingArgs,
        with_log: bool,
    ) -> Result<SimProcess, Error> {
        let log_path = with_log.then(temp_log_path);
        let mut cmd = Command::new(&setup.exe);
        cmd.arg("simulate")
            .args(["--port", "0"])
            .args(["--ttft-ms", &timing.ttft_ms.to_string()])
            .args(["--itl-ms", &timing.itl_ms.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(path) = &log_path {
            cmd.arg("--request-log").arg(path);
        }
        let set = if setup.cpus.is_empty() {
            None
        } else {
            Some(
                system::cpu_set(&setup.cpus)
                    .map_err(|e| bench_error(format!("simulator CPUs {:?}: {e}", setup.cpus)))?,
            )
        };
        // SAFETY: between fork and exec only async-signal-safe system calls are
        // made (sched_setaffinity, prctl) on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(set) = &set {
                    if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) != 0
                    {
                        return Err(io::Error::last_os_error());
                    }
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            bench_error(format!(
                "cannot start the simulator `{} simulate`: {e}",
                setup.exe.display()
            ))
        })?;
        let pid = child
            .id()
            .ok_or_else(|| bench_error("the simulator process exited at once".to_owned()))?;

        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut err) = child.stderr.take() {
            let keep = Arc::clone(&stderr);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut kept = keep.lock().unwrap_or_else(PoisonError::into_inner);
                    kept.extend_from_slice(&buf[..n]);
                    let over = kept.len().saturating_sub(STDERR_KEEP);
                    kept.drain(..over);
                }
            });
        }

        let mut proc = SimProcess {
            child,
            pid,
            base_url: String::new(),
            log_path,
            stderr,
            exe: setup.exe.clone(),
        };
        let Some(stdout) = proc.child.stdout.take() else {
            return Err(proc.failure("its stdout is not readable").await);
        };
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        match tokio::time::timeout(START_TIMEOUT, reader.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return Err(proc.failure("it exited before printing its address").await),
            Err(_) => return Err(proc.failure("it printed no address within 30 s").await),
        }
        match parse_address(&line) {
            Some(url) => proc.base_url = url,
            None => {
                let what = format!("unexpected first line `{}`", line.trim());
                return Err(proc.failure(&what).await);
            }
        }
        Ok(proc)
    }

    /// `http://127.0.0.1:PORT/v1`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The child's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// CPU time (user + system) of the simulator so far, in ns (see [`system::pid_cpu_ns`]).
    #[must_use]
    pub fn cpu_ns(&self) -> Option<u64> {
        system::pid_cpu_ns(self.pid)
    }

    /// Kills the simulator (SIGKILL) and reaps it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
        self.remove_log();
    }

    /// Sends SIGINT, waits for the simulator to write its log and exit, and
    /// returns the log (every request that ended before SIGINT).
    ///
    /// # Errors
    /// When the simulator was started without a log, does not exit within 60 s
    /// (it is then killed), exits with an error, or its log cannot be read.
    pub async fn stop_and_take_log(mut self) -> Result<Vec<SimRequestLog>, Error> {
        let Some(path) = self.log_path.clone() else {
            self.kill().await;
            return Err(bench_error(
                "the simulator was started without a request log".to_owned(),
            ));
        };
        let pid = libc::pid_t::try_from(self.pid)
            .map_err(|_| bench_error(format!("pid {} out of range", self.pid)))?;
        // SAFETY: kill(2) on our own child's pid; the child is not reaped yet
        // (we own its handle), so the pid cannot have been reused.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
        let status = match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => {
                let err = self.failure(&format!("waiting for it failed: {e}")).await;
                self.remove_log();
                return Err(err);
            }
            Err(_) => {
                let err = self.failure("it did not exit within 60 s of SIGINT").await;
                self.remove_log();
                return Err(err);
            }
        };
        if !status.success() {
            let err = self
                .failure(&format!("it exited with {status} after SIGINT"))
                .await;
            self.remove_log();
            return Err(err);
        }
        let log = read_log(&path);
        self.remove_log();
        log
    }

    fn remove_log(&mut self) {
        if let Some(path) = self.log_path.take() {
            let _ = std::fs::remove_file(path);
        }
    }

    /// An error about the simulator, with its stderr; kills it.
    async fn failure(&mut self, what: &str) -> Error {
        let _ = self.child.kill().await;
        // Let the stderr reader take what was left in the pipe.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = stderr.trim();
        let tail = if stderr.is_empty() {
            String::new()
        } else {
            format!("; its stderr: {stderr}")
        };
        bench_error(format!(
            "simulator process {} (`{} simulate`): {what}{tail}",
            self.pid,
            self.exe.display()
        ))
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        // `kill_on_drop` kills the child; the log file is ours to remove.
        self.remove_log();
    }
}

/// The base URL in `listening on http://127.0.0.1:PORT/v1`.
fn parse_address(line: &str) -> Option<String> {
    let url = line.trim().strip_prefix("listening on ")?.trim();
    (url.starts_with("http://") && url.len() > "http://".len()).then(|| url.to_owned())
}

/// A fresh path in the temporary directory for one simulator log.
fn temp_log_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "tokenomics-bench-{}-{n}-{}.jsonl",
        std::process::id(),
        crate::clock::now_ns()
    ))
}

/// Reads a simulator log (JSON lines of [`SimRequestLog`]).
///
/// # Errors
/// When the file cannot be read or a line is not a log entry; the message names
/// the file and the line.
pub fn read_log(path: &Path) -> Result<Vec<SimRequestLog>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        bench_error(format!(
            "cannot read the simulator log {}: {e}",
            path.display()
        ))
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                bench_error(format!(
                    "simulator log {} line {}: not a request entry: {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// A `bench-client` setup or measurement error with its message.
fn bench_error(message: String) -> Error {
    Error::Bench {
        message,
        hint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_line_is_parsed() {
        assert_eq!(
            parse_address("listening on http://127.0.0.1:4321/v1\n").as_deref(),
            Some("http://127.0.0.1:4321/v1")
        );
        assert_eq!(parse_address("error: something"), None);
        assert_eq!(parse_address("listening on http://"), None);
    }

    #[test]
    fn log_lines_round_trip_and_bad_lines_name_the_line() {
        let dir = std::env::temp_dir().join(format!("tk-bench-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("log.jsonl");
        let entry = SimRequestLog {
            seq: 0,
            request_id: Some("b-0-0".into()),
            path: "/v1/chat/completions".into(),
            stream: true,
            arrival_ns: 10,
            first_byte_ns: Some(11),
            token_ns: vec![12, 13],
            prompt_tokens: 3,
            status: Some(200),
            fault: None,
            completed: true,
        };
        crate::simulator::write_log(&path, std::slice::from_ref(&entry)).expect("write");
        assert_eq!(read_log(&path).expect("read"), vec![entry]);
        std::fs::write(&path, "{\"seq\":0}\nnot json\n").expect("write");
        let err = read_log(&path).expect_err("bad lines").to_string();
        assert!(err.contains("line 1"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
