//! Filling in every default: raw manifest values → the resolved spec types.
//!
//! The manifest has been validated, so the only failures left are lookups that
//! validation guarantees; they still become [`ManifestError`]s rather than panics.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::manifest::raw::{defaults, Compat, RawEndpoint, RawScenario, RawSimulator};
use crate::manifest::values::SourceValue;
use crate::manifest::{resolve_path, DatasetConfig, Manifest};
use crate::vocab::{FaultSpec, SimConfig, SimTiming};

use super::{
    DatasetSource, DatasetSpec, EndpointSpec, EndpointTarget, ExperimentSpec, LoraSpec,
    ManifestError, PrefixSpec, RetryPolicy, ScenarioSpec, ScrapeSpec, Slo, Timeouts,
};
use crate::manifest::format_from_extension;
use crate::vocab::{ApiKind, TokenizerSource};

/// Milliseconds as a [`Duration`] (validation bounds them; anything else
/// saturates instead of panicking: NaN and negatives are 0, overflow is the maximum).
pub(crate) fn ms(v: f64) -> Duration {
    secs(v / 1000.0)
}

/// Seconds as a [`Duration`], saturating like [`ms`].
pub(crate) fn secs(v: f64) -> Duration {
    if v.is_nan() || v <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX)
}

/// `[experiment]` with defaults.
pub(crate) fn experiment(m: &Manifest) -> ExperimentSpec {
    let e = &m.raw.experiment;
    // A root written in the manifest is relative to the manifest, like every
    // path in it; the default is relative to where tokenomics runs.
    let output_root = e.output_dir.as_ref().map_or_else(
        || PathBuf::from(defaults::OUTPUT_DIR),
        |d| resolve_path(&m.dir, d),
    );
    // Ordered by metric name, then percentile (ascending), then the every-request bound.
    let mut slos: Vec<Slo> = e
        .slo
        .iter()
        .flatten()
        .flat_map(|(metric, v)| {
            v.0.iter().map(move |(percentile, max)| Slo {
                metric: metric.clone(),
                percentile: *percentile,
                max: *max,
            })
        })
        .collect();
    slos.sort_by(|a, b| {
        a.metric.cmp(&b.metric).then_with(|| {
            a.percentile
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.percentile.unwrap_or(f64::INFINITY))
        })
    });
    ExperimentSpec {
        name: e.name.clone(),
        description: e.description.clone().unwrap_or_default(),
        seed: e.seed.unwrap_or(defaults::SEED),
        output_root,
        max_failure_rate: e.max_failure_rate,
        steady_state_threshold: e
            .steady_state_threshold
            .unwrap_or(defaults::STEADY_STATE_THRESHOLD),
        bucket: ms(e.bucket_ms.unwrap_or(defaults::BUCKET_MS)),
        slos,
        percentiles: e
            .percentiles
            .clone()
            .unwrap_or_else(|| defaults::PERCENTILES.to_vec()),
        warmup_shape: e.warmup_shape.unwrap_or_default(),
    }
}

/// `http://host:port` of a URL (scheme and authority, no path).
fn url_root(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or("");
            format!("{scheme}://{authority}")
        }
        None => url.to_owned(),
    }
}

/// The path part of a URL (`/v1` for `http://h:8000/v1`), without a trailing `/`.
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].trim_end_matches('/').to_owned(),
        None => String::new(),
    }
}

fn simulator(sim: &RawSimulator, endpoint_model: Option<&String>) -> SimConfig {
    let timing = match &sim.batching {
        Some(b) => SimTiming::Batching {
            itl_per_seq: ms(b.itl_per_seq_ms.unwrap_or(0.0)),
            prefill_per_token: ms(b.prefill_per_token_ms.unwrap_or(0.0)),
            max_batch: b.max_batch.unwrap_or(defaults::SIM_MAX_BATCH),
        },
        None => SimTiming::Fixed,
    };
    let faults = sim
        .faults
        .as_ref()
        .map_or_else(FaultSpec::default, |f| FaultSpec {
            seed: f.seed.unwrap_or(0),
            http_500: f.http_500.unwrap_or(0.0),
            http_429: f.http_429.unwrap_or(0.0),
            retry_after_s: f.retry_after_s.unwrap_or(defaults::SIM_RETRY_AFTER_S),
            stream_cut: f.stream_cut.unwrap_or(0.0),
            malformed_event: f.malformed_event.unwrap_or(0.0),
            stall: f.stall.unwrap_or(0.0),
            stall_for: ms(f.stall_ms.unwrap_or(defaults::SIM_STALL_MS)),
            refuse: f.refuse.unwrap_or(0.0),
        });
    SimConfig {
        model: sim
            .model
            .clone()
            .or_else(|| endpoint_model.cloned())
            .unwrap_or_else(|| defaults::SIM_MODEL.to_owned()),
        ttft: ms(sim.ttft_ms.unwrap_or(defaults::SIM_TTFT_MS)),
        itl: ms(sim.itl_ms.unwrap_or(defaults::SIM_ITL_MS)),
        timing,
        embedding_dim: sim.embedding_dim.unwrap_or(defaults::SIM_EMBEDDING_DIM),
        pooling_latency: ms(sim.pooling_ms.unwrap_or(defaults::SIM_POOLING_MS)),
        pooling_per_token: ms(sim
            .pooling_per_token_ms
            .unwrap_or(defaults::SIM_POOLING_PER_TOKEN_MS)),
        faults,
        // Runs read the client's records, not the simulator's log: keep memory flat.
        log_requests: false,
    }
}

