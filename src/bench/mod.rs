//! `tokenomics bench-client`: benchmarks of the client itself, against the
//! embedded simulator run as a separate process (`tokenomics simulate`).
//!
//! * **capacity** ([`capacity`], the default): the most token events per second
//!   the client reads at 256, 1024, 2048 and 4096 concurrent streams, its CPU
//!   time per event and its resident memory per stream;
//! * **fidelity** ([`fidelity`], `--fidelity`): the error of the client's TTFT
//!   and ITL against the simulator's own log, matched by `x-request-id`, for
//!   closed-loop streams and for bursts (preconnected and cold);
//! * **soak** ([`soak`], `--soak SECONDS`): thousands of streams for a long
//!   time, with a verdict on whether memory stayed flat;
//! * **long** ([`long`], `--long`): the client's CPU time per event on
//!   100,000-event responses to 50,000-word prompts against 100-event ones;
//! * **arrival** ([`arrival`], `--arrival`): the open loop's send precision at
//!   1,000–10,000 requests/s, and how closely the server-side inter-arrival gaps
//!   follow the declared Poisson or gamma process.
//!
//! # Setup
//! With at least two CPUs, the benchmark pins its client to CPU 0
//! (`--client-cpu`) and the simulator to CPU 1 (`--sim-cpu`), so that neither
//! steals the other's CPU and each side's CPU use can be read on its own
//! (`--no-pin` turns this off). The client runs on a tokio runtime of its own,
//! built on a thread pinned before the runtime starts, so every worker inherits
//! the pinning; it has one worker per client CPU. The simulator's affinity is set
//! between `fork` and `exec`, so its runtime sizes itself to its CPU too. Every
//! request goes through [`crate::client::HttpClient::send`], the function
//! `tokenomics run` uses, with a keep-alive pool of one connection per stream.
//!
//! Figures are printed as tables, with their targets next to them (a
//! missed target is reported, not an error: the command exits 0 when it ran),
//! and written as JSON with `--json PATH` ([`BenchReport`]).

pub mod arrival;
pub mod capacity;
pub mod fidelity;
pub mod floor;
pub mod load;
pub mod long;
pub mod simproc;
pub mod soak;
pub mod system;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::cli::BenchClientArgs;
use crate::error::{exit, Error};

pub use simproc::{SimProcess, SimSetup, SimTimingArgs};
pub use system::Machine;

/// A side is saturated when it uses at least this share of the CPUs it may use.
pub const SATURATED: f64 = 0.9;

/// One figure compared with its target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetCheck {
    /// The figure, e.g. `events_per_s`.
    pub metric: &'static str,
    /// The bound.
    pub bound: f64,
    /// True for "at least `bound`", false for "at most `bound`".
    pub at_least: bool,
    /// The figure measured (None when it could not be measured).
    pub value: Option<f64>,
    /// Whether the target was met (None without a value).
    pub met: Option<bool>,
}

impl TargetCheck {
    /// `value ≥ bound`.
    #[must_use]
    pub fn at_least(metric: &'static str, bound: f64, value: Option<f64>) -> TargetCheck {
        TargetCheck {
            metric,
            bound,
            at_least: true,
            value,
            met: value.map(|v| v >= bound),
        }
    }

    /// `value ≤ bound`.
    #[must_use]
    pub fn at_most(metric: &'static str, bound: f64, value: Option<f64>) -> TargetCheck {
        TargetCheck {
            metric,
            bound,
            at_least: false,
            value,
            met: value.map(|v| v <= bound),
        }
    }

    /// E.g. `≥200k ok`, `≤2.5 MISS`, `≤32 n/a`.
    #[must_use]
    pub fn short(&self) -> String {
        let bound = if self.bound >= 1000.0 && self.bound % 1000.0 == 0.0 {
            format!("{}k", self.bound / 1000.0)
        } else {
            format!("{}", self.bound)
        };
        let mark = match self.met {
            Some(true) => "ok",
            Some(false) => "MISS",
            None => "n/a",
        };
        format!("{}{bound} {mark}", if self.at_least { "≥" } else { "≤" })
    }
}

