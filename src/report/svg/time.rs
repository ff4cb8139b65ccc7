//! Charts over time: the steady-state time series (output rate and active
//! requests per bucket) and stacked step panels (server metrics beside the
//! client's requests in flight).

use plotters::prelude::*;

use super::axis::{draw_err, finish_svg, mesh, nice_ticks, plot, y_axis, Frame, XAxis};
use super::chart::{color_rgb, PlotError};

/// One series of a time-series chart: values per bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeries {
    /// Legend text.
    pub label: String,
    /// Index into [`PALETTE`](super::PALETTE).
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
            let mut chart = plot(
                area,
                Frame {
                    top: 12,
                    bottom: 4,
                    x_labels: if panel == 0 { 32 } else { 60 },
                },
                &x,
                (y_lo, y_hi, y_ticks),
                id,
            )?;
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
    /// Index into [`PALETTE`](super::PALETTE).
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
            let mut chart = plot(
                &area,
                Frame {
                    top: 12,
                    bottom: 4,
                    x_labels: if last { 60 } else { 32 },
                },
                &x,
                (y_lo, y_hi, y_ticks),
                id,
            )?;
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
