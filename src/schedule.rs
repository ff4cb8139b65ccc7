//! Send times of open-loop load: pure arrival processes, no tokio.
//!
//! A schedule is a list of offsets (ns) from a run's `t0`. The runner sleeps to
//! the **absolute** time `t0 + offset` of each request, so lateness never
//! accumulates: a request sent late does not push the next one back. Each
//! record keeps its scheduled offset and the time it was actually dispatched,
//! so the lag is visible in the results.
//!
//! | arrival | inter-arrival gap | mean gap | variance of gap |
//! |---|---|---|---|
//! | `constant` | exactly `1/rate` | `1/rate` | 0 |
//! | `poisson` | Exponential(λ = rate) | `1/rate` | `1/rate²` |
//! | `gamma` (burstiness k) | Gamma(shape = k, scale = 1/(rate·k)) | `1/rate` | `1/(k·rate²)` |
//!
//! Gamma with k = 1 is the Poisson process; k < 1 is burstier, k > 1 smoother
//! (the same parameterisation as vLLM's `--burstiness`). Unlike vLLM, the
//! offsets are **not** rescaled so the last one lands at `n/rate`: the process
//! is a true renewal process, and the achieved rate is reported instead.
//!
//! The first request of a constant schedule goes at offset 0; random processes
//! draw their first gap too (the first request waits one gap), so every gap of
//! the schedule follows the stated distribution.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, Gamma};

use crate::vocab::Arrival;

/// Errors in schedule parameters (caught by manifest validation first).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("rate must be a positive, finite number of requests per second (got {0})")]
    BadRate(f64),
    #[error("gamma burstiness must be a positive, finite number (got {0})")]
    BadBurstiness(f64),
}

/// Offsets (ns from t0) for an open-loop run at `rate` requests/s.
///
/// Stops at `max_requests` offsets, or at the first offset beyond `duration_ns`
/// when a duration is given (whichever comes first). The sequence depends only
/// on the arguments: the same seed gives the same schedule.
///
/// # Errors
/// When `rate` or the gamma burstiness is not positive and finite.
pub fn open_loop(
    rate: f64,
    arrival: Arrival,
    max_requests: u64,
    duration_ns: Option<u64>,
    seed: u64,
) -> Result<Vec<u64>, ScheduleError> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(ScheduleError::BadRate(rate));
    }
    let mean_gap_s = 1.0 / rate;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut gap: Box<dyn FnMut(&mut rand::rngs::StdRng) -> f64> = match arrival {
        Arrival::Constant => Box::new(move |_| mean_gap_s),
        Arrival::Poisson => {
            let exp = Exp::new(rate).map_err(|_| ScheduleError::BadRate(rate))?;
            Box::new(move |r| exp.sample(r))
        }
        Arrival::Gamma { burstiness } => {
            if !(burstiness.is_finite() && burstiness > 0.0) {
                return Err(ScheduleError::BadBurstiness(burstiness));
            }
            let gamma = Gamma::new(burstiness, 1.0 / (rate * burstiness))
                .map_err(|_| ScheduleError::BadBurstiness(burstiness))?;
            Box::new(move |r| gamma.sample(r))
        }
    };
    let mut out = Vec::with_capacity(usize::try_from(max_requests.min(1 << 20)).unwrap_or(0));
    // Accumulate in f64 seconds and convert each offset once, so rounding never drifts.
    let mut t_s = if matches!(arrival, Arrival::Constant) {
        0.0
    } else {
        gap(&mut rng)
    };
    while (out.len() as u64) < max_requests {
        let offset = secs_to_ns(t_s);
        if duration_ns.is_some_and(|d| offset > d) {
            break;
        }
        out.push(offset);
        t_s += gap(&mut rng);
    }
    Ok(out)
}

/// Offsets of a rate ramp: consecutive stages of constant rate, each lasting its
/// duration, with the given arrival process inside each stage. Stage `i` starts
/// where stage `i-1` ended.
///
/// # Errors
/// As [`open_loop`].
pub fn ramp(stages: &[(f64, u64)], arrival: Arrival, seed: u64) -> Result<Vec<u64>, ScheduleError> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for (i, &(rate, duration_ns)) in stages.iter().enumerate() {
        let stage_seed = seed ^ (0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(i as u64 + 1));
        let offsets = open_loop(rate, arrival, u64::MAX, Some(duration_ns), stage_seed)?;
        out.extend(
            offsets
                .into_iter()
                .filter(|&o| o < duration_ns)
                .map(|o| start + o),
        );
        start += duration_ns;
    }
    Ok(out)
}

