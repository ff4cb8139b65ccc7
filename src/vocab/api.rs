//! What an endpoint speaks: the API kinds and the per-endpoint wire choices.

use serde::{Deserialize, Serialize};

/// Which API an endpoint speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// `POST {base_url}/chat/completions`
    Chat,
    /// `POST {base_url}/completions`
    Completions,
    /// `POST {base_url}/embeddings`
    Embeddings,
    /// `POST {base_url}/rerank` (Jina/Cohere style)
    Rerank,
    /// `POST {root}/score` (vLLM style)
    Score,
}

impl ApiKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKind::Chat => "chat",
            ApiKind::Completions => "completions",
            ApiKind::Embeddings => "embeddings",
            ApiKind::Rerank => "rerank",
            ApiKind::Score => "score",
        }
    }

    /// True for the text-generation APIs (chat, completions).
    #[must_use]
    pub fn generates(self) -> bool {
        matches!(self, ApiKind::Chat | ApiKind::Completions)
    }
}

/// What to do with an SSE event that is not valid JSON.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MalformedPolicy {
    /// Count it (`malformed_events`) and keep reading; the request can still be `ok`.
    #[default]
    Skip,
    /// End the request with outcome `malformed_event`.
    Fail,
}

/// `encoding_format` for embeddings.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EncodingFormat {
    #[default]
    Float,
    Base64,
}

/// [`ScrapeSpec::url`] value meaning "the endpoint's own page, `{scheme://host:port}/metrics`",
/// resolved when the run starts (the default for simulator endpoints, whose port is known only then).
pub const AUTO_METRICS_URL: &str = "auto";
