//! Validation of a deserialized manifest: names, ranges, cross-references,
//! mode-specific and API-specific keys. No I/O; the first problem found is
//! returned with its key path and a fix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::vocab::workload::Workload;
use crate::vocab::{ApiKind, ImageFormat, LoraStrategy};

use super::dataset_config::{DatasetConfig, BUILTIN_DATASETS};
use super::diagnostic::toml_key;
use super::limits;
use super::raw::{
    Compat, Mode, RawEndpoint, RawExperiment, RawGrid, RawManifest, RawScenario, RawSearch,
    RawSimulator, SearchOverValue,
};
use super::ManifestError;
use crate::suggest::suggestion;
use crate::vocab::name::{check_name, NameKind};
use crate::vocab::workload::MAX_TOKENS;

/// SLO metrics that can be bounded.
pub const SLO_METRICS: [&str; 5] = ["ttft_ms", "ttfo_ms", "tpot_ms", "itl_ms", "e2e_ms"];

/// Body fields tokenomics sets itself; `extra_body` may not override them.
const RESERVED_BODY_KEYS: [&str; 5] = ["model", "messages", "prompt", "input", "stream"];

/// Collects the first error; `key` is a full key path.
struct Checker<'a> {
    file: &'a Path,
}

type Check = Result<(), ManifestError>;

impl Checker<'_> {
    fn fail(
        &self,
        key: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ManifestError {
        ManifestError::new(self.file, Some(key.into()), message, Some(hint.into()))
    }

    fn name(&self, key: &str, kind: NameKind, name: &str) -> Check {
        check_name(kind, name).map_err(|e| self.fail(key, e.message, e.hint))
    }

    /// `v` must be finite and `> 0` (or `≥ 0` when `zero_ok`).
    fn positive(&self, key: &str, v: Option<f64>, zero_ok: bool, hint: &str) -> Check {
        match v {
            Some(x) if !x.is_finite() || x < 0.0 || (!zero_ok && x == 0.0) => Err(self.fail(
                key,
                format!(
                    "{} is out of range: expected a number {}",
                    short_number(x),
                    if zero_ok { "≥ 0" } else { "> 0" }
                ),
                hint,
            )),
            _ => Ok(()),
        }
    }

    fn fraction(&self, key: &str, v: Option<f64>, hint: &str) -> Check {
        match v {
            Some(x) if !(0.0..=1.0).contains(&x) => Err(self.fail(
                key,
                format!("{x} is out of range: expected a number from 0 to 1"),
                hint,
            )),
            _ => Ok(()),
        }
    }

    fn at_least_one<T: Into<u64> + Copy>(&self, key: &str, v: Option<T>, hint: &str) -> Check {
        match v {
            Some(x) if x.into() == 0 => Err(self.fail(key, "must be at least 1, found 0", hint)),
            _ => Ok(()),
        }
    }

    /// `v` must be at most `max` (a number with its unit, e.g. `s` or `ms`).
    fn at_most(&self, key: &str, v: Option<f64>, max: f64, unit: &str) -> Check {
        match v {
            Some(x) if x > max => Err(self.fail(
                key,
                format!("{} {unit} is above the limit of {max} {unit}", short_number(x)),
                format!("give at most {max} {unit} (the limits are listed in the README's Reliability section)"),
            )),
            _ => Ok(()),
        }
    }

    /// A count must be at most `max`.
    fn count_at_most<T: Into<u64> + Copy>(&self, key: &str, v: Option<T>, max: u64) -> Check {
        match v.map(Into::into) {
            Some(x) if x > max => Err(self.fail(
                key,
                format!("{x} is above the limit of {max}"),
                format!("give at most {max} (the limits are listed in the README's Reliability section)"),
            )),
            _ => Ok(()),
        }
    }
}

