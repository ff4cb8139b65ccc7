//! Resume reconstruction: from a results directory's `plan.json` and spool,
//! what `tokenomics resume` need not measure again, and what
//! `resume --finalize-only` writes.
//!
//! The spool is append-only (see [`super::spool`]): every process appends a
//! generation, and a run measured again appends a new attempt. A run counts as
//! **done** when one of its attempts has its start and finish markers and the
//! finish marker says it was not interrupted; the last such attempt's records
//! (one per request identity) and context ([`SpoolRun::run_context`]) are
//! kept, with the server-metric samples scraped during it, and the warmup
//! records of its point's latest warmup. Every other run is measured again,
//! and its earlier partial attempts stay in the spool but never count.
//!
//! `--finalize-only` sends nothing: it writes the done runs, and the latest
//! attempt of every run that is not done (records up to the crash, summarised
//! over the time they cover), and marks the results `interrupted` when any
//! planned run is not done, so a later `resume` still completes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::error::ResultsError;
use super::layout::{ResultsDir, PLAN_FILE, SPOOL_FILE};
use super::model::ServerMetricSample;
use super::spool::{read_spool, SpoolContents, SpoolRun};
use crate::metrics::RunContext;
use crate::plan::Plan;
use crate::record::RequestRecord;

/// Runs by `(point index, run index)`: their measured records and the
/// context to summarise them with.
pub type DoneRuns = BTreeMap<(u32, u32), (Vec<RequestRecord>, RunContext)>;

/// What a results directory holds for `tokenomics resume`.
#[derive(Clone, Debug)]
pub struct Recovered {
    /// The plan as last written (probe points of searches included).
    pub plan: Plan,
    /// The runs not to measure again.
    pub done: DoneRuns,
    /// The latest attempt of each run that is not done (`--finalize-only`).
    pub partial: DoneRuns,
    /// Samples scraped during the runs in `done` (the others are run again).
    pub done_server_metrics: Vec<ServerMetricSample>,
    /// Samples of the attempts in `partial`.
    pub partial_server_metrics: Vec<ServerMetricSample>,
    /// The latest warmup records of every point.
    pub warmups: BTreeMap<u32, Vec<RequestRecord>>,
    /// Generations the spool holds; the resume appends the next one.
    pub generations: u32,
    /// Records read from the spool, every attempt and copy included.
    pub records_read: usize,
    /// Record lines that repeated one already read (counted once).
    pub duplicates: u64,
    /// Spool lines that did not parse (a write cut by a crash).
    pub skipped_lines: u64,
}

impl Recovered {
    /// `--finalize-only`: the partial attempts join the done runs, and points
    /// without any recorded run are dropped. Returns true when every planned
    /// run was done (nothing is missing).
    pub fn finalize(&mut self) -> bool {
        let planned: BTreeSet<(u32, u32)> = self
            .plan
            .points
            .iter()
            .flat_map(|p| {
                let idx = u32::try_from(p.index).unwrap_or(u32::MAX);
                (0..p.runs).map(move |r| (idx, r))
            })
            .collect();
        let complete = planned.iter().all(|k| self.done.contains_key(k));
        self.done.append(&mut self.partial);
        self.done_server_metrics
            .append(&mut self.partial_server_metrics);
        let keep: BTreeSet<u32> = self.done.keys().map(|(p, _)| *p).collect();
        self.plan
            .points
            .retain(|p| keep.contains(&u32::try_from(p.index).unwrap_or(u32::MAX)));
        complete
    }
}

/// Reads `plan.json` and the spool of `dir` and works out what is done.
///
/// # Errors
/// When `plan.json` or the spool cannot be read, or `plan.json` is not a plan.
pub fn recover(dir: &Path) -> Result<Recovered, ResultsError> {
    let plan_path = dir.join(PLAN_FILE);
    let plan_bytes = ResultsDir::new(dir).read(PLAN_FILE)?;
    let plan: Plan = serde_json::from_slice(&plan_bytes)
        .map_err(|e| ResultsError::read(&plan_path, format!("not a valid plan: {e}")))?;
    // A run killed between writing its plan and its first spool line has no
    // spool: nothing was measured, everything is run.
    let spool_path = dir.join(SPOOL_FILE);
    let spool = if spool_path.exists() {
        read_spool(&spool_path)?
    } else {
        SpoolContents {
            generations: 1,
            ..SpoolContents::default()
        }
    };
    let (done, done_server_metrics) = runs_where(&plan, &spool, SpoolRun::finished_whole);
    let (partial, partial_server_metrics) =
        runs_where(&plan, &spool, |run| !done.contains_key(&run.key()));
    Ok(Recovered {
        plan,
        done,
        partial,
        done_server_metrics,
        partial_server_metrics,
        warmups: spool.warmups,
        generations: spool.generations,
        records_read: spool.records.len(),
        duplicates: spool.duplicates,
        skipped_lines: spool.skipped_lines,
    })
}

