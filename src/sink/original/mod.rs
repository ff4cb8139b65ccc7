//! `original/`: one JSON file per point in the original tool's v0.5+ layout, so
//! its plotting scripts and existing comparisons read tokenomics results as-is.
//!
//! **Files.** `original/<sweep_value>.json`, where the sweep value is the point's
//! load value (batch size, concurrency, or rate) written as an integer when it is
//! one (`8.json`) and as a decimal otherwise (`2.5.json`). When the plan holds
//! more than one series (points differing in endpoint, scenario, mode or grid),
//! each series gets its own directory, so every directory is a valid results
//! directory of the original: `original/<endpoint>__<scenario>/<value>.json`,
//! extended to `<endpoint>__<scenario>__<mode>` and then
//! `<endpoint>__<scenario>__<mode>__<grid>` only when the shorter name would be
//! shared by two series. Names keep `[A-Za-z0-9._-]` and replace anything else
//! with `_`. Two points of one series with the same value (which a plan should
//! not contain) get `<value>__<point index>.json` for the later one.
//!
//! **Layout** (keys in this order; times in **seconds** and rates in tokens/s, as
//! the original):
//!
//! ```text
//! { "metadata": { timestamp, model, scenario, prompt_source, max_tokens, num_images,
//!                 image_size, input_tokens, dataset_config, api_base, execution_mode,
//!                 num_runs, warmup_runs, temperature, num_completions, stream, description,
//!                 seed, lora_config, steady_state_threshold, bucket_size_seconds,
//!                 + burst: batch_sizes | concurrency: concurrency_levels, num_prompts
//!                 | rate: rates, num_prompts },
//!   "sweep_value": 8,
//!   "result": {
//!     "tokens": {"input_per_request": {mean, std}, "output_per_request": {mean, std}},
//!     "prefill_metrics": {"ttft": {mean, std}, "ttfo": {mean, std}, "input_throughput": {mean, std}},
//!     "decode_metrics": {"output_throughput": {mean, std}, "tpot": {mean, std}, "decode_time": {mean, std}},
//!     "batch_metrics": {"e2e_tps": {mean, std}, "wall_time": {mean, std}},
//!     "reliability": {"total_requests", "successful", "failed"},
//!     "usage_extras": {reasoning_tokens{mean, std, total}, cached_tokens{mean, total,
//!                      cache_hit_rate}, finish_reasons{…}}   (each key only when there is data),
//!     "phased_metrics": {"steady_state_tps": {"median", "median_std"}, "peak_active_requests",
//!                        "time_series": {"output_tokens_per_bucket", "active_requests_per_bucket"}}
//!                       ({} when no run had a successful request; the time series is the last run's)
//! } }
//! ```
//!
//! Mapping of tokenomics values: `execution_mode` is `burst`, `sustained`
//! (concurrency), `rate` or `ramp` (the last two have no equivalent in the
//! original); `scenario` is the workload string (null when replaying a
//! dataset); `prompt_source` is `scenario` or `dataset_replay`; `max_tokens` the
//! scenario's cap; `api_base` the endpoint URL (`simulator` for the embedded
//! simulator); `timestamp` the run's start in local time without an offset
//! (`2026-01-02T03:04:05.000000`); `input_tokens` is always null (the original
//! sets it only for its fixed-filler prompts); `usage_extras` has no `cost` or
//! `providers` (the records do not carry them).
//!
//! **Embeddings** (`api = "embeddings"` points) follow the original's embedding
//! benchmark instead: `batch_{B}_seq_{S}.json`, where B is the load value and S
//! the sequence-length label of the scenario: `short`, `medium`, `long`, `mixed`
//! for `E(short)` …, the word count for `E(<n>w)`, the token count for `E(n)`
//! (the scenario's name for any other shape). An embeddings series (points of
//! one endpoint, mode and grid, whatever their scenario) is one original results
//! directory: alone in the plan it is written flat, beside other series it gets
//! `original/<endpoint>/` (extended with `__<mode>`, then `__<grid>`, when two
//! embeddings series would share the name, and with `__embeddings` should it
//! equal a completion series' directory). Layout (keys in this order):
//!
//! ```text
//! { "metadata": { timestamp, model, api_base, batch_sizes, sequence_lengths (ints or
//!                 strings), num_runs, warmup_runs, concurrent_requests, seed, description },
//!   "config_key": "batch_{B}_seq_{S}",
//!   "result": {
//!     "tokens":     {"total_per_batch": STAT, "embeddings_per_batch": STAT},
//!     "timings":    {"batch_total_seconds": STAT, "fastest_seconds": STAT,
//!                    "slowest_seconds": STAT, "spread_seconds": STAT},
//!     "throughput": {"batch_embeddings_per_second": STAT, "batch_tokens_per_second": STAT,
//!                    "request_embeddings_per_second": STAT, "request_tokens_per_second": STAT} } }
//! STAT = {mean, std, min, max}, std the sample std (n − 1; 0 below two values), all 0 without values
//! ```
//!
//! The values, over the point's measured requests (each request's final attempt;
//! warmups excluded), times from the run's t0 (the batch start):
//! * per successful request, pooled over runs: `total_per_batch` = its input
//!   tokens and `embeddings_per_batch` = embeddings returned (per request,
//!   despite the names, as in the original); `request_embeddings_per_second` =
//!   embeddings / elapsed and `request_tokens_per_second` = input tokens /
//!   elapsed, elapsed = end − start (requests with elapsed 0 are left out);
//! * one value per run: `batch_total_seconds` = the run's wall time;
//!   `fastest_seconds` / `slowest_seconds` = the earliest / latest end of any of
//!   its requests (failed ones too: the batch waits for them), `spread_seconds`
//!   = slowest − fastest; `batch_embeddings_per_second` = Σ embeddings / wall
//!   time and `batch_tokens_per_second` = Σ input tokens / wall time, over its
//!   successful requests.
//!
//! Differences from the original: input tokens are tokenomics' headline count
//! (the server's `usage` when it reports one) rather than words × 1.3; failed
//! requests are left out of the per-request lists instead of counting as zeros;
//! `concurrent_requests` is false when the endpoint sends a whole batch in one
//! request (`batch_in_one_request`). Rerank and score points are not written
//! (the original's score benchmark has another layout).
//!
//! **Numbers.** Every float is rounded to 4 significant digits,
//! `round(x, −floor(log10|x|) + 3)` (0 stays 0.0), with ties to even on the
//! exact binary value, as Python's `round`; integers are left alone. The text
//! matches Python's `json.dump(indent=2)`: two-space indent, `": "` and `","`
//! separators, floats in `repr` form (`16660.0`, `1e-05`, `1e+16`), non-ASCII
//! escaped as `\uXXXX`. A non-finite float (never produced by the metrics) is
//! written as `null`. Files are written atomically.
//!
//! Files: [`write`](mod@write) (the sink), [`layout`] (where each point's file goes),
//! [`document`] (a completion point's file), [`embeddings`] (an embeddings
//! point's file), [`number`] (rounding and Python's JSON text).

pub mod document;
pub mod embeddings;
pub mod layout;
pub mod number;
pub mod write;

pub use number::{python_float_repr, round_floats, round_sig4};
pub use write::OriginalJsonSink;

#[cfg(test)]
mod tests;