/// A number as a message shows it: in full up to a billion, else `1e300` style.
fn short_number(x: f64) -> String {
    if x.abs() < 1e9 {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Validates `raw` (with its datasets already read).
pub(crate) fn validate(
    file: &Path,
    raw: &RawManifest,
    datasets: &BTreeMap<String, DatasetConfig>,
) -> Check {
    let c = Checker { file };
    if let Some(schema) = raw.schema {
        if schema != super::raw::defaults::SCHEMA {
            return Err(c.fail(
                "schema",
                format!("unsupported manifest schema {schema}"),
                "this version of tokenomics reads schema = 1",
            ));
        }
    }
    experiment(&c, &raw.experiment)?;
    if raw.endpoints.is_empty() {
        return Err(c.fail(
            "endpoints",
            "no endpoints are defined",
            "add an [endpoints.<name>] table with base_url and model, or simulator = {}",
        ));
    }
    for (name, ep) in &raw.endpoints {
        endpoint(&c, name, ep)?;
    }
    if raw.scenarios.is_empty() {
        return Err(c.fail(
            "scenarios",
            "no scenarios are defined",
            "add a [scenarios.<name>] table with spec = \"D(512,128)\"",
        ));
    }
    for (name, sc) in &raw.scenarios {
        scenario(&c, name, sc, datasets)?;
    }
    if raw.grid.is_empty() {
        return Err(c.fail(
            "grid",
            "no grids are defined",
            "add a [[grid]] table with endpoints, scenarios and a mode",
        ));
    }
    let mut grid_names = BTreeSet::new();
    for (i, g) in raw.grid.iter().enumerate() {
        grid(&c, i, g, raw)?;
        if let Some(name) = &g.name {
            if !grid_names.insert(name.as_str()) {
                return Err(c.fail(
                    format!("grid[{i}].name"),
                    format!("grid name `{name}` is used twice"),
                    "give every grid a different name",
                ));
            }
        }
    }
    Ok(())
}

fn experiment(c: &Checker, e: &RawExperiment) -> Check {
    c.name("experiment.name", NameKind::Experiment, &e.name)?;
    c.at_least_one(
        "experiment.runs",
        e.runs,
        "every point runs at least once; use runs = 1",
    )?;
    c.fraction(
        "experiment.max_failure_rate",
        e.max_failure_rate,
        "a fraction of measured requests, e.g. 0.05 for 5%",
    )?;
    c.at_least_one(
        "experiment.max_points",
        e.max_points,
        "raise it, or pass --allow-large",
    )?;
    c.at_least_one(
        "experiment.max_requests",
        e.max_requests,
        "raise it, or pass --allow-large",
    )?;
    c.at_least_one(
        "experiment.max_memory_mb",
        e.max_memory_mb,
        "raise it, or pass --allow-large",
    )?;
    if let Some(ps) = &e.percentiles {
        if ps.is_empty() {
            return Err(c.fail(
                "experiment.percentiles",
                "the list of percentiles is empty",
                "list at least one, e.g. percentiles = [50, 90, 99]",
            ));
        }
        let mut seen = Vec::new();
        for (i, p) in ps.iter().enumerate() {
            if !(p.is_finite() && *p > 0.0 && *p <= 100.0) {
                return Err(c.fail(
                    format!("experiment.percentiles[{i}]"),
                    format!("percentile {p} is out of range"),
                    "percentiles lie in (0, 100], e.g. 50, 99 or 99.9",
                ));
            }
            if seen.contains(p) {
                return Err(c.fail(
                    format!("experiment.percentiles[{i}]"),
                    format!("percentile {p} is listed twice"),
                    "list each percentile once",
                ));
            }
            seen.push(*p);
        }
    }
    if let Some(t) = e.steady_state_threshold {
        if !(t.is_finite() && t > 0.0 && t <= 1.0) {
            return Err(c.fail(
                "experiment.steady_state_threshold",
                format!("{t} is out of range: expected a number in (0, 1]"),
                "a bucket counts as steady when active requests ≥ threshold × the reference; 0.8 is the default",
            ));
        }
    }
    c.positive(
        "experiment.bucket_ms",
        e.bucket_ms,
        false,
        "steady-state buckets are 50 ms wide by default",
    )?;
    c.at_most("experiment.bucket_ms", e.bucket_ms, limits::MAX_MS, "ms")?;
    if e.output_dir
        .as_ref()
        .is_some_and(|d| d.as_os_str().is_empty())
    {
        return Err(c.fail(
            "experiment.output_dir",
            "`output_dir` is empty",
            "remove it to write under results/ beside the manifest",
        ));
    }
    if let Some(slo) = &e.slo {
        for metric in slo.keys() {
            if !SLO_METRICS.contains(&metric.as_str()) {
                return Err(c.fail(
                    format!("experiment.slo.{metric}"),
                    format!("unknown SLO metric `{metric}`"),
                    suggestion(metric, &SLO_METRICS, "SLO metrics"),
                ));
            }
        }
    }
    Ok(())
}

/// Checks a base URL: `http(s)://host[:port][/path]`, no query or fragment.
fn check_url(url: &str) -> Result<(), (String, String)> {
    let example = "write the full URL, e.g. http://localhost:8000/v1";
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err((format!("`{url}` has no scheme"), example.into()));
    };
    if scheme != "http" && scheme != "https" {
        return Err((
            format!("unsupported scheme `{scheme}` in `{url}`"),
            "use http:// or https://".into(),
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((format!("`{url}` contains whitespace"), example.into()));
    }
    if url.contains(['?', '#']) {
        return Err((
            format!("`{url}` has a query or fragment"),
            "give the API root only, e.g. http://localhost:8000/v1; put extra parameters in extra_body".into(),
        ));
    }
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err((
            format!("`{url}` contains credentials"),
            "remove them from the URL (the manifest is copied into the results); set api_key_env for a bearer key".into(),
        ));
    }
    let host_port = authority;
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => {
                return Err((
                    format!("`{url}` has an unterminated IPv6 address"),
                    example.into(),
                ))
            }
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err((format!("`{url}` has no host"), example.into()));
    }
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err((
                format!("`{url}` has an invalid port `{p}`"),
                "ports are 1 to 65535".into(),
            ));
        }
    }
    Ok(())
}

/// Name, target (URL or simulator) and model, then the other endpoint checks.
fn endpoint(c: &Checker, name: &str, ep: &RawEndpoint) -> Check {
    let k = |field: &str| format!("endpoints.{name}.{field}");
    c.name(
        &format!("endpoints.{}", toml_key(name)),
        NameKind::Endpoint,
        name,
    )?;
    match (&ep.base_url, &ep.simulator) {
        (Some(_), Some(_)) => {
            return Err(c.fail(
                format!("endpoints.{name}"),
                "sets both `base_url` and `simulator`",
                "keep one: base_url for a running server, simulator for the embedded one",
            ))
        }
        (None, None) => {
            return Err(c.fail(
                format!("endpoints.{name}"),
                "needs a target: neither `base_url` nor `simulator` is set",
                "set base_url = \"http://localhost:8000/v1\", or simulator = {} for the embedded simulator",
            ))
        }
        (Some(url), None) => {
            check_url(url).map_err(|(m, h)| c.fail(k("base_url"), m, h))?;
            if ep.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
                return Err(c.fail(
                    k("model"),
                    "missing required key `model`",
                    "set the model name the server serves, e.g. model = \"Qwen/Qwen3-4B\"",
                ));
            }
        }
        (None, Some(sim)) => {
            simulator(c, name, sim)?;
            if let (Some(m), Some(sm)) = (&ep.model, &sim.model) {
                if m != sm {
                    return Err(c.fail(
                        k("model"),
                        format!("`model` (`{m}`) differs from `simulator.model` (`{sm}`)"),
                        "set one of them; the simulator serves the endpoint's model",
                    ));
                }
            }
        }
    }
    if ep.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
        return Err(c.fail(
            k("model"),
            "`model` is empty",
            "set the model name the server serves",
        ));
    }
    api_keys(c, name, ep)?;
    transport(c, name, ep)
}

/// Keys that apply only to some APIs.
fn api_keys(c: &Checker, name: &str, ep: &RawEndpoint) -> Check {
    let k = |field: &str| format!("endpoints.{name}.{field}");
    let api = ep.api.unwrap_or(ApiKind::Chat);
    let generation_only: [(&str, bool); 5] = [
        ("stream", ep.stream == Some(true)),
        ("ignore_eos", ep.ignore_eos == Some(true)),
        ("min_tokens", ep.min_tokens == Some(true)),
        ("n", ep.n.is_some_and(|n| n > 1)),
        ("temperature", ep.temperature.is_some()),
    ];
    if !api.generates() {
        if let Some((field, _)) = generation_only.iter().find(|(_, set)| *set) {
            return Err(c.fail(
                k(field),
                format!("`{field}` applies only to api = \"chat\" or \"completions\" (this endpoint has api = \"{}\")", api.as_str()),
                format!("remove `{field}`"),
            ));
        }
    }
    let embeddings_only: [(&str, bool); 3] = [
        ("encoding_format", ep.encoding_format.is_some()),
        ("embedding_dim", ep.embedding_dim.is_some()),
        ("batch_in_one_request", ep.batch_in_one_request.is_some()),
    ];
    if api != ApiKind::Embeddings {
        if let Some((field, _)) = embeddings_only.iter().find(|(_, set)| *set) {
            return Err(c.fail(
                k(field),
                format!("`{field}` applies only to api = \"embeddings\" (this endpoint has api = \"{}\")", api.as_str()),
                format!("remove `{field}`, or set api = \"embeddings\""),
            ));
        }
    }
    if let Some(path) = &ep.path {
        if !matches!(api, ApiKind::Rerank | ApiKind::Score) {
            return Err(c.fail(
                k("path"),
                format!("`path` applies only to api = \"rerank\" or \"score\" (this endpoint has api = \"{}\")", api.as_str()),
                "remove `path`; chat, completions and embeddings use their standard paths under base_url",
            ));
        }
        if !path.starts_with('/') {
            return Err(c.fail(
                k("path"),
                format!("`{path}` does not start with `/`"),
                "e.g. path = \"/rerank\"",
            ));
        }
    }
    c.at_least_one(
        &k("n"),
        ep.n,
        "n is the number of completions per request; 1 is the default",
    )?;
    c.at_least_one(
        &k("embedding_dim"),
        ep.embedding_dim,
        "the expected embedding length, e.g. 384",
    )?;
    c.count_at_most(&k("n"), ep.n, u64::from(limits::MAX_N))?;
    c.count_at_most(
        &k("embedding_dim"),
        ep.embedding_dim,
        u64::from(limits::MAX_EMBEDDING_DIM),
    )?;
    c.positive(
        &k("temperature"),
        ep.temperature,
        true,
        "temperatures are ≥ 0",
    )?;
    Ok(())
}

