//! SVG charts for the HTML report and the comparison page (plotters, SVG backend).
//!
//! Every chart is a pure function from plain data to an SVG string, so the same
//! input always gives the same bytes. Titles and legends are rendered by the HTML
//! templates (so they use the page's typography); the SVG holds the axes, the
//! grid and the data. plotters' SVG backend escapes every text it draws (`<`,
//! `>`, `&`, quotes), so axis labels built from user data cannot inject markup.
//!
//! Conventions (chosen to match the original's completion plots, spec §8.1):
//! * colours cycle through the tab10 palette ([`PALETTE`]);
//! * the x axis is log2 when every load value is a power of two (ticks at the
//!   values, labelled with the integers), linear otherwise;
//! * error bars and the faint band are mean ± std, the band clipped at 0;
//! * a solid line is the headline statistic, a dashed line the secondary one
//!   (e.g. p50 solid, p99 dashed).

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

/// The tab10 palette, in order (the original's plots use the same cycle).
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// Default size of a chart in SVG pixels (the page scales it to its column width).
pub const DEFAULT_SIZE: (u32, u32) = (760, 380);

const FONT: &str = "sans-serif";
const AXIS_GREY: RGBColor = RGBColor(90, 90, 90);
const GRID_GREY: RGBColor = RGBColor(228, 228, 228);

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

/// True when every value is a power of two (1, 2, 4, …) and there are at least
/// two distinct values: such sweeps are drawn on a log2 axis.
#[must_use]
pub fn is_power_of_two_sweep(xs: &[f64]) -> bool {
    let distinct = distinct_sorted(xs);
    distinct.len() >= 2
        && distinct.iter().all(|&x| {
            x >= 1.0 && x.fract() == 0.0 && x <= 1e15 && {
                // x is an exact integer below 2^53, so the cast is lossless.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let n = x as u64;
                n.is_power_of_two()
            }
        })
}

/// The distinct finite values of `xs`, ascending.
#[must_use]
pub fn distinct_sorted(xs: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// "Nice" tick positions covering `[lo, hi]` with about `target` intervals.
///
/// The step is 1, 2, 2.5 or 5 times a power of ten: `raw = (hi − lo)/target`,
/// `step = the smallest nice value ≥ raw`; ticks run from `ceil(lo/step)·step`
/// to `hi`. Returns the ticks and the step.
#[must_use]
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let span = (hi - lo).abs();
    let target = target.max(1);
    #[allow(clippy::cast_precision_loss)]
    let raw = if span > 0.0 {
        span / target as f64
    } else {
        lo.abs().max(1.0) / target as f64
    };
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    let mut ticks = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 && ticks.len() < 1000 {
        // Rounding to the step's decimals keeps labels like 0.30000000000000004 out.
        ticks.push(round_to_step(k * step, step));
        k += 1.0;
    }
    (ticks, step)
}

