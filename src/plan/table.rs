//! The plain-text plan table printed by `tokenomics plan`.

use std::fmt::Write as _;

use super::format_value;
use super::matrix::total_requests;
use super::{LoadSpec, Plan, PointSpec};
use crate::vocab::StageKind;

const HEADERS: [&str; 11] = [
    "#", "id", "endpoint", "api", "scenario", "mode", "load", "runs", "warmup", "req/run", "total",
];
/// Columns aligned to the right (numbers).
const RIGHT: [bool; 11] = [
    true, false, false, false, false, false, true, true, true, true, true,
];

/// The load column: the batch, concurrency, rate (`/s`) or the number of ramp stages.
fn load_cell(load: &LoadSpec) -> String {
    match load {
        LoadSpec::Burst { batch } => batch.to_string(),
        LoadSpec::Concurrency { concurrency, .. } => concurrency.to_string(),
        LoadSpec::Rate { rate, .. } => format!("{}/s", format_value(*rate)),
        LoadSpec::Ramp { stages } => format!("{} stages", stages.len()),
    }
}

/// True when the point's request count is only a cap or a lower bound (duration-bound).
fn open_ended(p: &PointSpec) -> bool {
    match &p.load {
        LoadSpec::Burst { .. } => false,
        LoadSpec::Concurrency { duration, .. } | LoadSpec::Rate { duration, .. } => {
            duration.is_some()
        }
        LoadSpec::Ramp { stages } => stages.iter().any(|s| s.kind == StageKind::Concurrency),
    }
}

/// Renders the plan as an aligned text table, one row per point, then a total line.
///
/// `total` = warmup + runs × requests per run. A `*` marks counts that a
/// duration can cut short or that closed-loop ramp stages add to.
#[must_use]
pub fn render_table(plan: &Plan) -> String {
    let mut rows: Vec<[String; 11]> = Vec::with_capacity(plan.points.len());
    let mut marked = false;
    for p in &plan.points {
        let api = plan
            .endpoints
            .get(&p.endpoint)
            .map_or("?", |e| e.api.as_str());
        let star = if open_ended(p) {
            marked = true;
            "*"
        } else {
            ""
        };
        rows.push([
            (p.index + 1).to_string(),
            p.id.clone(),
            p.endpoint.clone(),
            api.to_owned(),
            p.scenario.clone(),
            p.load.mode_name().to_owned(),
            load_cell(&p.load),
            p.runs.to_string(),
            p.warmup.to_string(),
            format!("{}{star}", p.requests_per_run()),
            format!("{}{star}", total_requests(p)),
        ]);
    }
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            if RIGHT[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    if !rows.is_empty() || plan.searches.is_empty() {
        line(&HEADERS.map(str::to_owned));
    }
    for row in &rows {
        line(row);
    }
    let total: u64 = plan.points.iter().map(total_requests).sum();
    let _ = writeln!(
        out,
        "total: {} point{}, {} request{} (warmup + runs × req/run)",
        plan.points.len(),
        if plan.points.len() == 1 { "" } else { "s" },
        total,
        if total == 1 { "" } else { "s" },
    );
    if marked {
        out.push_str(
            "* a duration can end these runs early, or closed-loop ramp stages add requests\n",
        );
    }
    if !plan.searches.is_empty() {
        let _ = writeln!(
            out,
            "\n{} adaptive search{} (run after the points above; each probe is a point with its own load):",
            plan.searches.len(),
            if plan.searches.len() == 1 { "" } else { "es" },
        );
        for s in &plan.searches {
            let requests = s
                .requests
                .map_or_else(|| "default".to_owned(), |r| r.to_string());
            let _ = writeln!(
                out,
                "  {}. {} ({}): {}; runs {}, warmup {}, req/run {requests}",
                s.index + 1,
                s.id,
                s.kind.mode_name(),
                s.describe(),
                s.runs,
                s.warmup,
            );
        }
    }
    out
}