/// Timeouts, credentials, body, headers, retries and scraping.
fn transport(c: &Checker, name: &str, ep: &RawEndpoint) -> Check {
    let k = |field: &str| format!("endpoints.{name}.{field}");
    for field in [
        "timeout_s",
        "connect_timeout_s",
        "first_byte_timeout_s",
        "idle_timeout_s",
    ] {
        let v = match field {
            "timeout_s" => ep.timeout_s,
            "connect_timeout_s" => ep.connect_timeout_s,
            "first_byte_timeout_s" => ep.first_byte_timeout_s,
            _ => ep.idle_timeout_s,
        };
        c.positive(
            &k(field),
            v,
            false,
            "timeouts are in seconds and must be > 0",
        )?;
        c.at_most(&k(field), v, limits::MAX_DURATION_S, "s")?;
    }
    let total = ep.total_timeout_s();
    for (field, v) in [
        ("connect_timeout_s", ep.connect_timeout_s),
        ("first_byte_timeout_s", ep.first_byte_timeout_s),
        ("idle_timeout_s", ep.idle_timeout_s),
    ] {
        if v.is_some_and(|v| v > total) {
            return Err(c.fail(
                k(field),
                format!("`{field}` is longer than the total timeout ({total} s)"),
                "raise timeout_s, or lower this timeout",
            ));
        }
    }
    if let Some(var) = &ep.api_key_env {
        if !env_name_ok(var) {
            let hint = if var.starts_with("sk-") || var.len() > 40 {
                "this looks like a key itself: put the key in an environment variable and name that variable here, e.g. api_key_env = \"OPENAI_API_KEY\""
            } else {
                "name an environment variable, e.g. api_key_env = \"OPENAI_API_KEY\""
            };
            // The value is not shown: it may be the key itself.
            return Err(c.fail(
                k("api_key_env"),
                "the value is not an environment variable name",
                hint,
            ));
        }
    }
    if let Some(body) = &ep.extra_body {
        if let Some(key) = RESERVED_BODY_KEYS.iter().find(|r| body.contains_key(**r)) {
            return Err(c.fail(
                format!("endpoints.{name}.extra_body.{key}"),
                format!("`{key}` is set by tokenomics and cannot be overridden in extra_body"),
                match *key {
                    "model" => "use the endpoint's `model` key",
                    "stream" => "use the endpoint's `stream` key",
                    _ => "prompts come from the scenario and its dataset",
                },
            ));
        }
    }
    headers(c, name, ep)?;
    if let Some(p) = &ep.health_path {
        if !p.starts_with('/') {
            return Err(c.fail(
                k("health_path"),
                format!("`{p}` does not start with `/`"),
                "e.g. health_path = \"/v1/models\"",
            ));
        }
    }
    if let Some(r) = &ep.retries {
        c.at_least_one(
            &format!("endpoints.{name}.retries.backoff_ms"),
            r.backoff_ms,
            "the first backoff in ms; it doubles every attempt",
        )?;
        #[allow(clippy::cast_precision_loss)]
        c.at_most(
            &format!("endpoints.{name}.retries.backoff_ms"),
            r.backoff_ms.map(|b| b as f64),
            limits::MAX_MS,
            "ms",
        )?;
        c.count_at_most(
            &format!("endpoints.{name}.retries.max"),
            r.max,
            u64::from(limits::MAX_RETRIES),
        )?;
    }
    c.at_least_one(
        &k("max_event_bytes"),
        ep.max_event_bytes,
        "the default is 16777216 (16 MiB)",
    )?;
    c.count_at_most(
        &k("max_event_bytes"),
        ep.max_event_bytes,
        limits::MAX_EVENT_BYTES,
    )?;
    if let Some(m) = &ep.metrics {
        // "auto": the endpoint's own page, `{scheme://host:port}/metrics`, found at run time
        // (the embedded simulator's port is only known then).
        if let Some(url) = m
            .url
            .as_deref()
            .filter(|u| *u != crate::vocab::AUTO_METRICS_URL)
        {
            check_url(url)
                .map_err(|(msg, h)| c.fail(format!("endpoints.{name}.metrics.url"), msg, h))?;
        }
        c.at_least_one(
            &format!("endpoints.{name}.metrics.interval_ms"),
            m.interval_ms,
            "scrape every 1000 ms by default",
        )?;
        #[allow(clippy::cast_precision_loss)]
        c.at_most(
            &format!("endpoints.{name}.metrics.interval_ms"),
            m.interval_ms.map(|v| v as f64),
            limits::MAX_MS,
            "ms",
        )?;
    }
    Ok(())
}

/// Headers whose values never carry secrets: sent inline and written to the results.
pub const SAFE_HEADERS: [&str; 7] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "content-type",
    "user-agent",
    "x-request-source",
];

