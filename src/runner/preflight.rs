//! Preflight: fail fast, before any load is sent, with one clear message per problem.

use crate::client::HttpClient;
use crate::error::Error;
use crate::plan::EndpointSpec;

/// Checks one endpoint: its API-key variable is set, it answers `GET {base_url}/models`
/// (or its health path), and it serves the configured model. Returns the models answer
/// for `environment.json`.
///
/// # Errors
/// [`Error::Preflight`] naming the endpoint, what failed and how to fix it.
pub async fn check_endpoint(ep: &EndpointSpec, base_url: &str) -> Result<serde_json::Value, Error> {
    crate::client::api_key(ep).map_err(|e| Error::Preflight {
        message: format!("endpoint `{}`: {e}", ep.name),
        hint: ep
            .api_key_env
            .as_ref()
            .map(|v| format!("export {v}=<your key> before running")),
    })?;
    let client = HttpClient::new(ep, base_url, 1).map_err(|e| Error::Preflight {
        message: format!("endpoint `{}`: {e}", ep.name),
        hint: None,
    })?;
    let models = crate::client::fetch_models(&client).await.map_err(|e| Error::Preflight {
        message: format!("endpoint `{}` at {base_url} did not answer: {e}", ep.name),
        hint: Some(
            "start the server (see server/README.md), fix `base_url`, or skip this check with --no-preflight".into(),
        ),
    })?;
    check_model(ep, &models)?;
    Ok(models)
}

/// The model must be listed by the server when the server lists any models.
fn check_model(ep: &EndpointSpec, models: &serde_json::Value) -> Result<(), Error> {
    let ids: Vec<&str> = models
        .get("data")
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("id").and_then(|i| i.as_str()))
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() || ids.contains(&ep.model.as_str()) {
        return Ok(());
    }
    let suggestion = crate::suggest::closest(&ep.model, ids.iter().copied());
    Err(Error::Preflight {
        message: format!(
            "endpoint `{}`: the server does not serve model `{}` (it serves: {})",
            ep.name,
            ep.model,
            ids.join(", ")
        ),
        hint: Some(match suggestion {
            Some(s) => format!("did you mean `{s}`? set endpoints.{}.model", ep.name),
            None => format!(
                "set endpoints.{}.model to one of the served models",
                ep.name
            ),
        }),
    })
}
