//! Datasets: inline `[datasets.<name>]` tables and the config files they may name.
//! This is the one parser of dataset configs; `dataset_configs/` holds examples.
//!
//! `{ path = "dataset_configs/x.toml" }` reads a config file (relative to the
//! manifest's directory) with the same keys as an inline table:
//!
//! ```toml
//! description = "GSM8K test questions"            # free text, kept in raw_config
//! source = "aime"                                 # or "synthetic"
//! # source = { huggingface = "openai/gsm8k", config = "main", split = "test", revision = "..." }
//! # source = { file = "data/prompts.jsonl", format = "jsonl" }   # format optional: by suffix
//! prompt_column = "question"                      # default "text"
//! image_column = "image"                          # optional
//! messages_column = "conversations"               # optional: [{role, content}] lists
//! system_prompt = "You are a helpful assistant."  # optional
//! max_rows = 1000                                 # optional
//! delimiter = ";"                                 # CSV only; default "," ("\t" for .tsv)
//! ```
//!
//! A `.json` file is read in the original tool's format, unchanged:
//! `{"source": {"type": "huggingface", "path": "openai/gsm8k",
//! "huggingface_kwargs": {"name": "main", "split": "test"}}, "prompt_column": "question"}`
//! with `type` one of `huggingface`, `file` (the default), `aime` and
//! `synthetic`. Of the `huggingface_kwargs`, `name` (→ config), `split` (default
//! `train`) and `revision` are used; `trust_remote_code` and `streaming` are
//! accepted and ignored (tokenomics reads the Hub's Parquet conversion, which
//! needs neither). `file_format` and `description` are accepted and ignored, as
//! in the original.
//!
//! Relative data-file paths inside a config resolve against that config's
//! directory. Unknown keys are errors with a "did you mean" hint.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use figment::value::Value;
use serde::Deserialize;

use crate::vocab::name::{check_name, NameKind};
use crate::vocab::FileFormat;

use super::layers::{self, Layered};
use super::raw::{RawDataset, RawManifest};
use super::values::SourceValue;
use super::ManifestError;

/// One dataset, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetConfig {
    /// The name under `[datasets]` (or `aime` / `synthetic` for the built-ins).
    pub name: String,
    /// Where rows come from.
    pub source: SourceValue,
    /// Column with the prompt (`text` when unset).
    pub prompt_column: Option<String>,
    /// Column with images.
    pub image_column: Option<String>,
    /// System message before every request.
    pub system_prompt: Option<String>,
    /// Column with a chat-message list.
    pub messages_column: Option<String>,
    /// Most rows read.
    pub max_rows: Option<u64>,
    /// CSV field delimiter (None: `,`, or tab for `.tsv`).
    pub delimiter: Option<char>,
    /// Relative data paths resolve against this directory.
    pub base_dir: PathBuf,
    /// The config file, when the dataset was given as `{ path = ... }`.
    pub file: Option<PathBuf>,
    /// The config as written, copied into outputs.
    pub raw_config: serde_json::Value,
}

impl DatasetConfig {
    /// The built-in `aime` and `synthetic` datasets.
    #[must_use]
    pub fn builtin(name: &str, dir: &Path) -> Option<DatasetConfig> {
        let source = match name {
            "aime" => SourceValue::Aime,
            "synthetic" => SourceValue::Synthetic,
            _ => return None,
        };
        Some(DatasetConfig {
            name: name.to_owned(),
            source,
            prompt_column: None,
            image_column: None,
            system_prompt: None,
            messages_column: None,
            max_rows: None,
            delimiter: None,
            base_dir: dir.to_path_buf(),
            file: None,
            raw_config: serde_json::json!({ "source": name }),
        })
    }

    /// True when rows come from somewhere (not synthetic filler).
    #[must_use]
    pub fn has_rows(&self) -> bool {
        !matches!(self.source, SourceValue::Synthetic)
    }
}

/// Names of the built-in datasets.
pub const BUILTIN_DATASETS: [&str; 2] = ["aime", "synthetic"];