fn header_name_ok(h: &str) -> bool {
    !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn env_name_ok(var: &str) -> bool {
    var.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `headers`, `headers_env` and `safe_headers`: a header value given in the
/// manifest must be known not to be secret, since the resolved manifest and
/// the plan are written to the results; secrets come from environment variables.
/// No message here shows a header's value.
fn headers(c: &Checker, name: &str, ep: &RawEndpoint) -> Check {
    let safe: Vec<String> = ep
        .safe_headers
        .iter()
        .flatten()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for (i, h) in ep.safe_headers.iter().flatten().enumerate() {
        if !header_name_ok(h) {
            return Err(c.fail(
                format!("endpoints.{name}.safe_headers[{i}]"),
                format!("`{h}` is not a valid header name"),
                "header names are letters, digits and -",
            ));
        }
    }
    for (h, v) in ep.headers.iter().flatten() {
        let key = format!("endpoints.{name}.headers.{}", toml_key(h));
        if !header_name_ok(h) {
            return Err(c.fail(
                format!("endpoints.{name}.headers"),
                format!("`{h}` is not a valid header name"),
                "header names are letters, digits and -",
            ));
        }
        let lower = h.to_ascii_lowercase();
        if lower == "authorization" {
            return Err(c.fail(
                key,
                "secrets do not belong in the manifest (it is copied into the results)",
                "set api_key_env to the name of an environment variable holding the key; it is sent as `Authorization: Bearer <key>`",
            ));
        }
        if !SAFE_HEADERS.contains(&lower.as_str()) && !safe.contains(&lower) {
            return Err(c.fail(
                key,
                format!("the value of header `{h}` would be written to the results, and it may be a secret"),
                format!(
                    "put the value in an environment variable and name it: headers_env = {{ \"{h}\" = \"MY_VAR\" }}; or, if it is not secret, list it: safe_headers = [\"{h}\"]"
                ),
            ));
        }
        if v.chars().any(|c| c == '\r' || c == '\n') {
            return Err(c.fail(
                key,
                "header values cannot contain line breaks",
                "put the value on one line",
            ));
        }
    }
    for (h, var) in ep.headers_env.iter().flatten() {
        let key = format!("endpoints.{name}.headers_env.{}", toml_key(h));
        if !header_name_ok(h) {
            return Err(c.fail(
                format!("endpoints.{name}.headers_env"),
                format!("`{h}` is not a valid header name"),
                "header names are letters, digits and -",
            ));
        }
        if ep
            .headers
            .iter()
            .flatten()
            .any(|(k, _)| k.eq_ignore_ascii_case(h))
        {
            return Err(c.fail(
                key,
                format!("header `{h}` is set in both `headers` and `headers_env`"),
                "keep one of them",
            ));
        }
        if h.eq_ignore_ascii_case("authorization") && ep.api_key_env.is_some() {
            return Err(c.fail(
                key,
                "`Authorization` is set by both `api_key_env` and `headers_env`",
                "keep one of them (api_key_env sends `Authorization: Bearer <key>`)",
            ));
        }
        if !env_name_ok(var) {
            // The value is not shown: it may be the secret itself.
            return Err(c.fail(
                key,
                "the value is not an environment variable name",
                format!("name the variable that holds the value, e.g. headers_env = {{ \"{h}\" = \"MY_VAR\" }}"),
            ));
        }
    }
    Ok(())
}

fn simulator(c: &Checker, name: &str, s: &RawSimulator) -> Check {
    let k = |field: &str| format!("endpoints.{name}.simulator.{field}");
    for (field, v) in [
        ("ttft_ms", s.ttft_ms),
        ("itl_ms", s.itl_ms),
        ("pooling_ms", s.pooling_ms),
        ("pooling_per_token_ms", s.pooling_per_token_ms),
    ] {
        c.positive(
            &k(field),
            v,
            true,
            "simulator timings are in milliseconds, ≥ 0",
        )?;
        c.at_most(&k(field), v, limits::MAX_MS, "ms")?;
    }
    c.count_at_most(
        &k("embedding_dim"),
        s.embedding_dim,
        u64::from(limits::MAX_EMBEDDING_DIM),
    )?;
    c.at_least_one(
        &k("embedding_dim"),
        s.embedding_dim,
        "e.g. embedding_dim = 384",
    )?;
    if s.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
        return Err(c.fail(
            k("model"),
            "`model` is empty",
            "remove it to serve `sim-model`",
        ));
    }
    if let Some(b) = &s.batching {
        for (field, v) in [
            ("itl_per_seq_ms", b.itl_per_seq_ms),
            ("prefill_per_token_ms", b.prefill_per_token_ms),
        ] {
            c.positive(
                &format!("endpoints.{name}.simulator.batching.{field}"),
                v,
                true,
                "simulator timings are in milliseconds, ≥ 0",
            )?;
            c.at_most(
                &format!("endpoints.{name}.simulator.batching.{field}"),
                v,
                limits::MAX_MS,
                "ms",
            )?;
        }
        c.at_least_one(
            &format!("endpoints.{name}.simulator.batching.max_batch"),
            b.max_batch,
            "the most sequences decoded at once, e.g. 256",
        )?;
        c.count_at_most(
            &format!("endpoints.{name}.simulator.batching.max_batch"),
            b.max_batch,
            u64::from(limits::MAX_CONCURRENCY),
        )?;
    }
    if let Some(f) = &s.faults {
        for (field, v) in [
            ("http_500", f.http_500),
            ("http_429", f.http_429),
            ("stream_cut", f.stream_cut),
            ("malformed_event", f.malformed_event),
            ("stall", f.stall),
            ("refuse", f.refuse),
        ] {
            c.fraction(
                &format!("endpoints.{name}.simulator.faults.{field}"),
                v,
                "fault rates are probabilities per request, from 0 to 1",
            )?;
        }
        c.positive(
            &format!("endpoints.{name}.simulator.faults.stall_ms"),
            f.stall_ms,
            true,
            "how long a stalled stream pauses, in ms",
        )?;
        c.at_most(
            &format!("endpoints.{name}.simulator.faults.stall_ms"),
            f.stall_ms,
            limits::MAX_MS,
            "ms",
        )?;
        c.count_at_most(
            &format!("endpoints.{name}.simulator.faults.retry_after_s"),
            f.retry_after_s,
            u64::from(limits::MAX_RETRY_AFTER_S),
        )?;
    }
    Ok(())
}

fn workload_label(w: &Workload) -> &'static str {
    match w {
        Workload::Deterministic { .. } | Workload::Normal { .. } | Workload::Uniform { .. } => {
            "text generation"
        }
        Workload::Image { .. } => "image",
        Workload::Embedding { .. } | Workload::EmbeddingText { .. } => "embedding",
        Workload::Rerank { .. } => "rerank",
    }
}

