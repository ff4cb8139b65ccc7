//! Orchestration (async): preflight, warmup, dispatch per point and run, one
//! collector task per run that owns the records, cancellation on Ctrl-C.
//!
//! Order of work for `tokenomics run`:
//! 1. create the results directory and write `plan.json` and
//!    `manifest.resolved.toml` (this is also the writability check);
//! 2. start the embedded simulator for every simulator endpoint (127.0.0.1:0);
//! 3. preflight every endpoint (API-key variable set, `/v1/models` answers, the
//!    model is served) and load every dataset and tokenizer — all before any load;
//! 4. for every point: warmup requests (one at a time, unmeasured), then `runs`
//!    repetitions, each with its bodies built before its clock starts;
//! 5. every record is appended to the spool as it completes; summaries and all
//!    output files are written at the end (also after Ctrl-C).

pub mod command;
pub mod executor;
pub mod pace;
pub mod scrape;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::client::{HttpClient, PreflightError};
use crate::dataset::Preparer;
use crate::error::Error;
use crate::metrics::{self, RunContext, RunSummary};
use crate::plan::{EndpointTarget, LoadSpec, Plan, PointSpec};
use crate::record::RequestRecord;
use crate::results::layout::{MANIFEST_FILE, PLAN_FILE, SPOOL_FILE};
use crate::results::resume::DoneRuns;
use crate::results::spool::{Generation, RunFinished, RunStarted, SpoolWriter};
use crate::results::{
    write_atomic, Environment, ExperimentResults, PointResult, ResultsDir, ServerMetricSample,
};
use crate::search::{self, Probe, SearchResult, Step};
use crate::vocab::SearchKind;

use self::executor::{execute, RunInput};

/// How to run a plan.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The run's directory (`<root>/<experiment>/<run-id>`); created if missing.
    pub dir: PathBuf,
    /// Check endpoints before sending load.
    pub preflight: bool,
    /// Show progress bars.
    pub progress: bool,
    /// Fired on Ctrl-C: stop sending, let in-flight requests finish within `grace`.
    pub cancel: CancellationToken,
    pub grace: Duration,
    /// The command line, for `environment.json`.
    pub command: Vec<String>,
    /// Points/runs already complete (resume): skipped, their records kept.
    pub done: DoneRuns,
    /// Server-metric samples of the runs in `done` (resume): kept in the results.
    pub done_server_metrics: Vec<ServerMetricSample>,
    /// The spooled warmup records of each point (resume): kept for the points
    /// with a run in `done`, whose warmup is not sent again.
    pub warmups: BTreeMap<u32, Vec<RequestRecord>>,
    /// Send nothing: write the runs in `done` (`resume --finalize-only`); any
    /// planned run missing from it marks the results interrupted.
    pub finalize_only: bool,
    /// The spool generation this process appends (1 for `run`).
    pub generation: u32,
}

/// What a finished (or interrupted) run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub dir: ResultsDir,
    pub results: ExperimentResults,
    /// Measured failure rate when it exceeded `max_failure_rate`.
    pub failure_rate_exceeded: Option<f64>,
    /// False when a resume was stopped before measuring anything and wrote
    /// nothing (the directory is as it was).
    pub written: bool,
}