/// `[endpoints.<name>]` with defaults.
pub(crate) fn endpoint(m: &Manifest, name: &str, ep: &RawEndpoint) -> EndpointSpec {
    let api = ep.api.unwrap_or(ApiKind::Chat);
    let (target, model, health_default, scrape_default) = match (&ep.base_url, &ep.simulator) {
        (Some(url), _) => {
            let url = url.trim_end_matches('/').to_owned();
            let health = format!("{}/models", url_path(&url));
            let scrape = format!("{}/metrics", url_root(&url));
            (
                EndpointTarget::Url(url),
                ep.model.clone().unwrap_or_default(),
                health,
                Some(scrape),
            )
        }
        (None, sim) => {
            let sim = simulator(&sim.clone().unwrap_or_default(), ep.model.as_ref());
            let model = sim.model.clone();
            // The simulator serves `/metrics`; its port is known only at run time.
            (
                EndpointTarget::Simulator(sim),
                model,
                "/v1/models".to_owned(),
                Some(crate::vocab::AUTO_METRICS_URL.to_owned()),
            )
        }
    };
    let total = secs(ep.total_timeout_s());
    let retries = ep.retries.clone().unwrap_or_default();
    let scrape = ep.metrics.as_ref().and_then(|s| {
        Some(ScrapeSpec {
            url: s.url.clone().or_else(|| scrape_default.clone())?,
            interval: Duration::from_millis(s.interval_ms.unwrap_or(defaults::SCRAPE_INTERVAL_MS)),
        })
    });
    let tokenizer = ep.tokenizer.as_ref().map(|t| match &t.0 {
        TokenizerSource::File(p) => TokenizerSource::File(resolve_path(&m.dir, p)),
        hub => hub.clone(),
    });
    EndpointSpec {
        name: name.to_owned(),
        target,
        model,
        api,
        stream: ep.stream.unwrap_or(api.generates()) && api.generates(),
        api_key_env: ep.api_key_env.clone(),
        timeouts: Timeouts {
            total,
            connect: secs(ep.connect_timeout_s.unwrap_or(defaults::CONNECT_TIMEOUT_S)).min(total),
            first_byte: ep.first_byte_timeout_s.map(secs),
            idle: ep.idle_timeout_s.map(secs),
        },
        extra_body: ep.extra_body.clone().unwrap_or_default(),
        headers: ep.headers.clone().unwrap_or_default(),
        headers_env: ep.headers_env.clone().unwrap_or_default(),
        temperature: ep.temperature,
        ignore_eos: ep.ignore_eos.unwrap_or(false),
        min_tokens: ep.min_tokens.unwrap_or(false),
        n: ep.n.unwrap_or(defaults::N),
        tokenizer,
        health_path: ep.health_path.clone().unwrap_or(health_default),
        retry: RetryPolicy {
            max_retries: retries.max.unwrap_or(0),
            backoff: Duration::from_millis(
                retries.backoff_ms.unwrap_or(defaults::RETRY_BACKOFF_MS),
            ),
            on_rate_limit: retries.on_429.unwrap_or(true),
            on_server_error: retries.on_5xx.unwrap_or(true),
        },
        malformed: ep.malformed_events.unwrap_or_default(),
        max_event_bytes: usize::try_from(ep.max_event_bytes.unwrap_or(defaults::MAX_EVENT_BYTES))
            .unwrap_or(usize::MAX),
        scrape,
        encoding_format: ep.encoding_format.unwrap_or_default(),
        embed_batch_in_one_request: ep.batch_in_one_request.unwrap_or(false),
        path_override: ep.path.clone(),
        embedding_dim: ep.embedding_dim,
        preconnect: ep.preconnect.unwrap_or(true),
    }
}

