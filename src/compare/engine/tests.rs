//! Tests of matching, deltas, intervals and regression rules (see the module docs of `crate::compare::engine`).

use super::*;
use crate::compare::view::{MetricValue, SourceKind, WorkKind};

fn point(label: Option<&str>, load: f64, tps: &[f64], ttft_p50: f64) -> PointMetrics {
    let mean = tps.iter().sum::<f64>() / tps.len() as f64;
    let mut metrics = BTreeMap::new();
    metrics.insert(
        "e2e_output_tps".to_string(),
        MetricValue {
            mean: Some(mean),
            per_run: tps.to_vec(),
            ..MetricValue::default()
        },
    );
    metrics.insert(
        "ttft_ms".to_string(),
        MetricValue {
            mean: Some(ttft_p50),
            p50: Some(ttft_p50),
            p99: Some(ttft_p50 * 2.0),
            ..MetricValue::default()
        },
    );
    PointMetrics {
        kind: WorkKind::Generation,
        label: label.map(str::to_string),
        load,
        mode: Some("burst".into()),
        metrics,
    }
}

fn source(name: &str, points: Vec<PointMetrics>) -> SourceView {
    SourceView {
        name: name.into(),
        kind: SourceKind::Results,
        path: name.into(),
        model: None,
        scenario: None,
        hardware: None,
        notes: Vec::new(),
        points,
    }
}

#[test]
fn rule_parsing() {
    let r = parse_rule("ttft_ms.p50:10").unwrap();
    assert_eq!(
        (r.metric.as_str(), r.stat, r.threshold_pct),
        ("ttft_ms", StatKind::P50, 10.0)
    );
    let r = parse_rule("e2e_output_tps:5%").unwrap();
    assert_eq!((r.stat, r.threshold_pct), (StatKind::Mean, 5.0));
    assert!(parse_rule("ttft_ms.p42:10")
        .unwrap_err()
        .contains("statistic"));
    assert!(parse_rule("ttft:10")
        .unwrap_err()
        .contains("unknown metric"));
    assert!(parse_rule("ttft_ms").unwrap_err().contains("expected"));
    assert!(parse_rule("ttft_ms:-1").is_err());
    assert!(parse_rule("tft_ms.p50:3")
        .unwrap_err()
        .contains("did you mean `ttft_ms`"));
}

#[test]
fn only_like_pairs_with_like() {
    let mut burst4 = point(Some("sim/short"), 4.0, &[10.0, 11.0], 50.0);
    let mut conc4 = burst4.clone();
    conc4.mode = Some("concurrency".into());
    let mut embed4 = burst4.clone();
    embed4.kind = WorkKind::Embedding;
    // Same label and load: burst pairs with burst only.
    let m = match_points(
        &[burst4.clone(), conc4.clone()],
        &[conc4.clone(), burst4.clone()],
    );
    assert_eq!(m.pairs, [(0, 1), (1, 0)]);
    // An embedding point never pairs with a generation point at the same load.
    let m = match_points(&[burst4.clone()], &[embed4.clone()]);
    assert!(m.pairs.is_empty());
    assert_eq!((m.unmatched_a.len(), m.unmatched_b.len()), (1, 1));
    // Unlabelled: kind, mode and load decide; a sustained (concurrency) file
    // does not pair with a burst point.
    burst4.label = None;
    conc4.label = None;
    embed4.label = None;
    let m = match_points(&[burst4.clone()], &[conc4.clone()]);
    assert!(m.pairs.is_empty());
    assert_eq!(m.rule, MatchRule::Load);
    // A side that does not say its mode pairs by kind and load, and says so.
    let mut unknown = conc4.clone();
    unknown.mode = None;
    let m = match_points(&[burst4.clone()], &[unknown]);
    assert_eq!(m.pairs, [(0, 0)]);
    assert!(!m.by_mode);
    // Labels show the mode.
    assert_eq!(conc4.display(), "concurrency @ 4");
    let mut labelled = conc4;
    labelled.label = Some("sim/short".into());
    assert_eq!(labelled.display(), "sim/short concurrency @ 4");
}

#[test]
fn small_or_uncertain_changes_get_no_verdict() {
    let d = Direction::HigherIsWorse;
    // Interval excludes zero, but the change is below the minimum effect.
    assert_eq!(
        verdict(d, 0.02, Some(2.0), Some((0.01, 0.03))),
        Verdict::WithinNoise
    );
    // Large and certain.
    assert_eq!(
        verdict(d, 10.0, Some(20.0), Some((5.0, 15.0))),
        Verdict::Worse
    );
    assert_eq!(
        verdict(d, -10.0, Some(-20.0), Some((-15.0, -5.0))),
        Verdict::Better
    );
    // Large but the interval includes zero.
    assert_eq!(
        verdict(d, 10.0, Some(20.0), Some((-1.0, 15.0))),
        Verdict::WithinNoise
    );
    // No interval: only beyond the floor.
    assert_eq!(verdict(d, 5.0, Some(8.0), None), Verdict::WithinNoise);
    assert_eq!(verdict(d, 5.0, Some(12.0), None), Verdict::Worse);
    assert_eq!(verdict(d, 0.0, Some(0.0), None), Verdict::Equal);
}