/// Runs every point of `plan` and writes the results directory.
///
/// # Errors
/// Preflight failures (exit 4), dataset errors (exit 4) and output errors (exit 6).
/// Request failures are never errors: they are outcomes in the records.
pub async fn run(plan: Plan, opts: RunOptions) -> Result<RunOutcome, Error> {
    let dir = ResultsDir::create_run(&opts.dir)?;
    let plan_json = serde_json::to_vec_pretty(&plan).map_err(|source| Error::Encode {
        what: "the plan",
        source,
    })?;
    // `--finalize-only` runs a plan cut to what was measured: `plan.json`
    // keeps the whole plan, so a later `resume` still knows every point.
    if !opts.finalize_only {
        write_atomic(&dir.file(PLAN_FILE), &plan_json)?;
        write_atomic(&dir.file(MANIFEST_FILE), plan.resolved_manifest.as_bytes())?;
    }

    let mut plan = plan;
    let mut environment = environment(&plan, &opts.command, &opts.dir);

    // Simulators live as long as this function.
    let mut simulators = Vec::new();
    let mut base_urls = BTreeMap::new();
    for (name, ep) in &plan.endpoints {
        let url = match &ep.target {
            EndpointTarget::Url(u) => u.clone(),
            EndpointTarget::Simulator(cfg) => {
                let sim = crate::simulator::spawn(cfg.clone(), 0).await.map_err(|e| {
                    Error::Preflight(PreflightError {
                        message: format!(
                            "endpoint `{name}`: cannot start the embedded simulator: {e}"
                        ),
                        hint: None,
                    })
                })?;
                let url = sim.base_url();
                simulators.push(sim);
                url
            }
        };
        base_urls.insert(name.clone(), url);
    }

    // A stop signal during preflight or dataset loading ends the run there:
    // nothing was measured, and the (empty) results are written as interrupted.
    let mut stopped_early = false;
    if opts.preflight {
        for (name, ep) in &plan.endpoints {
            let models = tokio::select! {
                r = crate::client::check_endpoint(ep, &base_urls[name]) => r?,
                () = opts.cancel.cancelled() => {
                    stopped_early = true;
                    break;
                }
            };
            environment.server_models.insert(name.clone(), models);
        }
    } else {
        for name in plan.endpoints.keys() {
            environment
                .server_models
                .insert(name.clone(), serde_json::Value::Null);
        }
    }

    // Datasets and tokenizers load on a blocking thread, so a stop is heard.
    let preparer = if stopped_early {
        None
    } else {
        let for_loading = plan.clone();
        let loading = tokio::task::spawn_blocking(move || Preparer::new(&for_loading));
        tokio::select! {
            r = loading => Some(r.map_err(|source| Error::Task { task: "dataset loading", source })??),
            () = opts.cancel.cancelled() => None,
        }
    };
    let Some(preparer) = preparer else {
        for sim in simulators {
            sim.shutdown();
        }
        environment.finished_at = Some(chrono::Utc::now().to_rfc3339());
        let results = ExperimentResults {
            plan,
            environment,
            points: Vec::new(),
            records: Vec::new(),
            interrupted: true,
            server_metrics: opts.done_server_metrics.clone(),
            searches: Vec::new(),
        };
        // A resume stopped here leaves the directory as it was (its spool
        // holds everything); a fresh run writes its empty, interrupted results.
        let written = opts.generation <= 1;
        if written {
            crate::sink::write_all(&dir, &results)?;
        }
        return Ok(RunOutcome {
            dir,
            results,
            failure_rate_exceeded: None,
            written,
        });
    };
    // The spool is only ever appended to (see `crate::results::spool`);
    // finalizing sends nothing, so it writes nothing there.
    let spool = if opts.finalize_only {
        None
    } else {
        let mut sp = SpoolWriter::append(&dir.file(SPOOL_FILE))?;
        sp.generation(&Generation {
            generation: opts.generation,
            t_wall_ns: crate::clock::wall_ns(),
        })?;
        Some(sp)
    };

    let mut runner = PointRunner {
        experiment: plan.experiment.clone(),
        endpoints: plan.endpoints.clone(),
        base_urls,
        preparer,
        opts: &opts,
        spool,
        progress: crate::progress::Progress::new(opts.progress),
        records: Vec::new(),
        server_metrics: opts.done_server_metrics.clone(),
        incomplete: false,
    };
    let mut points: Vec<PointResult> = Vec::new();
    let mut interrupted = false;

    let listed = plan.points.clone();
    for point in &listed {
        if opts.cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let (result, stopped) = runner.run_point(point).await?;
        points.push(result);
        if stopped {
            interrupted = true;
            break;
        }
    }

    // Adaptive searches: each probe is a point appended to the plan (and to
    // plan.json, so `resume` knows it); probes measured before a resume are reused.
    let mut searches = Vec::with_capacity(plan.searches.len());
    for spec in plan.searches.clone() {
        let min_attainment = match spec.kind {
            SearchKind::Slo { min_attainment, .. } => min_attainment,
            SearchKind::Saturation { .. } => 0.0,
        };
        let mut probes = Vec::new();
        let answer = loop {
            if interrupted {
                break None;
            }
            let value = match search::next_step(&spec, &probes) {
                Step::Done(a) => break Some(a),
                Step::Probe(v) => v,
            };
            let id = spec.probe_id(value);
            let summary = if let Some(done) = points.iter().find(|p| p.spec.id == id) {
                done.summary.clone()
            } else {
                if opts.finalize_only {
                    // The search needs a probe nobody measured.
                    runner.incomplete = true;
                    break None;
                }
                if opts.cancel.is_cancelled() {
                    interrupted = true;
                    break None;
                }
                let point = spec.probe_point(value, spec.probe_index(probes.len()));
                plan.points.push(point.clone());
                let plan_json =
                    serde_json::to_vec_pretty(&plan).map_err(|source| Error::Encode {
                        what: "the plan",
                        source,
                    })?;
                write_atomic(&dir.file(PLAN_FILE), &plan_json)?;
                let (result, stopped) = runner.run_point(&point).await?;
                let summary = result.summary.clone();
                points.push(result);
                if stopped {
                    interrupted = true;
                }
                summary
            };
            probes.push(Probe::from_summary(&summary, min_attainment));
        };
        if let Some(a) = &answer {
            tracing::info!("search {}: {}", spec.id, a.note);
        }
        searches.push(SearchResult {
            spec,
            probes,
            answer,
        });
    }

    let PointRunner {
        mut spool,
        records: all_records,
        server_metrics,
        incomplete,
        ..
    } = runner;
    interrupted |= incomplete;
    if let Some(sp) = spool.as_mut() {
        sp.sync()?;
    }
    for sim in simulators {
        sim.shutdown();
    }

    environment.finished_at = Some(chrono::Utc::now().to_rfc3339());
    let results = ExperimentResults {
        plan,
        environment,
        points,
        records: all_records,
        interrupted,
        server_metrics,
        searches,
    };
    crate::sink::write_all(&dir, &results)?;

    let failure_rate_exceeded = results.plan.experiment.max_failure_rate.and_then(|max| {
        let all: Vec<&RequestRecord> = results.records.iter().collect();
        let measured = metrics::final_attempts(&all, request_key);
        let total = measured.len();
        let failed = measured.iter().filter(|r| !r.outcome.is_ok()).count();
        #[allow(clippy::cast_precision_loss)]
        let rate = if total == 0 {
            0.0
        } else {
            failed as f64 / total as f64
        };
        (rate > max).then_some(rate)
    });
    Ok(RunOutcome {
        dir,
        results,
        failure_rate_exceeded,
        written: true,
    })
}

