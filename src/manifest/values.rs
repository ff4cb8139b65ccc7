//! Manifest values that accept a shorthand string or a table, each with its own
//! deserializer (no `untagged`): the `expecting` text lists every accepted form,
//! and a table form is read into a `deny_unknown_fields` struct so unknown keys
//! are reported with the valid ones.

use std::fmt;
use std::path::{Path, PathBuf};

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceTable {
    huggingface: Option<String>,
    config: Option<String>,
    split: Option<String>,
    revision: Option<String>,
    file: Option<PathBuf>,
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

// ---------------------------------------------------------------------------
// scenarios.<name>.spec

/// `spec = "D(512,128)"` or `spec = { kind = "deterministic", input = 512, output = 128 }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecValue(pub Workload);

/// The table form of a workload: the field names of [`Workload`]'s serde form.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum WorkloadTable {
    Deterministic {
        input: u32,
        output: u32,
    },
    Normal {
        input_mean: f64,
        input_std: f64,
        output_mean: f64,
        output_std: f64,
    },
    Uniform {
        input_min: u32,
        input_max: u32,
        output_min: u32,
        output_max: u32,
    },
    Image {
        width: u32,
        height: u32,
        count: Option<u32>,
    },
    Embedding {
        tokens: u32,
    },
    Rerank {
        doc_tokens: u32,
        query_tokens: u32,
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

// ---------------------------------------------------------------------------
// endpoints.<name>.tokenizer

/// `tokenizer = "org/model"`, `{ repo = "org/model", revision = "main" }` or `{ path = "tok/tokenizer.json" }`.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenizerValue(pub TokenizerSource);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenizerTable {
    repo: Option<String>,
    revision: Option<String>,
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

// ---------------------------------------------------------------------------
// grid.arrival

/// `arrival = "constant" | "poisson" | { gamma = 0.5 }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArrivalValue(pub Arrival);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GammaTable {
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

// ---------------------------------------------------------------------------
// scenarios.<name>.images

/// `images = "I(512,512,1)"` or `{ width = 512, height = 512, count = 1, format = "png", from_dataset = false }`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImagesValue(pub ImageSpec);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagesTable {
    width: Option<u32>,
    height: Option<u32>,
    count: Option<u32>,
    format: Option<ImageFormat>,
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