/// Runs of the spool that finished without interruption (the last such
/// attempt of each), with their measured records and the context to
/// summarise them.
#[must_use]
pub fn completed_runs(plan: &Plan, spool: &SpoolContents) -> DoneRuns {
    runs_where(plan, spool, SpoolRun::finished_whole).0
}

/// The last attempt of each (point, run) among those `keep` accepts, with its
/// records and context, and the server-metric samples of the attempts kept.
fn runs_where(
    plan: &Plan,
    spool: &SpoolContents,
    keep: impl Fn(&SpoolRun) -> bool,
) -> (DoneRuns, Vec<ServerMetricSample>) {
    let mut picked: BTreeMap<(u32, u32), &SpoolRun> = BTreeMap::new();
    for run in spool.runs.iter().filter(|run| keep(run)) {
        picked.insert(run.key(), run);
    }
    let mut samples = Vec::new();
    let runs = picked
        .into_iter()
        .map(|(key, run)| {
            samples.extend(run.server_metrics.iter().cloned());
            let ctx = run.run_context(&plan.experiment, &run.records);
            (key, (run.records.clone(), ctx))
        })
        .collect();
    (runs, samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Outcome;
    use crate::results::spool::{RunFinished, RunStarted, SpoolWriter};
    use crate::results::test_fixture::small_results;

    fn rec(point: u32, run: u32, request: u32, warmup: bool) -> RequestRecord {
        RequestRecord {
            point_index: point,
            run_index: run,
            request_index: request,
            attempt: 1,
            warmup,
            end_ns: 1_000_000 * u64::from(request + 1),
            outcome: Outcome::Ok,
            ..RequestRecord::default()
        }
    }

    fn started(point: u32, run: u32) -> RunStarted {
        RunStarted {
            point_index: point,
            point_id: format!("p{point}"),
            run_index: run,
            t0_wall_ns: 1,
            reference_concurrency: None,
        }
    }

    fn finished(point: u32, run: u32, interrupted: bool) -> RunFinished {
        RunFinished {
            point_index: point,
            run_index: run,
            wall_time_s: 2.0,
            cpu_utilisation: 0.5,
            loop_lag_ms: None,
            interrupted,
        }
    }

    fn sample(point: u32, run: u32) -> ServerMetricSample {
        ServerMetricSample {
            endpoint: "sim".into(),
            point_index: point,
            run_index: run,
            t_ms: 1.0,
            name: "running".into(),
            raw_name: "vllm:num_requests_running".into(),
            value: 1.0,
        }
    }

    /// A results directory whose plan has point 0 (two runs) and point 1 (one
    /// run), and whose spool holds: run 0/0 finished (a warmup and two measured
    /// records), run 0/1 interrupted, run 1/0 cut off before its finish marker.
    fn crashed_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut plan = small_results().plan;
        let mut second = plan.points[0].clone();
        second.index = 1;
        second.id = "second".into();
        second.runs = 1;
        plan.points.push(second);
        std::fs::write(
            dir.path().join(PLAN_FILE),
            serde_json::to_vec(&plan).unwrap(),
        )
        .unwrap();
        let mut w = SpoolWriter::append(&dir.path().join(SPOOL_FILE)).unwrap();
        w.record(&rec(0, 0, 0, true)).unwrap();
        w.run_started(&started(0, 0)).unwrap();
        w.record(&rec(0, 0, 0, false)).unwrap();
        w.record(&rec(0, 0, 1, false)).unwrap();
        w.server_metrics(0, 0, &[sample(0, 0)]).unwrap();
        w.run_finished(&finished(0, 0, false)).unwrap();
        w.run_started(&started(0, 1)).unwrap();
        w.record(&rec(0, 1, 0, false)).unwrap();
        w.server_metrics(0, 1, &[sample(0, 1)]).unwrap();
        w.run_finished(&finished(0, 1, true)).unwrap();
        w.run_started(&started(1, 0)).unwrap();
        w.record(&rec(1, 0, 0, false)).unwrap();
        w.flush().unwrap();
        dir
    }

    #[test]
    fn only_runs_finished_without_interruption_are_done() {
        let dir = crashed_dir();
        let r = recover(dir.path()).unwrap();
        assert_eq!(r.done.keys().copied().collect::<Vec<_>>(), [(0, 0)]);
        let (records, ctx) = &r.done[&(0, 0)];
        assert_eq!(records.len(), 2, "the warmup is left out");
        assert!(records.iter().all(|x| !x.warmup && x.run_index == 0));
        assert_eq!(ctx.wall_time_s, 2.0);
        assert_eq!(ctx.cpu_utilisation, 0.5);
        assert_eq!(r.done_server_metrics, vec![sample(0, 0)]);
        assert_eq!((r.records_read, r.skipped_lines), (5, 0));
        assert_eq!(r.plan.points.len(), 2);
    }

    #[test]
    fn finalize_only_keeps_the_done_runs_and_the_latest_partial_attempts() {
        let dir = crashed_dir();
        let mut r = recover(dir.path()).unwrap();
        assert_eq!(
            r.partial.keys().copied().collect::<Vec<_>>(),
            [(0, 1), (1, 0)]
        );
        assert!(!r.finalize(), "runs 0/1 and 1/0 are not done");
        assert_eq!(
            r.done.keys().copied().collect::<Vec<_>>(),
            [(0, 0), (0, 1), (1, 0)]
        );
        let kept: Vec<usize> = r.plan.points.iter().map(|p| p.index).collect();
        assert_eq!(kept, [0, 1]);
        assert_eq!(r.done_server_metrics, vec![sample(0, 0), sample(0, 1)]);
        // The warmup of point 0 is kept.
        assert_eq!(r.warmups[&0].len(), 1);
    }

    /// A crash during run 0/0, then a resume (generation 2) that warms the
    /// point again and measures the run whole: only the second attempt and
    /// the second warmup count, and a record written twice counts once.
    #[test]
    fn a_run_measured_again_replaces_its_partial_attempt() {
        let dir = crashed_dir();
        let path = dir.path().join(SPOOL_FILE);
        // The first process died in the middle of a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"kind\":\"rec"))
            .unwrap();
        let mut w = SpoolWriter::append(&path).unwrap();
        w.generation(&super::super::spool::Generation {
            generation: 2,
            t_wall_ns: 5,
        })
        .unwrap();
        w.warmup_started(1).unwrap();
        w.record(&rec(1, 0, 0, true)).unwrap();
        w.record(&rec(1, 0, 1, true)).unwrap();
        w.run_started(&started(1, 0)).unwrap();
        for i in 0..3 {
            w.record(&rec(1, 0, i, false)).unwrap();
        }
        w.record(&rec(1, 0, 2, false)).unwrap();
        w.run_finished(&finished(1, 0, false)).unwrap();
        drop(w);
        let r = recover(dir.path()).unwrap();
        assert_eq!(r.generations, 2);
        assert_eq!(r.skipped_lines, 1, "the torn line only");
        assert_eq!(r.duplicates, 1);
        let (records, _) = &r.done[&(1, 0)];
        let ids: Vec<u32> = records.iter().map(|x| x.request_index).collect();
        assert_eq!(ids, [0, 1, 2], "the earlier partial attempt does not count");
        assert_eq!(r.warmups[&1].len(), 2);
        assert!(!r.partial.contains_key(&(1, 0)));
    }

    #[test]
    fn a_directory_without_a_plan_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = recover(dir.path()).unwrap_err();
        assert!(err.to_string().contains("plan.json"), "{err}");
        assert!(err.hint.is_some());
        std::fs::write(dir.path().join(PLAN_FILE), b"{}").unwrap();
        let err = recover(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a valid plan"), "{err}");
    }
}