/// What every point of a run shares: endpoints, the preparer, the spool, and
/// the records measured so far (owned here, never dropped on an error path that
/// could be recovered).
struct PointRunner<'a> {
    experiment: crate::plan::ExperimentSpec,
    endpoints: BTreeMap<String, crate::plan::EndpointSpec>,
    base_urls: BTreeMap<String, String>,
    preparer: Preparer,
    opts: &'a RunOptions,
    spool: Option<SpoolWriter>,
    /// `--finalize-only` skipped a planned run that was never measured.
    incomplete: bool,
    progress: crate::progress::Progress,
    records: Vec<RequestRecord>,
    server_metrics: Vec<ServerMetricSample>,
}

impl PointRunner<'_> {
    /// Runs one point: its warmup (once, unless resumed past it), then its runs
    /// (completed runs of a resumed results directory are reused). Returns the
    /// point's result and whether the run was interrupted.
    async fn run_point(&mut self, point: &PointSpec) -> Result<(PointResult, bool), Error> {
        let opts = self.opts;
        let mut interrupted = false;
        let endpoint = Arc::new(self.endpoints[&point.endpoint].clone());
        let base_url = self.base_urls[&point.endpoint].clone();
        let client =
            HttpClient::new(&endpoint, &base_url, pool_size(&point.load)).map_err(|e| {
                Error::Preflight(PreflightError {
                    message: format!("endpoint `{}`: {e}", point.endpoint),
                    hint: None,
                })
            })?;
        let point_id: Arc<str> = Arc::from(point.id.as_str());
        let point_index = u32::try_from(point.index).unwrap_or(u32::MAX);
        let bar = self
            .progress
            .point(point, point.requests_per_run() * u64::from(point.runs));

        // Warmup: sequential, unmeasured, once before the point's first run. A
        // point with a run already done (resume) keeps its spooled warmups.
        let already_started = opts.done.keys().any(|(p, _)| *p == point_index);
        if already_started || opts.finalize_only {
            if let Some(warm) = opts.warmups.get(&point_index) {
                self.records.extend(warm.iter().cloned());
            }
        } else if point.warmup > 0 {
            if let Some(sp) = self.spool.as_mut() {
                sp.warmup_started(point_index)?;
            }
            let warm = self.preparer.prepare_warmup(point, point.warmup)?;
            let input = RunInput {
                client: client.clone(),
                endpoint: Arc::clone(&endpoint),
                point_index,
                point_id: Arc::clone(&point_id),
                run_index: 0,
                warmup: true,
                requests: Arc::new(warm.requests),
                cancel: opts.cancel.clone(),
                grace: opts.grace,
                schedule_seed: point.seed,
            };
            let load = LoadSpec::Concurrency {
                concurrency: 1,
                requests: point.warmup,
                duration: None,
            };
            let (records, _) = run_with_collector(input, &load, &mut self.spool, None).await?;
            self.records.extend(records);
        }

        let mut runs: Vec<RunSummary> = Vec::new();
        for run_index in 0..point.runs {
            if let Some((records, ctx)) = opts.done.get(&(point_index, run_index)) {
                runs.push(metrics::summarize_run(records, ctx));
                self.records.extend(records.iter().cloned());
                continue;
            }
            if opts.finalize_only {
                // Never measured: the results are incomplete, nothing is sent.
                self.incomplete = true;
                continue;
            }
            if opts.cancel.is_cancelled() {
                interrupted = true;
                break;
            }
            let count = u32::try_from(point.requests_per_run()).unwrap_or(u32::MAX);
            let prepared = self.preparer.prepare_run(point, run_index, count)?;
            let input = RunInput {
                client: client.clone(),
                endpoint: Arc::clone(&endpoint),
                point_index,
                point_id: Arc::clone(&point_id),
                run_index,
                warmup: false,
                requests: Arc::new(prepared.requests),
                cancel: opts.cancel.clone(),
                grace: opts.grace,
                schedule_seed: crate::schedule::sub_seed(point.seed, u64::from(run_index)),
            };
            let scraper = endpoint.scrape.as_ref().map(|s| {
                let stop = CancellationToken::new();
                let t0_ns = crate::clock::now_ns();
                let target = scrape::ScrapeTarget {
                    endpoint: point.endpoint.clone(),
                    url: scrape_url(&s.url, &base_url),
                    interval: s.interval,
                    point_index,
                    run_index,
                    t0_ns,
                };
                (
                    stop.clone(),
                    t0_ns,
                    tokio::spawn(scrape::scrape_until(target, stop)),
                )
            });
            let started = RunStarted {
                point_index,
                point_id: point.id.clone(),
                run_index,
                t0_wall_ns: crate::clock::wall_ns(),
                reference_concurrency: reference_concurrency(&point.load),
            };
            if let Some(sp) = self.spool.as_mut() {
                sp.run_started(&started)?;
            }
            if endpoint.preconnect {
                let want = preconnect_count(&point.load);
                let done = client.preconnect(want).await;
                if done.failed > 0 {
                    tracing::warn!(
                        "point {} run {run_index}: opened {} of the {} connections to preconnect ({} were open): {}; \
                         requests open the rest (their connect_ms is recorded)",
                        point.id,
                        done.opened,
                        want.saturating_sub(done.reused),
                        done.reused,
                        done.error.as_deref().unwrap_or("unknown error")
                    );
                }
            }
            let (records, timing) =
                run_with_collector(input, &point.load, &mut self.spool, bar.clone()).await?;
            if let Some((stop, scrape_t0_ns, handle)) = scraper {
                stop.cancel();
                if let Ok((mut samples, failures)) = handle.await {
                    if failures > 0 {
                        tracing::warn!(
                            "point {}: {failures} scrape(s) of the metrics page failed",
                            point.id
                        );
                    }
                    // The scraper starts just before the run's t0: re-base its stamps on t0
                    // (t_ms −= (t0 − scrape_t0)/10⁶), the origin of the records' timestamps,
                    // so the report can draw both on one time axis. A scrape taken before
                    // the first request keeps a (small) negative time.
                    #[allow(clippy::cast_precision_loss)]
                    let shift_ms = timing.t0_ns.saturating_sub(scrape_t0_ns) as f64 / 1e6;
                    for s in &mut samples {
                        s.t_ms -= shift_ms;
                    }
                    if let Some(sp) = self.spool.as_mut() {
                        sp.server_metrics(point_index, run_index, &samples)?;
                    }
                    self.server_metrics.extend(samples);
                }
            }
            let finished = RunFinished {
                point_index,
                run_index,
                wall_time_s: timing.wall_time_s,
                cpu_utilisation: timing.cpu_utilisation,
                loop_lag_ms: timing.loop_lag_ms,
                interrupted: opts.cancel.is_cancelled(),
            };
            if let Some(sp) = self.spool.as_mut() {
                sp.run_finished(&finished)?;
            }
            let ctx = RunContext {
                run_index,
                t0_wall_ns: timing.t0_wall_ns,
                wall_time_s: timing.wall_time_s,
                reference_concurrency: started.reference_concurrency,
                bucket_s: self.experiment.bucket.as_secs_f64(),
                steady_state_threshold: self.experiment.steady_state_threshold,
                slos: self.experiment.slos.clone(),
                cpu_utilisation: timing.cpu_utilisation,
                loop_lag_ms: timing.loop_lag_ms,
            };
            runs.push(metrics::summarize_run(&records, &ctx));
            self.records.extend(records);
            if opts.cancel.is_cancelled() {
                interrupted = true;
                break;
            }
        }
        if let Some(sp) = self.spool.as_mut() {
            sp.flush()?;
        }
        // `summarize_point` drops warmups and keeps each request's final attempt.
        let point_records: Vec<&RequestRecord> = self
            .records
            .iter()
            .filter(|r| r.point_index == point_index)
            .collect();
        let summary = metrics::summarize_point(point, &self.experiment, &runs, &point_records);
        self.progress.finish_point(&bar, &summary);
        Ok((
            PointResult {
                spec: point.clone(),
                summary,
                runs,
            },
            interrupted,
        ))
    }
}