#[test]
fn labels_match_when_shared_else_loads() {
    let a = vec![
        point(Some("x/s"), 1.0, &[1.0], 1.0),
        point(Some("y/s"), 1.0, &[1.0], 1.0),
    ];
    let b = vec![
        point(Some("y/s"), 1.0, &[1.0], 1.0),
        point(Some("x/s"), 1.0, &[1.0], 1.0),
    ];
    let m = match_points(&a, &b);
    assert_eq!(m.rule, MatchRule::LabelAndLoad);
    assert_eq!(m.pairs, vec![(0, 1), (1, 0)]);
    assert!(m.unmatched_a.is_empty() && m.unmatched_b.is_empty());
    let c = vec![point(None, 1.0, &[1.0], 1.0), point(None, 2.0, &[1.0], 1.0)];
    let m = match_points(&a, &c);
    assert_eq!(m.rule, MatchRule::Load);
    // Two baseline points at load 1 and one candidate point: first pairs.
    assert_eq!(m.pairs, vec![(0, 0)]);
    assert_eq!(m.unmatched_a, vec![1]);
    assert_eq!(m.unmatched_b, vec![1]);
}

#[test]
fn slower_candidate_is_flagged_equal_is_not() {
    let base = source(
        "base",
        vec![point(Some("e/s"), 8.0, &[1000.0, 1010.0, 990.0], 50.0)],
    );
    let slow = source(
        "slow",
        vec![point(Some("e/s"), 8.0, &[800.0, 810.0, 790.0], 60.0)],
    );
    let same = source(
        "same",
        vec![point(Some("e/s"), 8.0, &[1000.0, 1010.0, 990.0], 50.0)],
    );
    let rules = vec![
        parse_rule("e2e_output_tps:5").unwrap(),
        parse_rule("ttft_ms.p50:10").unwrap(),
    ];
    let r = compare(&[base.clone(), slow], &rules);
    assert_eq!(r.regressions.len(), 2, "{:#?}", r.regressions);
    let tps = r
        .regressions
        .iter()
        .find(|x| x.rule.starts_with("e2e_output_tps"))
        .unwrap();
    assert!((tps.delta_pct + 20.0).abs() < 1e-9);
    let (lo, hi) = tps.ci.unwrap();
    assert!(hi < 0.0 && lo > -220.0, "{lo} {hi}");
    // TTFT p50 has no per-run values: threshold only (+20 % > 10 %).
    assert!(r
        .regressions
        .iter()
        .any(|x| x.rule == "ttft_ms.p50:10" && x.ci.is_none()));
    let r = compare(&[base, same], &rules);
    assert!(r.regressions.is_empty());
    assert!(r.comparisons[0]
        .rows
        .iter()
        .all(|row| row.verdict == Verdict::Equal));
}

#[test]
fn per_request_values_give_percentile_intervals() {
    let with_requests = |name: &str, shift: f64, noise: f64| {
        let mut p = point(Some("e/s"), 8.0, &[1000.0, 1000.0], 50.0 + shift);
        let ttft = p.metrics.get_mut("ttft_ms").unwrap();
        // 200 requests around 50 ms (+ shift), spread ± noise.
        // Two runs of 100 requests.
        ttft.per_request = (0..2)
            .map(|run| {
                (0..100)
                    .map(|i| 50.0 + shift + noise * (f64::from((i + run * 7) % 21) - 10.0) / 10.0)
                    .collect()
            })
            .collect();
        source(name, vec![p])
    };
    let rules = [parse_rule("ttft_ms.p50:5").unwrap()];
    // +10 ms on a tight distribution: flagged, with an interval above zero.
    let r = compare(
        &[with_requests("a", 0.0, 2.0), with_requests("b", 10.0, 2.0)],
        &rules,
    );
    let reg = &r.regressions[0];
    let (lo, hi) = reg.ci.expect("an interval from per-request values");
    assert!(lo > 0.0 && lo <= 10.0 && hi >= 10.0, "{lo} {hi}");
    // Same +10 ms threshold breach, but buried in ±40 ms noise with a
    // different spread: the interval includes zero, so nothing is flagged.
    let r = compare(
        &[with_requests("a", 0.0, 40.0), with_requests("b", 3.0, 44.0)],
        &rules,
    );
    let row = r.comparisons[0]
        .rows
        .iter()
        .find(|x| x.metric == "ttft_ms" && x.stat == StatKind::P50)
        .unwrap();
    let (lo, hi) = row.ci.expect("interval");
    assert!(lo < 0.0 && hi > 0.0, "{lo} {hi}");
    assert!(r.regressions.is_empty(), "{:#?}", r.regressions);
}

