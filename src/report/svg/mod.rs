//! SVG charts for the HTML report and the comparison page (plotters, SVG backend).
//!
//! Every chart is a pure function from plain data to an SVG string, so the same
//! input always gives the same bytes. Titles and legends are rendered by the HTML
//! templates (so they use the page's typography); the SVG holds the axes, the
//! grid and the data. plotters' SVG backend escapes every text it draws (`<`,
//! `>`, `&`, quotes), so axis labels built from user data cannot inject markup.
//!
//! Conventions (chosen to match the original tool's completion plots):
//! * colours cycle through the tab10 palette ([`PALETTE`]);
//! * the x axis is log2 when every load value is a power of two (ticks at the
//!   values, labelled with the integers), linear otherwise;
//! * error bars and the faint band are mean ± std, the band clipped at 0;
//! * a solid line is the headline statistic, a dashed line the secondary one
//!   (e.g. p50 solid, p99 dashed).
//!
//! Files: [`chart`] (what a chart is made of), [`axis`] (ticks and labels),
//! [`line`](mod@line) (load sweeps), [`time`] (time series and step panels),
//! [`histogram`].

pub mod axis;
pub mod chart;
pub mod histogram;
pub mod line;
pub mod time;

pub use chart::{
    color_hex, color_rgb, escape_attr, Chart, LegendEntry, LineChartSpec, PlotError, Series,
    SeriesPoint, XScale, DEFAULT_SIZE, PALETTE,
};
pub use histogram::{histogram_bins, histogram_chart, HistogramSeries};
pub use line::line_chart;
pub use time::{
    downsample, max_per_slice, step_panels_chart, time_series_chart, StepPanel, StepSeries,
    TimeSeries, MAX_TIME_POINTS,
};

#[cfg(test)]
mod tests;
