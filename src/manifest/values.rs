//! Manifest values that accept a shorthand string or a table, each with its own
//! deserializer (no `untagged`): the `expecting` text lists every accepted form,
//! and a table form is read into a `deny_unknown_fields` struct so unknown keys
//! are reported with the valid ones.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::vocab::workload::Workload;
use crate::vocab::{Arrival, FileFormat, ImageFormat, ImageSpec, TokenizerSource};

use super::hint::hinted;
use super::spec::{parse_workload, DEFAULT_RERANK_DOCUMENTS};

// ---------------------------------------------------------------------------
// datasets.<name>.source

/// `source = "aime" | "synthetic" | { huggingface = "org/name", ... } | { file = "data/x.jsonl" }`.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceValue {
    /// The built-in AIME questions.
    Aime,
    /// Synthetic filler text.
    Synthetic,
    /// A Hugging Face dataset.
    HuggingFace {
        /// Dataset id, e.g. `openai/gsm8k`.
        repo: String,
        /// Dataset config (subset) name.
        config: Option<String>,
        /// Split (`train` when unset).
        split: Option<String>,
        /// Git revision.
        revision: Option<String>,
    },
    /// A local file; the format comes from `format` or the extension.
    File {
        /// The data file, relative to the config's directory.
        path: PathBuf,
        /// Its format (from the extension when unset).
        format: Option<FileFormat>,
    },
}

const SOURCE_FORMS: &str = "\"aime\", \"synthetic\", { huggingface = \"org/name\", split = \"train\" } or { file = \"data/prompts.jsonl\" }";

/// The table form of a dataset source: exactly one of `huggingface` and `file`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["huggingface"], "not": { "required": ["format"] } },
    { "required": ["file"], "not": { "anyOf": [
        { "required": ["config"] }, { "required": ["split"] }, { "required": ["revision"] }
    ] } }
]))]
struct SourceTable {
    /// A Hugging Face dataset id, e.g. `openai/gsm8k` (read from the Hub's Parquet files).
    huggingface: Option<String>,
    /// Hugging Face only: the dataset config (subset) name.
    config: Option<String>,
    /// Hugging Face only: the split (default `train`).
    split: Option<String>,
    /// Hugging Face only: the git revision.
    revision: Option<String>,
    /// A local data file, relative to the directory of the file that names it.
    file: Option<PathBuf>,
    /// File only: its format (default: from the extension; `.tsv` is CSV).
    format: Option<FileFormat>,
}