#[test]
fn noisy_difference_within_the_interval_is_not_flagged() {
    // Means differ by 6 % but the runs overlap heavily: the interval includes 0.
    let base = source(
        "base",
        vec![point(
            None,
            4.0,
            &[900.0, 1100.0, 1000.0, 1200.0, 800.0],
            10.0,
        )],
    );
    let cand = source(
        "cand",
        vec![point(
            None,
            4.0,
            &[1000.0, 700.0, 1150.0, 850.0, 1000.0],
            10.0,
        )],
    );
    let r = compare(&[base, cand], &[parse_rule("e2e_output_tps:5").unwrap()]);
    let row = r.comparisons[0]
        .rows
        .iter()
        .find(|x| x.metric == "e2e_output_tps")
        .unwrap();
    assert!(row.delta_pct.unwrap() < -5.0);
    let (lo, hi) = row.ci.unwrap();
    assert!(lo < 0.0 && hi > 0.0);
    assert!(r.regressions.is_empty());
    assert_eq!(row.verdict, Verdict::WithinNoise);
}

#[test]
fn better_is_never_a_regression_and_unused_rules_warn() {
    let base = source("base", vec![point(None, 1.0, &[100.0, 101.0], 50.0)]);
    let fast = source("fast", vec![point(None, 1.0, &[200.0, 201.0], 25.0)]);
    let rules = vec![
        parse_rule("ttft_ms.p50:1").unwrap(),
        parse_rule("itl_ms.p99:1").unwrap(),
    ];
    let r = compare(&[base, fast], &rules);
    assert!(r.regressions.is_empty());
    assert!(r
        .warnings
        .iter()
        .any(|w| w.contains("itl_ms.p99:1") && w.contains("matched nothing")));
}

#[test]
fn percentiles_of_thin_tails_get_no_verdict() {
    let side = |n: usize| vec![vec![5.0; n / 2], vec![5.0; n - n / 2]];
    // 300 values: 3 beyond p99, 30 beyond p90, 150 beyond p50.
    assert!(tail_too_thin(StatKind::P99, &side(300), &side(2000)));
    assert!(!tail_too_thin(StatKind::P90, &side(300), &side(300)));
    assert!(!tail_too_thin(StatKind::P50, &side(300), &side(300)));
    assert!(!tail_too_thin(StatKind::P99, &side(1000), &side(1000)));
    // The mean, and rows without per-request values, are not concerned.
    assert!(!tail_too_thin(StatKind::Mean, &side(4), &side(4)));
    assert!(!tail_too_thin(StatKind::P99, &[], &[]));
}

#[test]
fn steady_state_of_few_buckets_gets_no_verdict() {
    // Steady-state medians 20 % apart with a clear interval, three runs a side;
    // `buckets` is the steady buckets behind a side's medians, all runs
    // together (None: the file does not say).
    let with_steady = |runs: &[f64], buckets: Option<u64>| {
        let mut p = point(Some("sim/short"), 4.0, &[100.0, 100.0], 20.0);
        p.metrics.insert(
            "steady_state_tps".into(),
            MetricValue {
                mean: Some(runs.iter().sum::<f64>() / runs.len() as f64),
                n: buckets,
                per_run: runs.to_vec(),
                ..MetricValue::default()
            },
        );
        p
    };
    let verdict_of = |a: PointMetrics, b: PointMetrics| {
        let r = compare(&[source("a", vec![a]), source("b", vec![b])], &[]);
        r.comparisons[0]
            .rows
            .iter()
            .find(|row| row.metric == "steady_state_tps")
            .map(|row| row.verdict)
            .expect("a steady-state row")
    };
    let (slow, fast) = ([600.0, 610.0, 605.0], [720.0, 730.0, 725.0]);
    assert_eq!(
        verdict_of(with_steady(&slow, Some(30)), with_steady(&fast, Some(30))),
        Verdict::Better
    );
    // 29 buckets over three runs: fewer than 10 a run on average.
    assert_eq!(
        verdict_of(with_steady(&slow, Some(30)), with_steady(&fast, Some(29))),
        Verdict::WithinNoise
    );
    assert_eq!(
        verdict_of(with_steady(&slow, Some(12)), with_steady(&fast, Some(90))),
        Verdict::WithinNoise
    );
    assert_eq!(
        verdict_of(with_steady(&slow, None), with_steady(&fast, None)),
        Verdict::Better
    );
}
