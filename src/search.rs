//! Adaptive load searches: the saturation sweep (`mode = "sweep"`) and the SLO
//! search (`mode = "slo_search"`).
//!
//! A search is a grid whose load values are not listed in the manifest: they are
//! chosen one at a time from what earlier probes measured. This module is the
//! pure half: [`next_step`] looks at the probes so far and says which load to
//! measure next, or what the answer is. The runner runs each probe as an ordinary
//! point (appended to the plan, so every output shows it) and feeds its summary
//! back through [`Probe::from_summary`]. Nothing here touches a clock or the
//! network, so every decision is tested on made-up probes.
//!
//! **Throughput of a probe** (`Probe::throughput`): the mean over runs of the
//! run's output tokens / wall time for generating APIs (`e2e_output_tps`), and of
//! items (embeddings, scored documents) / wall time for the others.
//!
//! **Saturation sweep.** Probes `start`, then multiplies the load by `factor`
//! (concurrency rounds up and grows by at least 1) up to `max` (which is probed
//! exactly once). After every probe but the first:
//!
//! ```text
//! gain = throughput(this probe) / throughput(previous probe) − 1
//! ```
//!
//! When `gain < min_gain` the server is saturated: more load no longer buys
//! throughput. The answer is the **previous** probe's load (the smallest load
//! that already reached the plateau) and its throughput. A probe with no
//! successful request also ends the sweep (answer: the previous probe, if any).
//! When `max` is reached while throughput still grows, there is no answer and
//! the note says to raise `max`.
//!
//! **SLO search.** Finds the highest load in `[min, max]` at which the point
//! *meets its SLOs* (see [`Probe::from_summary`]): probes `min` (if it fails,
//! there is no answer), then `max` (if it meets, the answer is `max` and the note
//! says the true limit may be higher), then bisects: with `lo` the highest load
//! that met and `hi` the lowest that did not, it probes `mid = (lo + hi) / 2`
//! (rounded down for concurrency) until `hi − lo ≤ tolerance`, and answers `lo`.
//! The search assumes that a load meeting the SLOs implies every smaller load
//! does (latency grows with load); when probes contradict that, the answer is
//! still the highest load that met below the lowest that failed.
//!
//! A point **meets its SLOs** when every percentile SLO is met (with data), the
//! SLO attainment (good requests / measured requests, for per-request SLOs) is at
//! least `min_attainment`, and the fraction of failed requests is at most
//! `1 − min_attainment`.

use serde::{Deserialize, Serialize};

use crate::metrics::PointSummary;
use crate::plan::format_value;
use crate::plan::{SearchSpec, MAX_PROBES};

use crate::vocab::{SearchKind, SearchOver};

/// What one probe measured, as far as the search cares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Load value (concurrency or rate).
    pub value: f64,
    /// The probe's point id.
    pub point_id: String,
    /// Throughput (module docs).
    pub throughput: f64,
    /// Successful measured requests.
    pub ok: u64,
    /// Whether the point met its SLOs (module docs); true when there are none.
    pub meets_slos: bool,
}

impl Probe {
    /// Reads a probe from its point summary.
    #[must_use]
    pub fn from_summary(s: &PointSummary, min_attainment: f64) -> Probe {
        let throughput = if s.e2e_output_tps.n > 0 && s.e2e_output_tps.mean > 0.0 {
            s.e2e_output_tps.mean
        } else {
            s.items_per_s.mean
        };
        let percentiles_met = s.slo_results.iter().all(|r| r.met && r.samples > 0);
        let attainment_met = s.slo_attainment.is_none_or(|a| a >= min_attainment);
        #[allow(clippy::cast_precision_loss)]
        let failed = if s.reliability.total == 0 {
            1.0
        } else {
            s.reliability.failed as f64 / s.reliability.total as f64
        };
        Probe {
            value: s.load_value,
            point_id: s.point_id.clone(),
            throughput: if throughput.is_finite() {
                throughput
            } else {
                0.0
            },
            ok: s.reliability.ok,
            meets_slos: percentiles_met && attainment_met && failed <= 1.0 - min_attainment,
        }
    }
}

