//! Line charts of a load sweep: one line per series, markers, error bars and
//! a faint mean ± std band.

use plotters::prelude::*;

use super::axis::{draw_err, finish_svg, mesh, plot, y_axis, XAxis, SINGLE};
use super::chart::{color_rgb, LineChartSpec, PlotError, SeriesPoint};

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
        let mut chart = plot(&root, SINGLE, &x, (y_lo, y_hi, y_ticks), id)?;
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
