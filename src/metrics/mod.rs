//! STAGE 6: pure functions from records to summaries. No I/O, no async.
//!
//! Every formula is documented beside its code and in the README ("Metrics"):
//!
//! * [`stats`]: mean, population std, the percentile method ([`Stat`]);
//! * [`request`]: per-request TTFT, TTFO, E2E, decode, TPOT, ITL, rates, queue
//!   and send lag ([`request_metrics`]);
//! * [`run`]: one run's throughput, steady state, goodput and client check
//!   ([`summarize_run`] with a [`RunContext`]);
//! * [`point`]: a point pooled over its runs ([`summarize_point`]);
//! * [`slo`]: per-request and percentile SLOs.
//!
//! Naming follows vLLM's benchmark convention: **TPOT** is
//! (E2E − TTFT)/(tokens − 1), one value per request; **ITL** is the gap between
//! consecutive content events, pooled over requests (AIPerf calls it ICL).
//! Metrics never produce NaN or infinity: every division is guarded and
//! non-finite inputs are dropped from statistics.

pub mod point;
pub mod request;
pub mod run;
pub mod slo;
pub mod stats;
pub mod summary;

pub use point::summarize_point;
pub use request::{request_metrics, RequestMetrics};
pub use run::{final_attempts, summarize_run, RunContext};
pub use summary::*;