/// `1234567` → `1,234,567`.
#[must_use]
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Everything one `bench-client` invocation measured (`--json`).
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The tokenomics version.
    pub version: &'static str,
    /// The machine and the pinning.
    pub machine: Machine,
    /// Client runtime worker threads.
    pub client_workers: usize,
    /// Capacity figures, when run.
    pub capacity: Option<capacity::CapacityReport>,
    /// Fidelity figures, when run.
    pub fidelity: Option<fidelity::FidelityReport>,
    /// Soak figures, when run.
    pub soak: Option<soak::SoakReport>,
    /// Arrival-precision figures, when run.
    pub arrival: Option<arrival::ArrivalReport>,
    /// Long-response figures, when run.
    pub long: Option<long::LongReport>,
}

/// What one invocation runs, resolved from the command line.
#[derive(Clone, Debug)]
pub struct BenchPlan {
    /// Capacity options, when it runs.
    pub capacity: Option<capacity::CapacityOptions>,
    /// Fidelity options, when it runs.
    pub fidelity: Option<fidelity::FidelityOptions>,
    /// Soak options, when it runs.
    pub soak: Option<soak::SoakOptions>,
    /// Arrival options, when it runs.
    pub arrival: Option<arrival::ArrivalOptions>,
    /// Long-response options, when it runs.
    pub long: Option<long::LongOptions>,
    /// How to start the simulator.
    pub sim: SimSetup,
    /// CPUs the client is pinned to (empty: not pinned).
    pub client_cpus: Vec<usize>,
    /// Client runtime worker threads.
    pub workers: usize,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
}

fn usage(message: String, hint: Option<&str>) -> Error {
    Error::Usage {
        message,
        hint: hint.map(str::to_owned),
    }
}

fn seconds(flag: &str, s: f64) -> Result<Duration, Error> {
    if !s.is_finite() || s <= 0.0 {
        return Err(usage(
            format!("--{flag} must be a number of seconds above 0, got {s}"),
            None,
        ));
    }
    Duration::try_from_secs_f64(s)
        .map_err(|e| usage(format!("--{flag} = {s} is out of range: {e}"), None))
}

fn millis(flag: &str, ms: f64) -> Result<f64, Error> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(usage(
            format!("--{flag} must be a number of milliseconds ≥ 0, got {ms}"),
            None,
        ));
    }
    Ok(ms)
}

fn stream_counts(flag: &str, v: &[u32]) -> Result<Vec<u32>, Error> {
    if v.is_empty() || v.contains(&0) {
        return Err(usage(
            format!("--{flag} needs stream counts of at least 1, e.g. `--{flag} 256,1024`"),
            None,
        ));
    }
    Ok(v.to_vec())
}

