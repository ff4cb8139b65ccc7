//! The `run` and `resume` commands around [`run`]: the results
//! directory check, Ctrl-C, what is printed at the end and the exit code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{run, RunOptions, RunOutcome};
use crate::error::{exit, Error};
use crate::plan::Plan;
use crate::progress;
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
/// returns the exit code (0, 5 above `max_failure_rate`, 130 interrupted).
///
/// # Errors
/// [`Error::Usage`] when the directory already holds a finished run; any
/// error of [`run`].
pub async fn run_plan(plan: Plan, request: RunRequest) -> Result<i32, Error> {
    if ResultsDir::new(&request.dir).holds_finished_run() {
        return Err(Error::Usage {
            message: format!(
                "results directory `{}` already holds a finished run",
                request.dir.display()
            ),
            hint: Some("choose another --run-id, or remove the directory".into()),
        });
    }
    let cancel = CancellationToken::new();
    install_ctrl_c(cancel.clone());
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
    };
    finish(run(plan, opts).await?, request.quiet, request.json)
}

/// `tokenomics resume`: recovers the spooled records of `dir`; with
/// `finalize_only` writes the results of the complete runs, else runs what
/// is missing. Returns the exit code as [`run_plan`] does.
///
/// # Errors
/// When `dir` holds no readable plan or spool; any error of [`run`].
pub async fn resume(dir: &Path, finalize_only: bool) -> Result<i32, Error> {
    let mut recovered = recover(dir)?;
    progress::print_recovered(&recovered);
    if finalize_only {
        recovered.keep_only_done();
    }
    let cancel = CancellationToken::new();
    install_ctrl_c(cancel.clone());
    let opts = RunOptions {
        dir: dir.to_path_buf(),
        preflight: !finalize_only,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        cancel,
        grace: GRACE,
        command: std::env::args().collect(),
        done: recovered.done,
        done_server_metrics: recovered.done_server_metrics,
    };
    finish(run(recovered.plan, opts).await?, false, false)
}

/// Prints the outcome and chooses the exit code: 130 when interrupted, 5 when
/// the failure rate exceeded `max_failure_rate`, else 0.
fn finish(outcome: RunOutcome, quiet: bool, json: bool) -> Result<i32, Error> {
    progress::print_results(&outcome.results, &outcome.dir, quiet, json).map_err(|source| {
        Error::Encode {
            what: "the summaries",
            source,
        }
    })?;
    if outcome.results.interrupted {
        progress::print_interrupted();
        return Ok(exit::INTERRUPTED);
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

/// Ctrl-C: the first one cancels the run (stop sending, finish in-flight requests
/// within the grace period, write everything); a second one exits at once with
/// code 130 — the spool is flushed regularly, so what was measured stays on disk.
pub fn install_ctrl_c(cancel: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: no new requests; finishing in-flight ones and writing results (Ctrl-C again to quit now)");
            cancel.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted twice: exiting; records so far are in records.spool.jsonl");
                std::process::exit(exit::INTERRUPTED);
            }
        }
    });
}
