//! The command line (clap derive). Each subcommand maps to one `lib` entry point.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::vocab::{ApiKind, SimConfig, SimTiming};

/// tokenomics: declarative benchmarks of OpenAI-compatible LLM inference servers.
#[derive(Debug, Parser)]
#[command(name = "tokenomics", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log filter (also RUST_LOG), e.g. `debug` or `tokenomics=trace`.
    #[arg(long, global = true, default_value = "warn")]
    pub log: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment manifest and write its results directory.
    Run(RunArgs),
    /// Check manifests without sending anything.
    Validate(ValidateArgs),
    /// Print the run matrix of a manifest without sending anything.
    Plan(PlanArgs),
    /// Re-render the report (and JSON) of a results directory from stored data.
    Report(ReportArgs),
    /// Compare results directories or reference files side by side.
    Compare(CompareArgs),
    /// Run the embedded OpenAI-compatible simulator.
    Simulate(SimulateArgs),
    /// Download every dataset and tokenizer a manifest needs into the Hugging Face cache.
    Fetch(FetchArgs),
    /// Recover a crashed or interrupted run from its spool and finish it.
    Resume(ResumeArgs),
    /// Merge the results of `--shard` runs into one results directory.
    Merge(MergeArgs),
    /// Benchmark the client itself against a simulator in another process.
    BenchClient(BenchClientArgs),
    /// Write a commented starter manifest (for a running server, or the embedded simulator).
    Init(InitArgs),
    /// Print the JSON Schema of manifests or dataset config files (for editors).
    Schema(SchemaArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    Man(ManArgs),
}

/// Options shared by commands that load a manifest.
#[derive(Debug, Args, Clone)]
pub struct ManifestArgs {
    /// The experiment manifest (TOML).
    pub manifest: PathBuf,
    /// Override a key: `--set experiment.runs=1` (TOML value syntax; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Allow run matrices above the size guard.
    #[arg(long)]
    pub allow_large: bool,
    /// Run only slice `i` of `n` (1-based), e.g. `--shard 2/4`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Results root (default: `experiment.output_dir`, else `results/` beside the manifest).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Name of the run directory: letters, digits, `_`, `-` and `.` (default: a UTC timestamp).
    #[arg(long)]
    pub run_id: Option<String>,
    /// No progress bars or tables.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Skip the endpoint preflight checks.
    #[arg(long)]
    pub no_preflight: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifests to check.
    #[arg(required = true)]
    pub manifests: Vec<PathBuf>,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results directory (`results/<experiment>/<run-id>`).
    pub results: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Two or more results directories, experiments or reference files; the first is the baseline.
    #[arg(required = true, num_args = 2..)]
    pub inputs: Vec<PathBuf>,
    /// Exit 7 when `metric` got worse by more than `percent` (and outside the CI), e.g. `ttft_ms.p50:10`.
    #[arg(long, value_name = "METRIC:PERCENT")]
    pub fail_if_regression: Vec<String>,
    /// Write an HTML comparison page here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Port on 127.0.0.1 (0 = any free port; the chosen one is printed).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Model name served.
    #[arg(long, default_value = "sim-model")]
    pub model: String,
    /// Time to first token (ms).
    #[arg(long, default_value_t = 50.0)]
    pub ttft_ms: f64,
    /// Time between tokens (ms).
    #[arg(long, default_value_t = 10.0)]
    pub itl_ms: f64,
    /// Batching model: extra ms per decode step per additional active sequence.
    #[arg(long)]
    pub itl_per_seq_ms: Option<f64>,
    /// Batching model: prefill ms per prompt token.
    #[arg(long, default_value_t = 0.0)]
    pub prefill_per_token_ms: f64,
    /// Batching model: most sequences decoded at once.
    #[arg(long, default_value_t = 256)]
    pub max_batch: u32,
    /// Write the per-request timing log (JSON lines) here on exit (Ctrl-C / SIGINT).
    /// (`--request-log`, since the global `--log` is the log filter.)
    #[arg(long = "request-log", id = "request_log", value_name = "PATH")]
    pub log: Option<PathBuf>,
}