/// Runs one load with a collector task that owns the records: it appends each
/// to the spool as it arrives and ticks the progress bar.
async fn run_with_collector(
    input: RunInput,
    load: &LoadSpec,
    spool: &mut Option<SpoolWriter>,
    bar: Option<indicatif::ProgressBar>,
) -> Result<(Vec<RequestRecord>, executor::RunTiming), Error> {
    let (tx, mut rx) = mpsc::unbounded_channel::<RequestRecord>();
    let mut owned_spool = spool.take();
    let collector = tokio::spawn(async move {
        let mut records = Vec::new();
        let mut error = None;
        while let Some(r) = rx.recv().await {
            if error.is_none() {
                if let Some(sp) = owned_spool.as_mut() {
                    if let Err(e) = sp.record(&r) {
                        error = Some(e);
                    }
                }
            }
            if let Some(b) = &bar {
                if !r.warmup {
                    b.inc(1);
                }
            }
            records.push(r);
        }
        (records, owned_spool, error)
    });
    let timing = execute(input, load, tx).await;
    let (records, owned_spool, error) = collector.await.map_err(|source| Error::Task {
        task: "collector",
        source,
    })?;
    *spool = owned_spool;
    if let Some(e) = error {
        return Err(Error::ResultsFile(e));
    }
    Ok((records, timing))
}