fn scenario(
    c: &Checker,
    name: &str,
    sc: &RawScenario,
    datasets: &BTreeMap<String, DatasetConfig>,
) -> Check {
    let k = |field: &str| format!("scenarios.{name}.{field}");
    c.name(
        &format!("scenarios.{}", toml_key(name)),
        NameKind::Scenario,
        name,
    )?;
    let dataset_name = sc
        .dataset
        .as_deref()
        .unwrap_or(super::raw::defaults::DATASET);
    let dataset = match datasets.get(dataset_name) {
        Some(d) => Some(d),
        None if BUILTIN_DATASETS.contains(&dataset_name) => None,
        None => {
            let mut known: Vec<&str> = datasets.keys().map(String::as_str).collect();
            known.extend(
                BUILTIN_DATASETS
                    .iter()
                    .filter(|b| !datasets.contains_key(**b)),
            );
            known.sort_unstable();
            return Err(c.fail(
                k("dataset"),
                format!("unknown dataset `{dataset_name}`"),
                suggestion(dataset_name, &known, "defined datasets"),
            ));
        }
    };
    let has_rows = dataset.map_or(dataset_name == "aime", DatasetConfig::has_rows);
    let has_images = dataset.is_some_and(|d| d.image_column.is_some());
    c.at_least_one(
        &k("max_tokens_cap"),
        sc.max_tokens_cap,
        "the cap on max_tokens, 4096 by default",
    )?;
    c.at_least_one(
        &k("turns"),
        sc.turns,
        "turns = 1 is a single-turn conversation",
    )?;
    c.count_at_most(
        &k("max_tokens_cap"),
        sc.max_tokens_cap,
        u64::from(MAX_TOKENS),
    )?;
    c.count_at_most(&k("turns"), sc.turns, u64::from(limits::MAX_TURNS))?;
    let workload = &sc.spec.0;
    let text = matches!(
        workload,
        Workload::Deterministic { .. } | Workload::Normal { .. } | Workload::Uniform { .. }
    );
    if let Some(images) = &sc.images {
        if !text {
            return Err(c.fail(
                k("images"),
                format!("`images` cannot be added to a {} scenario", workload_label(workload)),
                "images go with a text-generation spec (D, N or U); an I(...) spec already carries its images",
            ));
        }
        if images.0.from_dataset && !has_images {
            return Err(c.fail(
                k("images"),
                format!("from_dataset = true needs a dataset with `image_column` (dataset `{dataset_name}` has none)"),
                "set image_column in the dataset, or synthesise images with width and height",
            ));
        }
    }
    if sc.turns.is_some_and(|t| t > 1) && !text {
        return Err(c.fail(
            k("turns"),
            format!(
                "multi-turn conversations need a text-generation spec, not {}",
                workload_label(workload)
            ),
            "remove `turns`",
        ));
    }
    if let Some(p) = &sc.prefix {
        if !text {
            return Err(c.fail(
                k("prefix"),
                format!(
                    "a shared prefix needs a text-generation spec, not {}",
                    workload_label(workload)
                ),
                "remove `prefix`",
            ));
        }
        c.at_least_one(
            &k("prefix.tokens"),
            Some(p.tokens),
            "the shared prefix length in tokens",
        )?;
        c.at_least_one(
            &k("prefix.groups"),
            p.groups,
            "the number of distinct prefixes, 1 or more",
        )?;
        c.count_at_most(&k("prefix.tokens"), Some(p.tokens), u64::from(MAX_TOKENS))?;
        c.count_at_most(
            &k("prefix.groups"),
            p.groups,
            u64::from(limits::MAX_PREFIX_GROUPS),
        )?;
    }
    if sc.replay == Some(true) && !has_rows {
        return Err(c.fail(
            k("replay"),
            format!("replay sends dataset rows verbatim, but dataset `{dataset_name}` is synthetic filler"),
            "set dataset to a dataset with rows (aime, a Hugging Face or a file source)",
        ));
    }
    if let Some(l) = &sc.lora {
        let lk = |field: &str| format!("scenarios.{name}.lora.{field}");
        if l.adapters.is_empty() {
            return Err(c.fail(
                lk("adapters"),
                "the adapter list is empty",
                "list the adapter names served, e.g. adapters = [\"a\", \"b\"]",
            ));
        }
        if let Some(i) = l.adapters.iter().position(|a| a.trim().is_empty()) {
            return Err(c.fail(
                format!("scenarios.{name}.lora.adapters[{i}]"),
                "empty adapter name",
                "remove it",
            ));
        }
        c.fraction(
            &lk("base_model_ratio"),
            l.base_model_ratio,
            "the share of requests sent to the base model, from 0 to 1",
        )?;
        match (l.strategy, &l.weights) {
            (LoraStrategy::Weighted, None) => {
                return Err(c.fail(
                    lk("weights"),
                    "strategy = \"weighted\" needs `weights`",
                    "give one weight per adapter, e.g. weights = [3, 1]",
                ));
            }
            (LoraStrategy::Weighted, Some(w)) => {
                if w.len() != l.adapters.len() {
                    return Err(c.fail(
                        lk("weights"),
                        format!("{} weights for {} adapters", w.len(), l.adapters.len()),
                        "give one weight per adapter",
                    ));
                }
                if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
                    return Err(c.fail(
                        lk("weights"),
                        "weights must be ≥ 0 and not all 0",
                        "e.g. weights = [3, 1]",
                    ));
                }
            }
            (_, Some(_)) => {
                return Err(c.fail(
                    lk("weights"),
                    "`weights` applies only to strategy = \"weighted\"",
                    "remove `weights`, or set strategy = \"weighted\"",
                ));
            }
            (_, None) => {}
        }
        match (l.strategy, l.zipf_alpha) {
            (LoraStrategy::Zipf, Some(a)) if !(a.is_finite() && a > 1.0) => {
                return Err(c.fail(
                    lk("zipf_alpha"),
                    format!("zipf_alpha = {a} must be > 1"),
                    "the Zipf distribution is defined for exponents above 1, e.g. 1.2",
                ));
            }
            (LoraStrategy::Zipf, _) | (_, None) => {}
            (_, Some(_)) => {
                return Err(c.fail(
                    lk("zipf_alpha"),
                    "`zipf_alpha` applies only to strategy = \"zipf\"",
                    "remove `zipf_alpha`, or set strategy = \"zipf\"",
                ));
            }
        }
    }
    if sc.compat == Some(Compat::Original) {
        compat_scenario(c, name, sc, dataset_name, dataset)?;
    }
    Ok(())
}