/// `base` joined with `p` (unless absolute), with `.` and `..` folded lexically.
#[must_use]
pub fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let mut out: Vec<Component> = Vec::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// The format of a data file from its extension.
#[must_use]
pub fn format_from_extension(path: &Path) -> Option<FileFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "csv" => FileFormat::Csv,
        "json" => FileFormat::Json,
        "jsonl" | "ndjson" => FileFormat::Jsonl,
        "txt" => FileFormat::Txt,
        "tsv" => FileFormat::Csv,
        "parquet" => FileFormat::Parquet,
        _ => return None,
    })
}

/// Reads every `[datasets.<name>]`, following `{ path = ... }` to config files.
pub(crate) fn load_all(
    manifest: &Path,
    dir: &Path,
    raw: &RawManifest,
    layered: &Layered,
) -> Result<BTreeMap<String, DatasetConfig>, ManifestError> {
    let mut out = BTreeMap::new();
    for (name, ds) in &raw.datasets {
        let key = format!("datasets.{}", super::diagnostic::toml_key(name));
        check_name(NameKind::Dataset, name).map_err(|e| {
            layered.annotate(ManifestError::new(
                manifest,
                Some(key.clone()),
                e.message,
                Some(e.hint.to_owned()),
            ))
        })?;
        let config = match &ds.path {
            Some(p) => {
                reject_with_path(manifest, &key, ds).map_err(|e| layered.annotate(e))?;
                let file = resolve_path(dir, p);
                if !file.is_file() {
                    return Err(layered.annotate(ManifestError::new(
                        manifest,
                        Some(format!("{key}.path")),
                        format!(
                            "dataset config `{}` not found (looked for {})",
                            p.display(),
                            file.display()
                        ),
                        Some("paths are relative to the manifest's directory".into()),
                    )));
                }
                load_file(name, &file)?
            }
            None => {
                let json = layered
                    .find(&key)
                    .and_then(|v| serde_json::to_value(v).ok())
                    .unwrap_or(serde_json::Value::Null);
                from_raw(manifest, &format!("{key}."), name, ds, dir, None, json)
                    .map_err(|e| layered.annotate(e))?
            }
        };
        out.insert(name.clone(), config);
    }
    Ok(out)
}

fn reject_with_path(file: &Path, key: &str, ds: &RawDataset) -> Result<(), ManifestError> {
    let others = [
        ("source", ds.source.is_some()),
        ("prompt_column", ds.prompt_column.is_some()),
        ("image_column", ds.image_column.is_some()),
        ("system_prompt", ds.system_prompt.is_some()),
        ("messages_column", ds.messages_column.is_some()),
        ("max_rows", ds.max_rows.is_some()),
        ("delimiter", ds.delimiter.is_some()),
        ("description", ds.description.is_some()),
    ];
    match others.iter().find(|(_, set)| *set) {
        Some((other, _)) => Err(ManifestError::new(
            file,
            Some(format!("{key}.{other}")),
            format!("`{other}` cannot be combined with `path`"),
            Some(
                "put it in the dataset config file, or drop `path` and define the dataset inline"
                    .into(),
            ),
        )),
        None => Ok(()),
    }
}

/// Reads one dataset config file on its own, named after its file stem: what a
/// manifest's `[datasets.<stem>] path = "..."` reads.
///
/// # Errors
/// A [`ManifestError`] naming the file, the key and the fix.
pub fn load_dataset_config(path: &Path) -> Result<DatasetConfig, ManifestError> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("dataset");
    load_file(name, path)
}

