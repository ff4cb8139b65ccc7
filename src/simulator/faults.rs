//! Deterministic fault injection.
//!
//! Every inference request (chat, completions, embeddings, rerank, score) gets a
//! sequence number `seq` in arrival order, starting at 0. Its fault is decided by
//! [`fault_for`]:
//!
//! ```text
//! u = splitmix64(seed XOR splitmix64(seq)) / 2^64        (u uniform in [0, 1))
//! ```
//!
//! and `u` is compared with the cumulative rates in this fixed order: `refuse`,
//! `http_500`, `http_429`, `stream_cut`, `malformed_event`, `stall` (the first
//! bucket containing `u` wins; past the sum of the rates there is no fault).
//! The faults of requests `0..N` are thus known in advance for any seed, and
//! the request log records which request got which.

use crate::vocab::FaultKind;
use crate::vocab::FaultSpec;

/// The SplitMix64 finaliser: a fast, well-mixed 64-bit hash.
#[must_use]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The uniform draw in `[0, 1)` of request `seq` under `seed`.
#[must_use]
pub fn fault_draw(seed: u64, seq: u64) -> f64 {
    // The top 53 bits, scaled by 2^-53: exactly representable, in [0, 1).
    (splitmix64(seed ^ splitmix64(seq)) >> 11) as f64 / (1_u64 << 53) as f64
}

/// The fault of request `seq` (see the module docs for the rule).
#[must_use]
pub fn fault_for(spec: &FaultSpec, seq: u64) -> Option<FaultKind> {
    if FaultKind::ORDER.iter().all(|k| k.rate(spec) <= 0.0) {
        return None;
    }
    let u = fault_draw(spec.seed, seq);
    let mut cumulative = 0.0;
    for kind in FaultKind::ORDER {
        cumulative += kind.rate(spec).max(0.0);
        if u < cumulative {
            return Some(kind);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> FaultSpec {
        FaultSpec {
            seed,
            http_500: 0.1,
            http_429: 0.05,
            retry_after_s: 2,
            stream_cut: 0.1,
            malformed_event: 0.05,
            stall: 0.1,
            stall_for: std::time::Duration::from_millis(10),
            refuse: 0.1,
        }
    }

    #[test]
    fn no_rates_no_faults() {
        let s = FaultSpec::default();
        assert!((0..1_000).all(|seq| fault_for(&s, seq).is_none()));
    }

    #[test]
    fn rate_one_hits_every_request() {
        let s = FaultSpec {
            stall: 1.0,
            ..FaultSpec::default()
        };
        assert!((0..1_000).all(|seq| fault_for(&s, seq) == Some(FaultKind::Stall)));
    }

    #[test]
    fn decision_follows_the_draw_and_cumulative_order() {
        let s = spec(7);
        for seq in 0..2_000 {
            let u = fault_draw(7, seq);
            assert!((0.0..1.0).contains(&u));
            let expected = if u < 0.1 {
                Some(FaultKind::Refuse)
            } else if u < 0.2 {
                Some(FaultKind::Http500)
            } else if u < 0.25 {
                Some(FaultKind::Http429)
            } else if u < 0.35 {
                Some(FaultKind::StreamCut)
            } else if u < 0.4 {
                Some(FaultKind::MalformedEvent)
            } else if u < 0.5 {
                Some(FaultKind::Stall)
            } else {
                None
            };
            assert_eq!(fault_for(&s, seq), expected, "seq {seq}");
        }
    }

    #[test]
    fn frequencies_match_rates() {
        let s = spec(42);
        let n = 100_000_u32;
        for kind in FaultKind::ORDER {
            let hits = (0..u64::from(n))
                .filter(|&seq| fault_for(&s, seq) == Some(kind))
                .count();
            let freq = hits as f64 / f64::from(n);
            let rate = kind.rate(&s);
            // 5 standard deviations of a binomial proportion.
            let tol = 5.0 * (rate * (1.0 - rate) / f64::from(n)).sqrt();
            assert!((freq - rate).abs() < tol, "{kind:?}: {freq} vs {rate}");
        }
    }

    #[test]
    fn seeds_give_different_assignments() {
        let a: Vec<_> = (0..200).map(|seq| fault_for(&spec(1), seq)).collect();
        let b: Vec<_> = (0..200).map(|seq| fault_for(&spec(2), seq)).collect();
        assert_ne!(a, b);
        let again: Vec<_> = (0..200).map(|seq| fault_for(&spec(1), seq)).collect();
        assert_eq!(a, again);
    }

    #[test]
    fn validation_rejects_bad_rates() {
        assert!(spec(0).validate().is_ok());
        let negative = FaultSpec {
            http_500: -0.1,
            ..FaultSpec::default()
        };
        assert!(negative.validate().unwrap_err().contains("Http500"));
        let nan = FaultSpec {
            stall: f64::NAN,
            ..FaultSpec::default()
        };
        assert!(nan.validate().is_err());
        let too_much = FaultSpec {
            refuse: 0.6,
            stream_cut: 0.6,
            ..FaultSpec::default()
        };
        assert!(too_much.validate().unwrap_err().contains("sum"));
    }
}
