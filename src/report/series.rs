//! The data behind the charts: points grouped into the lines of the load
//! sweeps ([`series_groups`]) and the client's requests in flight over time
//! ([`in_flight`]).

use std::collections::BTreeSet;

use super::facts::{point_load, point_mode};
use crate::record::RequestRecord;
use crate::results::PointResult;

/// A line of the load sweep charts: the points of one endpoint × scenario × mode.
pub struct SeriesGroup<'a> {
    /// Legend text: `endpoint · scenario`, with the mode when modes differ.
    pub label: String,
    /// Palette index.
    pub color: usize,
    pub mode: String,
    /// The points, by load value.
    pub points: Vec<&'a PointResult>,
}

/// Groups points into chart series, in plan order of first appearance.
#[must_use]
pub fn series_groups<'a>(points: &[&'a PointResult]) -> Vec<SeriesGroup<'a>> {
    let mut keys: Vec<(String, String, String)> = Vec::new();
    let mut groups: Vec<Vec<&'a PointResult>> = Vec::new();
    for p in points {
        let key = (
            p.spec.endpoint.clone(),
            p.spec.scenario.clone(),
            point_mode(p),
        );
        match keys.iter().position(|k| *k == key) {
            Some(i) => groups[i].push(p),
            None => {
                keys.push(key);
                groups.push(vec![p]);
            }
        }
    }
    let modes: BTreeSet<String> = keys.iter().map(|k| k.2.clone()).collect();
    keys.into_iter()
        .zip(groups)
        .enumerate()
        .map(|(i, ((ep, sc, mode), mut pts))| {
            pts.sort_by(|a, b| point_load(a).total_cmp(&point_load(b)));
            let label = if modes.len() > 1 {
                format!("{ep} · {sc} ({mode})")
            } else {
                format!("{ep} · {sc}")
            };
            SeriesGroup {
                label,
                color: i,
                mode,
                points: pts,
            }
        })
        .collect()
}

/// The x-axis text of a load sweep: the mode's load when all groups share one.
#[must_use]
pub fn x_label(groups: &[SeriesGroup<'_>]) -> &'static str {
    let modes: BTreeSet<&str> = groups.iter().map(|g| g.mode.as_str()).collect();
    match modes.iter().next() {
        Some(&"burst") if modes.len() == 1 => "Batch size (requests per burst)",
        Some(&"concurrency") if modes.len() == 1 => "Concurrency (requests in flight)",
        Some(&"rate") if modes.len() == 1 => "Request rate (requests/s)",
        Some(&"ramp") if modes.len() == 1 => "Final ramp stage value",
        _ => "Load (batch size / concurrency / rate)",
    }
}

/// Requests in flight at the client over time: `(t_s, count)` after every change.
///
/// A request is in flight from `start_ns` (handed to the HTTP stack) to `end_ns`;
/// at equal times, endings count before starts. Starts with `(0, 0)` unless a
/// request starts at 0.
#[must_use]
pub fn in_flight(records: &[&RequestRecord]) -> Vec<(f64, f64)> {
    let mut events: Vec<(u64, i64)> = records
        .iter()
        .flat_map(|r| [(r.start_ns, 1), (r.end_ns.max(r.start_ns), -1)])
        .collect();
    events.sort_unstable();
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(events.len() + 1);
    if events.first().is_none_or(|e| e.0 > 0) {
        out.push((0.0, 0.0));
    }
    let mut level = 0i64;
    for (k, (t, delta)) in events.iter().enumerate() {
        level += delta;
        if events.get(k + 1).is_none_or(|next| next.0 != *t) {
            #[allow(clippy::cast_precision_loss)]
            out.push((*t as f64 / 1e9, level as f64));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_counts_requests_between_start_and_end() {
        let rec = |start_ms: u64, end_ms: u64| RequestRecord {
            start_ns: start_ms * 1_000_000,
            end_ns: end_ms * 1_000_000,
            ..RequestRecord::default()
        };
        // [10, 30), [20, 40), [30, 50): at 30 ms one ends as another starts.
        let rs = [rec(10, 30), rec(20, 40), rec(30, 50)];
        let refs: Vec<&RequestRecord> = rs.iter().collect();
        assert_eq!(
            in_flight(&refs),
            vec![
                (0.0, 0.0),
                (0.01, 1.0),
                (0.02, 2.0),
                (0.03, 2.0),
                (0.04, 1.0),
                (0.05, 0.0)
            ]
        );
        assert_eq!(in_flight(&[]), vec![(0.0, 0.0)]);
    }
}
