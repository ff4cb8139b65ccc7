//! Error mapping: transport failures to outcomes, `Retry-After` values, and
//! error chains as text.

use std::time::SystemTime;

use super::Failure;
use crate::client::transport::{chain_of, join_chain, ConnUse, SendError};
use crate::client::HttpClient;
use crate::record::{Outcome, TimeoutKind};

/// Seconds to wait from a `Retry-After` value: delay-seconds (integer or
/// decimal) or an HTTP date (relative to `now`, never negative).
pub(in crate::client) fn parse_retry_after(value: &str, now: SystemTime) -> Option<f64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs);
    }
    let date = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let now: chrono::DateTime<chrono::Utc> = now.into();
    let ms = (date.with_timezone(&chrono::Utc) - now).num_milliseconds();
    #[allow(clippy::cast_precision_loss)]
    Some((ms.max(0) as f64) / 1000.0)
}

/// Classifies a failure of the transport (before any response headers).
pub(super) fn classify_send_error(e: &SendError, client: &HttpClient, used: ConnUse) -> Failure {
    let origin = &client.origin;
    let chain = chain_of(e);
    let again = if used.reconnects > 0 {
        " (on a fresh connection, after the pooled one closed)"
    } else {
        ""
    };
    match e {
        SendError::ConnectTimeout(_) => Failure::timeout(
            TimeoutKind::Connect,
            format!(
                "could not connect to {origin}{again} within {:?} (connect timeout)",
                client.endpoint.timeouts.connect
            ),
        ),
        SendError::Connect(_) => Failure::new(
            Outcome::ConnectError,
            format!("cannot connect to {origin}{again}: {chain}"),
        ),
        SendError::Request(_) => Failure::new(
            Outcome::ConnectError,
            format!("the connection to {origin} failed before any response{again}: {chain}"),
        ),
    }
}

/// A reqwest error and its sources joined with `: ` (without URLs; repeated messages once).
pub(in crate::client) fn error_chain(e: &reqwest::Error) -> String {
    let mut top = e.to_string();
    // reqwest appends " for url (…)"; the origin is named by the caller instead.
    if let Some(i) = top.find(" for url (") {
        top.truncate(i);
    }
    join_chain(top, std::error::Error::source(e))
}
