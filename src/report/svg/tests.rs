//! Tests of the SVG charts: axes, ticks, downsampling, determinism, escaping.

use super::axis::{format_tick, is_power_of_two_sweep, nice_ticks, XAxis};
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
