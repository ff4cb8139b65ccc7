//! The `run` and `resume` commands around [`run`]: the results
//! directory check, stop signals (Ctrl-C, SIGTERM, SIGHUP), what is printed at
//! the end and the exit code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{run, RunOptions, RunOutcome};
use crate::error::{exit, Error};
use crate::plan::Plan;
use crate::progress;
use crate::results::layout::SPOOL_FILE;
use crate::results::resume::recover;
use crate::results::ResultsDir;

/// How long in-flight requests may take to finish after Ctrl-C.
const GRACE: Duration = Duration::from_secs(10);

/// What `tokenomics run` was asked to do besides the plan.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// The run's directory (see `crate::results::run_dir`); must not hold a finished run.
    pub dir: PathBuf,
    /// Check endpoints before sending load.
    pub preflight: bool,
    /// Print only the paths (`--quiet`).
    pub quiet: bool,
    /// Print the summaries as JSON (`--json`).
    pub json: bool,
}

/// `tokenomics run`: runs `plan` into `request.dir`, prints the outcome and
/// returns the exit code (0, 5 above `max_failure_rate`, 130/143/129 when a
/// stop signal interrupted it).
///
/// # Errors
/// [`Error::Usage`] when the directory already holds a finished or an
/// unfinished run; any error of [`run`].
pub async fn run_plan(plan: Plan, request: RunRequest) -> Result<i32, Error> {
    let existing = ResultsDir::new(&request.dir);
    if existing.holds_finished_run() {
        return Err(Error::Usage {
            message: format!(
                "results directory `{}` already holds a finished run",
                request.dir.display()
            ),
            hint: Some("choose another --run-id, or remove the directory".into()),
        });
    }
    if existing.holds_unfinished_run() {
        return Err(Error::Usage {
            message: format!(
                "results directory `{}` holds a run that did not finish (its records are in {SPOOL_FILE})",
                request.dir.display()
            ),
            hint: Some(format!(
                "continue it with `tokenomics resume {}` (or `--finalize-only` to write what it has), or choose another --run-id",
                request.dir.display()
            )),
        });
    }
    let cancel = CancellationToken::new();
    let stop = install_stop_signals(cancel.clone());
    let show_progress =
        !request.quiet && !request.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let opts = RunOptions {
        dir: request.dir,
        preflight: request.preflight,
        progress: show_progress,
        cancel,
        grace: GRACE,
        command: std::env::args().collect(),
        done: std::collections::BTreeMap::new(),
        done_server_metrics: Vec::new(),
        warmups: std::collections::BTreeMap::new(),
        finalize_only: false,
        generation: 1,
    };
    finish(run(plan, opts).await?, request.quiet, request.json, &stop)
}

/// `tokenomics resume`: recovers the spooled records of `dir`; with
/// `finalize_only` writes what the spool holds (0 even when runs are missing:
/// the results say `interrupted`), else measures what is missing. Returns the
/// exit code as [`run_plan`] does.
///
/// # Errors
/// When `dir` holds no readable plan or spool; any error of [`run`].
pub async fn resume(dir: &Path, finalize_only: bool) -> Result<i32, Error> {
    let mut recovered = recover(dir)?;
    progress::print_recovered(&recovered);
    if finalize_only && !recovered.finalize() {
        eprintln!(
            "resume: some planned runs were not measured; the results are marked interrupted \
             (`tokenomics resume {}` measures them)",
            dir.display()
        );
    }
    let cancel = CancellationToken::new();
    let stop = install_stop_signals(cancel.clone());
    let opts = RunOptions {
        dir: dir.to_path_buf(),
        preflight: !finalize_only,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        cancel,
        grace: GRACE,
        command: std::env::args().collect(),
        done: recovered.done,
        done_server_metrics: recovered.done_server_metrics,
        warmups: recovered.warmups,
        finalize_only,
        generation: recovered.generations.saturating_add(1),
    };
    let outcome = run(recovered.plan, opts).await?;
    if finalize_only {
        // Finalizing is not an interruption: it wrote what there is.
        print_outcome(&outcome, false, false)?;
        return Ok(exit::OK);
    }
    finish(outcome, false, false, &stop)
}