/// A flag value clap accepted but the command cannot use (the flag and why).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{flag}: {message}")]
pub struct FlagError {
    /// The flag without its dashes, e.g. `ttft-ms`.
    pub flag: &'static str,
    pub message: String,
    /// How to fix it, when there is more to say than the message.
    pub hint: Option<&'static str>,
}

fn millis(flag: &'static str, ms: f64) -> Result<Duration, FlagError> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(FlagError {
            flag,
            message: format!("must be a number of milliseconds ≥ 0, got {ms}"),
            hint: None,
        });
    }
    Duration::try_from_secs_f64(ms / 1_000.0).map_err(|e| FlagError {
        flag,
        message: format!("{ms} ms is out of range: {e}"),
        hint: None,
    })
}

impl ManifestArgs {
    /// `--shard i/n` as `(i, n)`, 1-based with `1 ≤ i ≤ n`; `None` without the flag.
    ///
    /// # Errors
    /// A [`FlagError`] showing the expected syntax.
    pub fn shard(&self) -> Result<Option<(u32, u32)>, FlagError> {
        let Some(s) = &self.shard else {
            return Ok(None);
        };
        let bad = || FlagError {
            flag: "shard",
            message: format!("invalid shard `{s}`: expected i/n with 1 ≤ i ≤ n, e.g. 2/4"),
            hint: Some("use 1-based slices, e.g. --shard 1/4 … --shard 4/4"),
        };
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let i: u32 = i.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || i == 0 || i > n {
            return Err(bad());
        }
        Ok(Some((i, n)))
    }
}