/// The answer of a finished search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchAnswer {
    /// The saturation load, or the highest load meeting the SLOs; `None` when
    /// the search found none (the note says why).
    pub value: Option<f64>,
    /// Throughput measured at `value`.
    pub throughput: Option<f64>,
    /// How the search ended, in words.
    pub note: String,
}

/// What the search does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Measure this load.
    Probe(f64),
    /// The search is over.
    Done(SearchAnswer),
}

/// A search and what it found, as written to `summary.json` and the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub spec: SearchSpec,
    /// Probes in the order they ran.
    pub probes: Vec<Probe>,
    /// `None` when the run was interrupted before the search ended.
    pub answer: Option<SearchAnswer>,
}

/// Decides the next step of `spec` after `probes` (module docs give the rules).
#[must_use]
pub fn next_step(spec: &SearchSpec, probes: &[Probe]) -> Step {
    if probes.len() >= MAX_PROBES {
        return done_best(probes, format!("stopped after {MAX_PROBES} probes"));
    }
    match spec.kind {
        SearchKind::Saturation {
            start,
            factor,
            max,
            min_gain,
        } => saturation_step(spec.over, start, factor, max, min_gain, probes),
        SearchKind::Slo {
            min,
            max,
            tolerance,
            ..
        } => slo_step(spec.over, min, max, tolerance, probes),
    }
}

fn saturation_step(
    over: SearchOver,
    start: f64,
    factor: f64,
    max: f64,
    min_gain: f64,
    probes: &[Probe],
) -> Step {
    let Some(last) = probes.last() else {
        return Step::Probe(start.min(max));
    };
    let prev = probes.len().checked_sub(2).map(|i| &probes[i]);
    if last.ok == 0 {
        return match prev {
            Some(p) => answer(
                p,
                format!(
                    "no request succeeded at {}; saturated at {}",
                    format_value(last.value),
                    format_value(p.value)
                ),
            ),
            None => Step::Done(SearchAnswer {
                value: None,
                throughput: None,
                note: format!("no request succeeded at {}", format_value(last.value)),
            }),
        };
    }
    if let Some(p) = prev {
        let gain = if p.throughput > 0.0 {
            last.throughput / p.throughput - 1.0
        } else {
            f64::INFINITY
        };
        if gain < min_gain {
            return answer(
                p,
                format!(
                    "throughput grew {:.1}% from {} to {} (threshold {}%): saturated at {}",
                    gain * 100.0,
                    format_value(p.value),
                    format_value(last.value),
                    format_value(min_gain * 100.0),
                    format_value(p.value)
                ),
            );
        }
    }
    if last.value >= max {
        return Step::Done(SearchAnswer {
            value: None,
            throughput: None,
            note: format!(
                "throughput still grows at the maximum load {}; raise `search.max`",
                format_value(max)
            ),
        });
    }
    let grown = match over {
        SearchOver::Concurrency => (last.value * factor).ceil().max(last.value + 1.0),
        SearchOver::Rate { .. } => last.value * factor,
    };
    Step::Probe(grown.min(max))
}

fn slo_step(over: SearchOver, min: f64, max: f64, tolerance: f64, probes: &[Probe]) -> Step {
    let Some(first) = probes.first() else {
        return Step::Probe(min);
    };
    if !first.meets_slos {
        return Step::Done(SearchAnswer {
            value: None,
            throughput: None,
            note: format!(
                "the SLOs are not met even at the lowest load {}",
                format_value(first.value)
            ),
        });
    }
    if probes.len() == 1 {
        if max <= min {
            return answer(first, "the only load in range meets the SLOs".into());
        }
        return Step::Probe(max);
    }
    if probes[1].meets_slos {
        return answer(
            &probes[1],
            format!(
                "the SLOs are met at the highest load {}; the limit may be higher (raise `search.max`)",
                format_value(max)
            ),
        );
    }
    let hi = probes
        .iter()
        .filter(|p| !p.meets_slos)
        .map(|p| p.value)
        .fold(f64::INFINITY, f64::min);
    let lo_probe = probes
        .iter()
        .filter(|p| p.meets_slos && p.value < hi)
        .max_by(|a, b| a.value.total_cmp(&b.value));
    let Some(lo_probe) = lo_probe else {
        return done_best(probes, "no load below the failing ones met the SLOs".into());
    };
    let lo = lo_probe.value;
    let mid = match over {
        SearchOver::Concurrency => ((lo + hi) / 2.0).floor(),
        SearchOver::Rate { .. } => (lo + hi) / 2.0,
    };
    if hi - lo <= tolerance || mid <= lo || mid >= hi {
        return answer(
            lo_probe,
            format!(
                "highest load meeting the SLOs: {} (the next probed load, {}, does not)",
                format_value(lo),
                format_value(hi)
            ),
        );
    }
    Step::Probe(mid)
}