impl<'de> Deserialize<'de> for SourceValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SourceValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a dataset source: {SOURCE_FORMS}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SourceValue, E> {
                match v {
                    "aime" => Ok(SourceValue::Aime),
                    "synthetic" => Ok(SourceValue::Synthetic),
                    other if other.contains('/') => Err(hinted(
                        format!("unknown source `{other}`"),
                        format!("for a Hugging Face dataset write source = {{ huggingface = \"{other}\" }}; for a local file, source = {{ file = \"{other}\" }}"),
                    )),
                    other => {
                        let guess = crate::suggest::closest(other, ["aime", "synthetic"])
                            .map(|g| format!("did you mean `{g}`? "))
                            .unwrap_or_default();
                        Err(hinted(
                            format!("unknown source `{other}`"),
                            format!("{guess}expected {SOURCE_FORMS}"),
                        ))
                    }
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SourceValue, A::Error> {
                let t = SourceTable::deserialize(MapAccessDeserializer::new(map))?;
                match (t.huggingface, t.file) {
                    (Some(_), Some(_)) | (None, None) => Err(hinted(
                        "a source table needs exactly one of `huggingface` and `file`",
                        format!("expected {SOURCE_FORMS}"),
                    )),
                    (Some(repo), None) => {
                        if t.format.is_some() {
                            return Err(hinted(
                                "`format` applies only to { file = ... } sources",
                                "remove `format`; Hugging Face datasets are read as Parquet",
                            ));
                        }
                        if repo.trim().is_empty() || repo.chars().any(char::is_whitespace) {
                            return Err(hinted(
                                format!("`{repo}` is not a Hugging Face dataset id"),
                                "write the repository id, e.g. huggingface = \"openai/gsm8k\"",
                            ));
                        }
                        Ok(SourceValue::HuggingFace {
                            repo,
                            config: t.config,
                            split: t.split,
                            revision: t.revision,
                        })
                    }
                    (None, Some(path)) => {
                        if t.config.is_some() || t.split.is_some() || t.revision.is_some() {
                            return Err(hinted(
                                "`config`, `split` and `revision` apply only to { huggingface = ... } sources",
                                "remove them from this { file = ... } source",
                            ));
                        }
                        Ok(SourceValue::File {
                            path,
                            format: t.format,
                        })
                    }
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for SourceValue {
    fn schema_name() -> Cow<'static, str> {
        "SourceValue".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": format!("Where rows come from: {SOURCE_FORMS}."),
            "oneOf": [
                {
                    "type": "string",
                    "enum": ["aime", "synthetic"],
                    "description": "A built-in dataset: `aime` (the AIME questions, from the Hugging Face Hub) or `synthetic` (filler text, no download)."
                },
                generator.subschema_for::<SourceTable>()
            ]
        })
    }
}

// ---------------------------------------------------------------------------
// scenarios.<name>.spec

/// `spec = "D(512,128)"` or `spec = { kind = "deterministic", input = 512, output = 128 }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecValue(pub Workload);

/// The table form of a scenario spec, chosen by `kind`.
#[derive(Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum WorkloadTable {
    /// Fixed lengths, like `D(input,output)`.
    Deterministic {
        /// Prompt tokens per request.
        input: u32,
        /// Output tokens per request (`max_tokens`).
        output: u32,
    },
    /// Normal lengths, truncated toward zero and at least 1, like `N(mi,si)/(mo,so)`.
    Normal {
        /// Mean prompt tokens.
        input_mean: f64,
        /// Standard deviation of prompt tokens.
        input_std: f64,
        /// Mean output tokens.
        output_mean: f64,
        /// Standard deviation of output tokens.
        output_std: f64,
    },
    /// Uniform lengths with inclusive bounds, like `U(a,b)/(c,d)`.
    Uniform {
        /// Fewest prompt tokens.
        input_min: u32,
        /// Most prompt tokens.
        input_max: u32,
        /// Fewest output tokens.
        output_min: u32,
        /// Most output tokens.
        output_max: u32,
    },
    /// Images with a short text, like `I(width,height[,count])`.
    Image {
        /// Image width, in pixels.
        width: u32,
        /// Image height, in pixels.
        height: u32,
        /// Images per request (default 1).
        count: Option<u32>,
    },
    /// Embedding inputs of a fixed length, like `E(tokens)`.
    Embedding {
        /// Tokens per input.
        tokens: u32,
    },
    /// A query ranked against documents, like `R(doc_tokens,query_tokens[,documents])`.
    Rerank {
        /// Tokens per document.
        doc_tokens: u32,
        /// Tokens of the query.
        query_tokens: u32,
        /// Documents per request (default 8).
        documents: Option<u32>,
    },
}

fn workload_from_table<E: de::Error>(t: WorkloadTable) -> Result<Workload, E> {
    let (w, hint) = match t {
        WorkloadTable::Deterministic { input, output } => (
            Workload::Deterministic { input, output },
            "input and output are token counts per request",
        ),
        WorkloadTable::Normal {
            input_mean,
            input_std,
            output_mean,
            output_std,
        } => (
            Workload::Normal {
                input_mean,
                input_std,
                output_mean,
                output_std,
            },
            "token-length means and standard deviations are finite numbers ≥ 0",
        ),
        WorkloadTable::Uniform {
            input_min,
            input_max,
            output_min,
            output_max,
        } => (
            Workload::Uniform {
                input_min,
                input_max,
                output_min,
                output_max,
            },
            "make `input_min` ≤ `input_max` and `output_min` ≤ `output_max`",
        ),
        WorkloadTable::Image {
            width,
            height,
            count,
        } => (
            Workload::Image {
                width,
                height,
                count: count.unwrap_or(1),
            },
            "image width, height and count must be at least 1",
        ),
        WorkloadTable::Embedding { tokens } => (
            Workload::Embedding { tokens },
            "embedding inputs need at least 1 token",
        ),
        WorkloadTable::Rerank {
            doc_tokens,
            query_tokens,
            documents,
        } => (
            Workload::Rerank {
                doc_tokens,
                query_tokens,
                documents: documents.unwrap_or(DEFAULT_RERANK_DOCUMENTS),
            },
            "`doc_tokens`, `query_tokens` and `documents` must be at least 1",
        ),
    };
    w.validate().map_err(|e| hinted(e.message, hint))?;
    Ok(w)
}