impl SimulateArgs {
    /// The configuration `tokenomics simulate` runs with.
    ///
    /// The Batching model is used when `--itl-per-seq-ms` is given or
    /// `--prefill-per-token-ms` is above 0 (a missing `--itl-per-seq-ms` then
    /// counts as 0); otherwise Fixed. Logging is on only with `--request-log`.
    ///
    /// # Errors
    /// A negative or non-finite duration, or `--max-batch 0`.
    pub fn sim_config(&self) -> Result<SimConfig, FlagError> {
        let batching = self.itl_per_seq_ms.is_some() || self.prefill_per_token_ms > 0.0;
        let timing = if batching {
            if self.max_batch == 0 {
                return Err(FlagError {
                    flag: "max-batch",
                    message: "must be at least 1".into(),
                    hint: None,
                });
            }
            SimTiming::Batching {
                itl_per_seq: millis("itl-per-seq-ms", self.itl_per_seq_ms.unwrap_or(0.0))?,
                prefill_per_token: millis("prefill-per-token-ms", self.prefill_per_token_ms)?,
                max_batch: self.max_batch,
            }
        } else {
            SimTiming::Fixed
        };
        Ok(SimConfig {
            model: self.model.clone(),
            ttft: millis("ttft-ms", self.ttft_ms)?,
            itl: millis("itl-ms", self.itl_ms)?,
            timing,
            log_requests: self.log.is_some(),
            ..SimConfig::default()
        })
    }
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The results directory of the interrupted run.
    pub results: PathBuf,
    /// Only finalise what was spooled; do not run the missing points.
    #[arg(long)]
    pub finalize_only: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Results directories of the shards.
    #[arg(required = true, num_args = 2..)]
    pub inputs: Vec<PathBuf>,
    /// The merged results directory to create.
    #[arg(long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct BenchClientArgs {
    /// Concurrent streams to test, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "256,1024,2048,4096")]
    pub streams: Vec<u32>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Run the fidelity benchmark (client vs simulator timestamps) instead of
    /// capacity (add --capacity for both).
    #[arg(long)]
    pub fidelity: bool,
    /// Also run the capacity benchmark when --fidelity or --soak is given
    /// (it runs alone by default).
    #[arg(long)]
    pub capacity: bool,
    /// Stream counts of the fidelity benchmark, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64,512,2048")]
    pub fidelity_streams: Vec<u32>,
    /// Seconds each fidelity level sends new requests.
    #[arg(long, default_value_t = 10.0)]
    pub fidelity_seconds: f64,
    /// Fidelity: the simulator's time to first token (ms).
    #[arg(long, default_value_t = 20.0)]
    pub fidelity_ttft_ms: f64,
    /// Fidelity: the simulator's time between tokens (ms).
    #[arg(long, default_value_t = 10.0)]
    pub fidelity_itl_ms: f64,
    /// Fidelity: token events per request.
    #[arg(long, default_value_t = 16)]
    pub fidelity_tokens: u32,
    /// Fidelity: burst sizes, comma-separated (each sent preconnected and cold).
    #[arg(long, value_delimiter = ',', default_value = "64,512")]
    pub fidelity_bursts: Vec<u32>,
    /// Fidelity: bursts of each size, each way.
    #[arg(long, default_value_t = 5)]
    pub fidelity_burst_rounds: u32,
    /// Run the arrival-precision benchmark (open-loop send lag and server-side
    /// inter-arrival gaps at --arrival-rates).
    #[arg(long)]
    pub arrival: bool,
    /// Arrival: request rates, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000")]
    pub arrival_rates: Vec<f64>,
    /// Arrival: seconds of schedule per level.
    #[arg(long, default_value_t = 2.0)]
    pub arrival_seconds: f64,
    /// Arrival: the shape of the gamma arrivals (Poisson is always measured too).
    #[arg(long, default_value_t = 2.0)]
    pub arrival_burstiness: f64,
    /// Run a soak of this many seconds (thousands of streams; is memory flat?).
    #[arg(long, value_name = "SECONDS")]
    pub soak: Option<f64>,
    /// Streams of the soak.
    #[arg(long, default_value_t = 2048)]
    pub soak_streams: u32,
    /// Seconds between soak report lines.
    #[arg(long, default_value_t = 5.0)]
    pub soak_interval: f64,
    /// Soak: the simulator's time between tokens (ms). The default keeps 2048
    /// streams below the client's capacity, so memory shows what the client
    /// keeps, not a backlog.
    #[arg(long, default_value_t = 20.0)]
    pub soak_itl_ms: f64,
    /// Capacity and soak: token events per request of each stream (`max_tokens`).
    #[arg(long, default_value_t = 256)]
    pub events_per_stream: u32,
    /// Capacity: the simulator's time between tokens (ms; 0 = as fast as it can).
    #[arg(long, default_value_t = 1.0)]
    pub itl_ms: f64,
    /// Capacity: skip the floor reader (a bare reader on the same load that
    /// parses nothing; its CPU per event is printed beside the client's).
    #[arg(long)]
    pub no_floor: bool,
    /// CPU the client is pinned to (with at least 2 CPUs).
    #[arg(long, default_value_t = 0)]
    pub client_cpu: usize,
    /// CPU the simulator is pinned to (with at least 2 CPUs).
    #[arg(long, default_value_t = 1)]
    pub sim_cpu: usize,
    /// Do not pin the client and the simulator to CPUs.
    #[arg(long)]
    pub no_pin: bool,
    /// Also write the figures as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Long responses: streams of `--long-tokens` events on a `--long-prompt-tokens`
    /// prompt against streams of 100 events on a short prompt; compares the
    /// client's CPU time per event (no slowdown per event is the target).
    #[arg(long)]
    pub long: bool,
    /// Long level: token events per long response.
    #[arg(long, default_value_t = 100_000)]
    pub long_tokens: u32,
    /// Long level: prompt length of the long requests, in words (about tokens).
    #[arg(long, default_value_t = 50_000)]
    pub long_prompt_tokens: u32,
    /// Long level: concurrent streams.
    #[arg(long, default_value_t = 8)]
    pub long_streams: u32,
    /// Short windows (1 s capacity, 2 s fidelity, 1 s soak lines) for a quick look.
    #[arg(long)]
    pub quick: bool,
    /// The tokenomics executable that runs the simulator (default: this one).
    #[arg(long, value_name = "PATH")]
    pub sim_exe: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Experiment name (letters, digits, `_`, `-`, `.`); default: from the model, or `simulator`.
    pub name: Option<String>,
    /// API root of a running server, e.g. `http://localhost:8000/v1`; its `/models` is asked
    /// for the model. Without it, the manifest uses the embedded simulator.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The API to benchmark.
    #[arg(long, value_enum, default_value_t = ApiArg::Chat)]
    pub api: ApiArg,
    /// The model to benchmark (default: the first one the server lists).
    #[arg(long)]
    pub model: Option<String>,
    /// Name of the environment variable holding the server's API key.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Where to write the manifest (default: `experiments/<name>.toml`).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `--api` of `init`: the manifest's `api` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    Chat,
    Completions,
    Embeddings,
    Rerank,
    Score,
}

