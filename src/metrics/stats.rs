//! Descriptive statistics: mean, population standard deviation, percentiles.
//!
//! One method everywhere, stated once:
//!
//! * **mean** = Σx / n, or 0 for an empty list.
//! * **std** = the population standard deviation (ddof = 0),
//!   `sqrt(Σ(x − mean)² / n)`, or 0 when there are fewer than 2 values
//!   (NumPy `np.std`, as the original's v0.5+ outputs).
//! * **percentile p** (0–100) = linear interpolation between the closest ranks
//!   of the sorted values `x[0] ≤ … ≤ x[n−1]`: with `r = p/100 · (n − 1)`,
//!   `lo = floor(r)`, `hi = ceil(r)`, the value is `x[lo] + (r − lo)·(x[hi] − x[lo])`
//!   (NumPy's default `method="linear"`, Hyndman & Fan type 7). The median is
//!   the 50th percentile, i.e. the mean of the two middle values for even n.
//!
//! Non-finite inputs (NaN, ±inf) are dropped before any statistic is computed,
//! so every [`Stat`] is finite and safe to write as JSON.

use std::collections::BTreeMap;

use super::summary::Stat;

/// Arithmetic mean, 0 for an empty slice.
#[must_use]
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = values.len() as f64;
    values.iter().sum::<f64>() / n
}

/// Population standard deviation (ddof = 0): `sqrt(Σ(x − mean)² / n)`; 0 when n < 2.
#[must_use]
pub fn population_std(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    #[allow(clippy::cast_precision_loss)]
    let n = values.len() as f64;
    (values.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt()
}

/// The `p`-th percentile (0–100) of **sorted** values by linear interpolation
/// between closest ranks (see the module docs). `None` for an empty slice.
/// `p` is clamped to 0–100.
#[must_use]
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let p = if p.is_nan() {
        50.0
    } else {
        p.clamp(0.0, 100.0)
    };
    #[allow(clippy::cast_precision_loss)]
    let rank = p / 100.0 * last as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let lo = (rank.floor() as usize).min(last);
    let hi = (lo + 1).min(last);
    #[allow(clippy::cast_precision_loss)]
    let frac = rank - lo as f64;
    Some(sorted[lo] + frac * (sorted[hi] - sorted[lo]))
}

/// The `p`-th percentile of unsorted values (finite values only), `None` when there are none.
#[must_use]
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let sorted = sorted_finite(values);
    percentile_sorted(&sorted, p)
}

/// The median (50th percentile), `None` for an empty slice.
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// The finite values of `values`, sorted ascending.
fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The key under which an extra percentile is stored in [`Stat::percentiles`]:
/// `p` followed by the shortest decimal form of the number (`p99.9`, `p75`).
#[must_use]
pub fn percentile_key(p: f64) -> String {
    format!("p{p}")
}

impl Stat {
    /// Statistics of `values` (non-finite values dropped; all 0 when none remain).
    #[must_use]
    pub fn from_values(values: &[f64]) -> Stat {
        Stat::with_percentiles(values, &[])
    }

    /// As [`Stat::from_values`], also filling [`Stat::percentiles`] with each
    /// of `extra` (0–100) under the key [`percentile_key`]`(p)`.
    #[must_use]
    pub fn with_percentiles(values: &[f64], extra: &[f64]) -> Stat {
        let sorted = sorted_finite(values);
        if sorted.is_empty() {
            return Stat::default();
        }
        let pct = |p| percentile_sorted(&sorted, p).unwrap_or(0.0);
        let percentiles: BTreeMap<String, f64> = extra
            .iter()
            .filter(|p| p.is_finite())
            .map(|&p| (percentile_key(p), pct(p)))
            .collect();
        Stat {
            n: sorted.len() as u64,
            mean: mean(&sorted),
            std: population_std(&sorted),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            p50: pct(50.0),
            p90: pct(90.0),
            p95: pct(95.0),
            p99: pct(99.0),
            percentiles,
        }
    }