impl BenchPlan {
    /// Resolves the command line: which benchmarks run, with what options, and
    /// the CPU pinning (`allowed` = the CPUs this process may use).
    ///
    /// # Errors
    /// A usage error for values out of range, pinning CPUs that are not
    /// available or the same, and an executable path that cannot be found.
    pub fn from_args(args: &BenchClientArgs, allowed: &[usize]) -> Result<BenchPlan, Error> {
        let quick = args.quick;
        let window = if quick {
            Duration::from_secs(1)
        } else {
            seconds("seconds", args.seconds)?
        };
        let fidelity_window = if quick {
            Duration::from_secs(2)
        } else {
            seconds("fidelity-seconds", args.fidelity_seconds)?
        };
        let max_warmup = if quick {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(30)
        };
        let itl_ms = millis("itl-ms", args.itl_ms)?;
        if args.events_per_stream == 0 || args.fidelity_tokens == 0 {
            return Err(usage(
                "--events-per-stream and --fidelity-tokens must be at least 1".to_owned(),
                None,
            ));
        }

        let (client_cpus, sim_cpus) = if args.no_pin || allowed.len() < 2 {
            (Vec::new(), Vec::new())
        } else {
            for (flag, cpu) in [("client-cpu", args.client_cpu), ("sim-cpu", args.sim_cpu)] {
                if !allowed.contains(&cpu) {
                    return Err(usage(
                        format!("--{flag} {cpu}: this process may only use CPUs {allowed:?}"),
                        Some("choose CPUs from that list, or pass --no-pin"),
                    ));
                }
            }
            if args.client_cpu == args.sim_cpu {
                return Err(usage(
                    format!(
                        "--client-cpu and --sim-cpu are both {}: pin them to different CPUs",
                        args.client_cpu
                    ),
                    Some("or pass --no-pin"),
                ));
            }
            (vec![args.client_cpu], vec![args.sim_cpu])
        };
        let client_budget = if client_cpus.is_empty() {
            allowed.len().max(1)
        } else {
            client_cpus.len()
        };
        let sim_budget = if sim_cpus.is_empty() {
            allowed.len().max(1)
        } else {
            sim_cpus.len()
        };

        let soak = match args.soak {
            Some(s) => Some(soak::SoakOptions {
                streams: args.soak_streams.max(1),
                duration: seconds("soak", s)?,
                interval: if quick {
                    Duration::from_secs(1)
                } else {
                    seconds("soak-interval", args.soak_interval)?
                },
                events_per_request: args.events_per_stream,
                itl_ms: millis("soak-itl-ms", args.soak_itl_ms)?,
                max_warmup,
            }),
            None => None,
        };
        let fidelity = if args.fidelity {
            Some(fidelity::FidelityOptions {
                streams: stream_counts("fidelity-streams", &args.fidelity_streams)?,
                window: fidelity_window,
                timing: SimTimingArgs {
                    ttft_ms: millis("fidelity-ttft-ms", args.fidelity_ttft_ms)?,
                    itl_ms: millis("fidelity-itl-ms", args.fidelity_itl_ms)?,
                },
                tokens: args.fidelity_tokens,
                bursts: stream_counts("fidelity-bursts", &args.fidelity_bursts)?,
                burst_rounds: if quick {
                    2
                } else {
                    args.fidelity_burst_rounds.max(1)
                },
            })
        } else {
            None
        };
        let arrival = if args.arrival {
            if args.arrival_rates.is_empty()
                || args
                    .arrival_rates
                    .iter()
                    .any(|r| !(r.is_finite() && *r > 0.0 && *r <= 1_000_000.0))
            {
                return Err(usage(
                    "--arrival-rates needs rates in (0, 1000000] requests/s, e.g. `--arrival-rates 1000,5000`".to_owned(),
                    None,
                ));
            }
            if !(args.arrival_burstiness.is_finite() && args.arrival_burstiness > 0.0) {
                return Err(usage(
                    format!(
                        "--arrival-burstiness must be a number above 0, got {}",
                        args.arrival_burstiness
                    ),
                    None,
                ));
            }
            Some(arrival::ArrivalOptions {
                rates: args.arrival_rates.clone(),
                window: if quick {
                    Duration::from_millis(500)
                } else {
                    seconds("arrival-seconds", args.arrival_seconds)?
                },
                burstiness: args.arrival_burstiness,
            })
        } else {
            None
        };
        let long = if args.long {
            if args.long_tokens == 0 || args.long_streams == 0 {
                return Err(usage(
                    "--long-tokens and --long-streams must be at least 1".to_owned(),
                    None,
                ));
            }
            Some(long::LongOptions {
                streams: args.long_streams,
                tokens: args.long_tokens,
                prompt_words: args.long_prompt_tokens,
                window,
                max_warmup,
                client_cpus: client_budget,
                sim_cpus: sim_budget,
            })
        } else {
            None
        };
        let capacity = if args.capacity
            || (fidelity.is_none() && soak.is_none() && arrival.is_none() && long.is_none())
        {
            Some(capacity::CapacityOptions {
                streams: stream_counts("streams", &args.streams)?,
                window,
                events_per_request: args.events_per_stream,
                prompt_words: 0,
                itl_ms,
                max_warmup,
                client_cpus: client_budget,
                sim_cpus: sim_budget,
                floor: !args.no_floor,
            })
        } else {
            None
        };

        let exe = match &args.sim_exe {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(|e| {
                usage(
                    format!("cannot find this executable to start the simulator: {e}"),
                    Some("pass --sim-exe /path/to/tokenomics"),
                )
            })?,
        };
        Ok(BenchPlan {
            capacity,
            fidelity,
            soak,
            arrival,
            long,
            sim: SimSetup {
                exe,
                cpus: sim_cpus,
            },
            client_cpus,
            workers: client_budget,
            json: args.json.clone(),
        })
    }
}

/// `tokenomics bench-client`: resolves the plan and runs it on a runtime of its
/// own, on a thread pinned to the client's CPUs. Returns exit code 0 when the
/// benchmarks ran (targets missed included).
///
/// # Errors
/// Usage errors, a simulator that cannot be started, or a JSON file that cannot be written.
pub async fn run(args: &BenchClientArgs) -> Result<i32, Error> {
    let plan = BenchPlan::from_args(args, &system::allowed_cpus())?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-client".into())
        .spawn(move || {
            let _ = tx.send(run_pinned(&plan));
        })
        .map_err(|source| Error::Process {
            what: "cannot start the benchmark thread".into(),
            source,
        })?;
    rx.await.map_err(|_| Error::Bench {
        message: "the benchmark thread stopped without a result".into(),
        hint: None,
    })?
}