impl From<ApiArg> for ApiKind {
    fn from(a: ApiArg) -> Self {
        match a {
            ApiArg::Chat => ApiKind::Chat,
            ApiArg::Completions => ApiKind::Completions,
            ApiArg::Embeddings => ApiKind::Embeddings,
            ApiArg::Rerank => ApiKind::Rerank,
            ApiArg::Score => ApiKind::Score,
        }
    }
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema: the experiment manifest, or a dataset config file.
    #[arg(value_enum, default_value_t = SchemaKind::Manifest)]
    pub kind: SchemaKind,
}

/// The JSON Schemas `tokenomics schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// An experiment manifest (`experiments/*.toml`).
    Manifest,
    /// A dataset config file (`dataset_configs/*.toml`).
    DatasetConfig,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `tokenomics.1` and one `tokenomics-<command>.1` per command here instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(s: &str) -> Result<Option<(u32, u32)>, FlagError> {
        ManifestArgs {
            manifest: "m.toml".into(),
            set: Vec::new(),
            allow_large: false,
            shard: Some(s.to_owned()),
        }
        .shard()
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(shard("1/4"), Ok(Some((1, 4))));
        assert_eq!(shard(" 4/4 "), Ok(Some((4, 4))));
        for bad in [
            "", "1", "0/4", "5/4", "1/0", "a/b", "1/2/3", "-1/2", "1.5/2",
        ] {
            let e = shard(bad).expect_err(bad);
            assert_eq!(e.flag, "shard");
            assert!(e.hint.is_some_and(|h| h.contains("1-based")));
        }
    }

    #[test]
    fn cli_flags_choose_the_timing_model() {
        let mut args = SimulateArgs {
            port: 0,
            model: "cli-model".into(),
            ttft_ms: 20.0,
            itl_ms: 2.5,
            itl_per_seq_ms: None,
            prefill_per_token_ms: 0.0,
            max_batch: 64,
            log: None,
        };
        let fixed = args.sim_config().expect("valid");
        assert_eq!(fixed.timing, SimTiming::Fixed);
        assert_eq!(fixed.itl, Duration::from_micros(2_500));
        assert!(!fixed.log_requests);
        args.itl_per_seq_ms = Some(0.5);
        args.log = Some("sim.jsonl".into());
        let batching = args.sim_config().expect("valid");
        assert_eq!(
            batching.timing,
            SimTiming::Batching {
                itl_per_seq: Duration::from_micros(500),
                prefill_per_token: Duration::ZERO,
                max_batch: 64
            }
        );
        assert!(batching.log_requests);
        args.ttft_ms = -1.0;
        let err = args.sim_config().expect_err("negative");
        assert_eq!(err.flag, "ttft-ms");
        assert!(err.to_string().starts_with("--ttft-ms: "), "{err}");
    }
}