impl<'de> Deserialize<'de> for SpecValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SpecValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a scenario string such as \"D(512,128)\" or a table such as { kind = \"deterministic\", input = 512, output = 128 }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SpecValue, E> {
                parse_workload(v).map(SpecValue).map_err(|m| {
                    hinted(
                        m,
                        "scenario strings look like D(512,128), N(480,240)/(300,150), U(50,100)/(200,250), I(512,512,1), E(512) or R(512,32)",
                    )
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SpecValue, A::Error> {
                let t = WorkloadTable::deserialize(MapAccessDeserializer::new(map))?;
                workload_from_table(t).map(SpecValue)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The scenario string grammar (see [`crate::vocab::workload`]) as an ECMA-262
/// pattern: the letter in either case, whitespace anywhere between tokens, whole
/// numbers except in `N`. Value limits (at least 1, `min ≤ max`, token and image
/// limits) are the loader's.
pub const SPEC_PATTERN: &str = r"^\s*(?:[Dd]\s*\(\s*\d+\s*,\s*\d+\s*\)|[Nn]\s*\(\s*(?:\d+\.?\d*|\.\d+)\s*,\s*(?:\d+\.?\d*|\.\d+)\s*\)\s*/\s*\(\s*(?:\d+\.?\d*|\.\d+)\s*,\s*(?:\d+\.?\d*|\.\d+)\s*\)|[Uu]\s*\(\s*\d+\s*,\s*\d+\s*\)\s*/\s*\(\s*\d+\s*,\s*\d+\s*\)|[IiRr]\s*\(\s*\d+\s*(?:,\s*\d+\s*){1,2}\)|[Ee]\s*\(\s*(?:\d+[Ww]?|[Ss][Hh][Oo][Rr][Tt]|[Mm][Ee][Dd][Ii][Uu][Mm]|[Ll][Oo][Nn][Gg]|[Mm][Ii][Xx][Ee][Dd])\s*\))\s*$";

/// `I(width,height[,count])` as an ECMA-262 pattern.
pub const IMAGES_PATTERN: &str = r"^\s*[Ii]\s*\(\s*\d+\s*(?:,\s*\d+\s*){1,2}\)\s*$";

impl JsonSchema for SpecValue {
    fn schema_name() -> Cow<'static, str> {
        "SpecValue".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Token-length distribution (or embedding / rerank shape): a scenario string or a table with `kind`.",
            "oneOf": [
                {
                    "type": "string",
                    "pattern": SPEC_PATTERN,
                    "description": format!("A scenario string: {}, e.g. \"D(512,128)\".", crate::vocab::workload::ACCEPTED_FORMS)
                },
                generator.subschema_for::<WorkloadTable>()
            ]
        })
    }
}

// ---------------------------------------------------------------------------
// endpoints.<name>.tokenizer

/// `tokenizer = "org/model"`, `{ repo = "org/model", revision = "main" }` or `{ path = "tok/tokenizer.json" }`.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenizerValue(pub TokenizerSource);

/// The table form of a tokenizer: exactly one of `repo` and `path`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["repo"] },
    { "required": ["path"], "not": { "required": ["revision"] } }
]))]
struct TokenizerTable {
    /// A Hugging Face model id whose `tokenizer.json` is used, e.g. `Qwen/Qwen3-4B`.
    repo: Option<String>,
    /// `repo` only: the git revision.
    revision: Option<String>,
    /// A local `tokenizer.json`, relative to the manifest's directory.
    path: Option<PathBuf>,
}

fn hub_repo<E: de::Error>(repo: &str) -> Result<String, E> {
    if Path::new(repo)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return Err(hinted(
            format!("`{repo}` looks like a file, not a Hugging Face model id"),
            format!("for a local tokenizer write tokenizer = {{ path = \"{repo}\" }}"),
        ));
    }
    if repo.trim().is_empty() || repo.chars().any(char::is_whitespace) {
        return Err(hinted(
            format!("`{repo}` is not a Hugging Face model id"),
            "write the model repository, e.g. tokenizer = \"Qwen/Qwen3-4B\"",
        ));
    }
    Ok(repo.to_owned())
}