fn run_pinned(plan: &BenchPlan) -> Result<i32, Error> {
    if !plan.client_cpus.is_empty() {
        system::pin_current_thread(&plan.client_cpus).map_err(|e| {
            usage(
                format!("cannot pin the client to CPUs {:?}: {e}", plan.client_cpus),
                Some("pass --no-pin"),
            )
        })?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.workers.max(1))
        .thread_name("bench-worker")
        .enable_all()
        .build()
        .map_err(|source| Error::Process {
            what: "cannot start the benchmark runtime".into(),
            source,
        })?;
    let report = runtime.block_on(execute(plan, &mut |text| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }))?;
    if let Some(path) = &plan.json {
        let json = serde_json::to_vec_pretty(&report).map_err(|source| Error::Encode {
            what: "the benchmark report",
            source,
        })?;
        crate::results::write_atomic(path, &json)?;
        println!("wrote {}", path.display());
    }
    Ok(exit::OK)
}

/// Runs the benchmarks of `plan` on the current runtime, passing the human
/// output to `print` as it is produced, and returns every figure.
///
/// # Errors
/// A simulator that cannot be started or stopped, or a client that cannot be built.
pub async fn execute(plan: &BenchPlan, print: &mut dyn FnMut(&str)) -> Result<BenchReport, Error> {
    let nofile = system::raise_nofile_limit();
    let mut machine = Machine::detect();
    machine.client_cpus.clone_from(&plan.client_cpus);
    machine.sim_cpus.clone_from(&plan.sim.cpus);
    print(&format!(
        "{}\nclient: tokio multi-thread runtime, {} worker(s); open-files limit {}\n",
        machine.line(),
        plan.workers,
        nofile.map_or_else(|| "unknown".to_owned(), |n| n.to_string())
    ));
    let mut report = BenchReport {
        version: env!("CARGO_PKG_VERSION"),
        machine,
        client_workers: plan.workers,
        capacity: None,
        fidelity: None,
        soak: None,
        arrival: None,
        long: None,
    };
    if let Some(opts) = &plan.capacity {
        let timing = SimTimingArgs {
            ttft_ms: 0.0,
            itl_ms: opts.itl_ms,
        };
        print(&format!("\n{}", capacity::header(timing, opts)));
        let r = capacity::run(&plan.sim, opts, &mut |l| {
            print(&format!("{}\n", capacity::row(l)))
        })
        .await?;
        print(&capacity::notes(&r));
        report.capacity = Some(r);
    }
    if let Some(opts) = &plan.fidelity {
        print(&format!("\n{}", fidelity::header(opts)));
        let mut first_burst = true;
        let printer = std::cell::RefCell::new(&mut *print);
        let r = fidelity::run(
            &plan.sim,
            opts,
            &mut |l| (printer.borrow_mut())(&format!("{}\n", fidelity::row(l))),
            &mut |b| {
                let mut p = printer.borrow_mut();
                if std::mem::take(&mut first_burst) {
                    p(&fidelity::burst_header(opts));
                }
                p(&format!("{}\n", fidelity::burst_rows(b)));
            },
        )
        .await?;
        print(&fidelity::notes(&r));
        report.fidelity = Some(r);
    }
    if let Some(opts) = &plan.soak {
        print(&format!("\n{}", soak::header(opts)));
        let r = soak::run(&plan.sim, opts, &mut |s| {
            print(&format!("{}\n", soak::row(s)))
        })
        .await?;
        print(&format!("{}\n", soak::verdict_line(&r)));
        report.soak = Some(r);
    }
    if let Some(opts) = &plan.arrival {
        print(&format!(
            "\narrival precision: open loop, {} s of schedule per level, D(9,2) against Fixed 1 ms / 1 ms; gamma shape {}\n{}\n",
            opts.window.as_secs_f64(),
            opts.burstiness,
            arrival::HEADER
        ));
        let r = arrival::run(&plan.sim, opts, &mut |l| {
            print(&format!("{}\n", arrival::row(l)))
        })
        .await?;
        report.arrival = Some(r);
    }
    if let Some(opts) = &plan.long {
        print(&format!("\n{}", long::header(opts)));
        let r = long::run(&plan.sim, opts, &mut |l| print(&format!("{l}\n"))).await?;
        print(&long::verdict(&r));
        report.long = Some(r);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn args(extra: &[&str]) -> BenchClientArgs {
        let mut argv = vec!["tokenomics", "bench-client", "--sim-exe", "/bin/true"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv)
            .expect("parses")
            .command
        {
            crate::cli::Command::BenchClient(a) => a,
            other => panic!("not bench-client: {other:?}"),
        }
    }

    #[test]
    fn capacity_runs_alone_by_default_and_others_select() {
        let p = BenchPlan::from_args(&args(&[]), &[0, 1]).expect("plan");
        assert!(p.capacity.is_some() && p.fidelity.is_none() && p.soak.is_none());
        assert_eq!(
            p.capacity.as_ref().expect("cap").streams,
            vec![256, 1024, 2048, 4096]
        );
        assert_eq!(
            (p.client_cpus.clone(), p.sim.cpus.clone()),
            (vec![0], vec![1])
        );
        assert_eq!(p.workers, 1);

        let p = BenchPlan::from_args(&args(&["--fidelity"]), &[0, 1]).expect("plan");
        assert!(p.capacity.is_none() && p.fidelity.is_some());
        assert_eq!(
            p.fidelity.as_ref().expect("fid").streams,
            vec![1, 64, 512, 2048]
        );
        assert_eq!(p.fidelity.as_ref().expect("fid").bursts, vec![64, 512]);
        let p =
            BenchPlan::from_args(&args(&["--soak", "30", "--capacity"]), &[0, 1]).expect("plan");
        assert!(p.capacity.is_some() && p.soak.is_some());
        assert_eq!(p.soak.as_ref().expect("soak").streams, 2048);
    }

    #[test]
    fn the_long_level_runs_alone_with_its_sizes() {
        let p = BenchPlan::from_args(&args(&["--long"]), &[0, 1]).expect("plan");
        assert!(p.capacity.is_none() && p.fidelity.is_none());
        let l = p.long.expect("long");
        assert_eq!((l.streams, l.tokens, l.prompt_words), (8, 100_000, 50_000));
        let p = BenchPlan::from_args(
            &args(&["--long", "--long-tokens", "5000", "--long-streams", "2"]),
            &[0, 1],
        )
        .expect("plan");
        let l = p.long.expect("long");
        assert_eq!((l.streams, l.tokens), (2, 5000));
        assert!(BenchPlan::from_args(&args(&["--long", "--long-tokens", "0"]), &[0, 1]).is_err());
    }

    #[test]
    fn pinning_needs_two_distinct_allowed_cpus() {
        let p = BenchPlan::from_args(&args(&[]), &[0]).expect("one CPU: no pinning");
        assert!(p.client_cpus.is_empty() && p.sim.cpus.is_empty());
        let p = BenchPlan::from_args(&args(&["--no-pin"]), &[0, 1, 2, 3]).expect("plan");
        assert!(p.client_cpus.is_empty());
        assert_eq!(p.workers, 4);
        assert!(BenchPlan::from_args(&args(&["--sim-cpu", "0"]), &[0, 1]).is_err());
        assert!(BenchPlan::from_args(&args(&["--sim-cpu", "7"]), &[0, 1]).is_err());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for bad in [
            &["--seconds", "0"][..],
            &["--streams", "0,4"],
            &["--itl-ms=-1"],
            &["--soak", "nan"],
            &["--events-per-stream", "0"],
        ] {
            let e = BenchPlan::from_args(&args(bad), &[0, 1]).expect_err("rejected");
            assert_eq!(e.exit_code(), exit::USAGE, "{bad:?}");
        }
    }

    #[test]
    fn targets_and_numbers_render() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234), "1,234");
        assert_eq!(group(1_234_567), "1,234,567");
        let t = TargetCheck::at_least("events_per_s", 200_000.0, Some(150_000.0));
        assert_eq!(t.met, Some(false));
        assert_eq!(t.short(), "≥200k MISS");
        let t = TargetCheck::at_most("cpu_us_per_event", 2.5, Some(1.0));
        assert_eq!(t.short(), "≤2.5 ok");
        assert_eq!(TargetCheck::at_most("x", 32.0, None).short(), "≤32 n/a");
    }
}