    /// The `p`-th percentile as stored: `p50/p90/p95/p99` or an entry of
    /// [`Stat::percentiles`]; `None` when this Stat did not compute it.
    #[must_use]
    pub fn get_percentile(&self, p: f64) -> Option<f64> {
        #[allow(clippy::float_cmp)]
        match p {
            _ if p == 50.0 => Some(self.p50),
            _ if p == 90.0 => Some(self.p90),
            _ if p == 95.0 => Some(self.p95),
            _ if p == 99.0 => Some(self.p99),
            _ => self.percentiles.get(&percentile_key(p)).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn mean_and_population_std() {
        // 2,4,4,4,5,5,7,9: mean = 40/8 = 5; squared deviations 9,1,1,1,0,0,4,16 = 32;
        // population variance = 32/8 = 4 → std = 2 (the sample std would be sqrt(32/7) ≈ 2.138).
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!(close(mean(&v), 5.0));
        assert!(close(population_std(&v), 2.0));
    }

    #[test]
    fn empty_and_single_value() {
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(population_std(&[]), 0.0);
        // One value: std is 0 by definition (fewer than 2 values).
        assert_eq!(population_std(&[7.5]), 0.0);
        assert_eq!(Stat::from_values(&[]), Stat::default());
        let s = Stat::from_values(&[7.5]);
        assert_eq!(
            (s.n, s.mean, s.std, s.min, s.max, s.p99),
            (1, 7.5, 0.0, 7.5, 7.5, 7.5)
        );
    }

    #[test]
    fn percentile_linear_interpolation() {
        // sorted 10,20,30,40 (n = 4, n − 1 = 3):
        // p50: r = 1.5 → 20 + 0.5·(30 − 20) = 25
        // p90: r = 2.7 → 30 + 0.7·(40 − 30) = 37
        // p25: r = 0.75 → 10 + 0.75·10 = 17.5
        // p0 = 10, p100 = 40
        let v = [40.0, 10.0, 30.0, 20.0];
        assert!(close(percentile(&v, 50.0).unwrap(), 25.0));
        assert!(close(percentile(&v, 90.0).unwrap(), 37.0));
        assert!(close(percentile(&v, 25.0).unwrap(), 17.5));
        assert!(close(percentile(&v, 0.0).unwrap(), 10.0));
        assert!(close(percentile(&v, 100.0).unwrap(), 40.0));
        // odd n: median is the middle value
        assert!(close(median(&[3.0, 1.0, 2.0]).unwrap(), 2.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn stat_fields_and_extra_percentiles() {
        // 1..=10: mean 5.5; population variance = (n²−1)/12 = 99/12 = 8.25 → std ≈ 2.8723
        // p50: r = 4.5 → 5.5; p90: r = 8.1 → 9.1; p95: r = 8.55 → 9.55; p99: r = 8.91 → 9.91
        // p99.9: r = 8.991 → 9.991
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = Stat::with_percentiles(&v, &[99.9]);
        assert_eq!(s.n, 10);
        assert!(close(s.mean, 5.5));
        assert!(close(s.std, 8.25f64.sqrt()));
        assert_eq!((s.min, s.max), (1.0, 10.0));
        assert!(close(s.p50, 5.5));
        assert!(close(s.p90, 9.1));
        assert!(close(s.p95, 9.55));
        assert!(close(s.p99, 9.91));
        assert!(close(s.percentiles["p99.9"], 9.991));
        assert!(close(s.get_percentile(99.9).unwrap(), 9.991));
        assert!(close(s.get_percentile(90.0).unwrap(), 9.1));
        assert_eq!(s.get_percentile(12.0), None);
    }

    #[test]
    fn non_finite_values_are_dropped() {
        // NaN and inf dropped: stats of [1, 3] → mean 2, std 1.
        let s = Stat::from_values(&[1.0, f64::NAN, 3.0, f64::INFINITY]);
        assert_eq!(s.n, 2);
        assert!(close(s.mean, 2.0));
        assert!(close(s.std, 1.0));
    }
}
