//! The searches section: each adaptive search (sweep or SLO search) with its
//! question, answer and probes.

use serde::Serialize;

use super::facts::anchor_for;
use super::format::fmt_num;
use crate::results::ExperimentResults;
use crate::vocab::SearchKind;

/// One adaptive search (sweep or SLO search): its question, answer and probes.
#[derive(Serialize)]
pub struct SearchView {
    id: String,
    mode: &'static str,
    question: String,
    answer: String,
    note: String,
    probes: Vec<ProbeRow>,
}

#[derive(Serialize)]
pub struct ProbeRow {
    load: String,
    anchor: String,
    point_id: String,
    throughput: String,
    meets: &'static str,
    chosen: bool,
}

/// One view per adaptive search, in run order.
#[must_use]
pub fn search_views(results: &ExperimentResults) -> Vec<SearchView> {
    results
        .searches
        .iter()
        .map(|s| {
            let chosen = s.answer.as_ref().and_then(|a| a.value);
            let slo = matches!(s.spec.kind, SearchKind::Slo { .. });
            SearchView {
                id: s.spec.id.clone(),
                mode: s.spec.kind.mode_name(),
                question: s.spec.describe(),
                answer: match &s.answer {
                    None => "not finished (the run was interrupted)".into(),
                    Some(a) => a.value.map_or_else(|| "none".into(), fmt_num),
                },
                note: s
                    .answer
                    .as_ref()
                    .map(|a| a.note.clone())
                    .unwrap_or_default(),
                probes: s
                    .probes
                    .iter()
                    .map(|p| ProbeRow {
                        load: fmt_num(p.value),
                        anchor: anchor_for(&p.point_id),
                        point_id: p.point_id.clone(),
                        throughput: fmt_num(p.throughput),
                        meets: match (slo, p.meets_slos) {
                            (false, _) => "",
                            (true, true) => "yes",
                            (true, false) => "no",
                        },
                        chosen: chosen == Some(p.value),
                    })
                    .collect(),
            }
        })
        .collect()
}
