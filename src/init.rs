//! `tokenomics init`: a commented starter manifest.
//!
//! Without `--base-url` the manifest benchmarks the embedded simulator, so it
//! runs anywhere. With `--base-url` the server's `{base_url}/models` is asked
//! (through [`crate::client::fetch_models`], with a short timeout): the model
//! comes from its answer (the first one listed, or `--model`), and the server is
//! recognised from the answer where it says who it is — `owned_by` of the model
//! entry (`vllm`, `sglang`, `llamacpp`, `tokenomics-simulator`), or llama.cpp's
//! answer shape (a `models` list beside OpenAI's `data`). Servers known to
//! accept `ignore_eos` get `ignore_eos = true` (every generation is then exactly
//! `max_tokens` long); for others the key is written commented out. What was
//! detected is said in a comment at the top of the file.
//!
//! The file starts with a `#:schema` line for TOML language servers: the
//! relative path to `schema/manifest.schema.json` of the enclosing checkout when
//! there is one, otherwise to a copy written beside the manifest.
//!
//! The file is written to `--output`, else `experiments/<name>.toml`, and never
//! over an existing file without `--force` (exit 2 with a hint).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::cli::{InitArgs, SchemaKind};
use crate::client::{fetch_models, model_ids, HttpClient, PreflightError};
use crate::error::{exit, Error};
use crate::plan::{EndpointSpec, EndpointTarget, RetryPolicy, Timeouts};
use crate::vocab::name::{check_name, NameKind, MAX_NAME_LEN};
use crate::vocab::{ApiKind, EncodingFormat, MalformedPolicy};

/// Longest wait for the server's connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest wait for the server's `/models` answer.
const MODELS_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the target server was recognised from, and what it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The server's name, e.g. `vLLM`.
    pub server: &'static str,
    /// What gave it away, e.g. `owned_by = "vllm"`.
    pub evidence: String,
    /// It accepts `"ignore_eos": true` in generation requests.
    pub accepts_ignore_eos: bool,
}

/// The server the manifest targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The embedded simulator.
    Simulator,
    /// A running server.
    Server {
        /// Its API root, e.g. `http://localhost:8000/v1`.
        base_url: String,
        /// The model benchmarked.
        model: String,
        /// Every model the server lists.
        served: Vec<String>,
        /// The server, when recognised.
        detected: Option<Detected>,
        /// `max_model_len` of the model entry, when the server reports it.
        max_model_len: Option<u64>,
        /// `--api-key-env`.
        api_key_env: Option<String>,
    },
}

/// Everything the starter manifest is made from.
#[derive(Clone, Debug)]
pub struct Starter {
    /// `experiment.name`.
    pub name: String,
    /// The API benchmarked.
    pub api: ApiKind,
    /// Where requests go.
    pub target: Target,
    /// The `#:schema` path, relative to the manifest's directory.
    pub schema_path: String,
}