impl<'de> Deserialize<'de> for TokenizerValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TokenizerValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a tokenizer: \"org/model\", { repo = \"org/model\", revision = \"main\" } or { path = \"tokenizer.json\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TokenizerValue, E> {
                Ok(TokenizerValue(TokenizerSource::Hub {
                    repo: hub_repo(v)?,
                    revision: None,
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TokenizerValue, A::Error> {
                let t = TokenizerTable::deserialize(MapAccessDeserializer::new(map))?;
                match (t.repo, t.path) {
                    (Some(repo), None) => Ok(TokenizerValue(TokenizerSource::Hub {
                        repo: hub_repo(&repo)?,
                        revision: t.revision,
                    })),
                    (None, Some(path)) if t.revision.is_none() => {
                        Ok(TokenizerValue(TokenizerSource::File(path)))
                    }
                    (None, Some(_)) => Err(hinted(
                        "`revision` applies only to { repo = ... } tokenizers",
                        "remove `revision` from this { path = ... } tokenizer",
                    )),
                    _ => Err(hinted(
                        "a tokenizer table needs exactly one of `repo` and `path`",
                        "write { repo = \"org/model\" } or { path = \"tokenizer.json\" }",
                    )),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for TokenizerValue {
    fn schema_name() -> Cow<'static, str> {
        "TokenizerValue".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Tokenizer for exact prompt lengths: a Hugging Face model id, { repo = \"org/model\", revision = \"main\" } or { path = \"tokenizer.json\" }.",
            "oneOf": [
                {
                    "type": "string",
                    "pattern": r"^\S+$",
                    "description": "A Hugging Face model id, e.g. \"Qwen/Qwen3-4B\" (a local file is { path = \"...\" })."
                },
                generator.subschema_for::<TokenizerTable>()
            ]
        })
    }
}

// ---------------------------------------------------------------------------
// grid.arrival

/// `arrival = "constant" | "poisson" | { gamma = 0.5 }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArrivalValue(pub Arrival);

/// Gamma-distributed gaps between arrivals.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GammaTable {
    /// Burstiness (> 0): 1 gives a Poisson process, below 1 burstier, above 1 smoother.
    gamma: f64,
}

impl<'de> Deserialize<'de> for ArrivalValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ArrivalValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an arrival process: \"constant\", \"poisson\" or { gamma = <burstiness> }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ArrivalValue, E> {
                match v {
                    "constant" => Ok(ArrivalValue(Arrival::Constant)),
                    "poisson" => Ok(ArrivalValue(Arrival::Poisson)),
                    "gamma" => Err(hinted(
                        "`gamma` arrivals need a burstiness",
                        "write arrival = { gamma = 0.5 } (1 = Poisson, below 1 = burstier)",
                    )),
                    other => Err(E::unknown_variant(other, &["constant", "poisson", "gamma"])),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ArrivalValue, A::Error> {
                let t = GammaTable::deserialize(MapAccessDeserializer::new(map))?;
                if !t.gamma.is_finite() || t.gamma <= 0.0 {
                    return Err(hinted(
                        format!("gamma burstiness {} must be a number > 0", t.gamma),
                        "1 gives a Poisson process, values below 1 are burstier, above 1 smoother",
                    ));
                }
                Ok(ArrivalValue(Arrival::Gamma {
                    burstiness: t.gamma,
                }))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for ArrivalValue {
    fn schema_name() -> Cow<'static, str> {
        "ArrivalValue".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The arrival process of an open loop: \"constant\", \"poisson\" or { gamma = <burstiness> }.",
            "oneOf": [
                {
                    "type": "string",
                    "enum": ["constant", "poisson"],
                    "description": "`constant`: evenly spaced; `poisson`: exponential gaps."
                },
                generator.subschema_for::<GammaTable>()
            ]
        })
    }
}

// ---------------------------------------------------------------------------
// scenarios.<name>.images

/// `images = "I(512,512,1)"` or `{ width = 512, height = 512, count = 1, format = "png", from_dataset = false }`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImagesValue(pub ImageSpec);

/// The table form of images: synthetic ones need `width` and `height`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ImagesTable {
    /// Width of synthetic images, in pixels.
    width: Option<u32>,
    /// Height of synthetic images, in pixels.
    height: Option<u32>,
    /// Images per request (default 1).
    count: Option<u32>,
    /// Encoding of synthetic images (default `png`).
    format: Option<ImageFormat>,
    /// Take images from the dataset's `image_column` instead (default false).
    from_dataset: Option<bool>,
}