/// A request's identity across a whole experiment: (point, run, request, turn).
fn request_key(r: &RequestRecord) -> (u32, u32, u32, u32) {
    (r.point_index, r.run_index, r.request_index, r.turn)
}

/// The metrics URL: as given, or — for the placeholder `auto` — `/metrics` at the root
/// of the endpoint's host (the embedded simulator's endpoints use this).
fn scrape_url(url: &str, base_url: &str) -> String {
    if url != crate::vocab::AUTO_METRICS_URL {
        return url.to_string();
    }
    let root = base_url.trim_end_matches('/');
    let root = root.strip_suffix("/v1").unwrap_or(root);
    format!("{root}/metrics")
}

/// Steady-state reference: the target concurrency in closed-loop mode, else the observed peak.
fn reference_concurrency(load: &LoadSpec) -> Option<u32> {
    match load {
        LoadSpec::Concurrency { concurrency, .. } => Some(*concurrency),
        _ => None,
    }
}

/// Connections to keep alive: the most requests in flight the load can reach.
fn pool_size(load: &LoadSpec) -> usize {
    let n = match load {
        LoadSpec::Burst { batch } => *batch,
        LoadSpec::Concurrency {
            concurrency,
            requests,
            ..
        } => (*concurrency).min(*requests),
        LoadSpec::Rate {
            max_concurrency, ..
        } => max_concurrency.unwrap_or(1024),
        LoadSpec::Ramp { .. } => 1024,
    };
    n.max(1) as usize
}

