//! The per-point views: the overview table, each point's detail card (facts,
//! statistics, runs, SLOs) and the token-accounting table.

use std::collections::BTreeMap;

use serde::Serialize;

use super::facts::{anchor_for, kv, point_load, point_mode, KeyValue};
use super::format::{fmt_count, fmt_mean_std, fmt_num, fmt_pct, fmt_stat_cell, format_load};
use crate::metrics::{PointSummary, RunSummary, Stat};
use crate::plan::LoadSpec;
use crate::results::PointResult;
use crate::vocab::Arrival;

#[derive(Serialize)]
pub struct OverviewRow {
    point_id: String,
    anchor: String,
    endpoint: String,
    scenario: String,
    mode: String,
    load: String,
    runs: String,
    ok: String,
    failure_rate: String,
    throughput: String,
    ttft_p50: String,
    tpot_p50: String,
    e2e_p50: String,
    steady_state: String,
}

#[derive(Serialize)]
pub struct PointView {
    point_id: String,
    anchor: String,
    title: String,
    facts: Vec<KeyValue>,
    stat_rows: Vec<StatRow>,
    run_rows: Vec<RunRow>,
    slo_rows: Vec<KeyValue>,
}

#[derive(Serialize)]
pub struct StatRow {
    metric: String,
    unit: String,
    pooled: String,
    cells: Vec<String>,
}

#[derive(Serialize)]
pub struct RunRow {
    run: String,
    wall_s: String,
    requests: String,
    ok: String,
    e2e_output_tps: String,
    requests_per_s: String,
    steady_state: String,
    peak_active: String,
    goodput: String,
}

#[derive(Serialize)]
pub struct TokenRow {
    point_id: String,
    input_sources: String,
    output_sources: String,
    input_mismatches: String,
    output_mismatches: String,
    target_misses: String,
    reasoning: String,
    cached: String,
    finish_reasons: String,
}

/// One row of the overview table.
#[must_use]
pub fn overview_row(p: &PointResult, pooling: bool) -> OverviewRow {
    let s = &p.summary;
    let dash = || "–".to_string();
    let p50 = |st: &Stat| if st.n > 0 { fmt_num(st.p50) } else { dash() };
    OverviewRow {
        point_id: p.spec.id.clone(),
        anchor: anchor_for(&p.spec.id),
        endpoint: p.spec.endpoint.clone(),
        scenario: p.spec.scenario.clone(),
        mode: point_mode(p),
        load: format_load(point_load(p)),
        runs: p.runs.len().to_string(),
        ok: format!(
            "{} / {}",
            fmt_count(s.reliability.ok),
            fmt_count(s.reliability.total)
        ),
        failure_rate: fmt_pct(s.reliability.failure_rate_pct),
        throughput: if pooling {
            format!(
                "{} items/s",
                fmt_mean_std(s.items_per_s.mean, s.items_per_s.std)
            )
        } else if s.e2e_output_tps.n > 0 {
            format!(
                "{} tok/s",
                fmt_mean_std(s.e2e_output_tps.mean, s.e2e_output_tps.std)
            )
        } else {
            dash()
        },
        ttft_p50: p50(&s.ttft_ms),
        tpot_p50: p50(&s.tpot_ms),
        e2e_p50: p50(&s.e2e_ms),
        steady_state: s
            .steady_state_tps
            .map_or_else(dash, |v| fmt_mean_std(v, s.steady_state_tps_std)),
    }
}

