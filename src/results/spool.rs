//! `records.spool.jsonl`: the crash-safe spool of a run in progress.
//!
//! Every line is one JSON object with a `"kind"` tag:
//!
//! ```text
//! {"kind":"run_started","point_index":0,"point_id":"sim.short.burst-8","run_index":0,
//!  "t0_wall_ns":1767323045000000000,"reference_concurrency":null}
//! {"kind":"record", …every RequestRecord field…}
//! {"kind":"server_metrics","point_index":0,"run_index":0,"samples":[ServerMetricSample, …]}
//! {"kind":"run_finished","point_index":0,"run_index":0,"wall_time_s":1.25,
//!  "cpu_utilisation":0.31,"interrupted":false}
//! {"kind":"generation","generation":2,"t_wall_ns":1767323099000000000}
//! {"kind":"warmup_started","point_index":1}
//! ```
//!
//! **Append-only, in generations.** The spool is never truncated: `run`
//! starts it (generation 1) and every `resume` appends a `generation` line and
//! then its own lines, so nothing measured by an earlier process is ever
//! overwritten. A request is identified by (point, run, request, turn,
//! attempt) and warmup or not. Reading groups the records of a measured run
//! under the latest `run_started` of that (point, run) — the *attempt* of the
//! run — and a point's warmups under its latest `warmup_started`, so a run
//! measured again by a resume replaces its earlier partial attempt instead of
//! adding to it, and a record written twice counts once (the last copy). See
//! [`SpoolContents::current_records`] and `super::resume`.
//!
//! The markers carry what [`summarize_run`](crate::metrics::summarize_run)
//! needs besides the records, so a killed experiment can be finalised from the
//! spool alone ([`SpoolRun::run_context`]). The `server_metrics` line (only for
//! endpoints with `metrics`) holds the run's scraped samples, written just before
//! its finish marker, so `tokenomics resume` keeps them for the runs it skips.
//!
//! **Durability.** Lines go through a buffer that is flushed to the OS every
//! [`FLUSH_EVERY_RECORDS`] records or when [`FLUSH_EVERY`] has passed since the
//! last flush (checked on each append), on [`SpoolWriter::flush`], and when the
//! writer is dropped. Run markers are flushed and `fsync`ed at once. So a killed
//! process (the OS keeps what was flushed) loses at most the last 64 records or
//! 250 ms of records; a power cut may lose what the OS had not yet written
//! since the last marker.
//!
//! **Reading.** [`read_spool`] tolerates a torn last line (a crash mid-write):
//! any line that is not a complete, valid spool line is skipped and counted,
//! and `truncated_tail` says whether the last line was cut short.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::error::ResultsError;
use super::model::ServerMetricSample;
use crate::metrics::RunContext;
use crate::plan::ExperimentSpec;
use crate::record::RequestRecord;

/// Records between two flushes.
pub const FLUSH_EVERY_RECORDS: usize = 64;
/// Longest time between two flushes while records keep arriving.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// A run began: written before its first request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    pub point_index: u32,
    pub point_id: String,
    pub run_index: u32,
    /// Wall-clock anchor of the run's t0 (ns since the Unix epoch).
    pub t0_wall_ns: u64,
    /// Target concurrency (concurrency mode), the steady-state reference.
    pub reference_concurrency: Option<u32>,
}

/// A run ended: written after its last request completed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFinished {
    pub point_index: u32,
    pub run_index: u32,
    /// The run's wall time (s).
    pub wall_time_s: f64,
    /// Client CPU time / wall time (1.0 = one core).
    pub cpu_utilisation: f64,
    /// p99 of the client's runtime lag (ms), when sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_lag_ms: Option<f64>,
    /// True when Ctrl-C stopped the run.
    pub interrupted: bool,
}

/// The server-metric samples of one run, written before its finish marker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunServerMetrics {
    pub point_index: u32,
    pub run_index: u32,
    pub samples: Vec<ServerMetricSample>,
}

/// A process began appending to the spool (`run` is generation 1, each
/// `resume` the next).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    pub generation: u32,
    /// Wall clock when it began (ns since the Unix epoch).
    pub t_wall_ns: u64,
}

/// A point's warmup began: the warmup records that follow replace any earlier
/// ones of the point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarmupStarted {
    pub point_index: u32,
}

/// One line of the spool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SpoolLine {
    RunStarted(RunStarted),
    Record(Box<RequestRecord>),
    ServerMetrics(RunServerMetrics),
    RunFinished(RunFinished),
    Generation(Generation),
    WarmupStarted(WarmupStarted),
}

