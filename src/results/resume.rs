//! Resume reconstruction: from a results directory's `plan.json` and spool,
//! the runs `tokenomics resume` need not measure again.
//!
//! A run counts as done when the spool holds its start and finish markers and
//! the finish marker says it was not interrupted; its measured records (warmups
//! left out) and the context to summarise them ([`SpoolRun::run_context`]) are
//! kept, with the server-metric samples scraped during it. Every other run is
//! measured again. With `--finalize-only` the plan shrinks to the runs that are
//! done, so the results are written without sending a request.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::error::ResultsError;
use super::layout::{ResultsDir, PLAN_FILE, SPOOL_FILE};
use super::model::ServerMetricSample;
use super::spool::{read_spool, SpoolContents, SpoolRun};
use crate::metrics::RunContext;
use crate::plan::Plan;
use crate::record::RequestRecord;

/// Completed runs by `(point index, run index)`: their measured records and
/// the context to summarise them with.
pub type DoneRuns = BTreeMap<(u32, u32), (Vec<RequestRecord>, RunContext)>;

/// What a results directory holds for `tokenomics resume`.
#[derive(Clone, Debug)]
pub struct Recovered {
    /// The plan as last written (probe points of searches included).
    pub plan: Plan,
    /// The runs not to measure again.
    pub done: DoneRuns,
    /// Samples scraped during the runs in `done` (the others are run again).
    pub done_server_metrics: Vec<ServerMetricSample>,
    /// Records read from the spool, warmups and unfinished runs included.
    pub records_read: usize,
    /// Spool lines that did not parse (a write cut by a crash).
    pub skipped_lines: u64,
}

impl Recovered {
    /// Shrinks the plan to the runs that are done (`--finalize-only`): points
    /// without one are dropped, the others keep as many runs as are done.
    pub fn keep_only_done(&mut self) {
        let keep: BTreeSet<u32> = self.done.keys().map(|(p, _)| *p).collect();
        self.plan
            .points
            .retain(|p| keep.contains(&u32::try_from(p.index).unwrap_or(u32::MAX)));
        for p in &mut self.plan.points {
            let idx = u32::try_from(p.index).unwrap_or(u32::MAX);
            let runs = self.done.keys().filter(|(pi, _)| *pi == idx).count();
            p.runs = u32::try_from(runs).unwrap_or(u32::MAX);
        }
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
    let spool = read_spool(&dir.join(SPOOL_FILE))?;
    let done = completed_runs(&plan, &spool);
    let done_server_metrics = spool
        .server_metrics
        .iter()
        .filter(|m| done.contains_key(&(m.point_index, m.run_index)))
        .cloned()
        .collect();
    Ok(Recovered {
        plan,
        done,
        done_server_metrics,
        records_read: spool.records.len(),
        skipped_lines: spool.skipped_lines,
    })
}

/// Runs of the spool that finished without interruption, with their measured
/// records and the context to summarise them.
#[must_use]
pub fn completed_runs(plan: &Plan, spool: &SpoolContents) -> DoneRuns {
    let mut done = BTreeMap::new();
    for run in &spool.runs {
        if !finished_whole(run) {
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

/// True when the run's finish marker is there and says it was not interrupted.
fn finished_whole(run: &SpoolRun) -> bool {
    run.finished.as_ref().is_some_and(|f| !f.interrupted)
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
        let mut w = SpoolWriter::create(&dir.path().join(SPOOL_FILE)).unwrap();
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
    fn finalize_only_keeps_the_runs_that_are_done() {
        let dir = crashed_dir();
        let mut r = recover(dir.path()).unwrap();
        r.keep_only_done();
        let kept: Vec<(usize, u32)> = r.plan.points.iter().map(|p| (p.index, p.runs)).collect();
        assert_eq!(kept, [(0, 1)]);
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