/// A dataset config with defaults and resolved paths.
pub fn dataset(d: &DatasetConfig) -> DatasetSpec {
    let source = match &d.source {
        SourceValue::Aime => DatasetSource::Aime,
        SourceValue::Synthetic => DatasetSource::Synthetic,
        SourceValue::HuggingFace {
            repo,
            config,
            split,
            revision,
        } => DatasetSource::HuggingFace {
            repo: repo.clone(),
            config: config.clone(),
            split: split
                .clone()
                .unwrap_or_else(|| defaults::HF_SPLIT.to_owned()),
            revision: revision.clone(),
        },
        SourceValue::File { path, format } => DatasetSource::File {
            path: resolve_path(&d.base_dir, path),
            // Validation guarantees a known extension when `format` is absent.
            format: format
                .or_else(|| format_from_extension(path))
                .unwrap_or(crate::vocab::FileFormat::Txt),
        },
    };
    DatasetSpec {
        name: d.name.clone(),
        source,
        prompt_column: d
            .prompt_column
            .clone()
            .unwrap_or_else(|| defaults::PROMPT_COLUMN.to_owned()),
        image_column: d.image_column.clone(),
        system_prompt: d.system_prompt.clone(),
        messages_column: d.messages_column.clone(),
        max_rows: d.max_rows.map(|r| usize::try_from(r).unwrap_or(usize::MAX)),
        delimiter: d.delimiter,
        raw_config: d.raw_config.clone(),
    }
}

/// `[scenarios.<name>]` with defaults and its dataset.
pub(crate) fn scenario(
    m: &Manifest,
    name: &str,
    sc: &RawScenario,
) -> Result<ScenarioSpec, ManifestError> {
    let dataset_name = sc.dataset.as_deref().unwrap_or(defaults::DATASET);
    let ds = m.dataset(dataset_name).ok_or_else(|| ManifestError {
        file: m.path.clone(),
        key: Some(format!("scenarios.{name}.dataset")),
        message: format!("unknown dataset `{dataset_name}`"),
        hint: Some("define it under [datasets]".into()),
    })?;
    Ok(ScenarioSpec {
        name: name.to_owned(),
        workload: sc.spec.0.clone(),
        dataset: dataset(&ds),
        images: sc.images.as_ref().map(|i| i.0.clone()),
        prefix: sc.prefix.as_ref().map(|p| PrefixSpec {
            tokens: p.tokens,
            groups: p.groups.unwrap_or(defaults::PREFIX_GROUPS),
        }),
        turns: sc.turns.unwrap_or(defaults::TURNS),
        lora: sc.lora.as_ref().map(|l| LoraSpec {
            strategy: l.strategy,
            adapters: l.adapters.clone(),
            weights: l.weights.clone().unwrap_or_default(),
            base_model_ratio: l.base_model_ratio.unwrap_or(0.0),
            zipf_alpha: l.zipf_alpha.unwrap_or(defaults::ZIPF_ALPHA),
        }),
        compat_original: sc.compat == Some(Compat::Original),
        // The original's --max-tokens defaults to 32 when it attaches synthetic images.
        max_tokens_cap: sc.max_tokens_cap.unwrap_or(
            if sc.compat == Some(Compat::Original)
                && sc.images.as_ref().is_some_and(|i| !i.0.from_dataset)
            {
                crate::vocab::workload::ORIGINAL_IMAGE_MAX_TOKENS
            } else {
                defaults::MAX_TOKENS_CAP
            },
        ),
        replay: sc.replay.unwrap_or(false),
    })
}

/// Resolved endpoints and scenarios, by name.
pub(crate) type Resolved = (
    BTreeMap<String, EndpointSpec>,
    BTreeMap<String, ScenarioSpec>,
);

/// Every endpoint and scenario of the manifest, resolved, by name.
pub(crate) fn all(m: &Manifest) -> Result<Resolved, ManifestError> {
    let endpoints = m
        .raw
        .endpoints
        .iter()
        .map(|(n, e)| (n.clone(), endpoint(m, n, e)))
        .collect();
    let scenarios = m
        .raw
        .scenarios
        .iter()
        .map(|(n, s)| Ok((n.clone(), scenario(m, n, s)?)))
        .collect::<Result<_, ManifestError>>()?;
    Ok((endpoints, scenarios))
}