fn round_to_step(v: f64, step: f64) -> f64 {
    let decimals = decimals_for_step(step);
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

fn decimals_for_step(step: f64) -> i32 {
    if step <= 0.0 || !step.is_finite() {
        return 0;
    }
    // 2.5 × 10^k needs one more decimal than 10^k.
    #[allow(clippy::cast_possible_truncation)]
    let d = (-(step.log10().floor()) as i32).max(0);
    if ((step / 10f64.powi(-d)) - (step / 10f64.powi(-d)).round()).abs() > 1e-9 {
        d + 1
    } else {
        d
    }
}

/// Formats a tick value given the tick step: `12k` / `1.5M` style when the
/// step is at least 1,000 (so one axis never mixes `5000` and `10k`), else with
/// as many decimals as the step needs.
#[must_use]
pub fn format_tick(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e6 && step >= 1e5 {
        let d = decimals_for_step(step / 1e6);
        return format!("{:.*}M", usize::try_from(d).unwrap_or(0), v / 1e6);
    }
    if v.abs() >= 1e3 && step >= 1e3 {
        let d = decimals_for_step(step / 1e3);
        return format!("{:.*}k", usize::try_from(d).unwrap_or(0), v / 1e3);
    }
    format!(
        "{:.*}",
        usize::try_from(decimals_for_step(step)).unwrap_or(0),
        v
    )
}

/// Formats a load value for an axis or a table: integers without decimals.
#[must_use]
pub fn format_load(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A linear f64 axis whose tick marks (and grid lines) are exactly `ticks`.
///
/// plotters' own `with_key_points` wrapper drops the value formatter that
/// `configure_mesh` needs, so this small coordinate type does the same job.
/// Labels always come from the formatters set in [`mesh`].
#[derive(Clone, Debug)]
struct KeyedAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl KeyedAxis {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        KeyedAxis {
            lo: range.start,
            hi: range.end,
            ticks: ticks
                .into_iter()
                .filter(|t| *t >= range.start && *t <= range.end)
                .collect(),
        }
    }
}

impl Ranged for KeyedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    /// Linear map of `[lo, hi]` onto the pixel range `limit`.
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span == 0.0 || !span.is_finite() {
            return (limit.0 + limit.1) / 2;
        }
        let t = (value - self.lo) / span;
        let pixels = f64::from(limit.1 - limit.0);
        // Pixel coordinates are small; the clamp keeps absurd inputs in range.
        #[allow(clippy::cast_possible_truncation)]
        let offset = (pixels * t).round().clamp(-1e6, 1e6) as i32;
        limit.0 + offset
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

type Ctx<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<KeyedAxis, KeyedAxis>>;

/// The x axis of a chart: how values map and where ticks go.
struct XAxis {
    log2: bool,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    step: f64,
}

impl XAxis {
    fn new(xs: &[f64], scale: XScale) -> Self {
        let distinct = distinct_sorted(xs);
        let log2 = scale == XScale::Auto && is_power_of_two_sweep(&distinct);
        if log2 {
            let ticks: Vec<f64> = distinct.iter().map(|x| x.log2()).collect();
            let lo = ticks.first().copied().unwrap_or(0.0);
            let hi = ticks.last().copied().unwrap_or(1.0);
            let pad = ((hi - lo) * 0.04).max(0.25);
            return XAxis {
                log2,
                lo: lo - pad,
                hi: hi + pad,
                ticks,
                step: 1.0,
            };
        }
        let (lo, hi) = match (distinct.first(), distinct.last()) {
            (Some(a), Some(b)) => (*a, *b),
            _ => (0.0, 1.0),
        };
        let span = hi - lo;
        let pad = if span > 0.0 {
            span * 0.05
        } else {
            lo.abs().max(1.0) * 0.5
        };
        let (lo, hi) = (lo - pad, hi + pad);
        // Load sweeps get a tick at every load value; measured axes get round ticks.
        let (ticks, step) = if scale == XScale::Auto && (2..=10).contains(&distinct.len()) {
            let step = distinct
                .windows(2)
                .map(|w| w[1] - w[0])
                .fold(f64::INFINITY, f64::min);
            (distinct, step)
        } else {
            nice_ticks(lo, hi, 8)
        };
        XAxis {
            log2,
            lo,
            hi,
            ticks,
            step,
        }
    }

    fn map(&self, x: f64) -> f64 {
        if self.log2 {
            x.log2()
        } else {
            x
        }
    }

    fn label(&self, v: f64) -> String {
        if self.log2 {
            format_load(2f64.powf(v).round())
        } else if self.step.is_finite() && self.step > 0.0 {
            let s = format_tick(v, self.step);
            if s.contains('.') && !s.ends_with(['k', 'M']) {
                format_load(v)
            } else {
                s
            }
        } else {
            format_load(v)
        }
    }
}

/// The y range and ticks for values `ys` (each with its error).
fn y_axis(lo_hi: Option<(f64, f64)>, from_zero: bool) -> (f64, f64, Vec<f64>, f64) {
    let (mut lo, mut hi) = lo_hi.unwrap_or((0.0, 1.0));
    if from_zero {
        lo = lo.min(0.0);
    }
    if hi <= lo {
        hi = lo + lo.abs().max(1.0);
    }
    if from_zero && lo >= 0.0 {
        lo = 0.0;
        hi *= 1.08;
    } else {
        let pad = (hi - lo) * 0.08;
        lo -= pad;
        hi += pad;
    }
    let (ticks, step) = nice_ticks(lo, hi, 6);
    // Extend the range to whole steps so the top grid line frames the data.
    let hi = (hi / step).ceil() * step;
    let lo = if from_zero && lo >= 0.0 {
        0.0
    } else {
        (lo / step).floor() * step
    };
    let ticks = if ticks.is_empty() {
        vec![lo, hi]
    } else {
        let mut t = ticks;
        if t.last().is_some_and(|l| *l < hi - step * 1e-6) {
            t.push(round_to_step(hi, step));
        }
        t
    };
    (lo, hi, ticks, step)
}

fn draw_err<E: std::fmt::Display>(chart: &str) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError {
        chart: chart.to_string(),
        message: e.to_string(),
    }
}

