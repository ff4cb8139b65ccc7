//! Command dispatch: turns a parsed [`Cli`] into work and an exit code.
//!
//! `main.rs` only calls [`main_entry`]; tests call [`run_command`] in-process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, ManifestArgs};
use crate::error::{exit, Error};
use crate::manifest::{self, LoadOptions};
use crate::plan::{self, Plan, PlanOptions};
use crate::vocab::name::{check_name, NameKind};

/// Parses the command line, runs the command, prints errors, returns the exit code.
#[must_use]
pub fn main_entry() -> i32 {
    use clap::Parser;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    init_tracing(&cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::INTERNAL;
        }
    };
    match runtime.block_on(run_command(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            print_error(&e);
            e.exit_code()
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints `error: …`, then every cause as `  caused by: …`, then the hint.
pub fn print_error(e: &Error) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let _ = writeln!(err, "  caused by: {s}");
        source = s.source();
    }
    if let Some(hint) = e.hint() {
        let _ = writeln!(err, "  hint: {hint}");
    }
}

/// Runs one command. Returns the exit code for non-error endings (0, 5, 7, 130).
///
/// # Errors
/// Any [`Error`]; its `exit_code` is the process exit code.
pub async fn run_command(command: Command) -> Result<i32, Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match command {
        Command::Run(args) => run(args).await,
        Command::Validate(args) => {
            let mut failed = None;
            for path in &args.manifests {
                let opts = LoadOptions {
                    overrides: args.set.clone(),
                };
                match manifest::load(path, &opts)
                    .map_err(Error::from)
                    .and_then(|m| plan::build(&m, &PlanOptions::default()).map_err(Error::from))
                {
                    Ok(plan) => {
                        let (total, warmup) = total_requests(&plan);
                        println!(
                            "ok: {} ({} point(s), {total} request(s), {warmup} of them warmup)",
                            path.display(),
                            plan.points.len(),
                        );
                    }
                    Err(e) => {
                        print_error(&e);
                        failed = Some(e.exit_code());
                    }
                }
            }
            Ok(failed.unwrap_or(exit::OK))
        }
        Command::Plan(args) => {
            let plan = load_plan(&args.manifest)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&plan).map_err(|source| Error::Encode {
                        what: "the plan",
                        source,
                    })?
                );
            } else {
                print!("{}", plan::render_table(&plan));
            }
            Ok(exit::OK)
        }
        Command::Report(args) => {
            let results = crate::sink::read::read_results(&args.results)?;
            let dir = crate::sink::ResultsDir::new(&args.results);
            crate::sink::write_reports(&dir, &results)?;
            println!("report: {}", dir.file("report.html").display());
            Ok(exit::OK)
        }
        Command::Compare(args) => {
            let outcome = crate::compare::run_compare(&args)?;
            Ok(if outcome.regression {
                exit::REGRESSION
            } else {
                exit::OK
            })
        }
        Command::Simulate(args) => {
            let config = args.sim_config()?;
            crate::simulator::serve_until_ctrl_c(config, args.port, args.log.as_deref())
                .await
                .map_err(|source| Error::Process {
                    what: "the simulator stopped".into(),
                    source,
                })?;
            Ok(exit::OK)
        }
        Command::Fetch(args) => {
            let plan = load_plan(&args.manifest)?;
            let fetched = crate::dataset::fetch(&plan).await?;
            for f in &fetched {
                println!("fetched: {f}");
            }
            println!("{} item(s) in the Hugging Face cache", fetched.len());
            Ok(exit::OK)
        }
        Command::Resume(args) => resume(&args.results, args.finalize_only).await,
        Command::Merge(args) => {
            let out = crate::sink::merge::merge(&args.inputs, &args.output)?;
            println!(
                "merged {} shard(s) into {}",
                args.inputs.len(),
                out.display()
            );
            Ok(exit::OK)
        }
        Command::BenchClient(args) => crate::bench::run(&args).await,
        Command::Init(args) => crate::init::run(&args).await,
        Command::Schema(args) => crate::schema::run(&args),
        Command::Completions(args) => crate::completions::run_completions(args.shell),
        Command::Man(args) => crate::completions::run_man(&args),
    }
}

/// `(requests, of which warmup)` over the plan: the same count `plan` prints.
fn total_requests(plan: &Plan) -> (u64, u64) {
    let total = plan.points.iter().map(plan::matrix::total_requests).sum();
    let warmup = plan.points.iter().map(|p| u64::from(p.warmup)).sum();
    (total, warmup)
}

