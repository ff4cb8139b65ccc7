//! The documented range of every count and duration a manifest may give.
//! `validate` checks each value against these (with the file, the key and a
//! hint), so nothing that validates can overflow a duration, abort on an
//! allocation or grow without bound. Token counts per request are limited by
//! the scenario grammar (`vocab::workload::MAX_TOKENS` and friends); the
//! memory a run holds is bounded by the plan's size guard (`max_memory_mb`).
//!
//! | what | range |
//! |---|---|
//! | timeouts, `duration_s` of grids and ramp stages | (0, 604800] s (one week) |
//! | `bucket_ms`, simulator timings, `stall_ms`, `retries.backoff_ms`, `metrics.interval_ms` | up to 3600000 ms (one hour) |
//! | rates (`rates`, ramp `rate`, search `min`/`max`/`start` by rate) | (0, 1000000] requests/s |
//! | concurrency, `max_concurrency`, batch sizes, simulator `max_batch` | 1 … 1000000 |
//! | `turns` | 1 … 1000 |
//! | `max_tokens_cap`, `prefix.tokens` | 1 … 2097152 tokens |
//! | `prefix.groups` | 1 … 1000000 |
//! | `n` (completions per request) | 1 … 128 |
//! | `embedding_dim` | 1 … 65536 |
//! | `retries.max` | 0 … 100 |
//! | `max_event_bytes` | 1 … 1073741824 (1 GiB) |
//! | simulator `faults.retry_after_s` | 0 … 3600 |
//! | search `factor` | (1, 1000] |

/// Longest timeout or run duration, in seconds (one week).
pub const MAX_DURATION_S: f64 = 604_800.0;
/// Longest millisecond setting (one hour).
pub const MAX_MS: f64 = 3_600_000.0;
/// Highest request rate, requests per second.
pub const MAX_RATE: f64 = 1_000_000.0;
/// Most requests in flight (and most sequences the simulator batches).
pub const MAX_CONCURRENCY: u32 = 1_000_000;
/// Most turns of a conversation.
pub const MAX_TURNS: u32 = 1_000;
/// Most distinct shared prefixes.
pub const MAX_PREFIX_GROUPS: u32 = 1_000_000;
/// Most completions per request.
pub const MAX_N: u32 = 128;
/// Largest embedding dimension.
pub const MAX_EMBEDDING_DIM: u32 = 65_536;
/// Most retries of one request.
pub const MAX_RETRIES: u32 = 100;
/// Largest `max_event_bytes`.
pub const MAX_EVENT_BYTES: u64 = 1 << 30;
/// Longest simulator `Retry-After`, in seconds.
pub const MAX_RETRY_AFTER_S: u32 = 3_600;
/// Largest sweep factor.
pub const MAX_SWEEP_FACTOR: f64 = 1_000.0;