fn mesh<'a, 'b>(
    chart: &mut Ctx<'a, 'b>,
    x: &XAxis,
    y_step: f64,
    x_label: &str,
    y_label: &str,
    id: &str,
) -> Result<(), PlotError> {
    let x_fmt = |v: &f64| x.label(*v);
    let y_fmt = |v: &f64| format_tick(*v, y_step);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT, 13).into_font().color(&AXIS_GREY))
        .axis_desc_style((FONT, 14).into_font().color(&AXIS_GREY))
        .bold_line_style(GRID_GREY.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS_GREY.stroke_width(1))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(draw_err(id))
}

/// Adds `role="img"` and an accessible label to the root `<svg>` element.
fn finish_svg(svg: String, aria_label: &str) -> String {
    let escaped = escape_attr(aria_label);
    match svg.strip_prefix("<svg ") {
        Some(rest) => format!("<svg role=\"img\" aria-label=\"{escaped}\" {rest}"),
        None => svg,
    }
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

/// Draws a line chart: one line per series with markers, optional error bars
/// (mean ± err) and a faint band clipped at 0.
///
/// # Errors
/// When plotters fails to draw (it does not for finite data).
pub fn line_chart(spec: &LineChartSpec<'_>) -> Result<String, PlotError> {
    let id = spec.id;
    let points: Vec<&SeriesPoint> = spec
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let xs: Vec<f64> = points.iter().map(|p| p.x).collect();
    let x = XAxis::new(&xs, spec.x_scale);
    let y_bounds = points.iter().fold(None, |acc: Option<(f64, f64)>, p| {
        let e = if p.err.is_finite() { p.err.abs() } else { 0.0 };
        let (lo, hi) = (p.y - e, p.y + e);
        Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))))
    });
    let (y_lo, y_hi, y_ticks, y_step) = y_axis(y_bounds, spec.y_from_zero);

    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, spec.size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err(id))?;
        let mut chart: Ctx<'_, '_> = ChartBuilder::on(&root)
            .margin_top(14)
            .margin_right(22)
            .margin_left(8)
            .margin_bottom(6)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(
                KeyedAxis::new(x.lo..x.hi, x.ticks.clone()),
                KeyedAxis::new(y_lo..y_hi, y_ticks),
            )
            .map_err(draw_err(id))?;
        mesh(&mut chart, &x, y_step, spec.x_label, spec.y_label, id)?;

        for s in spec.series {
            let color = color_rgb(s.color);
            let pts: Vec<(f64, f64, f64)> = s
                .points
                .iter()
                .filter(|p| p.x.is_finite() && p.y.is_finite() && (!x.log2 || p.x > 0.0))
                .map(|p| {
                    let e = if p.err.is_finite() { p.err.abs() } else { 0.0 };
                    (x.map(p.x), p.y, e)
                })
                .collect();
            if pts.is_empty() {
                continue;
            }
            if s.error_bars && pts.len() > 1 && pts.iter().any(|p| p.2 > 0.0) {
                // Band: mean ± std, clipped at 0 below when the axis starts at 0.
                let clip = |v: f64| if spec.y_from_zero { v.max(0.0) } else { v };
                let mut poly: Vec<(f64, f64)> =
                    pts.iter().map(|p| (p.0, clip(p.1 + p.2))).collect();
                poly.extend(pts.iter().rev().map(|p| (p.0, clip(p.1 - p.2))));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        poly,
                        color.mix(0.10).filled(),
                    )))
                    .map_err(draw_err(id))?;
            }
            let line: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
            if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(line, 7, 5, color.stroke_width(2)))
                    .map_err(draw_err(id))?;
            } else {
                chart
                    .draw_series(LineSeries::new(line, color.stroke_width(2)))
                    .map_err(draw_err(id))?;
            }
            if s.error_bars {
                let cap = 0.03 * (x.hi - x.lo);
                for p in pts.iter().filter(|p| p.2 > 0.0) {
                    let lo = if spec.y_from_zero {
                        (p.1 - p.2).max(0.0)
                    } else {
                        p.1 - p.2
                    };
                    let hi = p.1 + p.2;
                    let style = color.stroke_width(1);
                    let segs = [
                        vec![(p.0, lo), (p.0, hi)],
                        vec![(p.0 - cap / 2.0, lo), (p.0 + cap / 2.0, lo)],
                        vec![(p.0 - cap / 2.0, hi), (p.0 + cap / 2.0, hi)],
                    ];
                    chart
                        .draw_series(segs.into_iter().map(|seg| PathElement::new(seg, style)))
                        .map_err(draw_err(id))?;
                }
            }
            if s.dashed {
                chart
                    .draw_series(
                        pts.iter()
                            .map(|p| Circle::new((p.0, p.1), 4, WHITE.filled())),
                    )
                    .map_err(draw_err(id))?;
                chart
                    .draw_series(
                        pts.iter()
                            .map(|p| Circle::new((p.0, p.1), 4, color.stroke_width(2))),
                    )
                    .map_err(draw_err(id))?;
            } else {
                chart
                    .draw_series(
                        pts.iter()
                            .map(|p| Circle::new((p.0, p.1), 4, color.filled())),
                    )
                    .map_err(draw_err(id))?;
            }
        }
        root.present().map_err(draw_err(id))?;
    }
    Ok(finish_svg(
        buf,
        &format!("{}: {} against {}", id, spec.y_label, spec.x_label),
    ))
}