/// Loads, validates and expands a manifest.
///
/// # Errors
/// Manifest and plan errors.
pub fn load_plan(args: &ManifestArgs) -> Result<Plan, Error> {
    let m = manifest::load(
        &args.manifest,
        &LoadOptions {
            overrides: args.set.clone(),
        },
    )?;
    let shard = args.shard()?;
    Ok(plan::build(
        &m,
        &PlanOptions {
            allow_large: args.allow_large,
            shard,
        },
    )?)
}

/// Ctrl-C: the first one cancels the run (stop sending, finish in-flight requests
/// within the grace period, write everything); a second one exits at once with
/// code 130 — the spool is flushed regularly, so what was measured stays on disk.
fn install_ctrl_c(cancel: CancellationToken) {
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

/// The run's directory: `<results root>/<experiment name>/<run id>`.
///
/// Both names are single path components (letters, digits, `_`, `-` and `.`,
/// starting with a letter or digit, at most 64 bytes), so a run never writes
/// outside its results root: the experiment name is checked when the manifest
/// is validated, a `--run-id` here (the default is a UTC timestamp).
fn run_dir(root: &Path, experiment: &str, run_id: Option<String>) -> Result<PathBuf, Error> {
    let id = run_id.unwrap_or_else(|| chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string());
    for (kind, what, name) in [
        (NameKind::Experiment, "experiment.name", experiment),
        (NameKind::Run, "--run-id", id.as_str()),
    ] {
        check_name(kind, name).map_err(|e| Error::Usage {
            message: format!("{what}: {}", e.message),
            hint: Some(e.hint.to_owned()),
        })?;
    }
    Ok(root.join(experiment).join(id))
}

async fn run(args: crate::cli::RunArgs) -> Result<i32, Error> {
    let plan = load_plan(&args.manifest)?;
    let root = args
        .output
        .clone()
        .unwrap_or_else(|| plan.experiment.output_root.clone());
    let dir = run_dir(&root, &plan.experiment.name, args.run_id.clone())?;
    if dir.join("summary.json").exists() {
        return Err(Error::Usage {
            message: format!(
                "results directory `{}` already holds a finished run",
                dir.display()
            ),
            hint: Some("choose another --run-id, or remove the directory".into()),
        });
    }
    let cancel = CancellationToken::new();
    install_ctrl_c(cancel.clone());
    let show_progress =
        !args.quiet && !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let opts = crate::runner::RunOptions {
        dir,
        preflight: !args.no_preflight,
        progress: show_progress,
        cancel,
        grace: Duration::from_secs(10),
        command: std::env::args().collect(),
        done: std::collections::BTreeMap::new(),
        done_server_metrics: Vec::new(),
    };
    finish(crate::runner::run(plan, opts).await?, args.quiet, args.json)
}

fn finish(outcome: crate::runner::RunOutcome, quiet: bool, json: bool) -> Result<i32, Error> {
    if json {
        let summaries: Vec<_> = outcome.results.points.iter().map(|p| &p.summary).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&summaries).map_err(|source| Error::Encode {
                what: "the summaries",
                source,
            })?
        );
    } else if !quiet {
        print!(
            "{}",
            crate::progress::summary_table(&outcome.results.points)
        );
        for s in &outcome.results.searches {
            match &s.answer {
                Some(a) => println!(
                    "search {} ({}): {} — {}",
                    s.spec.id,
                    s.spec.kind.mode_name(),
                    a.value
                        .map_or_else(|| "no answer".to_owned(), crate::plan::format_value),
                    a.note
                ),
                None => println!("search {}: not finished", s.spec.id),
            }
        }
    }
    if !json {
        println!("results: {}", outcome.dir.path.display());
        println!("report:  {}", outcome.dir.file("report.html").display());
    }
    if outcome.results.interrupted {
        eprintln!("run interrupted: partial results written");
        return Ok(exit::INTERRUPTED);
    }
    if let Some(rate) = outcome.failure_rate_exceeded {
        eprintln!(
            "error: {:.1}% of measured requests failed, above max_failure_rate {:.1}%",
            rate * 100.0,
            outcome
                .results
                .plan
                .experiment
                .max_failure_rate
                .unwrap_or(0.0)
                * 100.0
        );
        return Ok(exit::FAILURE_THRESHOLD);
    }
    Ok(exit::OK)
}

