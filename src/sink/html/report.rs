//! [`HtmlSink`]: renders the report layer's view of a run
//! (`crate::report::build_report`) into `report.html`.

use super::page::{encode_err, render_page};
use crate::report::build_report;
use crate::results::layout::REPORT_FILE;
use crate::results::{write_atomic, ExperimentResults, ResultsDir};
use crate::sink::writer::{Sink, SinkError};

/// Writes `report.html`.
#[derive(Clone, Copy, Debug, Default)]
pub struct HtmlSink;

impl Sink for HtmlSink {
    fn name(&self) -> &'static str {
        "html"
    }

    fn write(&self, dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError> {
        let path = dir.file(REPORT_FILE);
        let html = render_report(results).map_err(|e| e.at(&path))?;
        Ok(write_atomic(&path, html.as_bytes())?)
    }
}

/// Renders the report of `results` as one HTML document.
///
/// # Errors
/// [`SinkError::Encode`] when a chart or the template fails to render.
pub fn render_report(results: &ExperimentResults) -> Result<String, SinkError> {
    let view = build_report(results).map_err(encode_err)?;
    render_page("report.html", &view)
}