/// One series of a time-series chart: values per bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeries {
    /// Legend text.
    pub label: String,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// Output tokens per bucket.
    pub tokens_per_bucket: Vec<u32>,
    /// Requests active per bucket.
    pub active_per_bucket: Vec<u32>,
    /// Steady-state median of this run (tokens/s), drawn as a dashed line.
    pub steady_state_tps: Option<f64>,
}

/// Most points drawn per time series; longer series are merged (see [`downsample`]).
pub const MAX_TIME_POINTS: usize = 1500;

/// Trims the idle tail and merges buckets so at most [`MAX_TIME_POINTS`] remain.
///
/// * The tail after the last bucket with tokens or active requests is dropped,
///   keeping a margin of 5 % of the kept length (at least one bucket).
/// * When more than `MAX_TIME_POINTS` buckets remain, runs of `k = ceil(len/MAX)`
///   consecutive buckets are merged: the rate is Σ tokens / (k · bucket) and the
///   active count is the maximum over the run.
///
/// Returns `(t_start_s, tokens_per_s, active)` per merged bucket.
#[must_use]
pub fn downsample(tokens: &[u32], active: &[u32], bucket_s: f64) -> Vec<(f64, f64, f64)> {
    let len = tokens.len().max(active.len());
    let busy = |i: usize| {
        tokens.get(i).copied().unwrap_or(0) > 0 || active.get(i).copied().unwrap_or(0) > 0
    };
    let last = (0..len).rev().find(|&i| busy(i));
    let Some(last) = last else {
        return Vec::new();
    };
    let keep = (last + 1 + ((last + 1) / 20).max(1)).min(len);
    let k = keep.div_ceil(MAX_TIME_POINTS).max(1);
    let mut out = Vec::with_capacity(keep / k + 1);
    let mut i = 0;
    while i < keep {
        let end = (i + k).min(keep);
        let tok: u64 = (i..end)
            .map(|j| u64::from(tokens.get(j).copied().unwrap_or(0)))
            .sum();
        let act = (i..end)
            .map(|j| active.get(j).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let t = i as f64 * bucket_s;
        #[allow(clippy::cast_precision_loss)]
        let width = (end - i) as f64 * bucket_s;
        #[allow(clippy::cast_precision_loss)]
        let rate = if width > 0.0 { tok as f64 / width } else { 0.0 };
        out.push((t, rate, f64::from(act)));
        i = end;
    }
    out
}

/// Draws the steady-state time series: output tokens/s per bucket (top panel,
/// step plot with each run's steady-state median dashed) and active requests
/// per bucket (bottom panel).
///
/// # Errors
/// When plotters fails to draw.
pub fn time_series_chart(
    id: &str,
    series: &[TimeSeries],
    bucket_s: f64,
    size: (u32, u32),
) -> Result<String, PlotError> {
    let data: Vec<Vec<(f64, f64, f64)>> = series
        .iter()
        .map(|s| downsample(&s.tokens_per_bucket, &s.active_per_bucket, bucket_s))
        .collect();
    let t_max = data
        .iter()
        .filter_map(|d| d.last().map(|p| p.0 + bucket_s))
        .fold(bucket_s, f64::max);
    let rate_max = data
        .iter()
        .flatten()
        .map(|p| p.1)
        .chain(series.iter().filter_map(|s| s.steady_state_tps))
        .fold(0.0, f64::max);
    let active_max = data.iter().flatten().map(|p| p.2).fold(0.0, f64::max);

    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err(id))?;
        let split = size.1 * 62 / 100;
        let (top, bottom) = root.split_vertically(split);
        let (x_ticks, x_step) = nice_ticks(0.0, t_max, 8);
        let x = XAxis {
            log2: false,
            lo: 0.0,
            hi: t_max,
            ticks: x_ticks,
            step: x_step,
        };
        for (panel, area) in [(0usize, &top), (1usize, &bottom)] {
            let (y_lo, y_hi, y_ticks, y_step) = y_axis(
                Some((0.0, if panel == 0 { rate_max } else { active_max })),
                true,
            );
            let mut chart: Ctx<'_, '_> = ChartBuilder::on(area)
                .margin_top(12)
                .margin_right(22)
                .margin_left(8)
                .margin_bottom(4)
                .x_label_area_size(if panel == 0 { 24 } else { 42 })
                .y_label_area_size(66)
                .build_cartesian_2d(
                    KeyedAxis::new(x.lo..x.hi, x.ticks.clone()),
                    KeyedAxis::new(y_lo..y_hi, y_ticks),
                )
                .map_err(draw_err(id))?;
            let (x_label, y_label) = if panel == 0 {
                ("", "Output tokens/s")
            } else {
                ("Time since run start (s)", "Active requests")
            };
            mesh(&mut chart, &x, y_step, x_label, y_label, id)?;
            for (s, d) in series.iter().zip(&data) {
                let color = color_rgb(s.color);
                let mut steps: Vec<(f64, f64)> = Vec::with_capacity(d.len() * 2);
                for (i, p) in d.iter().enumerate() {
                    let v = if panel == 0 { p.1 } else { p.2 };
                    let t_next = d.get(i + 1).map_or(p.0 + bucket_s, |n| n.0);
                    steps.push((p.0, v));
                    steps.push((t_next, v));
                }
                if steps.is_empty() {
                    continue;
                }
                let mut area_pts = steps.clone();
                area_pts.push((steps.last().map_or(0.0, |p| p.0), 0.0));
                area_pts.push((steps.first().map_or(0.0, |p| p.0), 0.0));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        area_pts,
                        color.mix(0.10).filled(),
                    )))
                    .map_err(draw_err(id))?;
                chart
                    .draw_series(LineSeries::new(steps, color.stroke_width(2)))
                    .map_err(draw_err(id))?;
                if panel == 0 {
                    if let Some(ss) = s.steady_state_tps {
                        chart
                            .draw_series(DashedLineSeries::new(
                                vec![(0.0, ss), (t_max, ss)],
                                7,
                                5,
                                color.stroke_width(1),
                            ))
                            .map_err(draw_err(id))?;
                    }
                }
            }
        }
        root.present().map_err(draw_err(id))?;
    }
    Ok(finish_svg(
        buf,
        &format!("{id}: output tokens/s and active requests over time"),
    ))
}