/// Connections to open before a run's clock starts: the most requests the load
/// can have in flight when that is known (burst size, closed-loop concurrency,
/// an open loop's `max_concurrency`, a ramp's largest concurrency stage). An
/// open loop without a cap needs rate × latency connections, unknown before it
/// runs: none are opened ahead, and requests open what they need.
fn preconnect_count(load: &LoadSpec) -> usize {
    let n = match load {
        LoadSpec::Burst { batch } => *batch,
        LoadSpec::Concurrency {
            concurrency,
            requests,
            ..
        } => (*concurrency).min(*requests),
        LoadSpec::Rate {
            max_concurrency,
            requests,
            ..
        } => max_concurrency.map_or(0, |m| m.min(*requests)),
        LoadSpec::Ramp { stages } => stages
            .iter()
            .filter(|s| s.kind == crate::vocab::StageKind::Concurrency)
            .map(|s| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let c = s.value.max(1.0).min(f64::from(u32::MAX)) as u32;
                c
            })
            .max()
            .unwrap_or(0),
    };
    n as usize
}

/// What `environment.json` records about this machine and run.
/// True when `git status --porcelain -z` output `status` (of the checkout at
/// `top`) lists a change outside the results root `root`.
fn is_dirty(status: &str, top: &Path, root: &Path) -> bool {
    // Porcelain paths are relative to the top of the checkout.
    let root = std::fs::canonicalize(root)
        .ok()
        .zip(std::fs::canonicalize(top).ok())
        .and_then(|(r, t)| r.strip_prefix(&t).ok().map(Path::to_path_buf));
    let mut fields = status.split('\0').filter(|f| !f.is_empty());
    while let Some(entry) = fields.next() {
        let (code, path) = entry.split_at(entry.len().min(3));
        if code.starts_with('R') || code.starts_with('C') {
            // A rename or copy is followed by its original path.
            fields.next();
        }
        let inside = root
            .as_ref()
            .is_some_and(|r| !r.as_os_str().is_empty() && Path::new(path).starts_with(r));
        if !inside {
            return true;
        }
    }
    false
}

