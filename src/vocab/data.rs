//! Formats and strategies of the data a scenario sends: dataset file formats,
//! tokenizer sources, images and LoRA adapter assignment.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where a tokenizer comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenizerSource {
    /// A local tokenizer.json (resolved against the manifest's directory).
    File(PathBuf),
    /// `tokenizer.json` of a Hugging Face model repo, via hf-hub and its cache.
    Hub {
        repo: String,
        revision: Option<String>,
    },
}

/// Format of a local data file.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Json,
    Jsonl,
    Txt,
    Parquet,
}

/// Images per request (`I(width,height[,count])`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ImageSpec {
    pub width: u32,
    pub height: u32,
    pub count: u32,
    /// `png` or `jpeg`.
    pub format: ImageFormat,
    /// Take images from the dataset's `image_column` instead of synthesising them.
    pub from_dataset: bool,
}

/// Encoding of synthetic images.
#[derive(
    Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    #[default]
    Png,
    Jpeg,
}

/// How requests are assigned to LoRA adapters.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoraStrategy {
    /// Every request uses the first adapter.
    Single,
    /// A random adapter per request.
    Uniform,
    /// Adapters in turn.
    RoundRobin,
    /// A random adapter drawn by `weights`, one per adapter.
    Weighted,
    /// Adapter ranks drawn from a Zipf distribution with exponent `zipf_alpha`.
    Zipf,
    /// The original tool's name for a random pick per request (tokenomics' `uniform`).
    Mixed,
    /// The original tool's name for round-robin (tokenomics' `round_robin`).
    #[serde(rename = "all-unique", alias = "all_unique")]
    AllUnique,
}
