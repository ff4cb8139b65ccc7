//! The one clock every measurement uses: `CLOCK_MONOTONIC` in nanoseconds.
//!
//! Client, runner and simulator all read this clock, so timestamps taken in
//! different tasks, and even in different processes on the same machine (the
//! simulator run as `tokenomics simulate`), are directly comparable. It is the
//! clock behind `std::time::Instant` on Linux, read through the vDSO (~20 ns).

/// Nanoseconds on the system's monotonic clock (arbitrary origin, never goes back).
#[must_use]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC is always available on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    #[allow(clippy::cast_sign_loss)]
    let ns = (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64;
    ns
}

/// Nanoseconds since the Unix epoch on the wall clock: used only as an anchor
/// that ties a run's monotonic `t0` to calendar time in the outputs.
#[must_use]
pub fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_never_goes_back() {
        let mut last = now_ns();
        for _ in 0..10_000 {
            let t = now_ns();
            assert!(t >= last);
            last = t;
        }
    }
}