/// The rows of a point's statistics table: (name, unit, pooling, stat).
fn stat_rows(s: &PointSummary) -> Vec<(&'static str, &'static str, &'static str, &Stat)> {
    let mut rows = vec![
        ("Input tokens", "tokens", "per request", &s.input_tokens),
        ("Output tokens", "tokens", "per request", &s.output_tokens),
        ("TTFT", "ms", "per request", &s.ttft_ms),
        ("TTFO", "ms", "per request", &s.ttfo_ms),
        ("TPOT", "ms", "per request", &s.tpot_ms),
        ("ITL", "ms", "per event gap", &s.itl_ms),
        ("E2E latency", "ms", "per request", &s.e2e_ms),
        ("Decode time", "ms", "per request", &s.decode_ms),
        (
            "Input throughput",
            "tok/s",
            "per request",
            &s.input_tps_per_request,
        ),
        (
            "Output throughput",
            "tok/s",
            "per request",
            &s.output_tps_per_request,
        ),
        (
            "E2E output throughput",
            "tok/s",
            "per run",
            &s.e2e_output_tps,
        ),
        ("E2E total throughput", "tok/s", "per run", &s.e2e_total_tps),
        ("Requests/s", "req/s", "per run", &s.requests_per_s),
        ("Wall time", "s", "per run", &s.wall_time_s),
        ("Items/s", "items/s", "per run", &s.items_per_s),
    ];
    if let Some(g) = &s.goodput_rps {
        rows.push(("Goodput", "req/s", "per run", g));
    }
    if let Some(g) = &s.goodput_tps {
        rows.push(("Goodput", "tok/s", "per run", g));
    }
    // What the server said it spent (its `timings`), beside the client's view.
    if let Some(t) = &s.server_timings {
        rows.push(("Server prefill", "ms", "per request", &t.prefill_ms));
        rows.push(("Server decode", "ms", "per request", &t.decode_ms));
        rows.push((
            "TTFT − server prefill",
            "ms",
            "per request",
            &t.ttft_minus_prefill_ms,
        ));
        rows.push((
            "Decode − server decode",
            "ms",
            "per request",
            &t.decode_minus_server_ms,
        ));
        rows.push((
            "Server cached tokens",
            "tokens",
            "per request",
            &t.cached_tokens,
        ));
    }
    rows.retain(|r| r.3.n > 0);
    rows
}

/// The detail card of one point.
#[must_use]
pub fn point_view(p: &PointResult) -> PointView {
    let s = &p.summary;
    let mut facts = vec![
        kv("Endpoint", p.spec.endpoint.clone()),
        kv("Scenario", p.spec.scenario.clone()),
        kv("Grid", p.spec.grid.clone()),
        kv("Load", load_text(&p.spec.load)),
        kv(
            "Runs",
            format!(
                "{} (+{} warmup requests before the first)",
                p.runs.len(),
                p.spec.warmup
            ),
        ),
        kv(
            "Requests",
            format!(
                "{} ok of {} ({} failed)",
                fmt_count(s.reliability.ok),
                fmt_count(s.reliability.total),
                fmt_pct(s.reliability.failure_rate_pct)
            ),
        ),
        kv("Peak active requests", s.peak_active.to_string()),
        kv(
            "Steady-state throughput",
            s.steady_state_tps.map_or_else(
                || "no bucket qualified".to_string(),
                |v| format!("{} tok/s", fmt_mean_std(v, s.steady_state_tps_std)),
            ),
        ),
        kv("Seed", p.spec.seed.to_string()),
    ];
    if let Some(a) = s.slo_attainment {
        facts.push(kv("SLO attainment", fmt_pct(a * 100.0)));
    }
    let stat_rows = stat_rows(s)
        .into_iter()
        .map(|(metric, unit, pooled, st)| StatRow {
            metric: metric.to_string(),
            unit: unit.to_string(),
            pooled: pooled.to_string(),
            cells: vec![
                fmt_count(st.n),
                fmt_stat_cell(st, |s| s.mean),
                fmt_stat_cell(st, |s| s.std),
                fmt_stat_cell(st, |s| s.min),
                fmt_stat_cell(st, |s| s.p50),
                fmt_stat_cell(st, |s| s.p90),
                fmt_stat_cell(st, |s| s.p95),
                fmt_stat_cell(st, |s| s.p99),
                fmt_stat_cell(st, |s| s.max),
            ],
        })
        .collect();
    let run_rows = p.runs.iter().map(run_row).collect();
    let slo_rows = s
        .slo_results
        .iter()
        .map(|r| {
            kv(
                &r.slo,
                format!(
                    "{} → {}",
                    fmt_num(r.value),
                    if r.met { "met" } else { "missed" }
                ),
            )
        })
        .collect();
    PointView {
        point_id: p.spec.id.clone(),
        anchor: anchor_for(&p.spec.id),
        title: format!(
            "{} · {} · {} {}",
            p.spec.endpoint,
            p.spec.scenario,
            point_mode(p),
            format_load(point_load(p))
        ),
        facts,
        stat_rows,
        run_rows,
        slo_rows,
    }
}