/// Reads a dataset config file (`.toml` in manifest syntax, `.json` in the original's).
fn load_file(name: &str, path: &Path) -> Result<DatasetConfig, ManifestError> {
    let text = layers::read_limited(path, "dataset config")?;
    let base = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("toml") => {
            let doc = Value::from(layers::parse_toml(path, &text)?);
            let ds: RawDataset = layers::extract_value(path, &doc)?;
            if ds.path.is_some() {
                return Err(ManifestError::new(
                    path,
                    Some("path".into()),
                    "a dataset config file cannot name another config file",
                    Some("describe the dataset here with `source = ...`".into()),
                ));
            }
            let json = serde_json::to_value(&doc).unwrap_or(serde_json::Value::Null);
            from_raw(path, "", name, &ds, &base, Some(path), json)
        }
        Some("json") => {
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                ManifestError::new(
                    path,
                    None,
                    format!(
                        "invalid JSON at line {}, column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                    None,
                )
            })?;
            if !json.is_object() {
                let found = match &json {
                    serde_json::Value::Null => "null",
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::Object(_) => "an object",
                };
                return Err(ManifestError::new(
                    path,
                    None,
                    format!("the top level of the dataset config is {found}, not a JSON object"),
                    Some(
                        "write an object, e.g. {\"source\": {\"type\": \"file\", \"path\": \"data.jsonl\"}, \"prompt_column\": \"text\"}"
                            .into(),
                    ),
                ));
            }
            let doc = Value::serialize(&json).map_err(|e| {
                ManifestError::new(
                    path,
                    None,
                    format!("cannot read the JSON: {}", e.kind),
                    None,
                )
            })?;
            let original: OriginalConfig = layers::extract_value(path, &doc)?;
            from_original(path, name, original, &base, json)
        }
        _ => Err(ManifestError::new(
            path,
            None,
            "unsupported dataset config format",
            Some(
                "dataset configs are .toml (manifest syntax) or .json (the original tool's format)"
                    .into(),
            ),
        )),
    }
}

/// Checks a dataset table; `prefix` is prepended to key paths (`datasets.x.` or empty).
fn from_raw(
    file: &Path,
    prefix: &str,
    name: &str,
    ds: &RawDataset,
    base: &Path,
    config_file: Option<&Path>,
    raw_config: serde_json::Value,
) -> Result<DatasetConfig, ManifestError> {
    let err = |k: &str, m: String, h: &str| {
        ManifestError::new(file, Some(format!("{prefix}{k}")), m, Some(h.to_owned()))
    };
    let Some(source) = ds.source.clone() else {
        return Err(err(
            "source",
            "missing required key `source`".into(),
            "set source = \"aime\", \"synthetic\", { huggingface = \"org/name\" } or { file = \"data/x.jsonl\" }; or name a config file with path = \"...\"",
        ));
    };
    if let SourceValue::File { path, format: None } = &source {
        if format_from_extension(path).is_none() {
            return Err(err(
                "source",
                format!("cannot tell the format of `{}` from its extension", path.display()),
                "use a .csv, .json, .jsonl, .txt or .parquet file, or add format = \"jsonl\" (csv, json, jsonl, txt, parquet)",
            ));
        }
    }
    for (k, v) in [
        ("prompt_column", &ds.prompt_column),
        ("image_column", &ds.image_column),
        ("messages_column", &ds.messages_column),
    ] {
        if v.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err(err(
                k,
                format!("`{k}` is empty"),
                "name a column of the dataset",
            ));
        }
    }
    if ds.max_rows == Some(0) {
        return Err(err(
            "max_rows",
            "`max_rows` must be at least 1".into(),
            "remove it to read every row",
        ));
    }
    let delimiter =
        match &ds.delimiter {
            None => None,
            Some(d) => {
                let csv = match &source {
                    SourceValue::File { path, format } => {
                        format.or_else(|| format_from_extension(path)) == Some(FileFormat::Csv)
                    }
                    _ => false,
                };
                if !csv {
                    return Err(err(
                    "delimiter",
                    "`delimiter` applies only to CSV files".into(),
                    "remove it, or point source at a .csv or .tsv file (or set format = \"csv\")",
                ));
                }
                let mut chars = d.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c.is_ascii() && !matches!(c, '"' | '\r' | '\n') => Some(c),
                    _ => return Err(err(
                        "delimiter",
                        "`delimiter` must be one ASCII character other than a quote or a line end"
                            .into(),
                        "e.g. delimiter = \";\" or delimiter = \"\\t\"",
                    )),
                }
            }
        };
    if ds.image_column.is_some()
        && !matches!(
            source,
            SourceValue::HuggingFace { .. } | SourceValue::File { .. }
        )
    {
        return Err(err(
            "image_column",
            "`image_column` needs a dataset with rows (a Hugging Face or file source)".into(),
            "remove image_column, or point source at a dataset with images",
        ));
    }
    Ok(DatasetConfig {
        name: name.to_owned(),
        source,
        prompt_column: ds.prompt_column.clone(),
        image_column: ds.image_column.clone(),
        system_prompt: ds.system_prompt.clone(),
        messages_column: ds.messages_column.clone(),
        max_rows: ds.max_rows,
        delimiter,
        base_dir: base.to_path_buf(),
        file: config_file.map(Path::to_path_buf),
        raw_config,
    })
}

