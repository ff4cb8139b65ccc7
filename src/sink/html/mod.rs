//! The HTML report: one self-contained `report.html` per results directory.
//!
//! The page is rendered with minijinja from templates embedded at compile time
//! (`src/sink/html/templates/`, [`page`]), with inline CSS and inline SVG
//! charts: no network, no JavaScript, it opens from disk in any browser. What
//! the page shows is the report layer's view model (`crate::report`); this
//! sink only renders and writes it ([`report`]). Every string that comes from
//! a manifest, a dataset, a server or an error goes through minijinja's HTML
//! auto-escaping (the environment escapes every template, whatever its name);
//! only the SVG drawn by plotters (which escapes its own text) and the
//! embedded stylesheet are inserted verbatim.
//!
//! The output is a pure function of the results: no rendering time, no
//! hash-map order, so `tokenomics report` re-renders a stored run byte for byte.

pub mod page;
pub mod report;

pub use page::render_page;
pub use report::{render_report, HtmlSink};

#[cfg(test)]
mod tests;
