//! What a chart is made of (series, points, legend) and the finished [`Chart`]
//! a page shows: the palette, the default size and the drawing error.

use plotters::style::RGBColor;

/// The tab10 palette, in order (the original's plots use the same cycle).
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Default size of a chart in SVG pixels (the page scales it to its column width).
pub const DEFAULT_SIZE: (u32, u32) = (760, 380);

/// A drawing failure (plotters reports them as strings).
#[derive(Debug, thiserror::Error)]
#[error("failed to draw chart `{chart}`: {message}")]
pub struct PlotError {
    /// Id of the chart being drawn.
    pub chart: String,
    /// What plotters reported.
    pub message: String,
}

/// One point of a series. `err` is the half-height of the error bar (0 = none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesPoint {
    /// Load (or other x) value.
    pub x: f64,
    /// Value.
    pub y: f64,
    /// Half-height of the error bar.
    pub err: f64,
}

impl SeriesPoint {
    /// A point without an error bar.
    #[must_use]
    pub fn new(x: f64, y: f64) -> Self {
        SeriesPoint { x, y, err: 0.0 }
    }

    /// A point with a ± `err` error bar.
    #[must_use]
    pub fn with_err(x: f64, y: f64, err: f64) -> Self {
        SeriesPoint { x, y, err }
    }
}

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text (escaped by the template and by plotters).
    pub label: String,
    /// Index into [`PALETTE`] (taken modulo its length).
    pub color: usize,
    /// Dashed line with hollow markers (secondary statistic).
    pub dashed: bool,
    /// Draw error bars and a faint band from each point's `err`.
    pub error_bars: bool,
    /// Points, drawn in the order given (sort by x for a load sweep).
    pub points: Vec<SeriesPoint>,
}

/// How the x axis maps values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XScale {
    /// Log2 when every x is a power of two (and there are at least two), else linear.
    Auto,
    /// Always linear.
    Linear,
}

/// What a line chart shows.
#[derive(Clone, Debug)]
pub struct LineChartSpec<'a> {
    /// Id of the chart (used in error messages).
    pub id: &'a str,
    /// Text under the x axis.
    pub x_label: &'a str,
    /// Text beside the y axis.
    pub y_label: &'a str,
    /// The lines to draw.
    pub series: &'a [Series],
    /// How the x axis maps values.
    pub x_scale: XScale,
    /// Start the y axis at 0 (throughputs, latencies); else fit the data.
    pub y_from_zero: bool,
    /// Width and height in SVG pixels.
    pub size: (u32, u32),
}

/// One legend entry, rendered in HTML beside the chart.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LegendEntry {
    /// Text of the entry.
    pub label: String,
    /// CSS colour (`#rrggbb`).
    pub color: String,
    /// Drawn dashed (secondary statistic).
    pub dashed: bool,
}

/// A finished chart: an id (the HTML anchor), a title, the SVG and its legend.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Chart {
    /// Stable id, e.g. `chart-e2e-throughput`; the report's `<figure>` carries it.
    pub id: String,
    /// Heading shown above the chart.
    pub title: String,
    /// Short explanation shown under the title.
    pub caption: String,
    /// The SVG document (already escaped; inserted verbatim).
    pub svg: String,
    /// Entries shown under the chart.
    pub legend: Vec<LegendEntry>,
}

impl Chart {
    /// A chart whose legend is built from `series` (one entry per distinct label).
    #[must_use]
    pub fn new(id: &str, title: &str, caption: &str, svg: String, series: &[Series]) -> Self {
        let mut legend: Vec<LegendEntry> = Vec::new();
        for s in series {
            if !legend
                .iter()
                .any(|e| e.label == s.label && e.dashed == s.dashed)
            {
                legend.push(LegendEntry {
                    label: s.label.clone(),
                    color: color_hex(s.color).to_string(),
                    dashed: s.dashed,
                });
            }
        }
        Chart {
            id: id.to_string(),
            title: title.to_string(),
            caption: caption.to_string(),
            svg,
            legend,
        }
    }
}

/// The palette colour for `index` as `#rrggbb`.
#[must_use]
pub fn color_hex(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// The palette colour for `index` as a plotters colour.
#[must_use]
pub fn color_rgb(index: usize) -> RGBColor {
    let hex = color_hex(index);
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    RGBColor(channel(1), channel(3), channel(5))
}

/// Escapes text for an XML/HTML attribute value.
#[must_use]
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}