/// `git_dirty` leaves out everything under the results root of `run_dir`
/// (`<root>/<experiment>/<run-id>`): the tool's own outputs never make a
/// checkout dirty.
fn environment(plan: &Plan, command: &[String], run_dir: &Path) -> Environment {
    let manifest_dir = plan
        .manifest_path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(if manifest_dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                manifest_dir.clone()
            })
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]).map(|s| s.trim().to_string());
    let dirty = commit.as_ref().and_then(|_| {
        let top = git(&["rev-parse", "--show-toplevel"])?.trim().to_string();
        let status = git(&["status", "--porcelain", "-z", "--untracked-files=all"])?;
        let root = run_dir.parent().and_then(Path::parent)?;
        Some(is_dirty(&status, Path::new(&top), root))
    });
    Environment {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: commit,
        git_dirty: dirty,
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        cpu_count: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        hostname: std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|s| s.trim().to_string()),
        started_at: chrono::Utc::now().to_rfc3339(),
        finished_at: None,
        command: command.to_vec(),
        server_models: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Outcome;

    fn rec(request_index: u32, attempt: u32, outcome: Outcome) -> RequestRecord {
        RequestRecord {
            request_index,
            attempt,
            outcome,
            ..RequestRecord::default()
        }
    }

    #[test]
    fn changes_under_the_results_root_do_not_make_a_checkout_dirty() {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("results");
        std::fs::create_dir_all(root.join("demo/r1")).unwrap();
        let dirty = |status: &str| is_dirty(status, top.path(), &root);
        assert!(!dirty(""));
        assert!(!dirty(
            "?? results/demo/r1/summary.json\0?? results/demo/r1/report.html\0"
        ));
        assert!(dirty("?? results/demo/r1/summary.json\0 M src/lib.rs\0"));
        assert!(dirty("?? notes.txt\0"));
        // A path that only starts with the root's name is outside it.
        assert!(dirty("?? results-old/x\0"));
        // A rename's second field is its old path, not another entry.
        assert!(!dirty("R  results/demo/b\0results/demo/a\0"));
        assert!(dirty("R  src/b.rs\0results/demo/a\0"));
        // A root outside the checkout leaves every change counting.
        let elsewhere = tempfile::tempdir().unwrap();
        assert!(is_dirty("?? results/x\0", top.path(), elsewhere.path()));
    }

    #[test]
    fn only_the_last_attempt_counts() {
        let rs = [
            rec(0, 1, Outcome::RateLimited),
            rec(0, 2, Outcome::Ok),
            rec(1, 1, Outcome::Ok),
            rec(2, 1, Outcome::HttpError),
        ];
        let all: Vec<&RequestRecord> = rs.iter().collect();
        let finals = metrics::final_attempts(&all, request_key);
        assert_eq!(finals.len(), 3);
        assert!(finals
            .iter()
            .any(|r| r.request_index == 0 && r.attempt == 2));
        assert!(!finals
            .iter()
            .any(|r| r.request_index == 0 && r.attempt == 1));
    }

    #[test]
    fn preconnect_opens_what_the_load_can_have_in_flight() {
        assert_eq!(preconnect_count(&LoadSpec::Burst { batch: 64 }), 64);
        assert_eq!(
            preconnect_count(&LoadSpec::Concurrency {
                concurrency: 8,
                requests: 5,
                duration: None,
            }),
            5
        );
        let rate = |max_concurrency| LoadSpec::Rate {
            rate: 10.0,
            arrival: crate::vocab::Arrival::Poisson,
            requests: 100,
            duration: None,
            max_concurrency,
        };
        assert_eq!(preconnect_count(&rate(Some(16))), 16);
        assert_eq!(preconnect_count(&rate(None)), 0);
    }

    #[test]
    fn pool_is_sized_to_the_load() {
        assert_eq!(pool_size(&LoadSpec::Burst { batch: 64 }), 64);
        assert_eq!(
            pool_size(&LoadSpec::Concurrency {
                concurrency: 8,
                requests: 64,
                duration: None
            }),
            8
        );
        assert_eq!(pool_size(&LoadSpec::Burst { batch: 0 }), 1);
    }
}
