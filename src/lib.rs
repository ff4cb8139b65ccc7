//! # tokenomics
//!
//! A declarative, TOML-driven benchmark runner for OpenAI-compatible LLM
//! inference servers. Data flows one way, each stage a module with plain types
//! between:
//!
//! ```text
//! manifest (TOML → validated Manifest)
//!   → plan (run matrix of resolved PointSpecs)
//!   → dataset + schedule (request bodies and send times, made before the clock starts)
//!   → client (one request over SSE → RequestRecord; failures are data)
//!   → runner (warmup, dispatch, one collector task owns the records)
//!   → metrics (pure functions → summaries)
//!   → results (the results model; spool, reading back, merging, resume)
//!   → report (results → view models: tables, charts, number formatting)
//!   → sink (Parquet, JSON, the original's files, HTML behind one trait)
//! ```
//!
//! Glossary: **TTFT** time to first token (first event carrying generated text,
//! reasoning included); **TTFO** time to first output token (reasoning excluded);
//! **TPOT** (e2e − TTFT)/(output tokens − 1), one value per request; **ITL** the
//! gaps between consecutive content events, pooled; **E2E** request start to last
//! content event.

pub mod app;
pub mod bench;
pub mod cli;
pub mod client;
pub mod clock;
pub mod compare;
pub mod completions;
pub mod dataset;
pub mod error;
pub mod init;
pub mod manifest;
pub mod metrics;
pub mod plan;
pub mod progress;
pub mod record;
pub mod report;
pub mod results;
pub mod runner;
pub mod schedule;
pub mod schema;
pub mod search;
pub mod simulator;
pub mod sink;
pub mod suggest;
pub mod vocab;

pub use error::Error;
