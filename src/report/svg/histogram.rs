//! Overlaid histograms with shared bins (token counts per request).

use plotters::prelude::*;

use super::axis::{draw_err, finish_svg, mesh, nice_ticks, plot, y_axis, XAxis, SINGLE};
use super::chart::{color_rgb, PlotError};

/// One series of a histogram: raw values (binned by [`histogram_chart`]).
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSeries {
    /// Legend text.
    pub label: String,
    /// Index into [`PALETTE`](super::PALETTE).
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
        let mut chart = plot(&root, SINGLE, &x, (y_lo, y_hi, y_ticks), id)?;
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