fn load_text(load: &LoadSpec) -> String {
    match load {
        LoadSpec::Burst { batch } => format!("burst of {batch} requests"),
        LoadSpec::Concurrency {
            concurrency,
            requests,
            duration,
        } => {
            let mut s = format!("{concurrency} in flight, {requests} requests");
            if let Some(d) = duration {
                s.push_str(&format!(" or {} s", fmt_num(d.as_secs_f64())));
            }
            s
        }
        LoadSpec::Rate {
            rate,
            arrival,
            requests,
            duration,
            max_concurrency,
        } => {
            let kind = match arrival {
                Arrival::Constant => "constant".to_string(),
                Arrival::Poisson => "Poisson".to_string(),
                Arrival::Gamma { burstiness } => {
                    format!("gamma (burstiness {})", fmt_num(*burstiness))
                }
            };
            let mut s = format!("{} req/s {kind}, {requests} requests", fmt_num(*rate));
            if let Some(d) = duration {
                s.push_str(&format!(" or {} s", fmt_num(d.as_secs_f64())));
            }
            if let Some(c) = max_concurrency {
                s.push_str(&format!(", at most {c} in flight"));
            }
            s
        }
        LoadSpec::Ramp { stages } => format!("ramp of {} stages", stages.len()),
    }
}

fn run_row(r: &RunSummary) -> RunRow {
    RunRow {
        run: r.run_index.to_string(),
        wall_s: fmt_num(r.wall_time_s),
        requests: fmt_count(r.requests),
        ok: fmt_count(r.ok),
        e2e_output_tps: fmt_num(r.e2e_output_tps),
        requests_per_s: fmt_num(r.requests_per_s),
        steady_state: r.steady_state_tps.map_or_else(|| "–".into(), fmt_num),
        peak_active: r.peak_active.to_string(),
        goodput: r.goodput_rps.map_or_else(|| "–".into(), fmt_num),
    }
}

fn counts_text(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "–".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}: {}", fmt_count(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of the token-accounting table.
#[must_use]
pub fn token_row(p: &PointResult) -> TokenRow {
    let t = &p.summary.tokens;
    let u = &p.summary.usage;
    TokenRow {
        point_id: p.spec.id.clone(),
        input_sources: counts_text(&t.input_sources),
        output_sources: counts_text(&t.output_sources),
        input_mismatches: fmt_count(t.input_mismatches),
        output_mismatches: fmt_count(t.output_mismatches),
        target_misses: fmt_count(t.output_target_misses),
        reasoning: fmt_count(u.reasoning_tokens_total),
        cached: if u.cached_tokens_total > 0 {
            format!(
                "{} ({} hit rate)",
                fmt_count(u.cached_tokens_total),
                fmt_pct(u.cache_hit_rate * 100.0)
            )
        } else {
            "0".into()
        },
        finish_reasons: counts_text(&u.finish_reasons),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ServerTimingStats;

    #[test]
    fn server_timings_get_rows_only_when_reported() {
        let mut s = PointSummary {
            ttft_ms: Stat::from_values(&[40.0, 42.0]),
            ..PointSummary::default()
        };
        let names = |s: &PointSummary| stat_rows(s).iter().map(|r| r.0).collect::<Vec<_>>();
        assert!(!names(&s).iter().any(|n| n.starts_with("Server")));
        s.server_timings = Some(ServerTimingStats {
            requests: 2,
            prefill_ms: Stat::from_values(&[30.0, 31.0]),
            decode_ms: Stat::from_values(&[190.0, 195.0]),
            ttft_minus_prefill_ms: Stat::from_values(&[10.0, 11.0]),
            decode_minus_server_ms: Stat::from_values(&[0.5, 0.7]),
            cached_tokens: Stat::from_values(&[0.0, 0.0]),
        });
        let with = names(&s);
        for n in [
            "Server prefill",
            "Server decode",
            "TTFT − server prefill",
            "Decode − server decode",
            "Server cached tokens",
        ] {
            assert!(with.contains(&n), "{n} missing from {with:?}");
        }
    }
}
