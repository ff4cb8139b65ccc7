//! Axes of every chart: log2 or linear x axes with ticks at the load values,
//! "nice" y ticks, tick labels, and the grid and label styling they share.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

use super::chart::{escape_attr, PlotError, XScale};
use crate::report::format::format_load;

pub(super) const FONT: &str = "sans-serif";
/// Tick labels and axis titles, as plotters takes them: its SVG backend writes
/// `font-size` as this value / 1.24, so 21 becomes 16.9 chart units. The report
/// draws a chart at most at its natural width (760) and, two to a row, at no
/// less than about 515 px (the chart grid's 520-px column minimum less the
/// figure's padding, with a scrollbar), so ticks render at
/// 16.9 × 515 / 760 ≈ 11.5 px or more at 100 % zoom (checked in a real browser by
/// `tests/browser.rs`).
pub(super) const TICK_FONT_PX: u32 = 21;
pub(super) const AXIS_FONT_PX: u32 = 22;
pub(super) const AXIS_GREY: RGBColor = RGBColor(90, 90, 90);
pub(super) const GRID_GREY: RGBColor = RGBColor(228, 228, 228);

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

pub(super) fn round_to_step(v: f64, step: f64) -> f64 {
    let decimals = decimals_for_step(step);
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

pub(super) fn decimals_for_step(step: f64) -> i32 {
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

/// A linear f64 axis whose tick marks (and grid lines) are exactly `ticks`.
///
/// plotters' own `with_key_points` wrapper drops the value formatter that
/// `configure_mesh` needs, so this small coordinate type does the same job.
/// Labels always come from the formatters set in [`mesh`].
#[derive(Clone, Debug)]
pub(super) struct KeyedAxis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) ticks: Vec<f64>,
}

impl KeyedAxis {
    pub(super) fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
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

pub(super) type Ctx<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<KeyedAxis, KeyedAxis>>;

/// The x axis of a chart: how values map and where ticks go.
pub(super) struct XAxis {
    pub(super) log2: bool,
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) ticks: Vec<f64>,
    pub(super) step: f64,
}

impl XAxis {
    pub(super) fn new(xs: &[f64], scale: XScale) -> Self {
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

    pub(super) fn map(&self, x: f64) -> f64 {
        if self.log2 {
            x.log2()
        } else {
            x
        }
    }

    pub(super) fn label(&self, v: f64) -> String {
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

/// The space around one plot: top and bottom margins and the height of the
/// x-axis label area (the left margin and the y label area are the same for
/// every chart, so stacked panels line up).
#[derive(Clone, Copy, Debug)]
pub(super) struct Frame {
    pub(super) top: u32,
    pub(super) bottom: u32,
    pub(super) x_labels: u32,
}

/// The frame of a chart with one plot.
pub(super) const SINGLE: Frame = Frame {
    top: 14,
    bottom: 6,
    x_labels: 62,
};

/// A plot on `area` in `frame`, with the x axis `x` and the y range `y_lo..y_hi`
/// ticked at `y_ticks`.
pub(super) fn plot<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    frame: Frame,
    x: &XAxis,
    (y_lo, y_hi, y_ticks): (f64, f64, Vec<f64>),
    id: &str,
) -> Result<Ctx<'a, 'b>, PlotError> {
    ChartBuilder::on(area)
        .margin_top(frame.top)
        .margin_right(22)
        .margin_left(8)
        .margin_bottom(frame.bottom)
        .x_label_area_size(frame.x_labels)
        .y_label_area_size(100)
        .build_cartesian_2d(
            KeyedAxis::new(x.lo..x.hi, x.ticks.clone()),
            KeyedAxis::new(y_lo..y_hi, y_ticks),
        )
        .map_err(draw_err(id))
}

/// The y range and ticks for values `ys` (each with its error).
pub(super) fn y_axis(lo_hi: Option<(f64, f64)>, from_zero: bool) -> (f64, f64, Vec<f64>, f64) {
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

pub(super) fn draw_err<E: std::fmt::Display>(chart: &str) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError {
        chart: chart.to_string(),
        message: e.to_string(),
    }
}

pub(super) fn mesh<'a, 'b>(
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
        .label_style((FONT, TICK_FONT_PX).into_font().color(&AXIS_GREY))
        .axis_desc_style((FONT, AXIS_FONT_PX).into_font().color(&AXIS_GREY))
        .bold_line_style(GRID_GREY.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS_GREY.stroke_width(1))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(draw_err(id))
}

/// Adds `role="img"` and an accessible label to the root `<svg>` element.
pub(super) fn finish_svg(svg: String, aria_label: &str) -> String {
    let escaped = escape_attr(aria_label);
    match svg.strip_prefix("<svg ") {
        Some(rest) => format!("<svg role=\"img\" aria-label=\"{escaped}\" {rest}"),
        None => svg,
    }
}
