//! The failures section (outcome counts and error samples) and the client
//! self-check section (warnings, CPU use, send lag and queueing per run).

use serde::Serialize;

use super::format::{fmt_count, fmt_num, fmt_pct, fmt_stat_cell, truncate_chars};
use crate::metrics::Stat;
use crate::record::Outcome;
use crate::results::ExperimentResults;

/// Most distinct error messages shown per outcome.
const MAX_ERROR_SAMPLES: usize = 5;
/// Longest error message shown (characters); longer ones are cut with "…".
const MAX_ERROR_CHARS: usize = 400;

#[derive(Serialize)]
/// The failures section.
pub struct FailuresView {
    outcomes: Vec<String>,
    rows: Vec<FailureRow>,
    samples: Vec<ErrorSamples>,
    total_failed: String,
}

#[derive(Serialize)]
pub struct FailureRow {
    point_id: String,
    total: String,
    failed: String,
    rate: String,
    counts: Vec<String>,
}

#[derive(Serialize)]
pub struct ErrorSamples {
    outcome: String,
    count: String,
    messages: Vec<ErrorMessage>,
}

#[derive(Serialize)]
pub struct ErrorMessage {
    point_id: String,
    status: String,
    occurrences: String,
    text: String,
}

#[derive(Serialize)]
/// The client self-check section.
pub struct ClientView {
    warnings: Vec<ClientWarning>,
    runs: Vec<ClientRunRow>,
}

#[derive(Serialize)]
pub struct ClientWarning {
    point_id: String,
    run: String,
    text: String,
}

#[derive(Serialize)]
pub struct ClientRunRow {
    point_id: String,
    run: String,
    cpu: String,
    loop_lag_p99: String,
    send_lag_p50: String,
    send_lag_p99: String,
    queue_p50: String,
    queue_p99: String,
}

/// The failures section: outcome counts per point and the first distinct
/// error messages of each failing outcome.
#[must_use]
pub fn failures_view(results: &ExperimentResults) -> FailuresView {
    let failing: Vec<Outcome> = Outcome::ALL
        .into_iter()
        .filter(|o| !o.is_ok())
        .filter(|o| {
            results.points.iter().any(|p| {
                p.summary
                    .reliability
                    .outcomes
                    .get(o.as_str())
                    .is_some_and(|n| *n > 0)
            })
        })
        .collect();
    // Outcome names the summaries hold that this build does not know, kept visible.
    let mut outcomes: Vec<String> = failing.iter().map(|o| o.as_str().to_string()).collect();
    for p in &results.points {
        for (name, n) in &p.summary.reliability.outcomes {
            if *n > 0 && Outcome::from_name(name).is_none() && !outcomes.contains(name) {
                outcomes.push(name.clone());
            }
        }
    }
    let rows = results
        .points
        .iter()
        .map(|p| {
            let r = &p.summary.reliability;
            FailureRow {
                point_id: p.spec.id.clone(),
                total: fmt_count(r.total),
                failed: fmt_count(r.failed),
                rate: fmt_pct(r.failure_rate_pct),
                counts: outcomes
                    .iter()
                    .map(|o| fmt_count(r.outcomes.get(o).copied().unwrap_or(0)))
                    .collect(),
            }
        })
        .collect();
    let mut samples = Vec::new();
    let mut total_failed = 0u64;
    for o in Outcome::ALL.into_iter().filter(|o| !o.is_ok()) {
        let recs: Vec<_> = results
            .records
            .iter()
            .filter(|r| !r.warmup && r.outcome == o)
            .collect();
        if recs.is_empty() {
            continue;
        }
        total_failed += recs.len() as u64;
        // Distinct messages in first-seen order, with their number of occurrences.
        let mut messages: Vec<(String, String, String, u64)> = Vec::new();
        for r in &recs {
            let text = r.error.clone().unwrap_or_else(|| {
                r.timeout_kind.map_or_else(
                    || "(no message)".into(),
                    |k| format!("{} timeout", k.as_str()),
                )
            });
            let status = r.http_status.map_or_else(|| "–".into(), |s| s.to_string());
            if let Some(m) = messages.iter_mut().find(|m| m.0 == text && m.2 == status) {
                m.3 += 1;
            } else {
                messages.push((text, r.point_id.clone(), status, 1));
            }
        }
        samples.push(ErrorSamples {
            outcome: o.as_str().to_string(),
            count: fmt_count(recs.len() as u64),
            messages: messages
                .into_iter()
                .take(MAX_ERROR_SAMPLES)
                .map(|(text, point_id, status, n)| ErrorMessage {
                    point_id,
                    status,
                    occurrences: fmt_count(n),
                    text: truncate_chars(&text, MAX_ERROR_CHARS),
                })
                .collect(),
        });
    }
    FailuresView {
        outcomes,
        rows,
        samples,
        total_failed: fmt_count(total_failed),
    }
}

/// The client self-check section: the client's warnings and per-run timing checks.
#[must_use]
pub fn client_view(results: &ExperimentResults) -> ClientView {
    let mut warnings = Vec::new();
    let mut runs = Vec::new();
    for p in &results.points {
        for w in &p.summary.client_warnings {
            warnings.push(ClientWarning {
                point_id: p.spec.id.clone(),
                run: "all".into(),
                text: w.clone(),
            });
        }
        for r in &p.runs {
            for w in &r.client.warnings {
                if !p.summary.client_warnings.contains(w) {
                    warnings.push(ClientWarning {
                        point_id: p.spec.id.clone(),
                        run: r.run_index.to_string(),
                        text: w.clone(),
                    });
                }
            }
            let c = &r.client;
            let stat = |s: &Stat, f: fn(&Stat) -> f64| fmt_stat_cell(s, f);
            runs.push(ClientRunRow {
                point_id: p.spec.id.clone(),
                run: r.run_index.to_string(),
                cpu: fmt_pct(c.cpu_utilisation * 100.0),
                loop_lag_p99: c.loop_lag_ms.map_or_else(|| "–".to_owned(), fmt_num),
                send_lag_p50: stat(&c.send_lag_ms, |s| s.p50),
                send_lag_p99: stat(&c.send_lag_ms, |s| s.p99),
                queue_p50: stat(&c.queue_ms, |s| s.p50),
                queue_p99: stat(&c.queue_ms, |s| s.p99),
            });
        }
    }
    ClientView { warnings, runs }
}