/// Recognises the server from its `/models` answer: `owned_by` of `model`'s
/// entry (else of the first entry), else llama.cpp's `models` + `data` shape.
#[must_use]
pub fn detect_server(models: &Value, model: &str) -> Option<Detected> {
    let entries = models.get("data").and_then(Value::as_array);
    let entry = entries.and_then(|list| {
        list.iter()
            .find(|m| m.get("id").and_then(Value::as_str) == Some(model))
            .or_else(|| list.first())
    });
    let owned_by = entry
        .and_then(|m| m.get("owned_by"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let by_owner = |server, accepts_ignore_eos| {
        Some(Detected {
            server,
            evidence: format!(
                "owned_by = \"{}\" in its /models answer",
                owned_by.as_deref().unwrap_or_default()
            ),
            accepts_ignore_eos,
        })
    };
    match owned_by.as_deref() {
        Some("vllm") => return by_owner("vLLM", true),
        Some("sglang") => return by_owner("SGLang", true),
        Some("llamacpp" | "llama.cpp") => return by_owner("llama.cpp", true),
        Some("tokenomics-simulator") => return by_owner("the tokenomics simulator", true),
        _ => {}
    }
    if entries.is_some() && models.get("models").and_then(Value::as_array).is_some() {
        return Some(Detected {
            server: "llama.cpp",
            evidence: "a `models` list beside `data` in its /models answer".into(),
            accepts_ignore_eos: true,
        });
    }
    None
}

/// `max_model_len` of `model`'s entry in a `/models` answer (vLLM, SGLang).
fn max_model_len(models: &Value, model: &str) -> Option<u64> {
    models
        .get("data")?
        .as_array()?
        .iter()
        .find(|m| m.get("id").and_then(Value::as_str) == Some(model))?
        .get("max_model_len")?
        .as_u64()
}

/// A TOML string literal of `s`.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// An experiment name from a model id: its last path segment, lowercased, with
/// characters a name cannot hold replaced by `-`.
#[must_use]
pub fn name_from_model(model: &str) -> String {
    let last = model.rsplit('/').next().unwrap_or(model);
    let mut name: String = last
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let start = name
        .find(|c: char| c.is_ascii_alphanumeric())
        .unwrap_or(name.len());
    name.drain(..start);
    // Room for a `-embeddings` suffix.
    name.truncate(MAX_NAME_LEN - 12);
    if name.is_empty() {
        "server".into()
    } else {
        name
    }
}

/// The commented starter manifest.
#[must_use]
pub fn starter_manifest(s: &Starter) -> String {
    let mut out = String::new();
    let mut line = |l: &str| {
        out.push_str(l);
        out.push('\n');
    };
    let api = s.api.as_str();
    line(&format!("#:schema {}", s.schema_path));
    line("# A starter manifest written by `tokenomics init`.");
    match &s.target {
        Target::Simulator => {
            line("# It benchmarks the embedded simulator (no server, no downloads); to benchmark");
            line("# a running server, run `tokenomics init --base-url http://HOST:PORT/v1`.");
        }
        Target::Server {
            base_url,
            model,
            served,
            detected,
            max_model_len,
            ..
        } => {
            match detected {
                Some(d) => line(&format!(
                    "# Server at {base_url}: detected {} ({}).",
                    d.server, d.evidence
                )),
                None => line(&format!(
                    "# Server at {base_url}: not recognised from its /models answer."
                )),
            }
            if served.len() > 1 {
                line(&format!(
                    "# It serves {} models: {}; this manifest benchmarks `{model}`.",
                    served.len(),
                    served.join(", ")
                ));
            }
            if let Some(len) = max_model_len {
                line(&format!(
                    "# It reports max_model_len = {len}: keep a scenario's input + output below it."
                ));
            }
        }
    }
    line("#");
    line("#   tokenomics validate <this file>   # check it; sends nothing");
    line("#   tokenomics plan <this file>       # the points and request counts");
    line("#   tokenomics run <this file>        # run it; results and report under results/");
    line("#");
    line("# Every key is documented in experiments/reference.toml and in the schema on the");
    line("# first line (`tokenomics schema`), which editors with a TOML language server");
    line("# (taplo, Even Better TOML) use to complete and check keys.");
    line("");
    line("schema = 1");
    line("");
    line("[experiment]");
    line(&format!("name = {}", quoted(&s.name)));
    let what = match &s.target {
        Target::Simulator => format!("The {api} API of the embedded simulator."),
        Target::Server { model, .. } => format!("The {api} API of {model}."),
    };
    line(&format!("description = {}", quoted(&what)));
    line("seed = 42");
    line("runs = 2                    # repetitions of every point");
    line("warmup = 1                  # unmeasured requests before every run");
    line("");
    if s.api.generates() {
        line("# Service-level objectives: goodput counts the requests that meet them.");
        line("# [experiment.slo]");
        line("# ttft_ms = { p99 = 500 }");
        line("# tpot_ms = { p90 = 50 }");
        line("");
    }
    let endpoint = match &s.target {
        Target::Simulator => "sim",
        Target::Server { .. } => "server",
    };
    line(&format!("[endpoints.{endpoint}]"));
    match &s.target {
        Target::Simulator => {
            let sim = if s.api.generates() {
                "{ model = \"sim-model\", ttft_ms = 20, itl_ms = 5 }"
            } else {
                "{ model = \"sim-model\", embedding_dim = 384, pooling_ms = 5, pooling_per_token_ms = 0.01 }"
            };
            line("# The embedded OpenAI-compatible simulator, started on 127.0.0.1 for the run.");
            line(&format!("simulator = {sim}"));
            line(&format!("api = {}", quoted(api)));
            if s.api.generates() {
                line("ignore_eos = true           # accepted; the simulator always generates max_tokens");
            }
        }
        Target::Server {
            base_url,
            model,
            detected,
            api_key_env,
            ..
        } => {
            line(&format!("base_url = {}", quoted(base_url)));
            line(&format!("model = {}", quoted(model)));
            line(&format!("api = {}", quoted(api)));
            if s.api.generates() {
                match detected {
                    Some(d) if d.accepts_ignore_eos => line(&format!(
                        "ignore_eos = true           # {} accepts it: every generation is exactly max_tokens long",
                        d.server
                    )),
                    _ => {
                        line("# ignore_eos = true         # vLLM, SGLang and llama.cpp accept it: every generation is");
                        line("                            # exactly max_tokens long; other servers may reject it");
                    }
                }
                line("temperature = 0.0");
            }
            match api_key_env {
                Some(var) => line(&format!(
                    "api_key_env = {}      # the variable holding the API key",
                    quoted(var)
                )),
                None => line("# api_key_env = \"OPENAI_API_KEY\"   # the variable holding the API key, if the server needs one"),
            }
            line("timeout_s = 600");
        }
    }
    line("");
    let (scenarios, note): (Vec<(&str, &str)>, &str) = match s.api {
        ApiKind::Chat | ApiKind::Completions => (
            vec![("short", "D(128,64)"), ("long", "D(512,128)")],
            "# D(input,output): fixed prompt and output lengths in tokens. Also N(...)/(...),\n# U(...)/(...), I(w,h) (images) and a dataset; see experiments/reference.toml.",
        ),
        ApiKind::Embeddings => (
            vec![("short", "E(64)"), ("long", "E(256)")],
            "# E(tokens): embedding inputs of a fixed length in tokens.",
        ),
        ApiKind::Rerank | ApiKind::Score => (
            vec![("rank", "R(128,16,8)")],
            "# R(doc_tokens,query_tokens,documents): one query against its documents.",
        ),
    };
    line(note);
    for (name, spec) in &scenarios {
        line(&format!("[scenarios.{name}]"));
        line(&format!("spec = {}", quoted(spec)));
        line("");
    }
    let names = scenarios
        .iter()
        .map(|(n, _)| quoted(n))
        .collect::<Vec<_>>()
        .join(", ");
    let endpoints = format!("[{}]", quoted(endpoint));
    line("# Every request of a batch released at once.");
    line("[[grid]]");
    line("name = \"burst\"");
    line(&format!("endpoints = {endpoints}"));
    line(&format!("scenarios = [{names}]"));
    line("mode = \"burst\"");
    line("batch_sizes = [1, 4, 16]");
    line("");
    line("# A closed loop: this many requests in flight.");
    line("[[grid]]");
    line("name = \"concurrency\"");
    line(&format!("endpoints = {endpoints}"));
    line(&format!("scenarios = [{}]", quoted(scenarios[0].0)));
    line("mode = \"concurrency\"");
    line("concurrency = [1, 4, 16]");
    // The simulator's run stays under a minute; a real server gets more requests per level.
    line(match s.target {
        Target::Simulator => "requests = 32               # per run",
        Target::Server { .. } => "requests = 64               # per run",
    });
    line("");
    line("# An open loop at fixed rates (requests/s), Poisson arrivals:");
    line("# [[grid]]");
    line("# name = \"rate\"");
    line(&format!("# endpoints = {endpoints}"));
    line(&format!("# scenarios = [{}]", quoted(scenarios[0].0)));
    line("# mode = \"rate\"");
    line("# rates = [1, 2, 4]");
    line("# requests = 64");
    out
}

/// The client used to ask the server for its models: short timeouts, no retries.
fn probe_endpoint(api_key_env: Option<&String>) -> EndpointSpec {
    EndpointSpec {
        name: "init".into(),
        target: EndpointTarget::Url(String::new()),
        model: String::new(),
        api: ApiKind::Chat,
        stream: false,
        api_key_env: api_key_env.cloned(),
        timeouts: Timeouts {
            total: MODELS_TIMEOUT,
            connect: CONNECT_TIMEOUT,
            first_byte: None,
            idle: None,
        },
        extra_body: serde_json::Map::new(),
        headers: BTreeMap::new(),
        headers_env: BTreeMap::new(),
        preconnect: true,
        temperature: None,
        ignore_eos: false,
        min_tokens: false,
        n: 1,
        tokenizer: None,
        health_path: "models".into(),
        retry: RetryPolicy::default(),
        malformed: MalformedPolicy::Skip,
        max_event_bytes: 16 << 20,
        scrape: None,
        encoding_format: EncodingFormat::Float,
        embed_batch_in_one_request: false,
        path_override: None,
        embedding_dim: None,
    }
}

/// The API root: the URL without a trailing `/`, with `/v1` added when it has no path.
#[must_use]
pub fn api_root(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    if after_scheme.contains('/') {
        url.to_owned()
    } else {
        format!("{url}/v1")
    }
}

/// Asks the server at `base_url` for its models and picks the one to benchmark.
///
/// # Errors
/// A preflight error naming the URL when the server does not answer (or not with
/// a model list), or lists no model, or does not list `--model`.
pub async fn ask_server(
    base_url: &str,
    model: Option<&str>,
    api_key_env: Option<&String>,
) -> Result<Target, Error> {
    let client =
        HttpClient::new(&probe_endpoint(api_key_env), base_url, 1).map_err(|e| Error::Usage {
            message: format!("--base-url: {e}"),
            hint: Some(
                "give the server's API root, e.g. --base-url http://localhost:8000/v1".into(),
            ),
        })?;
    let models = fetch_models(&client).await.map_err(|e| {
        Error::Preflight(PreflightError {
            message: format!("the server at {base_url} did not answer with its models: {e}"),
            hint: Some(
                "start the server first and check --base-url (the API root, e.g. http://localhost:8000/v1); leave out --base-url for a manifest against the embedded simulator"
                    .into(),
            ),
        })
    })?;
    let served: Vec<String> = model_ids(&models).into_iter().map(str::to_owned).collect();
    let model = match model {
        Some(m) if served.is_empty() || served.iter().any(|s| s == m) => m.to_owned(),
        Some(m) => {
            let guess = crate::suggest::closest(m, served.iter().map(String::as_str))
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            return Err(Error::Preflight(PreflightError {
                message: format!(
                    "the server at {base_url} does not serve model `{m}` (it serves: {})",
                    served.join(", ")
                ),
                hint: Some(format!("{guess}pass --model with one of the served models")),
            }));
        }
        None => served.first().cloned().ok_or_else(|| {
            Error::Preflight(PreflightError {
                message: format!("the server at {base_url} lists no models"),
                hint: Some("name the model with --model".into()),
            })
        })?,
    };
    Ok(Target::Server {
        detected: detect_server(&models, &model),
        max_model_len: max_model_len(&models, &model),
        base_url: base_url.to_owned(),
        model,
        served,
        api_key_env: api_key_env.cloned(),
    })
}

/// `path` made absolute against the working directory, `.` and `..` folded.
fn absolute(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    crate::manifest::resolve_path(&cwd, path)
}

/// The `#:schema` path for a manifest in `dir` (absolute): `schema/manifest.schema.json`
/// of the nearest enclosing directory that has one, as a relative path; `None` when
/// there is none.
#[must_use]
pub fn find_schema(dir: &Path) -> Option<String> {
    let file = SchemaKind::Manifest.path();
    dir.ancestors().enumerate().find_map(|(ups, ancestor)| {
        ancestor
            .join(file)
            .is_file()
            .then(|| format!("{}{file}", "../".repeat(ups)))
    })
}

/// `tokenomics init`.
///
/// # Errors
/// A usage error (exit 2) for a bad name or an existing file without `--force`;
/// a preflight error (exit 4) when the server does not answer; an output error
/// when the file cannot be written.
pub async fn run(args: &InitArgs) -> Result<i32, Error> {
    let api = ApiKind::from(args.api);
    let target = match &args.base_url {
        Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            return Err(Error::Usage {
                message: format!("--base-url `{url}` is not an http:// or https:// URL"),
                hint: Some(
                    "give the server's API root, e.g. --base-url http://localhost:8000/v1".into(),
                ),
            })
        }
        Some(url) => {
            ask_server(
                &api_root(url),
                args.model.as_deref(),
                args.api_key_env.as_ref(),
            )
            .await?
        }
        None => Target::Simulator,
    };
    let name = match (&args.name, &target) {
        (Some(n), _) => n.clone(),
        (None, Target::Simulator) => "simulator".to_owned(),
        (None, Target::Server { model, .. }) => name_from_model(model),
    };
    let name = match (&args.name, api) {
        (None, ApiKind::Chat) | (Some(_), _) => name,
        (None, other) => format!("{name}-{}", other.as_str()),
    };
    check_name(NameKind::Experiment, &name).map_err(|e| Error::Usage {
        message: format!("experiment name `{name}`: {}", e.message),
        hint: Some(e.hint.to_owned()),
    })?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| Path::new("experiments").join(format!("{name}.toml")));
    if path.exists() && !args.force {
        return Err(Error::Usage {
            message: format!("`{}` already exists", path.display()),
            hint: Some(
                "pass --force to overwrite it, or choose another file with --output or another name"
                    .into(),
            ),
        });
    }
    let write_err = |what: String, e: std::io::Error| Error::Results {
        message: format!("{what}: {e}"),
    };
    let dir = absolute(&path)
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::fs::create_dir_all(&dir)
        .map_err(|e| write_err(format!("cannot create `{}`", dir.display()), e))?;
    let schema_path = match find_schema(&dir) {
        Some(p) => p,
        None => {
            let copy = dir.join("manifest.schema.json");
            std::fs::write(&copy, crate::schema::render(SchemaKind::Manifest))
                .map_err(|e| write_err(format!("cannot write `{}`", copy.display()), e))?;
            println!("schema: {}", copy.display());
            "./manifest.schema.json".to_owned()
        }
    };
    let text = starter_manifest(&Starter {
        name,
        api,
        target: target.clone(),
        schema_path,
    });
    std::fs::write(&path, text)
        .map_err(|e| write_err(format!("cannot write `{}`", path.display()), e))?;
    match &target {
        Target::Simulator => println!("wrote {} (the embedded simulator)", path.display()),
        Target::Server {
            model, detected, ..
        } => println!(
            "wrote {} (model `{model}`{})",
            path.display(),
            detected
                .as_ref()
                .map(|d| format!(" on {}", d.server))
                .unwrap_or_default()
        ),
    }
    println!("next:  tokenomics run {}", path.display());
    Ok(exit::OK)
}

#[cfg(test)]
mod tests;