impl<'de> Deserialize<'de> for ImagesValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ImagesValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("images: \"I(width,height[,count])\" or { width = 512, height = 512, count = 1, format = \"png\", from_dataset = false }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ImagesValue, E> {
                match parse_workload(v) {
                    Ok(Workload::Image {
                        width,
                        height,
                        count,
                    }) => Ok(ImagesValue(ImageSpec {
                        width,
                        height,
                        count,
                        format: ImageFormat::Png,
                        from_dataset: false,
                    })),
                    Ok(_) => Err(hinted(
                        format!("`{v}` is not an image spec"),
                        "write images = \"I(width,height[,count])\", e.g. \"I(512,512,1)\"",
                    )),
                    Err(m) => Err(hinted(
                        m,
                        "write images = \"I(width,height[,count])\", e.g. \"I(512,512,1)\"",
                    )),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ImagesValue, A::Error> {
                let t = ImagesTable::deserialize(MapAccessDeserializer::new(map))?;
                let from_dataset = t.from_dataset.unwrap_or(false);
                let count = t.count.unwrap_or(1);
                let (width, height) = match (t.width, t.height) {
                    (Some(w), Some(h)) => (w, h),
                    (None, None) if from_dataset => (0, 0),
                    _ => {
                        return Err(hinted(
                            "synthetic images need both `width` and `height`",
                            "set width and height, or from_dataset = true to use the dataset's image_column",
                        ))
                    }
                };
                // The same limits as `I(width,height,count)` (dataset images have no size here).
                let shape = Workload::Image {
                    width: if from_dataset { 1 } else { width },
                    height: if from_dataset { 1 } else { height },
                    count,
                };
                shape.validate().map_err(|e| {
                    hinted(
                        e.message,
                        "image width, height and count must be at least 1 (at most 4096x4096 and 64 images)",
                    )
                })?;
                Ok(ImagesValue(ImageSpec {
                    width,
                    height,
                    count,
                    format: t.format.unwrap_or_default(),
                    from_dataset,
                }))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for ImagesValue {
    fn schema_name() -> Cow<'static, str> {
        "ImagesValue".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Images attached to every request: \"I(width,height[,count])\" or a table.",
            "oneOf": [
                {
                    "type": "string",
                    "pattern": IMAGES_PATTERN,
                    "description": "`I(width,height[,count])`, e.g. \"I(512,512,1)\" (PNG)."
                },
                generator.subschema_for::<ImagesTable>()
            ]
        })
    }
}

// ---------------------------------------------------------------------------
// experiment.slo.<metric>

/// An SLO bound: `e2e_ms = 10000` (every request) or `ttft_ms = { p99 = 500, max = 2000 }`.
///
/// Each entry is `(percentile, bound)`; `None` means every request.
#[derive(Clone, Debug, PartialEq)]
pub struct SloValue(pub Vec<(Option<f64>, f64)>);

fn bound<E: de::Error>(v: f64) -> Result<f64, E> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(hinted(
            format!("SLO bound {v} must be a number > 0"),
            "bounds are in the metric's unit, e.g. ttft_ms = { p99 = 500 }",
        ))
    }
}

/// Parses an SLO key: `max` (every request) or `p<percentile>` with 0 < percentile ≤ 100.
fn slo_key<E: de::Error>(key: &str) -> Result<Option<f64>, E> {
    if key == "max" {
        return Ok(None);
    }
    let p = key
        .strip_prefix('p')
        .and_then(|p| p.parse::<f64>().ok())
        .filter(|p| p.is_finite() && *p > 0.0 && *p <= 100.0);
    match p {
        Some(p) => Ok(Some(p)),
        None => Err(hinted(
            format!("unknown SLO key `{key}`"),
            "use p<percentile> (e.g. p50, p99, \"p99.9\") or max (every request)",
        )),
    }
}

impl<'de> Deserialize<'de> for SloValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SloValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an SLO bound: a number (every request) or a table such as { p99 = 500 }",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SloValue, E> {
                #[allow(clippy::cast_precision_loss)]
                let v = v as f64;
                Ok(SloValue(vec![(None, bound(v)?)]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SloValue, E> {
                #[allow(clippy::cast_precision_loss)]
                let v = v as f64;
                Ok(SloValue(vec![(None, bound(v)?)]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SloValue, E> {
                Ok(SloValue(vec![(None, bound(v)?)]))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SloValue, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let p = slo_key(&key)?;
                    let v: f64 = map.next_value()?;
                    out.push((p, bound(v)?));
                }
                if out.is_empty() {
                    return Err(hinted(
                        "empty SLO table",
                        "give at least one bound, e.g. { p99 = 500 }",
                    ));
                }
                Ok(SloValue(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// An SLO table key: `max`, or `p` and a number that Rust's `f64` parser reads.
pub const SLO_KEY_PATTERN: &str = r"^(?:max|p[+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$";

impl JsonSchema for SloValue {
    fn schema_name() -> Cow<'static, str> {
        "SloValue".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An SLO bound in the metric's unit: a number bounds every request; a table bounds percentiles (p50, p99, \"p99.9\", ...) and/or every request (max).",
            "oneOf": [
                {
                    "type": "number",
                    "description": "Bound on every request (> 0)."
                },
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": { "pattern": SLO_KEY_PATTERN },
                    "additionalProperties": { "type": "number" },
                    "description": "`p<percentile>` (0 < percentile ≤ 100) or `max` → bound (> 0)."
                }
            ]
        })
    }
}
