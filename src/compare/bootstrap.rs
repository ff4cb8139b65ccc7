//! Percentile bootstrap confidence interval of a difference of means (or of
//! percentiles).
//!
//! Given values `a` (baseline) and `b` (candidate) — one per run, or one per
//! request — each resample draws `len(a)` values from `a` and `len(b)` values
//! from `b` with replacement, independently, and records `stat(b*) − stat(a*)`,
//! where `stat` is the mean or a percentile ([`Statistic`]). After [`RESAMPLES`]
//! resamples the interval runs between two percentiles of those differences
//! (linear interpolation between closest ranks, the same method as the
//! report's percentiles).
//!
//! **Few runs.** The plain percentile interval (2.5th to 97.5th) is too narrow
//! for small samples: a resample of `n` values spreads like a sample of
//! `n − 1`, and the normal tails stand in for Student's. With five runs a side
//! its "95 %" covers about 88 % (the tests below measure it). So the interval
//! is *expanded* (Hesterberg, "What Teachers Should Know About the Bootstrap",
//! 2015): with `n` the smaller side's count of independent units (runs, or
//! values when there are no runs), each tail is `Φ(−√(n/(n−1)) · t₀.₉₇₅,ₙ₋₁)`
//! instead of 2.5 % ([`expanded_tail`]). Five runs take the 0.1st and 99.9th
//! percentiles and cover about 97 %; two or three runs take the whole range of
//! the resamples (a difference is only called when the two sides' runs do not
//! overlap); the expansion fades as `n` grows (thirty runs: 1.9 % tails).
//!
//! The random numbers come from SplitMix64 (Steele, Lea & Flood 2014), written
//! out here so the intervals never change with a dependency's version; indices
//! are drawn with Lemire's multiply-and-reject method, which is exactly uniform.
//! The seed is derived from the comparison's identity (see [`seed_for`]), so
//! the same inputs always give the same interval.

/// Resamples per interval.
pub const RESAMPLES: usize = 2000;

/// Confidence level of the interval (two-sided).
pub const CONFIDENCE: f64 = 0.95;

/// Base seed mixed into every comparison's seed.
pub const BASE_SEED: u64 = 0x746f_6b65_6e6f_6d69; // "tokenomi"

/// SplitMix64: a tiny, well-mixed 64-bit generator.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    #[must_use]
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (`n > 0`), by Lemire's method: take the high
    /// word of `x · n`; reject the few `x` whose low word falls below
    /// `2^64 mod n`, which would bias small results.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            // The low 64 bits of the product (truncation intended).
            #[allow(clippy::cast_possible_truncation)]
            let low = m as u64;
            if low >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// FNV-1a hash of `key`, mixed with [`BASE_SEED`]: the seed of one comparison.
#[must_use]
pub fn seed_for(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ BASE_SEED
}

/// Linear-interpolation percentile of sorted values (the metrics' definition);
/// NaN for no values.
fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    crate::metrics::stats::percentile_sorted(sorted, p).unwrap_or(f64::NAN)
}

/// The statistic whose difference is bootstrapped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Statistic {
    /// Arithmetic mean.
    Mean,
    /// Percentile `p` (0–100), linear interpolation between closest ranks.
    Percentile(f64),
}

/// Student's t quantile `t₀.₉₇₅,ν` for `ν` = 1‥30 degrees of freedom
/// (published tables, to three decimals).
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// `t₀.₉₇₅,ν`: the table up to 30 degrees of freedom, then the Cornish–Fisher
/// expansion around the normal quantile (exact to 1e-4 there).
fn t_975(df: usize) -> f64 {
    if let Some(t) = df.checked_sub(1).and_then(|i| T_975.get(i)) {
        return *t;
    }
    const Z: f64 = 1.959_963_985;
    #[allow(clippy::cast_precision_loss)]
    let v = df as f64;
    let (z3, z5) = (Z.powi(3), Z.powi(5));
    Z + (z3 + Z) / (4.0 * v) + (5.0 * z5 + 16.0 * z3 + 3.0 * Z) / (96.0 * v * v)
}

/// The standard normal's lower tail `Φ(−x)` for `x ≥ 0`, through the
/// complementary error function (a Chebyshev fit with relative error below
/// 1.2e-7; Press et al., *Numerical Recipes*, §6.2).
fn normal_tail(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    0.5 * t * poly.exp()
}

