//! Checks of one `[endpoints.NAME]` table: its URL, the keys its API allows,
//! transport settings and headers.

use super::simulator::simulator;
use super::{Check, Checker, RESERVED_BODY_KEYS};
use crate::manifest::diagnostic::toml_key;
use crate::manifest::limits;
use crate::manifest::raw::RawEndpoint;
use crate::vocab::name::NameKind;
use crate::vocab::ApiKind;

/// Checks a base URL: `http(s)://host[:port][/path]`, no query or fragment.
pub(super) fn check_url(url: &str) -> Result<(), (String, String)> {
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
pub(super) fn endpoint(c: &Checker, name: &str, ep: &RawEndpoint) -> Check {
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