/// One stepped line of a [`StepPanel`]: each value holds from its time to the next
/// point's (the last one to the end of the axis).
#[derive(Clone, Debug, PartialEq)]
pub struct StepSeries {
    /// Legend text.
    pub label: String,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// Dashed line.
    pub dashed: bool,
    /// `(t_s, value)` in time order.
    pub points: Vec<(f64, f64)>,
}

/// One panel of a [`step_panels_chart`]: its y axis and lines.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPanel {
    /// Text beside the y axis.
    pub y_label: String,
    /// Fixed top of the y axis (e.g. 100 for a percentage); None fits the data.
    pub y_max: Option<f64>,
    /// The lines.
    pub series: Vec<StepSeries>,
}

/// Caps a step line at `max_points` points: when longer, the time span is cut
/// into `max_points` equal slices and each slice with points keeps one point at
/// its first time holding the slice's maximum (so peaks stay visible).
#[must_use]
pub fn max_per_slice(points: &[(f64, f64)], max_points: usize) -> Vec<(f64, f64)> {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    let max_points = max_points.max(1);
    if finite.len() <= max_points {
        return finite;
    }
    let lo = finite.first().map_or(0.0, |p| p.0);
    let hi = finite.last().map_or(0.0, |p| p.0);
    #[allow(clippy::cast_precision_loss)]
    let width = (hi - lo) / max_points as f64;
    if width <= 0.0 {
        let peak = finite.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        return vec![(lo, peak)];
    }
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(max_points);
    let mut current: Option<(usize, f64, f64)> = None; // (slice, first t, max)
    for (t, v) in finite {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let slice = (((t - lo) / width).floor().max(0.0) as usize).min(max_points - 1);
        current = match current {
            Some((s, t0, m)) if s == slice => Some((s, t0, m.max(v))),
            Some((_, t0, m)) => {
                out.push((t0, m));
                Some((slice, t, v))
            }
            None => Some((slice, t, v)),
        };
    }
    if let Some((_, t0, m)) = current {
        out.push((t0, m));
    }
    out
}