/// Each tail (a probability) of the expanded percentile interval for `n`
/// independent units a side (module docs); [`CONFIDENCE`]'s own tail when
/// `n` is large.
#[must_use]
pub fn expanded_tail(n: usize) -> f64 {
    if n < 2 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let widen = (n as f64 / (n - 1) as f64).sqrt();
    normal_tail(widen * t_975(n - 1))
}

/// The bootstrap interval of `mean(b) − mean(a)`, or None when either side
/// has fewer than two finite values (one run says nothing about spread).
#[must_use]
pub fn diff_of_means_ci(a: &[f64], b: &[f64], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    diff_ci(a, b, Statistic::Mean, resamples, seed)
}

/// The bootstrap interval of `stat(b) − stat(a)`, or None when either side has
/// fewer than two finite values.
#[must_use]
pub fn diff_ci(
    a: &[f64],
    b: &[f64],
    stat: Statistic,
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    let a: Vec<f64> = a.iter().copied().filter(|x| x.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
    if a.len() < 2 || b.len() < 2 || resamples == 0 {
        return None;
    }
    // With constant samples every difference is the same; report it exactly.
    if a.iter().all(|x| *x == a[0]) && b.iter().all(|x| *x == b[0]) {
        let exact = b[0] - a[0];
        return Some((exact, exact));
    }
    let mut rng = SplitMix64::new(seed);
    let mut scratch = Vec::with_capacity(a.len().max(b.len()));
    let mut draw = |v: &[f64], rng: &mut SplitMix64| {
        let n = v.len() as u64;
        scratch.clear();
        for _ in 0..v.len() {
            // `below(n)` < n = v.len(), so the index is in bounds.
            #[allow(clippy::cast_possible_truncation)]
            let i = rng.below(n) as usize;
            scratch.push(v[i]);
        }
        apply(stat, &mut scratch)
    };
    Some(interval(resamples, a.len().min(b.len()), || {
        let ma = draw(&a, &mut rng);
        let mb = draw(&b, &mut rng);
        mb - ma
    }))
}

/// The bootstrap interval of `stat(b) − stat(a)` for values grouped by run,
/// resampling at both levels: each replicate draws as many runs as the side
/// has (with replacement), then, within each drawn run, as many values as it
/// has (with replacement), and takes `stat` of the pooled draw. Run-to-run
/// variation (a machine busier in one run) thus widens the interval, as it
/// should, and the runs are the units the interval is expanded for. None when
/// either side has fewer than two runs with values.
#[must_use]
pub fn diff_ci_by_run(
    a: &[Vec<f64>],
    b: &[Vec<f64>],
    stat: Statistic,
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    let clean = |v: &[Vec<f64>]| -> Vec<Vec<f64>> {
        v.iter()
            .map(|run| {
                run.iter()
                    .copied()
                    .filter(|x| x.is_finite())
                    .collect::<Vec<f64>>()
            })
            .filter(|run| !run.is_empty())
            .collect()
    };
    let (a, b) = (clean(a), clean(b));
    if a.len() < 2 || b.len() < 2 || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let mut pooled = Vec::new();
    let mut draw = |runs: &[Vec<f64>], rng: &mut SplitMix64| {
        pooled.clear();
        for _ in 0..runs.len() {
            #[allow(clippy::cast_possible_truncation)]
            let run = &runs[rng.below(runs.len() as u64) as usize];
            for _ in 0..run.len() {
                #[allow(clippy::cast_possible_truncation)]
                pooled.push(run[rng.below(run.len() as u64) as usize]);
            }
        }
        apply(stat, &mut pooled)
    };
    Some(interval(resamples, a.len().min(b.len()), || {
        let ma = draw(&a, &mut rng);
        let mb = draw(&b, &mut rng);
        mb - ma
    }))
}

/// `stat` of one resample (sorted in place for a percentile).
fn apply(stat: Statistic, values: &mut [f64]) -> f64 {
    match stat {
        Statistic::Mean => {
            #[allow(clippy::cast_precision_loss)]
            let len = values.len() as f64;
            values.iter().sum::<f64>() / len
        }
        Statistic::Percentile(p) => {
            values.sort_by(f64::total_cmp);
            percentile_sorted(values, p)
        }
    }
}

/// The central [`CONFIDENCE`] interval of `resamples` replicates of the
/// difference `diff()`, expanded for `units` independent units a side
/// (percentile bootstrap; module docs).
fn interval(resamples: usize, units: usize, mut diff: impl FnMut() -> f64) -> (f64, f64) {
    let mut diffs: Vec<f64> = (0..resamples).map(|_| diff()).collect();
    diffs.sort_by(f64::total_cmp);
    let tail = expanded_tail(units) * 100.0;
    (
        percentile_sorted(&diffs, tail),
        percentile_sorted(&diffs, 100.0 - tail),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_clusters_widen_the_interval_when_runs_disagree() {
        // Two runs a side; within a run the values are tight, but the runs of
        // the candidate differ from each other by as much as from the baseline.
        let tight = |c: f64| {
            (0..50)
                .map(|i| c + f64::from(i % 5) * 0.01)
                .collect::<Vec<f64>>()
        };
        let a = vec![tight(50.0), tight(50.0)];
        let b_steady = vec![tight(55.0), tight(55.0)];
        let b_noisy = vec![tight(50.0), tight(60.0)];
        let steady = diff_ci_by_run(&a, &b_steady, Statistic::Mean, 2000, 1).unwrap();
        assert!(steady.0 > 4.0 && steady.1 < 6.0, "{steady:?}");
        let noisy = diff_ci_by_run(&a, &b_noisy, Statistic::Mean, 2000, 1).unwrap();
        assert!(
            noisy.0 <= 0.1 && noisy.1 >= 9.9,
            "the runs' spread shows: {noisy:?}"
        );
        // Pooling the same values ignores the runs and claims far more certainty.
        let flat = |v: &[Vec<f64>]| v.concat();
        let pooled = diff_ci(&flat(&a), &flat(&b_noisy), Statistic::Mean, 2000, 1).unwrap();
        assert!(pooled.0 > 3.0, "{pooled:?}");
        // One run a side says nothing about run-to-run spread.
        assert_eq!(
            diff_ci_by_run(&a[..1], &b_steady, Statistic::Mean, 2000, 1),
            None
        );
    }

    #[test]
    fn expanded_tails_follow_the_number_of_units() {
        // Φ(−√(5/4) · 2.776) = Φ(−3.104) ≈ 0.00095; two units: the whole range.
        assert!(
            (expanded_tail(5) - 0.000_954).abs() < 0.000_01,
            "{}",
            expanded_tail(5)
        );
        assert!(expanded_tail(2) < 1e-12 && expanded_tail(3) < 1e-6);
        // The tails grow towards the plain 2.5 % as units grow, and the
        // Cornish–Fisher quantile joins the table smoothly.
        let tails: Vec<f64> = (2..200).map(expanded_tail).collect();
        assert!(tails.windows(2).all(|w| w[0] < w[1]));
        assert!((t_975(31) - 2.040).abs() < 1e-3 && (t_975(120) - 1.980).abs() < 1e-3);
        assert!((expanded_tail(10_000) - 0.025).abs() < 0.000_1);
        assert!((normal_tail(1.959_964) - 0.025).abs() < 1e-8);
        assert_eq!(expanded_tail(1), 0.0);
    }

    /// Share of `trials` intervals from samples of `n` normal values a side
    /// (same mean) that contain the true difference 0.
    fn coverage(n: usize, trials: usize, expanded: bool) -> f64 {
        let mut rng = SplitMix64::new(11);
        let mut normal = || {
            // Box–Muller from two uniforms in (0, 1].
            #[allow(clippy::cast_precision_loss)]
            let u = |r: &mut SplitMix64| ((r.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
            let (u1, u2) = (u(&mut rng), u(&mut rng));
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        };
        let mut hits = 0;
        for trial in 0..trials {
            let a: Vec<f64> = (0..n).map(|_| normal()).collect();
            let b: Vec<f64> = (0..n).map(|_| normal()).collect();
            let (lo, hi) = if expanded {
                diff_of_means_ci(&a, &b, 1000, trial as u64).unwrap()
            } else {
                let mut r = SplitMix64::new(trial as u64);
                let mut mean_of_draw = |v: &[f64]| {
                    (0..v.len())
                        .map(|_| v[r.below(v.len() as u64) as usize])
                        .sum::<f64>()
                        / v.len() as f64
                };
                let mut d: Vec<f64> = (0..1000)
                    .map(|_| mean_of_draw(&b) - mean_of_draw(&a))
                    .collect();
                d.sort_by(f64::total_cmp);
                (percentile_sorted(&d, 2.5), percentile_sorted(&d, 97.5))
            };
            hits += usize::from(lo <= 0.0 && hi >= 0.0);
        }
        hits as f64 / trials as f64
    }

    #[test]
    fn few_runs_get_intervals_that_cover_as_claimed() {
        let (plain, expanded) = (coverage(5, 4000, false), coverage(5, 4000, true));
        eprintln!("five a side: plain {plain:.3}, expanded {expanded:.3}");
        assert!(
            plain < 0.92,
            "the plain interval is too narrow with five: {plain}"
        );
        assert!(expanded >= 0.94, "expanded: {expanded}");
        let (plain, expanded) = (coverage(30, 2000, false), coverage(30, 2000, true));
        eprintln!("thirty a side: plain {plain:.3}, expanded {expanded:.3}");
        assert!(expanded >= 0.93, "expanded: {expanded}");
    }

    #[test]
    fn splitmix_matches_reference_values() {
        // First outputs of SplitMix64 seeded with 0 (published test vector).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut r = SplitMix64::new(7);
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            let i = r.below(3);
            assert!(i < 3);
            seen[usize::try_from(i).unwrap()] += 1;
        }
        assert!(seen.iter().all(|c| *c > 900), "{seen:?}");
    }

    #[test]
    fn constant_samples_give_the_exact_difference() {
        let ci = diff_of_means_ci(&[10.0, 10.0, 10.0], &[12.0, 12.0], RESAMPLES, 1).unwrap();
        assert_eq!(ci, (2.0, 2.0));
    }

    #[test]
    fn known_two_point_case() {
        // a = {0, 0}: every resample mean is 0. b = {0, 10}: resample means are
        // 0, 5, 10 with probabilities 1/4, 1/2, 1/4; two values a side take the
        // whole range of the 2000 draws: 0 and 10.
        let ci = diff_of_means_ci(&[0.0, 0.0], &[0.0, 10.0], RESAMPLES, seed_for("k")).unwrap();
        assert_eq!(ci, (0.0, 10.0));
    }

    #[test]
    fn separated_samples_exclude_zero_and_equal_ones_include_it() {
        let a = [100.0, 101.0, 99.0, 100.5];
        let b = [120.0, 121.0, 119.0, 120.5];
        let (lo, hi) = diff_of_means_ci(&a, &b, RESAMPLES, 3).unwrap();
        assert!(
            lo > 18.0 && hi < 22.0 && lo <= 20.0 && hi >= 20.0,
            "{lo} {hi}"
        );
        let (lo, hi) = diff_of_means_ci(&a, &a, RESAMPLES, 3).unwrap();
        assert!(lo < 0.0 && hi > 0.0, "{lo} {hi}");
    }

    #[test]
    fn seeded_and_deterministic() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0, 3.0, 5.0, 8.0];
        let x = diff_of_means_ci(&a, &b, RESAMPLES, seed_for("p")).unwrap();
        let y = diff_of_means_ci(&a, &b, RESAMPLES, seed_for("p")).unwrap();
        assert_eq!(x, y);
    }

    #[test]
    fn needs_two_runs_per_side() {
        assert!(diff_of_means_ci(&[1.0], &[2.0, 3.0], RESAMPLES, 0).is_none());
        assert!(diff_of_means_ci(&[1.0, f64::NAN], &[2.0, 3.0], RESAMPLES, 0).is_none());
    }

    #[test]
    fn percentile_differences_are_bootstrapped_too() {
        // b is a shifted by 50: every resampled median differs by about 50.
        let a: Vec<f64> = (0..200).map(f64::from).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 50.0).collect();
        let (lo, hi) = diff_ci(&a, &b, Statistic::Percentile(50.0), 500, 9).unwrap();
        assert!(
            lo < 50.0 && hi > 50.0 && lo > 20.0 && hi < 80.0,
            "{lo} {hi}"
        );
        let (lo, hi) = diff_ci(&a, &a, Statistic::Percentile(90.0), 500, 9).unwrap();
        assert!(lo <= 0.0 && hi >= 0.0, "{lo} {hi}");
    }

    #[test]
    fn percentile_interpolates() {
        assert_eq!(percentile_sorted(&[0.0, 10.0], 50.0), 5.0);
        assert_eq!(percentile_sorted(&[1.0, 2.0, 3.0], 100.0), 3.0);
    }
}