/// Achieved rate of a schedule: (n − 1) / (last − first) requests/s (0 for fewer than 2).
#[must_use]
pub fn achieved_rate(offsets: &[u64]) -> f64 {
    match (offsets.first(), offsets.last()) {
        (Some(&a), Some(&b)) if offsets.len() > 1 && b > a => {
            (offsets.len() - 1) as f64 / ((b - a) as f64 / 1e9)
        }
        _ => 0.0,
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn secs_to_ns(s: f64) -> u64 {
    (s * 1e9).round().max(0.0) as u64
}

/// A random seed derived from a base seed and a label (for per-run schedules).
#[must_use]
pub fn sub_seed(seed: u64, label: u64) -> u64 {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ label.rotate_left(17));
    rng.random()
}

/// The declared distribution function of one inter-arrival gap: the chance
/// that a gap is at most `x_s` seconds (see the table in the module docs).
/// Gamma uses the regularised lower incomplete gamma function
/// `P(k, x / θ)` with `θ = 1/(rate·k)`; constant gaps are a step at `1/rate`.
#[must_use]
pub fn gap_cdf(arrival: Arrival, rate: f64, x_s: f64) -> f64 {
    if x_s.is_nan() || rate.is_nan() || x_s <= 0.0 || rate <= 0.0 {
        return 0.0;
    }
    match arrival {
        Arrival::Constant => {
            if x_s >= 1.0 / rate {
                1.0
            } else {
                0.0
            }
        }
        Arrival::Poisson => 1.0 - (-rate * x_s).exp(),
        Arrival::Gamma { burstiness: k } => lower_gamma_regularised(k, x_s * rate * k),
    }
}

/// Kolmogorov–Smirnov distance between the gaps `gaps_s` (seconds) and the
/// declared distribution: `sup |F_empirical(x) − F(x)|` over the sample, or
/// None for an empty sample.
#[must_use]
pub fn ks_distance(gaps_s: &[f64], arrival: Arrival, rate: f64) -> Option<f64> {
    if gaps_s.is_empty() {
        return None;
    }
    let mut sorted = gaps_s.to_vec();
    sorted.sort_by(f64::total_cmp);
    #[allow(clippy::cast_precision_loss)]
    let n = sorted.len() as f64;
    let mut d: f64 = 0.0;
    for (i, x) in sorted.iter().enumerate() {
        let f = gap_cdf(arrival, rate, *x);
        #[allow(clippy::cast_precision_loss)]
        let (below, above) = (i as f64 / n, (i + 1) as f64 / n);
        d = d.max((f - below).abs()).max((above - f).abs());
    }
    Some(d)
}

/// `P(a, x)`: the regularised lower incomplete gamma function, by its series
/// for `x < a + 1` and by the continued fraction of `Q = 1 − P` otherwise
/// (relative accuracy about 1e-12).
fn lower_gamma_regularised(a: f64, x: f64) -> f64 {
    if x <= 0.0 || a.is_nan() || a <= 0.0 {
        return 0.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum * front).clamp(0.0, 1.0)
    } else {
        // Modified Lentz's method for the continued fraction of Q(a, x).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -f64::from(i) * (f64::from(i) - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (1.0 - front * h).clamp(0.0, 1.0)
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos approximation, g = 7, 9 terms).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        #[allow(clippy::cast_precision_loss)]
        let k = i as f64;
        sum += c / (x + k);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaps(offsets: &[u64]) -> Vec<f64> {
        offsets
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64 / 1e9)
            .collect()
    }

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        (m, xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n)
    }

    #[test]
    fn constant_offsets_are_exact_multiples() {
        let o = open_loop(4.0, Arrival::Constant, 5, None, 1).unwrap();
        assert_eq!(
            o,
            vec![0, 250_000_000, 500_000_000, 750_000_000, 1_000_000_000]
        );
    }

    #[test]
    fn constant_does_not_drift_over_many_requests() {
        // 1/3 s is not representable exactly; the 3000th offset must still be exactly 1000 s.
        let o = open_loop(3.0, Arrival::Constant, 3001, None, 1).unwrap();
        assert_eq!(o[3000], 1_000_000_000_000);
    }

    #[test]
    fn duration_bounds_the_schedule() {
        let o = open_loop(10.0, Arrival::Constant, u64::MAX, Some(1_000_000_000), 1).unwrap();
        assert_eq!(o.len(), 11); // 0, 0.1, ..., 1.0 s inclusive
        assert!(o.iter().all(|&x| x <= 1_000_000_000));
    }

    #[test]
    fn poisson_gaps_have_exponential_moments() {
        let o = open_loop(50.0, Arrival::Poisson, 40_001, None, 7).unwrap();
        let (m, v) = mean_var(&gaps(&o));
        // Exponential(50): mean 0.02 s, variance 0.0004 s². 40k samples: a few % tolerance.
        assert!((m - 0.02).abs() < 0.02 * 0.03, "mean {m}");
        assert!((v - 0.0004).abs() < 0.0004 * 0.06, "var {v}");
    }

    #[test]
    fn gamma_gaps_have_the_documented_moments() {
        let k = 0.25;
        let o = open_loop(10.0, Arrival::Gamma { burstiness: k }, 80_001, None, 3).unwrap();
        let (m, v) = mean_var(&gaps(&o));
        // mean 1/rate = 0.1; variance 1/(k·rate²) = 0.04.
        assert!((m - 0.1).abs() < 0.1 * 0.04, "mean {m}");
        assert!((v - 0.04).abs() < 0.04 * 0.1, "var {v}");
    }

    #[test]
    fn same_seed_same_schedule_and_different_seed_differs() {
        let a = open_loop(5.0, Arrival::Poisson, 100, None, 42).unwrap();
        let b = open_loop(5.0, Arrival::Poisson, 100, None, 42).unwrap();
        let c = open_loop(5.0, Arrival::Poisson, 100, None, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert_eq!(
            open_loop(0.0, Arrival::Constant, 1, None, 1),
            Err(ScheduleError::BadRate(0.0))
        );
        assert!(open_loop(f64::NAN, Arrival::Poisson, 1, None, 1).is_err());
        assert_eq!(
            open_loop(1.0, Arrival::Gamma { burstiness: -1.0 }, 1, None, 1),
            Err(ScheduleError::BadBurstiness(-1.0))
        );
    }

    #[test]
    fn ramp_stages_follow_each_other() {
        let o = ramp(
            &[(2.0, 1_000_000_000), (10.0, 1_000_000_000)],
            Arrival::Constant,
            1,
        )
        .unwrap();
        let first: Vec<_> = o.iter().filter(|&&x| x < 1_000_000_000).collect();
        let second: Vec<_> = o.iter().filter(|&&x| x >= 1_000_000_000).collect();
        assert_eq!(first.len(), 2);
        assert_eq!(second.len(), 10);
        assert_eq!(*second[0], 1_000_000_000);
    }

    #[test]
    fn achieved_rate_of_constant_schedule() {
        let o = open_loop(8.0, Arrival::Constant, 9, None, 1).unwrap();
        assert!((achieved_rate(&o) - 8.0).abs() < 1e-9);
        assert_eq!(achieved_rate(&o[..1]), 0.0);
    }

    #[test]
    fn gap_cdf_matches_known_values() {
        // Exponential: 1 − e^(−λx); at 5000/s and 50 µs: 1 − e^(−0.25).
        let p = gap_cdf(Arrival::Poisson, 5000.0, 50e-6);
        assert!((p - (1.0 - (-0.25f64).exp())).abs() < 1e-12, "{p}");
        // Gamma with shape 1 is the exponential.
        let g1 = gap_cdf(Arrival::Gamma { burstiness: 1.0 }, 5000.0, 50e-6);
        assert!((g1 - p).abs() < 1e-10, "{g1} vs {p}");
        // Gamma(2, θ): P = 1 − e^(−y)(1 + y), y = x/θ = x·rate·2.
        for x in [10e-6, 50e-6, 200e-6, 1e-3] {
            let y: f64 = x * 1000.0 * 2.0;
            let want = 1.0 - (-y).exp() * (1.0 + y);
            let got = gap_cdf(Arrival::Gamma { burstiness: 2.0 }, 1000.0, x);
            assert!((got - want).abs() < 1e-10, "x={x}: {got} vs {want}");
        }
        // Gamma(0.5, θ): P = erf(√y).
        let y: f64 = 50e-6 * 1000.0 * 0.5;
        let got = gap_cdf(Arrival::Gamma { burstiness: 0.5 }, 1000.0, 50e-6);
        assert!((got - erf(y.sqrt())).abs() < 1e-9, "{got}");
        assert_eq!(gap_cdf(Arrival::Constant, 10.0, 0.099), 0.0);
        assert_eq!(gap_cdf(Arrival::Constant, 10.0, 0.1), 1.0);
        assert_eq!(gap_cdf(Arrival::Poisson, 10.0, 0.0), 0.0);
    }

    /// erf by its Taylor series (enough terms for small arguments).
    fn erf(z: f64) -> f64 {
        let mut sum = 0.0;
        let mut term = z;
        for n in 0..60 {
            sum += term / f64::from(2 * n + 1);
            term *= -z * z / f64::from(n + 1);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn ks_distance_is_small_for_the_schedule_itself_and_large_for_clumps() {
        let offsets = open_loop(5000.0, Arrival::Poisson, 20_000, None, 7).unwrap();
        let gaps: Vec<f64> = offsets
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64 / 1e9)
            .collect();
        let d = ks_distance(&gaps, Arrival::Poisson, 5000.0).unwrap();
        assert!(d < 0.02, "{d}");
        // The same schedule sent on a 1 ms tick: most gaps become 0 or 1 ms.
        let ticked: Vec<u64> = offsets
            .iter()
            .map(|o| o.div_ceil(1_000_000) * 1_000_000)
            .collect();
        let gaps: Vec<f64> = ticked
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64 / 1e9)
            .collect();
        let d = ks_distance(&gaps, Arrival::Poisson, 5000.0).unwrap();
        assert!(d > 0.3, "{d}");
        assert_eq!(ks_distance(&[], Arrival::Poisson, 1.0), None);
    }
}