fn print_outcome(outcome: &RunOutcome, quiet: bool, json: bool) -> Result<(), Error> {
    if !outcome.written {
        eprintln!(
            "stopped before measuring: nothing was written; `{}` is as it was (`tokenomics resume {}` continues it)",
            outcome.dir.path.display(),
            outcome.dir.path.display()
        );
        return Ok(());
    }
    progress::print_results(&outcome.results, &outcome.dir, quiet, json).map_err(|source| {
        Error::Encode {
            what: "the summaries",
            source,
        }
    })
}

/// Prints the outcome and chooses the exit code: the stop signal's code when
/// interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), 5 when the failure rate
/// exceeded `max_failure_rate`, else 0.
fn finish(outcome: RunOutcome, quiet: bool, json: bool, stop: &StopSignal) -> Result<i32, Error> {
    print_outcome(&outcome, quiet, json)?;
    if outcome.results.interrupted {
        progress::print_interrupted();
        return Ok(stop.exit_code());
    }
    if let Some(rate) = outcome.failure_rate_exceeded {
        let max = outcome
            .results
            .plan
            .experiment
            .max_failure_rate
            .unwrap_or(0.0);
        progress::print_failure_rate(rate, max);
        return Ok(exit::FAILURE_THRESHOLD);
    }
    Ok(exit::OK)
}

/// Which signal stopped the run, if any: its exit code is 128 + its number.
#[derive(Clone, Debug, Default)]
pub struct StopSignal(std::sync::Arc<std::sync::atomic::AtomicI32>);

impl StopSignal {
    /// The exit code of an interrupted run: that of the first stop signal,
    /// 130 when none was received (a stop for another reason).
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self.0.load(std::sync::atomic::Ordering::SeqCst) {
            0 => exit::INTERRUPTED,
            code => code,
        }
    }

    fn record(&self, code: i32) {
        let _ = self.0.compare_exchange(
            0,
            code,
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
        );
    }
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP: the first one cancels the run (stop
/// sending, finish in-flight requests within the grace period, write
/// everything, exit 130, 143 or 129); a second one exits at once with that code
/// after flushing nothing more — the spool is flushed regularly, so what was
/// measured stays on disk and `tokenomics resume` finishes the run.
pub fn install_stop_signals(cancel: CancellationToken) -> StopSignal {
    let stop = StopSignal::default();
    let seen = stop.clone();
    tokio::spawn(async move {
        let mut signals = StopSignals::new();
        let Some(code) = signals.next().await else {
            return;
        };
        seen.record(code);
        eprintln!("\n{}: no new requests; finishing in-flight ones and writing results (again to quit now)", signal_name(code));
        cancel.cancel();
        if let Some(again) = signals.next().await {
            eprintln!(
                "{} again: exiting; records so far are in records.spool.jsonl",
                signal_name(again)
            );
            std::process::exit(code);
        }
    });
    stop
}

fn signal_name(code: i32) -> &'static str {
    match code {
        143 => "SIGTERM",
        129 => "SIGHUP",
        _ => "interrupted",
    }
}

/// The stop signals this platform has, as one stream of exit codes.
struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            StopSignals {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// The exit code of the next stop signal (None when none can arrive).
    async fn next(&mut self) -> Option<i32> {
        #[cfg(unix)]
        {
            let term = async {
                match self.term.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let hup = async {
                match self.hup.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = tokio::signal::ctrl_c() => r.ok().map(|()| exit::INTERRUPTED),
                Some(()) = term => Some(exit::TERMINATED),
                Some(()) = hup => Some(exit::HANGUP),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .ok()
                .map(|()| exit::INTERRUPTED)
        }
    }
}
