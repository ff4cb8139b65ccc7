//! STAGE 8: the report layer, results turned into view models ready for a template.
//!
//! [`build_report`] makes the [`ReportView`] of one run that the HTML sink
//! (`crate::sink::html`) renders as `report.html`; `compare` builds its page
//! from the same parts (number formatting, charts). Nothing here writes a file
//! or knows a template: every function is a pure function of the results, so a
//! stored run renders the same bytes again.
//!
//! Sections of the report (anchor ids), each with its builder: `experiment`
//! ([`experiment`]), `overview` and `points` and `tokens` ([`points`]),
//! `searches` ([`searches`], only with adaptive searches), `throughput`,
//! `latency`, `tradeoff` and `timeseries` ([`charts`]), `server` ([`server`],
//! only with scraped server metrics), `pooling` ([`pooling`]), `reliability`
//! and `client` ([`failures`]), `definitions` ([`definitions`]). Chart ids are
//! listed in [`CHART_IDS`]; the server section has one chart per point,
//! `chart-server-<point>` ([`server_chart_id`]).
//!
//! Underneath: [`format`](mod@format) (numbers), [`facts`] (what every section reads off a
//! point), [`series`] (points grouped into chart lines, requests in flight)
//! and [`svg`] (drawing the charts).

pub mod charts;
pub mod definitions;
pub mod experiment;
pub mod facts;
pub mod failures;
pub mod format;
pub mod page;
pub mod points;
pub mod pooling;
pub mod searches;
pub mod series;
pub mod server;
pub mod svg;

pub use charts::CHART_IDS;
pub use page::{build_report, ReportView};
pub use server::{server_chart_id, SERVER_CHART_PREFIX};