/// The borrowed form of [`RunServerMetrics`].
#[derive(Serialize)]
struct RunServerMetricsRef<'a> {
    point_index: u32,
    run_index: u32,
    samples: &'a [ServerMetricSample],
}

/// A spool line as written (borrows, so appending a record does not copy it).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum SpoolLineRef<'a> {
    RunStarted(&'a RunStarted),
    Record(&'a RequestRecord),
    ServerMetrics(RunServerMetricsRef<'a>),
    RunFinished(&'a RunFinished),
    Generation(&'a Generation),
    WarmupStarted(&'a WarmupStarted),
}

/// Appends spool lines to a file (module docs for the flush policy).
#[derive(Debug)]
pub struct SpoolWriter {
    path: PathBuf,
    out: BufWriter<File>,
    pending: usize,
    last_flush: Instant,
}

impl SpoolWriter {
    /// Opens the spool at `path` for appending (created when missing); it is
    /// never truncated. When the file ends in a torn line (no final newline),
    /// a newline is written first so the next line starts clean.
    ///
    /// # Errors
    /// When the file cannot be opened; the error names `path`.
    pub fn append(path: &Path) -> Result<SpoolWriter, ResultsError> {
        let mut w = Self::open_with(path, OpenOptions::new().append(true).create(true))?;
        if !ends_with_newline(path).map_err(|e| w.io(e))? {
            w.out.write_all(b"\n").map_err(|e| w.io(e))?;
            w.flush()?;
        }
        Ok(w)
    }

    fn open_with(path: &Path, opts: &OpenOptions) -> Result<SpoolWriter, ResultsError> {
        let file = opts.open(path).map_err(|e| ResultsError::write(path, e))?;
        Ok(SpoolWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            pending: 0,
            last_flush: Instant::now(),
        })
    }

    /// The spool's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, e: impl std::fmt::Display) -> ResultsError {
        ResultsError::write(&self.path, e)
    }

    fn write_line(&mut self, line: &SpoolLineRef<'_>) -> Result<(), ResultsError> {
        let mut bytes = serde_json::to_vec(line).map_err(|e| self.io(e))?;
        bytes.push(b'\n');
        self.out.write_all(&bytes).map_err(|e| self.io(e))
    }

    /// Appends one completed record; flushes per the policy in the module docs.
    ///
    /// # Errors
    /// When writing fails; the error names the spool's path.
    pub fn record(&mut self, record: &RequestRecord) -> Result<(), ResultsError> {
        self.write_line(&SpoolLineRef::Record(record))?;
        self.pending += 1;
        if self.pending >= FLUSH_EVERY_RECORDS || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes a run-started marker, flushed and synced.
    ///
    /// # Errors
    /// When writing fails; the error names the spool's path.
    pub fn run_started(&mut self, marker: &RunStarted) -> Result<(), ResultsError> {
        self.write_line(&SpoolLineRef::RunStarted(marker))?;
        self.sync()
    }

    /// Appends the scraped samples of one run (flushed with the next marker).
    ///
    /// # Errors
    /// When writing fails; the error names the spool's path.
    pub fn server_metrics(
        &mut self,
        point_index: u32,
        run_index: u32,
        samples: &[ServerMetricSample],
    ) -> Result<(), ResultsError> {
        self.write_line(&SpoolLineRef::ServerMetrics(RunServerMetricsRef {
            point_index,
            run_index,
            samples,
        }))
    }

    /// Writes a generation marker, flushed and synced.
    ///
    /// # Errors
    /// When writing fails; the error names the spool's path.
    pub fn generation(&mut self, marker: &Generation) -> Result<(), ResultsError> {
        self.write_line(&SpoolLineRef::Generation(marker))?;
        self.sync()
    }

    /// Writes a warmup-started marker (flushed with the records that follow).
    ///
    /// # Errors
    /// When writing fails; the error names the spool's path.
    pub fn warmup_started(&mut self, point_index: u32) -> Result<(), ResultsError> {
        self.write_line(&SpoolLineRef::WarmupStarted(&WarmupStarted { point_index }))
    }

    /// Writes a run-finished marker, flushed and synced.
    ///
    /// # Errors
    /// When writing fails; the error names the spool's path.
    pub fn run_finished(&mut self, marker: &RunFinished) -> Result<(), ResultsError> {
        self.write_line(&SpoolLineRef::RunFinished(marker))?;
        self.sync()
    }

    /// Hands buffered lines to the OS.
    ///
    /// # Errors
    /// When writing fails; the error names the spool's path.
    pub fn flush(&mut self) -> Result<(), ResultsError> {
        self.out.flush().map_err(|e| self.io(e))?;
        self.pending = 0;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// Flushes and `fsync`s the file.
    ///
    /// # Errors
    /// When writing or syncing fails; the error names the spool's path.
    pub fn sync(&mut self) -> Result<(), ResultsError> {
        self.flush()?;
        self.out.get_ref().sync_data().map_err(|e| self.io(e))
    }
}

/// True when the file is empty or its last byte is a newline.
fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        // Best effort: an error here has no caller to report to; `flush()` reports them.
        let _ = self.out.flush();
    }
}

/// One attempt of a run as seen in the spool: from its `run_started` line to
/// its `run_finished` line (or the end of the spool).
#[derive(Clone, Debug, PartialEq)]
pub struct SpoolRun {
    pub started: RunStarted,
    /// None when the process died before the run finished.
    pub finished: Option<RunFinished>,
    /// The generation that measured it.
    pub generation: u32,
    /// Its measured records, one per identity (the last copy kept), in order.
    pub records: Vec<RequestRecord>,
    /// Its scraped server-metric samples.
    pub server_metrics: Vec<ServerMetricSample>,
}

impl SpoolRun {
    /// `(point index, run index)`.
    #[must_use]
    pub fn key(&self) -> (u32, u32) {
        (self.started.point_index, self.started.run_index)
    }

    /// True when its finish marker is there and says it was not interrupted.
    #[must_use]
    pub fn finished_whole(&self) -> bool {
        self.finished.as_ref().is_some_and(|f| !f.interrupted)
    }
}

/// What identifies one record within its point: (run, request, turn, attempt, warmup).
fn identity(r: &RequestRecord) -> (u32, u32, u32, u32, bool) {
    (r.run_index, r.request_index, r.turn, r.attempt, r.warmup)
}

/// Appends `r` to `records`, replacing an earlier copy of the same request.
fn put_once(records: &mut Vec<RequestRecord>, r: RequestRecord) -> bool {
    let id = identity(&r);
    if let Some(old) = records.iter_mut().rev().find(|x| identity(x) == id) {
        *old = r;
        false
    } else {
        records.push(r);
        true
    }
}

impl SpoolRun {
    /// The [`RunContext`] to summarise this run with. A run without a finish
    /// marker gets wall time = the latest `end_ns` among `records` (ns since t0,
    /// so the time from t0 to the last completion) and CPU use 0 (unknown).
    #[must_use]
    pub fn run_context(
        &self,
        experiment: &ExperimentSpec,
        records: &[RequestRecord],
    ) -> RunContext {
        #[allow(clippy::cast_precision_loss)]
        let fallback_wall = records
            .iter()
            .filter(|r| {
                r.point_index == self.started.point_index && r.run_index == self.started.run_index
            })
            .map(|r| r.end_ns)
            .max()
            .unwrap_or(0) as f64
            / 1e9;
        RunContext {
            run_index: self.started.run_index,
            t0_wall_ns: self.started.t0_wall_ns,
            wall_time_s: self
                .finished
                .as_ref()
                .map_or(fallback_wall, |f| f.wall_time_s),
            reference_concurrency: self.started.reference_concurrency,
            bucket_s: experiment.bucket.as_secs_f64(),
            steady_state_threshold: experiment.steady_state_threshold,
            slos: experiment.slos.clone(),
            cpu_utilisation: self.finished.as_ref().map_or(0.0, |f| f.cpu_utilisation),
            loop_lag_ms: self.finished.as_ref().and_then(|f| f.loop_lag_ms),
        }
    }
}

/// Everything recovered from a spool.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpoolContents {
    /// Every record line read, in the order written (earlier attempts and
    /// copies included): what the spool holds, not what counts.
    pub records: Vec<RequestRecord>,
    /// Run attempts in the order started (a finish marker without a start is
    /// ignored).
    pub runs: Vec<SpoolRun>,
    /// The warmup records of each point's latest warmup.
    pub warmups: BTreeMap<u32, Vec<RequestRecord>>,
    /// Server-metric samples of every run that wrote them, in spool order.
    pub server_metrics: Vec<ServerMetricSample>,
    /// Generations seen (1 when no marker: a spool of a single `run`).
    pub generations: u32,
    /// Record lines that repeated one already read for the same attempt.
    pub duplicates: u64,
    /// Measured records with no run started for them (one per identity): they
    /// count in [`Self::current_records`], but belong to no run.
    pub orphans: Vec<RequestRecord>,
    /// Lines that were not valid spool lines (a torn tail included).
    pub skipped_lines: u64,
    /// True when the last line had no newline and did not parse (a crash mid-write).
    pub truncated_tail: bool,
    /// The first skipped line's number (1-based) and parse error, for diagnostics.
    pub first_error: Option<(u64, String)>,
}

impl SpoolContents {
    /// The latest attempt of every (point, run), in the order first started.
    #[must_use]
    pub fn latest_attempts(&self) -> Vec<&SpoolRun> {
        let mut latest: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        for (i, run) in self.runs.iter().enumerate() {
            latest.insert(run.key(), i);
        }
        let mut picked: Vec<usize> = latest.into_values().collect();
        picked.sort_unstable();
        picked.into_iter().map(|i| &self.runs[i]).collect()
    }

    /// The records that count: each point's latest warmups, the records of
    /// the latest attempt of every run, and records outside any run, one per
    /// request identity.
    #[must_use]
    pub fn current_records(&self) -> Vec<RequestRecord> {
        let mut out: Vec<RequestRecord> = self.warmups.values().flatten().cloned().collect();
        for run in self.latest_attempts() {
            out.extend(run.records.iter().cloned());
        }
        out.extend(self.orphans.iter().cloned());
        out
    }
}

/// Reads a spool, skipping lines that do not parse (module docs).
///
/// # Errors
/// When the file cannot be opened or read; the error names `path`.
pub fn read_spool(path: &Path) -> Result<SpoolContents, ResultsError> {
    let io = |e| ResultsError::read(path, e);
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut out = SpoolContents {
        generations: 1,
        ..SpoolContents::default()
    };
    let mut generation = 1u32;
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(io)?;
        if n == 0 {
            break;
        }
        number += 1;
        let complete = line.last() == Some(&b'\n');
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<SpoolLine>(text) {
            Ok(SpoolLine::Record(r)) => {
                let r = *r;
                out.records.push(r.clone());
                let fresh = if r.warmup {
                    put_once(out.warmups.entry(r.point_index).or_default(), r)
                } else if let Some(run) = out
                    .runs
                    .iter_mut()
                    .rev()
                    .find(|x| x.key() == (r.point_index, r.run_index))
                {
                    put_once(&mut run.records, r)
                } else {
                    put_once(&mut out.orphans, r)
                };
                if !fresh {
                    out.duplicates += 1;
                }
            }
            Ok(SpoolLine::RunStarted(s)) => out.runs.push(SpoolRun {
                started: s,
                finished: None,
                generation,
                records: Vec::new(),
                server_metrics: Vec::new(),
            }),
            Ok(SpoolLine::ServerMetrics(m)) => {
                out.server_metrics.extend(m.samples.iter().cloned());
                if let Some(run) = out
                    .runs
                    .iter_mut()
                    .rev()
                    .find(|x| x.key() == (m.point_index, m.run_index))
                {
                    run.server_metrics = m.samples;
                }
            }
            Ok(SpoolLine::RunFinished(f)) => {
                if let Some(run) = out
                    .runs
                    .iter_mut()
                    .rev()
                    .find(|x| x.key() == (f.point_index, f.run_index))
                {
                    run.finished = Some(f);
                }
            }
            Ok(SpoolLine::Generation(g)) => {
                generation = g.generation.max(generation);
                out.generations = generation;
            }
            Ok(SpoolLine::WarmupStarted(w)) => {
                out.warmups.insert(w.point_index, Vec::new());
            }
            Err(e) => {
                out.skipped_lines += 1;
                if !complete {
                    out.truncated_tail = true;
                }
                if out.first_error.is_none() {
                    out.first_error = Some((number, e.to_string()));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Outcome;
    use crate::results::layout::SPOOL_FILE;
    use crate::results::test_fixture::small_results;

    fn rec(i: u32) -> RequestRecord {
        RequestRecord {
            point_id: "p".into(),
            request_index: i,
            attempt: 1,
            start_ns: u64::from(i) * 1000,
            end_ns: u64::from(i) * 1000 + 500,
            chunk_ns: vec![u64::from(i) * 1000 + 100],
            outcome: if i % 3 == 0 {
                Outcome::Timeout
            } else {
                Outcome::Ok
            },
            ..RequestRecord::default()
        }
    }

    fn started() -> RunStarted {
        RunStarted {
            point_index: 0,
            point_id: "p".into(),
            run_index: 0,
            t0_wall_ns: 1_767_323_045_000_000_000,
            reference_concurrency: Some(4),
        }
    }

    #[test]
    fn write_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SPOOL_FILE);
        let mut w = SpoolWriter::append(&path).unwrap();
        w.run_started(&started()).unwrap();
        for i in 0..100 {
            w.record(&rec(i)).unwrap();
        }
        let fin = RunFinished {
            point_index: 0,
            run_index: 0,
            wall_time_s: 1.5,
            cpu_utilisation: 0.25,
            loop_lag_ms: Some(1.5),
            interrupted: false,
        };
        let sample = ServerMetricSample {
            endpoint: "sim".into(),
            point_index: 0,
            run_index: 0,
            t_ms: 12.5,
            name: "running".into(),
            raw_name: "vllm:num_requests_running".into(),
            value: 3.0,
        };
        w.server_metrics(0, 0, std::slice::from_ref(&sample))
            .unwrap();
        w.run_finished(&fin).unwrap();
        drop(w);
        let c = read_spool(&path).unwrap();
        assert_eq!(c.server_metrics, vec![sample]);
        assert_eq!(c.records, (0..100).map(rec).collect::<Vec<_>>());
        assert_eq!(c.runs.len(), 1);
        assert_eq!(c.runs[0].started, started());
        assert_eq!(c.runs[0].finished.as_ref(), Some(&fin));
        assert_eq!((c.skipped_lines, c.truncated_tail), (0, false));
        let exp_ctx = c.runs[0].run_context(&small_results().plan.experiment, &c.records);
        assert_eq!(exp_ctx.wall_time_s, 1.5);
        assert_eq!(exp_ctx.reference_concurrency, Some(4));
        assert_eq!(exp_ctx.cpu_utilisation, 0.25);
        assert_eq!(exp_ctx.loop_lag_ms, Some(1.5));
    }

    #[test]
    fn batches_reach_the_file_without_an_explicit_flush() {
        // After FLUSH_EVERY_RECORDS records the buffer must have been handed to the OS.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SPOOL_FILE);
        let mut w = SpoolWriter::append(&path).unwrap();
        for i in 0..FLUSH_EVERY_RECORDS as u32 {
            w.record(&rec(i)).unwrap();
        }
        let c = read_spool(&path).unwrap();
        assert_eq!(c.records.len(), FLUSH_EVERY_RECORDS);
        drop(w);
    }

    #[test]
    fn torn_tail_is_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SPOOL_FILE);
        {
            let mut w = SpoolWriter::append(&path).unwrap();
            w.run_started(&started()).unwrap();
            for i in 0..5 {
                w.record(&rec(i)).unwrap();
            }
            w.flush().unwrap();
        }
        // Simulate a crash in the middle of writing the 6th record: cut its line in half.
        let full = serde_json::to_string(&SpoolLineRef::Record(&rec(5))).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&full.as_bytes()[..full.len() / 2]).unwrap();
        drop(f);
        let c = read_spool(&path).unwrap();
        assert_eq!(c.records.len(), 5);
        assert_eq!(c.skipped_lines, 1);
        assert!(c.truncated_tail);
        assert_eq!(c.first_error.as_ref().map(|e| e.0), Some(7));
        // The run has no finish marker: wall time falls back to the last end (4·1000 + 500 ns).
        assert!(c.runs[0].finished.is_none());
        let exp = small_results().plan.experiment;
        let ctx = c.runs[0].run_context(&exp, &c.records);
        assert!((ctx.wall_time_s - 4500e-9).abs() < 1e-15);
        // Appending after recovery starts a fresh line: the new record is readable.
        let mut w = SpoolWriter::append(&path).unwrap();
        w.record(&rec(6)).unwrap();
        w.flush().unwrap();
        let c = read_spool(&path).unwrap();
        assert_eq!(c.records.len(), 6);
        assert_eq!(c.records[5], rec(6));
        assert_eq!((c.skipped_lines, c.truncated_tail), (1, false));
    }

    #[test]
    fn garbage_in_the_middle_is_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SPOOL_FILE);
        let good = serde_json::to_string(&SpoolLineRef::Record(&rec(1))).unwrap();
        std::fs::write(&path, format!("{good}\n{{\"kind\":\"bogus\"}}\n\n{good}\n")).unwrap();
        let c = read_spool(&path).unwrap();
        assert_eq!(c.records.len(), 2);
        assert_eq!(c.skipped_lines, 1);
        assert!(!c.truncated_tail);
    }

    #[test]
    fn errors_name_the_path() {
        let err = SpoolWriter::append(Path::new("/nonexistent-dir-xyz/s.jsonl")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir-xyz/s.jsonl"),
            "{err}"
        );
        let err = read_spool(Path::new("/nonexistent-dir-xyz/s.jsonl")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir-xyz/s.jsonl"),
            "{err}"
        );
    }
}