/// The original tool's dataset config JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginalConfig {
    source: OriginalSource,
    prompt_column: Option<String>,
    image_column: Option<String>,
    description: Option<String>,
    /// Named in the original tool's README but never read by it: accepted and ignored.
    #[allow(dead_code)]
    file_format: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginalSource {
    #[serde(rename = "type")]
    kind: Option<String>,
    path: Option<String>,
    huggingface_kwargs: Option<OriginalHfKwargs>,
}

/// The `datasets.load_dataset` keyword arguments tokenomics understands.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OriginalHfKwargs {
    name: Option<String>,
    split: Option<String>,
    revision: Option<String>,
    /// Accepted and ignored: tokenomics reads the Parquet files and runs no dataset code.
    #[allow(dead_code)]
    trust_remote_code: Option<bool>,
    /// Accepted and ignored: rows are always read from the downloaded files.
    #[allow(dead_code)]
    streaming: Option<bool>,
}

fn from_original(
    file: &Path,
    name: &str,
    c: OriginalConfig,
    base: &Path,
    raw_config: serde_json::Value,
) -> Result<DatasetConfig, ManifestError> {
    let _ = c.description;
    let need_path = |kind: &str| {
        c.source.path.clone().ok_or_else(|| {
            ManifestError::new(
                file,
                Some("source.path".into()),
                format!("a `{kind}` source needs `path`"),
                Some(match kind {
                    "huggingface" => "set \"path\" to the dataset id, e.g. \"openai/gsm8k\"".into(),
                    _ => {
                        "set \"path\" to the data file, relative to this config's directory".into()
                    }
                }),
            )
        })
    };
    let kind = c.source.kind.as_deref().unwrap_or("file");
    if c.source.huggingface_kwargs.is_some() && kind != "huggingface" {
        return Err(ManifestError::new(
            file,
            Some("source.huggingface_kwargs".into()),
            format!("`huggingface_kwargs` applies only to \"type\": \"huggingface\" (this source is `{kind}`)"),
            Some("remove huggingface_kwargs".into()),
        ));
    }
    let source = match kind {
        "aime" => SourceValue::Aime,
        "synthetic" => SourceValue::Synthetic,
        "huggingface" => {
            let kw = c.source.huggingface_kwargs.as_ref();
            SourceValue::HuggingFace {
                repo: need_path("huggingface")?,
                config: kw.and_then(|k| k.name.clone()),
                split: kw.and_then(|k| k.split.clone()),
                revision: kw.and_then(|k| k.revision.clone()),
            }
        }
        "file" => {
            let path = PathBuf::from(need_path("file")?);
            if format_from_extension(&path).is_none() {
                return Err(ManifestError::new(
                    file,
                    Some("source.path".into()),
                    format!(
                        "cannot tell the format of `{}` from its extension",
                        path.display()
                    ),
                    Some("use a .csv, .json, .jsonl, .txt or .parquet file".into()),
                ));
            }
            SourceValue::File { path, format: None }
        }
        other => {
            return Err(ManifestError::new(
                file,
                Some("source.type".into()),
                format!("unknown source type `{other}`"),
                Some(crate::suggest::suggestion(
                    other,
                    &["huggingface", "file", "aime", "synthetic"],
                    "expected one of",
                )),
            ))
        }
    };
    let ds = RawDataset {
        path: None,
        source: Some(source),
        prompt_column: c.prompt_column,
        image_column: c.image_column,
        system_prompt: None,
        messages_column: None,
        max_rows: None,
        delimiter: None,
        description: None,
    };
    from_raw(file, "", name, &ds, base, Some(file), raw_config)
}