/// Runs of the spool that finished without interruption, with their records
/// and the context to summarise them.
fn completed_runs(
    plan: &Plan,
    spool: &crate::sink::spool::SpoolContents,
) -> std::collections::BTreeMap<
    (u32, u32),
    (
        Vec<crate::record::RequestRecord>,
        crate::metrics::RunContext,
    ),
> {
    let mut done = std::collections::BTreeMap::new();
    for run in &spool.runs {
        let Some(fin) = &run.finished else { continue };
        if fin.interrupted {
            continue;
        }
        let key = (run.started.point_index, run.started.run_index);
        let records: Vec<_> = spool
            .records
            .iter()
            .filter(|r| !r.warmup && (r.point_index, r.run_index) == key)
            .cloned()
            .collect();
        let ctx = run.run_context(&plan.experiment, &records);
        done.insert(key, (records, ctx));
    }
    done
}

/// `tokenomics resume`: recover spooled records; finalise, or run what is missing.
async fn resume(dir: &Path, finalize_only: bool) -> Result<i32, Error> {
    let plan_bytes = std::fs::read(dir.join("plan.json")).map_err(|e| Error::Results {
        message: format!(
            "cannot read `{}`: {e} (is this a tokenomics results directory?)",
            dir.join("plan.json").display()
        ),
    })?;
    let plan: Plan = serde_json::from_slice(&plan_bytes).map_err(|e| Error::Results {
        message: format!(
            "`{}` is not a valid plan: {e}",
            dir.join("plan.json").display()
        ),
    })?;
    let spool = crate::sink::spool::read_spool(&dir.join("records.spool.jsonl"))?;
    if spool.skipped_lines > 0 {
        eprintln!(
            "resume: skipped {} damaged spool line(s) (a write cut by the crash)",
            spool.skipped_lines
        );
    }
    let done = completed_runs(&plan, &spool);
    // Samples scraped during the runs that are kept (the others are run again).
    let done_server_metrics: Vec<_> = spool
        .server_metrics
        .iter()
        .filter(|m| done.contains_key(&(m.point_index, m.run_index)))
        .cloned()
        .collect();
    eprintln!(
        "resume: recovered {} record(s), {} complete run(s)",
        spool.records.len(),
        done.len()
    );
    let mut plan = plan;
    if finalize_only {
        let keep: std::collections::BTreeSet<u32> = done.keys().map(|(p, _)| *p).collect();
        plan.points
            .retain(|p| keep.contains(&u32::try_from(p.index).unwrap_or(u32::MAX)));
        for p in &mut plan.points {
            let idx = u32::try_from(p.index).unwrap_or(u32::MAX);
            p.runs = done.keys().filter(|(pi, _)| *pi == idx).count() as u32;
        }
    }
    let cancel = CancellationToken::new();
    install_ctrl_c(cancel.clone());
    let opts = crate::runner::RunOptions {
        dir: dir.to_path_buf(),
        preflight: !finalize_only,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        cancel,
        grace: Duration::from_secs(10),
        command: std::env::args().collect(),
        done,
        done_server_metrics,
    };
    finish(crate::runner::run(plan, opts).await?, false, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dir_is_root_experiment_run_id() {
        let dir = run_dir(Path::new("out"), "demo", Some("r1.2".into())).expect("valid");
        assert_eq!(dir, Path::new("out/demo/r1.2"));
        // The default id is a timestamp, one component under the experiment.
        let dir = run_dir(Path::new("out"), "demo", None).expect("valid");
        assert_eq!(dir.parent(), Some(Path::new("out/demo")));
    }

    #[test]
    fn run_ids_that_would_leave_the_results_root_are_rejected() {
        for bad in [
            "..", ".", "../x", "a/b", "/abs", "a\\b", "", ".hidden", "x\0y", "a b",
        ] {
            let err = run_dir(Path::new("out"), "demo", Some(bad.into()))
                .expect_err(&format!("{bad:?} accepted"));
            match err {
                Error::Usage { message, hint } => {
                    assert!(message.starts_with("--run-id: "), "{message}");
                    assert!(hint.is_some_and(|h| h.contains("letters, digits")));
                }
                other => panic!("{bad:?}: expected a usage error, got {other:?}"),
            }
        }
        let long = "a".repeat(65);
        assert!(run_dir(Path::new("out"), "demo", Some(long)).is_err());
    }

    #[test]
    fn experiment_names_are_checked_again() {
        let err = run_dir(Path::new("out"), "../up", Some("r".into())).expect_err("rejected");
        assert!(
            matches!(&err, Error::Usage { message, .. } if message.starts_with("experiment.name: ")),
            "{err:?}"
        );
    }
}