/// Draws panels stacked on one time axis (`t_lo..t_hi` seconds), each with its
/// own y axis and stepped lines (values hold until the next point). Lines
/// longer than [`MAX_TIME_POINTS`] are reduced with [`max_per_slice`].
///
/// # Errors
/// When plotters fails to draw.
pub fn step_panels_chart(
    id: &str,
    panels: &[StepPanel],
    t_range: (f64, f64),
    size: (u32, u32),
) -> Result<String, PlotError> {
    let (t_lo, t_hi) = if t_range.1 > t_range.0 && t_range.0.is_finite() && t_range.1.is_finite() {
        t_range
    } else {
        (0.0, 1.0)
    };
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err(id))?;
        let count = u32::try_from(panels.len().max(1)).unwrap_or(1);
        // The bottom panel also holds the x axis labels: give it 40 px more.
        let extra = 40;
        let base = size.1.saturating_sub(extra) / count;
        let mut rest = root.clone();
        let (x_ticks, x_step) = nice_ticks(t_lo, t_hi, 8);
        let x = XAxis {
            log2: false,
            lo: t_lo,
            hi: t_hi,
            ticks: x_ticks,
            step: x_step,
        };
        for (i, panel) in panels.iter().enumerate() {
            let last = i + 1 == panels.len();
            let area = if last {
                rest.clone()
            } else {
                let (top, bottom) = rest.split_vertically(base);
                rest = bottom;
                top
            };
            let lines: Vec<Vec<(f64, f64)>> = panel
                .series
                .iter()
                .map(|s| max_per_slice(&s.points, MAX_TIME_POINTS))
                .collect();
            let (y_lo, y_hi, y_ticks, y_step) = match panel.y_max {
                Some(top) if top > 0.0 && top.is_finite() => {
                    let (ticks, step) = nice_ticks(0.0, top, 5);
                    (0.0, top, ticks, step)
                }
                _ => {
                    let peak = lines.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
                    y_axis(Some((0.0, peak)), true)
                }
            };
            let mut chart: Ctx<'_, '_> = ChartBuilder::on(&area)
                .margin_top(12)
                .margin_right(22)
                .margin_left(8)
                .margin_bottom(4)
                .x_label_area_size(if last { 42 } else { 22 })
                .y_label_area_size(66)
                .build_cartesian_2d(
                    KeyedAxis::new(x.lo..x.hi, x.ticks.clone()),
                    KeyedAxis::new(y_lo..y_hi, y_ticks),
                )
                .map_err(draw_err(id))?;
            let x_label = if last { "Time since run start (s)" } else { "" };
            mesh(&mut chart, &x, y_step, x_label, &panel.y_label, id)?;
            for (s, pts) in panel.series.iter().zip(&lines) {
                if pts.is_empty() {
                    continue;
                }
                let mut steps: Vec<(f64, f64)> = Vec::with_capacity(pts.len() * 2);
                for (k, p) in pts.iter().enumerate() {
                    let t_next = pts.get(k + 1).map_or(t_hi, |n| n.0);
                    let v = p.1.clamp(y_lo, y_hi);
                    steps.push((p.0.clamp(t_lo, t_hi), v));
                    steps.push((t_next.clamp(t_lo, t_hi), v));
                }
                let color = color_rgb(s.color);
                if s.dashed {
                    chart
                        .draw_series(DashedLineSeries::new(steps, 7, 5, color.stroke_width(2)))
                        .map_err(draw_err(id))?;
                } else {
                    chart
                        .draw_series(LineSeries::new(steps, color.stroke_width(2)))
                        .map_err(draw_err(id))?;
                }
            }
        }
        root.present().map_err(draw_err(id))?;
    }
    Ok(finish_svg(buf, &format!("{id}: values over time")))
}

/// One series of a histogram: raw values (binned by [`histogram_chart`]).
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSeries {
    /// Legend text.
    pub label: String,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// The values to bin.
    pub values: Vec<f64>,
}

/// Bins shared by every series of a histogram: `(lower edges, width)`.
///
/// About `min(40, max(5, sqrt(n)))` bins of a "nice" width between the smallest
/// and the largest value; integer data (token counts) get integer widths ≥ 1.
#[must_use]
pub fn histogram_bins(values: &[f64]) -> (Vec<f64>, f64) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (Some(lo), Some(hi)) = (
        finite.iter().copied().reduce(f64::min),
        finite.iter().copied().reduce(f64::max),
    ) else {
        return (Vec::new(), 1.0);
    };
    let integer = finite.iter().all(|v| v.fract() == 0.0);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let target = ((finite.len() as f64).sqrt().round() as usize).clamp(5, 40);
    let (_, mut width) = nice_ticks(lo, hi.max(lo + 1e-9), target);
    if integer {
        width = width.max(1.0).round();
    }
    let start = (lo / width).floor() * width;
    let mut edges = Vec::new();
    let mut e = start;
    while e <= hi && edges.len() < 1000 {
        edges.push(e);
        e += width;
    }
    if edges.is_empty() {
        edges.push(start);
    }
    (edges, width)
}

