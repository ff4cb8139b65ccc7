//! Scenario `spec` strings in manifests: the shared grammar of
//! [`crate::dataset::scenario`] (`D(512,128)`, `N(100,50)/(50,25)`, …), with its
//! errors (which point at the offending character) turned into manifest messages.

use crate::vocab::workload;
use crate::vocab::workload::Workload;

/// Documents per rerank request when the string form `R(d,q)` gives none.
pub use crate::vocab::workload::DEFAULT_RERANK_DOCUMENTS;

/// Parses a scenario string into a [`Workload`].
///
/// # Errors
/// A message saying what is wrong with `s`, where, and which forms are accepted.
pub fn parse_workload(s: &str) -> Result<Workload, String> {
    workload::parse(s).map_err(|e| e.to_string())
}