fn answer(p: &Probe, note: String) -> Step {
    Step::Done(SearchAnswer {
        value: Some(p.value),
        throughput: Some(p.throughput),
        note,
    })
}

/// Ends a search early with the highest load that met the SLOs, if any.
fn done_best(probes: &[Probe], note: String) -> Step {
    match probes
        .iter()
        .filter(|p| p.meets_slos && p.ok > 0)
        .max_by(|a, b| a.value.total_cmp(&b.value))
    {
        Some(p) => answer(p, note),
        None => Step::Done(SearchAnswer {
            value: None,
            throughput: None,
            note,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::LoadSpec;
    use crate::vocab::Arrival;

    fn spec(kind: SearchKind, over: SearchOver) -> SearchSpec {
        SearchSpec {
            index: 0,
            id: "g.sim.short.sweep".into(),
            grid: "g".into(),
            endpoint: "sim".into(),
            scenario: "short".into(),
            kind,
            over,
            requests: Some(16),
            duration: None,
            runs: 1,
            warmup: 0,
            experiment_seed: 42,
            probe_base: 3,
        }
    }

    fn sat(start: f64, max: f64) -> SearchSpec {
        spec(
            SearchKind::Saturation {
                start,
                factor: 2.0,
                max,
                min_gain: 0.1,
            },
            SearchOver::Concurrency,
        )
    }

    fn slo(min: f64, max: f64, tolerance: f64) -> SearchSpec {
        spec(
            SearchKind::Slo {
                min,
                max,
                tolerance,
                min_attainment: 0.99,
            },
            SearchOver::Concurrency,
        )
    }

    fn probe(value: f64, throughput: f64, meets: bool) -> Probe {
        Probe {
            value,
            point_id: format!("p-{value}"),
            throughput,
            ok: 10,
            meets_slos: meets,
        }
    }

    /// Runs a search to the end against a model of the server: `f(load) → (throughput, meets)`.
    fn drive(s: &SearchSpec, f: impl Fn(f64) -> (f64, bool)) -> (Vec<f64>, SearchAnswer) {
        let mut probes = Vec::new();
        loop {
            match next_step(s, &probes) {
                Step::Probe(v) => {
                    let (t, m) = f(v);
                    probes.push(probe(v, t, m));
                }
                Step::Done(a) => return (probes.iter().map(|p| p.value).collect(), a),
            }
        }
    }

    #[test]
    fn saturation_stops_at_the_knee_of_a_batch_limited_server() {
        // Throughput ∝ load up to 8 slots, flat after: the knee is 8.
        let (values, a) = drive(&sat(1.0, 256.0), |c| (c.min(8.0) * 100.0, true));
        assert_eq!(values, [1.0, 2.0, 4.0, 8.0, 16.0]);
        assert_eq!(a.value, Some(8.0));
        assert_eq!(a.throughput, Some(800.0));
        assert!(a.note.contains("saturated at 8"), "{}", a.note);
    }

    #[test]
    fn saturation_probes_max_once_and_reports_no_knee_when_still_growing() {
        let (values, a) = drive(&sat(3.0, 20.0), |c| (c * 10.0, true));
        assert_eq!(values, [3.0, 6.0, 12.0, 20.0]);
        assert_eq!(a.value, None);
        assert!(a.note.contains("raise `search.max`"));
    }

    #[test]
    fn saturation_ends_when_a_probe_has_no_success() {
        let s = sat(1.0, 64.0);
        let probes = vec![probe(1.0, 10.0, true), {
            let mut p = probe(2.0, 0.0, false);
            p.ok = 0;
            p
        }];
        let Step::Done(a) = next_step(&s, &probes) else {
            panic!("expected the end")
        };
        assert_eq!(a.value, Some(1.0));
    }

    #[test]
    fn rate_sweeps_multiply_without_rounding() {
        let s = spec(
            SearchKind::Saturation {
                start: 0.5,
                factor: 1.5,
                max: 100.0,
                min_gain: 0.05,
            },
            SearchOver::Rate {
                arrival: Arrival::Poisson,
                max_concurrency: None,
            },
        );
        assert_eq!(next_step(&s, &[probe(0.5, 1.0, true)]), Step::Probe(0.75));
    }

    #[test]
    fn slo_search_bisects_to_the_last_meeting_concurrency() {
        for limit in [1.0, 2.0, 5.0, 8.0, 13.0, 31.0] {
            let (values, a) = drive(&slo(1.0, 32.0, 1.0), |c| (c, c <= limit));
            assert_eq!(a.value, Some(limit), "limit {limit}: probes {values:?}");
            assert!(values.len() <= 2 + 5, "bisection of 31 steps: {values:?}");
        }
    }

    #[test]
    fn slo_search_answers_max_or_nothing_at_the_edges() {
        let (_, a) = drive(&slo(1.0, 16.0, 1.0), |c| (c, true));
        assert_eq!(a.value, Some(16.0));
        assert!(a.note.contains("may be higher"));
        let (values, a) = drive(&slo(2.0, 16.0, 1.0), |c| (c, false));
        assert_eq!(values, [2.0]);
        assert_eq!(a.value, None);
    }

    #[test]
    fn slo_search_over_rate_stops_within_tolerance() {
        let s = spec(
            SearchKind::Slo {
                min: 1.0,
                max: 100.0,
                tolerance: 0.5,
                min_attainment: 0.99,
            },
            SearchOver::Rate {
                arrival: Arrival::Constant,
                max_concurrency: None,
            },
        );
        let (_, a) = drive(&s, |r| (r, r <= 37.3));
        let v = a.value.expect("an answer");
        assert!(v <= 37.3 && v > 37.3 - 0.5, "{v}");
    }

    #[test]
    fn probe_points_carry_the_load_and_a_stable_id_and_seed() {
        let s = sat(1.0, 64.0);
        assert_eq!(s.probe_index(2), 5);
        let p = s.probe_point(16.0, 7);
        assert_eq!(p.index, 7);
        assert_eq!(p.id, "g.sim.short.sweep-16");
        assert_eq!(
            p.load,
            LoadSpec::Concurrency {
                concurrency: 16,
                requests: 16,
                duration: None
            }
        );
        assert_eq!(p.seed, s.probe_point(16.0, 9).seed);
        assert_ne!(p.seed, s.probe_point(8.0, 7).seed);
    }

    #[test]
    fn probe_reads_slo_verdicts_and_failures_from_the_summary() {
        let mut s = PointSummary {
            load_value: 4.0,
            ..PointSummary::default()
        };
        s.e2e_output_tps.n = 1;
        s.e2e_output_tps.mean = 500.0;
        s.reliability.total = 100;
        s.reliability.ok = 100;
        s.slo_attainment = Some(1.0);
        let p = Probe::from_summary(&s, 0.99);
        assert!(p.meets_slos);
        assert!((p.throughput - 500.0).abs() < 1e-9);
        s.reliability.failed = 2;
        s.reliability.ok = 98;
        assert!(!Probe::from_summary(&s, 0.99).meets_slos, "2% failed");
        s.reliability.failed = 0;
        s.slo_results.push(crate::metrics::SloResult {
            slo: "tpot_ms.p90 <= 10".into(),
            value: 12.0,
            met: false,
            samples: 100,
        });
        assert!(!Probe::from_summary(&s, 0.99).meets_slos);
        s.slo_results[0].met = true;
        s.slo_results[0].samples = 0;
        assert!(
            !Probe::from_summary(&s, 0.99).meets_slos,
            "no data proves nothing"
        );
    }
}
