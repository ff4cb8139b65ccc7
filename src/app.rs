//! Command dispatch: turns a parsed [`Cli`] into work and an exit code.
//!
//! `main.rs` only calls [`main_entry`]; tests call [`run_command`] in-process.

use std::io::Write;

use crate::cli::{Cli, Command, ManifestArgs};
use crate::error::{exit, Error};
use crate::manifest::{self, LoadOptions};
use crate::plan::{self, Plan, PlanOptions};

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
        Command::Run(args) => {
            let plan = load_plan(&args.manifest)?;
            let root = args
                .output
                .clone()
                .unwrap_or_else(|| plan.experiment.output_root.clone());
            let dir = crate::results::run_dir(&root, &plan.experiment.name, args.run_id.clone())?;
            // The default id is the second the run started: claim a directory of
            // its own, so runs started together never share one.
            let dir = if args.run_id.is_none() {
                crate::results::layout::claim_run_dir(&dir)?
            } else {
                dir
            };
            let request = crate::runner::command::RunRequest {
                dir,
                preflight: !args.no_preflight,
                quiet: args.quiet,
                json: args.json,
            };
            crate::runner::command::run_plan(plan, request).await
        }
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
            let report = crate::sink::rewrite_reports(&args.results)?;
            println!("report: {}", report.display());
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
        Command::Resume(args) => {
            crate::runner::command::resume(&args.results, args.finalize_only).await
        }
        Command::Merge(args) => {
            let out = crate::sink::write_merged(&args.inputs, &args.output)?;
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