/// Draws overlaid histograms (semi-transparent bars, shared bins).
///
/// # Errors
/// When plotters fails to draw.
pub fn histogram_chart(
    id: &str,
    x_label: &str,
    series: &[HistogramSeries],
    size: (u32, u32),
) -> Result<String, PlotError> {
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .collect();
    let (edges, width) = histogram_bins(&all);
    let counts: Vec<Vec<u64>> = series
        .iter()
        .map(|s| {
            let mut c = vec![0u64; edges.len()];
            for v in s.values.iter().filter(|v| v.is_finite()) {
                let first = edges.first().copied().unwrap_or(0.0);
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let i = (((v - first) / width).floor().max(0.0) as usize)
                    .min(c.len().saturating_sub(1));
                if let Some(slot) = c.get_mut(i) {
                    *slot += 1;
                }
            }
            c
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let c_max = counts.iter().flatten().copied().max().unwrap_or(0) as f64;
    let x_lo = edges.first().copied().unwrap_or(0.0);
    let x_hi = edges.last().map_or(1.0, |e| e + width);
    let (x_ticks, x_step) = nice_ticks(x_lo, x_hi, 8);
    let x = XAxis {
        log2: false,
        lo: x_lo,
        hi: x_hi,
        ticks: x_ticks,
        step: x_step,
    };
    let (y_lo, y_hi, y_ticks, y_step) = y_axis(Some((0.0, c_max.max(1.0))), true);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err(id))?;
        let mut chart: Ctx<'_, '_> = ChartBuilder::on(&root)
            .margin_top(14)
            .margin_right(22)
            .margin_left(8)
            .margin_bottom(6)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(
                KeyedAxis::new(x.lo..x.hi, x.ticks.clone()),
                KeyedAxis::new(y_lo..y_hi, y_ticks),
            )
            .map_err(draw_err(id))?;
        mesh(&mut chart, &x, y_step, x_label, "Requests", id)?;
        let alpha = if series.len() > 1 { 0.45 } else { 0.75 };
        for (s, c) in series.iter().zip(&counts) {
            let color = color_rgb(s.color);
            chart
                .draw_series(edges.iter().zip(c).filter(|(_, n)| **n > 0).map(|(e, n)| {
                    #[allow(clippy::cast_precision_loss)]
                    let top = *n as f64;
                    Rectangle::new([(*e, 0.0), (e + width, top)], color.mix(alpha).filled())
                }))
                .map_err(draw_err(id))?;
        }
        root.present().map_err(draw_err(id))?;
    }
    Ok(finish_svg(buf, &format!("{id}: histogram of {x_label}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_of_two_detection() {
        assert!(is_power_of_two_sweep(&[1.0, 2.0, 4.0, 64.0]));
        assert!(!is_power_of_two_sweep(&[1.0, 3.0]));
        assert!(!is_power_of_two_sweep(&[4.0, 4.0]), "one distinct value");
        assert!(!is_power_of_two_sweep(&[0.5, 1.0]));
    }

    #[test]
    fn nice_ticks_are_round() {
        let (t, step) = nice_ticks(0.0, 1000.0, 5);
        assert!((step - 200.0).abs() < 1e-9, "{step}");
        assert_eq!(t, vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        let (t, step) = nice_ticks(0.0, 0.7, 7);
        assert!((step - 0.1).abs() < 1e-12);
        assert_eq!(t[3], 0.3, "no 0.30000000000000004");
    }

    #[test]
    fn tick_format() {
        assert_eq!(format_tick(12000.0, 2000.0), "12k");
        assert_eq!(format_tick(12500.0, 2500.0), "12.5k");
        assert_eq!(format_tick(0.25, 0.25), "0.25");
        assert_eq!(format_tick(40.0, 10.0), "40");
        assert_eq!(format_tick(5000.0, 5000.0), "5k");
        assert_eq!(format_tick(1500.0, 500.0), "1500");
        assert_eq!(format_tick(2_000_000.0, 500_000.0), "2.0M");
        assert_eq!(format_load(64.0), "64");
        assert_eq!(format_load(2.5), "2.5");
    }

    #[test]
    fn downsample_trims_and_merges() {
        let mut tokens = vec![10u32; 3000];
        tokens.extend(vec![0u32; 1000]);
        let active = vec![1u32; 3000];
        let d = downsample(&tokens, &active, 0.05);
        assert!(d.len() <= MAX_TIME_POINTS, "{}", d.len());
        // 3000 busy + 150 margin = 3150 buckets, merged in pairs... k = 3.
        assert_eq!(d.len(), 1050);
        // 3 buckets of 10 tokens over 0.15 s = 200 tokens/s.
        assert!((d[0].1 - 200.0).abs() < 1e-9);
        assert!(downsample(&[0, 0], &[0, 0], 0.05).is_empty());
    }

    #[test]
    fn max_per_slice_keeps_peaks() {
        let short = vec![(0.0, 1.0), (1.0, 2.0)];
        assert_eq!(max_per_slice(&short, 10), short);
        // 100 points over 0..99 s into 10 slices of 9.9 s: each keeps its max.
        let long: Vec<(f64, f64)> = (0..100).map(|i| (f64::from(i), f64::from(i % 7))).collect();
        let d = max_per_slice(&long, 10);
        assert_eq!(d.len(), 10);
        assert_eq!(d[0], (0.0, 6.0));
        // Slice 9 covers [89.1, 99]: it starts at its first point, 90.
        assert_eq!(d[9].0, 90.0);
        // Every slice holds at least 7 consecutive integers, so its peak of i mod 7 is 6.
        assert!(d.iter().all(|p| p.1 == 6.0), "{d:?}");
        // Non-finite points are dropped.
        assert_eq!(
            max_per_slice(&[(f64::NAN, 1.0), (0.0, 3.0)], 5),
            vec![(0.0, 3.0)]
        );
    }

    #[test]
    fn step_panels_draw_one_axis_per_panel() {
        let panel = |label: &str, y_max| StepPanel {
            y_label: label.into(),
            y_max,
            series: vec![StepSeries {
                label: "s".into(),
                color: 0,
                dashed: false,
                points: vec![(0.0, 1.0), (0.5, 3.0), (1.0, 0.0)],
            }],
        };
        let svg = step_panels_chart(
            "t",
            &[panel("Requests <n>", None), panel("KV (%)", Some(100.0))],
            (0.0, 1.2),
            (760, 420),
        )
        .unwrap();
        assert!(svg.contains("Requests &lt;n&gt;") && svg.contains("KV (%)"));
        assert_eq!(svg.matches("Time since run start (s)").count(), 1);
        assert!(svg.contains(">\n100\n</text>"), "the fixed top is labelled");
        assert_eq!(
            svg,
            step_panels_chart(
                "t",
                &[panel("Requests <n>", None), panel("KV (%)", Some(100.0))],
                (0.0, 1.2),
                (760, 420),
            )
            .unwrap()
        );
    }

    #[test]
    fn histogram_bins_cover_integers() {
        let (edges, width) = histogram_bins(&[1.0, 2.0, 3.0, 100.0]);
        assert!(width >= 1.0);
        assert!(edges[0] <= 1.0);
        assert!(edges.last().is_some_and(|e| e + width > 100.0));
        let (edges, _) = histogram_bins(&[512.0, 512.0]);
        assert_eq!(edges.len(), 1);
    }

    #[test]
    fn line_chart_is_deterministic_and_escapes_text() {
        let series = vec![Series {
            label: "a".into(),
            color: 0,
            dashed: false,
            error_bars: true,
            points: vec![
                SeriesPoint::with_err(1.0, 10.0, 1.0),
                SeriesPoint::with_err(2.0, 20.0, 2.0),
                SeriesPoint::with_err(4.0, 25.0, 0.0),
            ],
        }];
        let spec = LineChartSpec {
            id: "t",
            x_label: "Batch <size>",
            y_label: "tok/s",
            series: &series,
            x_scale: XScale::Auto,
            y_from_zero: true,
            size: DEFAULT_SIZE,
        };
        let a = line_chart(&spec).unwrap();
        let b = line_chart(&spec).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("<svg role=\"img\""));
        assert!(a.contains("Batch &lt;size&gt;"));
        assert!(!a.contains("<size>"));
        assert!(a.contains(">\n4\n</text>"), "x tick 4 is labelled");
    }

    #[test]
    fn log2_axis_maps_and_labels() {
        let x = XAxis::new(&[1.0, 2.0, 4.0, 4.0], XScale::Auto);
        assert!(x.log2);
        assert_eq!(x.ticks, vec![0.0, 1.0, 2.0]);
        assert!((x.map(4.0) - 2.0).abs() < 1e-12);
        assert_eq!(x.label(2.0), "4");
        let lin = XAxis::new(&[1.0, 2.0, 4.0], XScale::Linear);
        assert!(!lin.log2);
        assert_eq!(lin.label(4.0), "4");
        let rates = XAxis::new(&[0.5, 1.5, 3.0], XScale::Auto);
        assert!(!rates.log2, "0.5 is not a power-of-two sweep");
    }
}
