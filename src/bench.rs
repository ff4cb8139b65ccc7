//! `tokenomics bench-client`: the client's capacity and timing-fidelity benchmarks.
//! (Being integrated; this build reports that it is unavailable.)

/// Runs the benchmark selected by `args`.
///
/// # Errors
/// Always, in this build: the benchmark is not integrated yet.
pub async fn run(_args: &crate::cli::BenchClientArgs) -> Result<i32, crate::Error> {
    Err(crate::Error::Internal(
        "bench-client is not available in this build".into(),
    ))
}