/// `compat = "original"` sends only what the original tool can send: everything
/// else is an error here, never dropped silently.
fn compat_scenario(
    c: &Checker,
    name: &str,
    sc: &RawScenario,
    dataset_name: &str,
    dataset: Option<&DatasetConfig>,
) -> Check {
    let k = |field: &str| format!("scenarios.{name}.{field}");
    let without = "or remove compat = \"original\" to use tokenomics' own request synthesis";
    let workload = &sc.spec.0;
    let text = matches!(
        workload,
        Workload::Deterministic { .. } | Workload::Normal { .. } | Workload::Uniform { .. }
    );
    if !text && sc.replay != Some(true) {
        return Err(c.fail(
            k("spec"),
            format!(
                "compat = \"original\" reproduces the original's D, N and U scenarios; {} has no equivalent there",
                workload.to_spec_string()
            ),
            format!("for the original's --num-images use a D, N or U spec with images = \"I(w,h,n)\"; {without}"),
        ));
    }
    if sc.prefix.is_some() {
        return Err(c.fail(
            k("prefix"),
            "the original tool has no shared-prefix workload",
            format!("remove `prefix`, {without}"),
        ));
    }
    if sc.turns.is_some_and(|t| t > 1) {
        return Err(c.fail(
            k("turns"),
            "the original tool sends single-turn requests only",
            format!("remove `turns`, {without}"),
        ));
    }
    if let Some(images) = &sc.images {
        let i = &images.0;
        if i.from_dataset && sc.replay != Some(true) {
            return Err(c.fail(
                k("images"),
                "the original attaches dataset images only when replaying the dataset",
                format!("set replay = true, or synthesise images with width and height; {without}"),
            ));
        }
        if !i.from_dataset && i.format != ImageFormat::Png {
            return Err(c.fail(
                k("images"),
                "the original's synthetic images are PNG",
                "remove format, or set format = \"png\"",
            ));
        }
    }
    if let Some(d) = dataset {
        for (key, set) in [
            ("system_prompt", d.system_prompt.is_some()),
            ("messages_column", d.messages_column.is_some()),
        ] {
            if set {
                return Err(c.fail(
                    k("dataset"),
                    format!("dataset `{dataset_name}` sets `{key}`, which the original tool has no equivalent for (it sends one user message)"),
                    format!("use a dataset without `{key}`, {without}"),
                ));
            }
        }
    }
    if let Some(l) = &sc.lora {
        let lk = format!("scenarios.{name}.lora.strategy");
        match l.strategy {
            LoraStrategy::Uniform => {
                return Err(c.fail(
                    lk,
                    "with compat = \"original\", strategy = \"uniform\" is ambiguous: tokenomics' `uniform` is a random pick per request, the original's `uniform` is round-robin",
                    "write \"mixed\" (the original's random pick) or \"round_robin\" / \"all-unique\" (the original's `uniform`)",
                ));
            }
            LoraStrategy::Weighted => {
                return Err(c.fail(
                    lk,
                    "the original tool has no `weighted` LoRA strategy",
                    format!("use single, round_robin, all-unique, mixed or zipf; {without}"),
                ));
            }
            LoraStrategy::Zipf if l.zipf_alpha.is_none_or(|a| !(a.is_finite() && a > 1.0)) => {
                return Err(c.fail(
                    format!("scenarios.{name}.lora.zipf_alpha"),
                    "the original's zipf strategy draws NumPy's zipf(zipf_alpha), which rejects exponents ≤ 1 (so its default of 1.0 fails)",
                    "set zipf_alpha above 1, e.g. zipf_alpha = 1.5",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `compat = "original"` scenarios need a chat endpoint with a tokenizer, as the original.
fn compat_endpoint(c: &Checker, e: &str, ep: &RawEndpoint, s: &str) -> Check {
    let k = |field: &str| format!("endpoints.{}.{field}", toml_key(e));
    let api = ep.api.unwrap_or(ApiKind::Chat);
    if api != ApiKind::Chat {
        return Err(c.fail(
            k("api"),
            format!("scenario `{s}` has compat = \"original\", which sends chat requests as the original does, but endpoint `{e}` has api = \"{}\"", api.as_str()),
            "run the scenario on an api = \"chat\" endpoint",
        ));
    }
    if ep.tokenizer.is_none() {
        return Err(c.fail(
            k("tokenizer"),
            format!("scenario `{s}` has compat = \"original\", which counts prompt tokens with the model's tokenizer as the original does, but endpoint `{e}` has no tokenizer"),
            "set tokenizer = \"org/model\" (the served model's Hugging Face tokenizer; `tokenomics fetch` downloads it) or tokenizer = { path = \"tokenizer.json\" }",
        ));
    }
    if ep.min_tokens == Some(true) {
        return Err(c.fail(
            k("min_tokens"),
            format!(
                "scenario `{s}` has compat = \"original\", and the original never sends min_tokens"
            ),
            "use ignore_eos = true (the original's --ignore-eos), or remove min_tokens",
        ));
    }
    Ok(())
}

/// Whether `workload` can run on an endpoint speaking `api`; the hint when not.
fn compatible(workload: &Workload, api: ApiKind) -> Result<(), &'static str> {
    match workload {
        Workload::Deterministic { .. } | Workload::Normal { .. } | Workload::Uniform { .. }
            if !api.generates() =>
        {
            Err("text-generation specs (D, N, U) need api = \"chat\" or \"completions\"")
        }
        Workload::Image { .. } if api != ApiKind::Chat => {
            Err("image specs (I) need api = \"chat\"")
        }
        Workload::Embedding { .. } | Workload::EmbeddingText { .. }
            if api != ApiKind::Embeddings =>
        {
            Err("embedding specs (E) need api = \"embeddings\"")
        }
        Workload::Rerank { .. } if !matches!(api, ApiKind::Rerank | ApiKind::Score) => {
            Err("rerank specs (R) need api = \"rerank\" or \"score\"")
        }
        _ => Ok(()),
    }
}

fn grid(c: &Checker, i: usize, g: &RawGrid, raw: &RawManifest) -> Check {
    let k = |field: &str| format!("grid[{i}].{field}");
    if let Some(name) = &g.name {
        c.name(&k("name"), NameKind::Grid, name)?;
    }
    if g.endpoints.is_empty() {
        return Err(c.fail(
            k("endpoints"),
            "the endpoint list is empty",
            "list at least one endpoint, e.g. endpoints = [\"vllm\"]",
        ));
    }
    if g.scenarios.is_empty() {
        return Err(c.fail(
            k("scenarios"),
            "the scenario list is empty",
            "list at least one scenario, e.g. scenarios = [\"short\"]",
        ));
    }
    let endpoint_names: Vec<&str> = raw.endpoints.keys().map(String::as_str).collect();
    let scenario_names: Vec<&str> = raw.scenarios.keys().map(String::as_str).collect();
    for (j, e) in g.endpoints.iter().enumerate() {
        if !raw.endpoints.contains_key(e) {
            return Err(c.fail(
                format!("grid[{i}].endpoints[{j}]"),
                format!("unknown endpoint `{e}`"),
                suggestion(e, &endpoint_names, "defined endpoints"),
            ));
        }
        if g.endpoints[..j].contains(e) {
            return Err(c.fail(
                format!("grid[{i}].endpoints[{j}]"),
                format!("endpoint `{e}` is listed twice"),
                "list each endpoint once",
            ));
        }
    }
    for (j, s) in g.scenarios.iter().enumerate() {
        if !raw.scenarios.contains_key(s) {
            return Err(c.fail(
                format!("grid[{i}].scenarios[{j}]"),
                format!("unknown scenario `{s}`"),
                suggestion(s, &scenario_names, "defined scenarios"),
            ));
        }
        if g.scenarios[..j].contains(s) {
            return Err(c.fail(
                format!("grid[{i}].scenarios[{j}]"),
                format!("scenario `{s}` is listed twice"),
                "list each scenario once",
            ));
        }
    }
    for e in &g.endpoints {
        let api = raw
            .endpoints
            .get(e)
            .and_then(|ep| ep.api)
            .unwrap_or(ApiKind::Chat);
        for (j, s) in g.scenarios.iter().enumerate() {
            let Some(sc) = raw.scenarios.get(s) else {
                continue;
            };
            if sc.compat == Some(Compat::Original) {
                if let Some(ep) = raw.endpoints.get(e) {
                    compat_endpoint(c, e, ep, s)?;
                }
            }
            if let Err(hint) = compatible(&sc.spec.0, api) {
                return Err(c.fail(
                    format!("grid[{i}].scenarios[{j}]"),
                    format!(
                        "scenario `{s}` ({}) cannot run on endpoint `{e}` (api = \"{}\")",
                        sc.spec.0.to_spec_string(),
                        api.as_str()
                    ),
                    hint,
                ));
            }
            if api != ApiKind::Chat && (sc.images.is_some() || sc.turns.is_some_and(|t| t > 1)) {
                return Err(c.fail(
                    format!("grid[{i}].scenarios[{j}]"),
                    format!("scenario `{s}` uses images or several turns, which need api = \"chat\" (endpoint `{e}` has api = \"{}\")", api.as_str()),
                    "run it on a chat endpoint",
                ));
            }
        }
    }
    mode_keys(c, i, g)?;
    if g.mode == Mode::SloSearch && raw.experiment.slo.as_ref().is_none_or(BTreeMap::is_empty) {
        return Err(c.fail(
            k("mode"),
            "mode = \"slo_search\" needs service-level objectives to search for",
            "add them under [experiment.slo], e.g. tpot_ms = { p90 = 50 }",
        ));
    }
    c.at_least_one(
        &k("runs"),
        g.runs,
        "every point runs at least once; use runs = 1",
    )?;
    Ok(())
}

/// The key each mode requires, with an example.
fn required_key(mode: Mode) -> (&'static str, &'static str) {
    match mode {
        Mode::Burst => ("batch_sizes", "batch_sizes = [1, 4, 16]"),
        Mode::Concurrency => ("concurrency", "concurrency = [1, 4, 16]"),
        Mode::Rate => ("rates", "rates = [1.0, 5.0]"),
        Mode::Ramp => (
            "stages",
            "stages = [{ rate = 5, duration_s = 10 }, { concurrency = 8, duration_s = 10 }]",
        ),
        Mode::Sweep => (
            "search",
            "search = { over = \"concurrency\", start = 1, max = 256 }",
        ),
        Mode::SloSearch => (
            "search",
            "search = { over = \"concurrency\", min = 1, max = 64 }",
        ),
    }
}

fn mode_keys(c: &Checker, i: usize, g: &RawGrid) -> Check {
    let k = |field: &str| format!("grid[{i}].{field}");
    let mode = g.mode;
    const SEARCHES: [Mode; 2] = [Mode::Sweep, Mode::SloSearch];
    const COUNTED: [Mode; 4] = [Mode::Concurrency, Mode::Rate, Mode::Sweep, Mode::SloSearch];
    const OPEN_LOOP: [Mode; 3] = [Mode::Rate, Mode::Sweep, Mode::SloSearch];
    let present: [(&str, bool, &[Mode]); 9] = [
        ("batch_sizes", g.batch_sizes.is_some(), &[Mode::Burst]),
        ("concurrency", g.concurrency.is_some(), &[Mode::Concurrency]),
        ("rates", g.rates.is_some(), &[Mode::Rate]),
        ("arrival", g.arrival.is_some(), &OPEN_LOOP),
        ("requests", g.requests.is_some(), &COUNTED),
        ("duration_s", g.duration_s.is_some(), &COUNTED),
        ("max_concurrency", g.max_concurrency.is_some(), &OPEN_LOOP),
        ("stages", g.stages.is_some(), &[Mode::Ramp]),
        ("search", g.search.is_some(), &SEARCHES),
    ];
    for (field, set, modes) in present {
        if set && !modes.contains(&mode) {
            let names: Vec<String> = modes
                .iter()
                .map(|m| format!("\"{}\"", m.as_str()))
                .collect();
            let (req, example) = required_key(mode);
            return Err(c.fail(
                k(field),
                format!(
                    "`{field}` applies only to mode = {} (this grid has mode = \"{}\")",
                    names.join(" or "),
                    mode.as_str()
                ),
                format!(
                    "mode = \"{}\" takes its load values from `{req}`, e.g. {example}",
                    mode.as_str()
                ),
            ));
        }
    }
    let (req, example) = required_key(mode);
    let missing = match mode {
        Mode::Burst => g.batch_sizes.is_none(),
        Mode::Concurrency => g.concurrency.is_none(),
        Mode::Rate => g.rates.is_none(),
        Mode::Ramp => g.stages.is_none(),
        Mode::Sweep | Mode::SloSearch => g.search.is_none(),
    };
    if missing {
        return Err(c.fail(
            k(req),
            format!("mode = \"{}\" needs `{req}`", mode.as_str()),
            format!("e.g. {example}"),
        ));
    }
    let empty = |len: usize| {
        (len == 0).then(|| {
            c.fail(
                k(req),
                format!("the `{req}` list is empty"),
                format!("e.g. {example}"),
            )
        })
    };
    if let Some(v) = &g.batch_sizes {
        if let Some(e) = empty(v.len()) {
            return Err(e);
        }
        counts(c, i, "batch_sizes", v)?;
    }
    if let Some(v) = &g.concurrency {
        if let Some(e) = empty(v.len()) {
            return Err(e);
        }
        counts(c, i, "concurrency", v)?;
    }
    if let Some(v) = &g.rates {
        if let Some(e) = empty(v.len()) {
            return Err(e);
        }
        for (j, r) in v.iter().enumerate() {
            if !(r.is_finite() && *r > 0.0) {
                return Err(c.fail(
                    format!("grid[{i}].rates[{j}]"),
                    format!("rate {r} must be a number > 0"),
                    "rates are requests per second, e.g. 0.5 or 10",
                ));
            }
            c.at_most(
                &format!("grid[{i}].rates[{j}]"),
                Some(*r),
                limits::MAX_RATE,
                "requests/s",
            )?;
            if v[..j].contains(r) {
                return Err(c.fail(
                    format!("grid[{i}].rates[{j}]"),
                    format!("rate {r} is listed twice"),
                    "list each rate once",
                ));
            }
        }
    }
    if let Some(stages) = &g.stages {
        if let Some(e) = empty(stages.len()) {
            return Err(e);
        }
        for (j, s) in stages.iter().enumerate() {
            let sk = format!("grid[{i}].stages[{j}]");
            match (s.rate, s.concurrency) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(c.fail(&sk, "a stage needs exactly one of `rate` and `concurrency`", "e.g. { rate = 5, duration_s = 10 } or { concurrency = 8, duration_s = 10 }"));
                }
                (Some(r), None) if !(r.is_finite() && r > 0.0) => {
                    return Err(c.fail(
                        format!("{sk}.rate"),
                        format!("rate {r} must be a number > 0"),
                        "rates are requests per second",
                    ));
                }
                (None, Some(0)) => {
                    return Err(c.fail(
                        format!("{sk}.concurrency"),
                        "must be at least 1, found 0",
                        "the requests kept in flight during the stage",
                    ));
                }
                _ => {}
            }
            c.at_most(
                &format!("{sk}.rate"),
                s.rate,
                limits::MAX_RATE,
                "requests/s",
            )?;
            c.count_at_most(
                &format!("{sk}.concurrency"),
                s.concurrency,
                u64::from(limits::MAX_CONCURRENCY),
            )?;
            if !(s.duration_s.is_finite() && s.duration_s > 0.0) {
                return Err(c.fail(
                    format!("{sk}.duration_s"),
                    format!("{} is out of range: expected a number > 0", s.duration_s),
                    "stage durations are in seconds",
                ));
            }
            c.at_most(
                &format!("{sk}.duration_s"),
                Some(s.duration_s),
                limits::MAX_DURATION_S,
                "s",
            )?;
        }
    }
    if let Some(search) = &g.search {
        search_keys(c, i, g, search)?;
    }
    c.at_least_one(
        &k("requests"),
        g.requests,
        "requests per run, e.g. requests = 200",
    )?;
    c.at_least_one(
        &k("max_concurrency"),
        g.max_concurrency,
        "the most requests in flight",
    )?;
    c.count_at_most(
        &k("max_concurrency"),
        g.max_concurrency,
        u64::from(limits::MAX_CONCURRENCY),
    )?;
    c.positive(
        &k("duration_s"),
        g.duration_s,
        false,
        "the longest a run may last, in seconds",
    )?;
    c.at_most(&k("duration_s"), g.duration_s, limits::MAX_DURATION_S, "s")?;
    Ok(())
}

/// The `search` table of a `sweep` or `slo_search` grid.
fn search_keys(c: &Checker, i: usize, g: &RawGrid, s: &RawSearch) -> Check {
    let k = |field: &str| format!("grid[{i}].search.{field}");
    let by_rate = s.over == Some(SearchOverValue::Rate);
    if !by_rate {
        for (field, set) in [
            ("arrival", g.arrival.is_some()),
            ("max_concurrency", g.max_concurrency.is_some()),
        ] {
            if set {
                return Err(c.fail(
                    format!("grid[{i}].{field}"),
                    format!("`{field}` applies only to searches over the request rate"),
                    "set search.over = \"rate\", or remove the key",
                ));
            }
        }
    }
    let (only, other) = if g.mode == Mode::Sweep {
        (["min", "tolerance", "min_attainment"], "slo_search")
    } else {
        (["start", "factor", "min_gain"], "sweep")
    };
    let set = |f: &str| match f {
        "min" => s.min.is_some(),
        "tolerance" => s.tolerance.is_some(),
        "min_attainment" => s.min_attainment.is_some(),
        "start" => s.start.is_some(),
        "factor" => s.factor.is_some(),
        _ => s.min_gain.is_some(),
    };
    if let Some(f) = only.iter().find(|f| set(f)) {
        return Err(c.fail(
            k(f),
            format!(
                "`search.{f}` applies only to mode = \"{other}\" (this grid has mode = \"{}\")",
                g.mode.as_str()
            ),
            if g.mode == Mode::Sweep {
                "a sweep takes start, factor, min_gain and max"
            } else {
                "an SLO search takes min, max, tolerance and min_attainment"
            },
        ));
    }
    let Some(max) = s.max else {
        return Err(c.fail(
            k("max"),
            "a search needs the highest load it may try",
            "e.g. search = { max = 256 }",
        ));
    };
    let load_hint = if by_rate {
        "rates are requests per second, > 0"
    } else {
        "concurrency is a whole number of requests in flight, ≥ 1"
    };
    for (field, v) in [("start", s.start), ("min", s.min), ("max", Some(max))] {
        c.positive(&k(field), v, false, load_hint)?;
        if by_rate {
            c.at_most(&k(field), v, limits::MAX_RATE, "requests/s")?;
        } else {
            c.at_most(
                &k(field),
                v,
                f64::from(limits::MAX_CONCURRENCY),
                "requests in flight",
            )?;
        }
        if let Some(x) = v {
            if !by_rate && (x < 1.0 || x.fract() != 0.0) {
                return Err(c.fail(
                    k(field),
                    format!("{x} is not a whole number ≥ 1"),
                    load_hint,
                ));
            }
        }
    }
    let low = s.start.or(s.min).unwrap_or(1.0);
    if low > max {
        return Err(c.fail(
            k("max"),
            format!("max ({max}) is below the first load ({low})"),
            "max is the highest load the search may try",
        ));
    }
    if let Some(f) = s.factor {
        if !(f.is_finite() && f > 1.0 && f <= limits::MAX_SWEEP_FACTOR) {
            return Err(c.fail(
                k("factor"),
                format!("{f} is out of range: expected a number > 1 and at most 1000"),
                "each probe multiplies the load by factor, e.g. 2",
            ));
        }
    }
    c.positive(
        &k("min_gain"),
        s.min_gain,
        false,
        "e.g. 0.1 = 10% more throughput",
    )?;
    c.positive(&k("tolerance"), s.tolerance, false, "in load units, e.g. 1")?;
    c.fraction(
        &k("min_attainment"),
        s.min_attainment,
        "the fraction of requests that must meet the SLOs, e.g. 0.99",
    )?;
    Ok(())
}

fn counts(c: &Checker, i: usize, field: &str, v: &[u32]) -> Check {
    for (j, n) in v.iter().enumerate() {
        if *n == 0 {
            return Err(c.fail(
                format!("grid[{i}].{field}[{j}]"),
                "must be at least 1, found 0",
                "load values are counts of requests, 1 or more",
            ));
        }
        if v[..j].contains(n) {
            return Err(c.fail(
                format!("grid[{i}].{field}[{j}]"),
                format!("{n} is listed twice"),
                "list each value once",
            ));
        }
        c.count_at_most(
            &format!("grid[{i}].{field}[{j}]"),
            Some(*n),
            u64::from(limits::MAX_CONCURRENCY),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "http://localhost:8000/v1",
            "https://api.example.com/openai/v1",
            "http://[::1]:8000/v1",
            "http://10.0.0.2",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for (bad, needle) in [
            ("localhost:8000/v1", "no scheme"),
            ("ftp://host/v1", "unsupported scheme"),
            ("http://", "no host"),
            ("http://host:0/v1", "invalid port"),
            ("http://host:99999/v1", "invalid port"),
            ("http://host/v1?x=1", "query"),
            ("http://user:secret@host/v1", "credentials"),
            ("http://ho st/v1", "whitespace"),
            ("http://[::1/v1", "IPv6"),
        ] {
            let (msg, _) = check_url(bad).expect_err(bad);
            assert!(msg.contains(needle), "{bad}: {msg}");
        }
    }
}
