//! Dataset configs: TOML files in `dataset_configs/`, inline manifest tables, and
//! the original tool's JSON format, all resolved to a [`DatasetSpec`].
//!
//! TOML form (file or inline table):
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
//! ```
//!
//! The original's JSON form is accepted unchanged:
//! `{"source": {"type": "huggingface", "path": "openai/gsm8k",
//! "huggingface_kwargs": {"name": "main", "split": "test"}}, "prompt_column": "question"}`
//! with `type` one of `huggingface`, `file` (the default) and `aime`. Of the
//! `huggingface_kwargs`, `name` (→ config), `split` (default `train`) and
//! `revision` are used; `trust_remote_code` and `streaming` are accepted and
//! ignored (tokenomics reads the Hub's Parquet conversion, which needs neither).
//! `file_format` is ignored, as in the original.
//!
//! File paths are relative to the config file's directory (for inline tables,
//! the manifest's). Unknown keys are errors with a "did you mean" hint.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::DatasetError;
use crate::plan::{DatasetSource, DatasetSpec};
use crate::vocab::FileFormat;

/// Top-level keys of a dataset config.
const TOP_KEYS: &[&str] = &[
    "source",
    "prompt_column",
    "image_column",
    "messages_column",
    "system_prompt",
    "max_rows",
    "description",
    "file_format",
];
const HF_KEYS: &[&str] = &["huggingface", "config", "split", "revision"];
const FILE_KEYS: &[&str] = &["file", "format"];
const ORIGINAL_SOURCE_KEYS: &[&str] = &["type", "path", "huggingface_kwargs"];
const HF_KWARGS: &[&str] = &[
    "name",
    "split",
    "revision",
    "trust_remote_code",
    "streaming",
];

/// Reads a dataset config of at most [`crate::manifest::MAX_MANIFEST_BYTES`] (1 MiB).
fn read_limited(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    let limit = crate::manifest::MAX_MANIFEST_BYTES;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read the dataset config: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the dataset config: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "the dataset config is larger than the {} MiB limit",
            limit >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "the dataset config is not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Loads a dataset config file: TOML (`.toml`) or the original's JSON (`.json`).
///
/// The dataset is named after the file stem.
///
/// # Errors
/// [`DatasetError::Config`] naming the file and the field.
pub fn load_dataset_config(path: &Path) -> Result<DatasetSpec, DatasetError> {
    let origin = path.display().to_string();
    let err = |message: String, hint: Option<String>| DatasetError::Config {
        origin: origin.clone(),
        field: None,
        message,
        hint,
    };
    let text = read_limited(path).map_err(|message| err(message, None))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let value: Value = match ext.as_deref() {
        Some("toml") => {
            let t: toml::Value =
                toml::from_str(&text).map_err(|e| err(format!("invalid TOML: {e}"), None))?;
            serde_json::to_value(t).map_err(|e| err(format!("unusable TOML value: {e}"), None))?
        }
        Some("json") => serde_json::from_str(&text).map_err(|e| {
            err(
                format!(
                    "invalid JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
                None,
            )
        })?,
        _ => {
            return Err(err(
                "unknown dataset config type".to_string(),
                Some("use a .toml file (or the original tool's .json format)".to_string()),
            ))
        }
    };
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("dataset")
        .to_string();
    let base = path.parent().unwrap_or(Path::new("."));
    spec_from_value(&name, &value, base, &origin)
}

/// Resolves an inline dataset table of a manifest (TOML or original form).
///
/// A string value is a shorthand: `"aime"` or `"synthetic"` for those sources,
/// or a path (ending in `.toml` or `.json`, relative to `base_dir`) to a config file.
///
/// # Errors
/// [`DatasetError::Config`] naming the dataset and the field.
pub fn dataset_spec_from_toml_value(
    name: &str,
    value: &toml::Value,
    base_dir: &Path,
) -> Result<DatasetSpec, DatasetError> {
    let origin = format!("dataset `{name}`");
    if let toml::Value::String(s) = value {
        let lower = s.to_ascii_lowercase();
        if lower.ends_with(".toml") || lower.ends_with(".json") {
            let mut spec = load_dataset_config(&base_dir.join(s))?;
            spec.name = name.to_string();
            return Ok(spec);
        }
        let table = serde_json::json!({ "source": s });
        return spec_from_value(name, &table, base_dir, &origin);
    }
    let json = serde_json::to_value(value).map_err(|e| DatasetError::Config {
        origin: origin.clone(),
        field: None,
        message: format!("unusable value: {e}"),
        hint: None,
    })?;
    spec_from_value(name, &json, base_dir, &origin)
}

/// The closest of `known` to `key`, when close enough to be a typo.
pub(crate) fn did_you_mean(key: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(s, _)| *s >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.to_string())
}

struct Ctx<'a> {
    origin: &'a str,
}

impl Ctx<'_> {
    fn err(&self, field: &str, message: impl Into<String>, hint: Option<String>) -> DatasetError {
        DatasetError::Config {
            origin: self.origin.to_string(),
            field: Some(field.to_string()),
            message: message.into(),
            hint,
        }
    }

    fn check_keys(
        &self,
        obj: &serde_json::Map<String, Value>,
        known: &[&str],
        prefix: &str,
    ) -> Result<(), DatasetError> {
        for k in obj.keys() {
            if !known.contains(&k.as_str()) {
                let hint = did_you_mean(k, known).map_or_else(
                    || format!("known keys: {}", known.join(", ")),
                    |s| format!("did you mean `{prefix}{s}`?"),
                );
                return Err(self.err(&format!("{prefix}{k}"), "unknown key", Some(hint)));
            }
        }
        Ok(())
    }

    fn string(&self, v: Option<&Value>, field: &str) -> Result<Option<String>, DatasetError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(
                field,
                format!("expected a string, found {}", kind(other)),
                None,
            )),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

fn spec_from_value(
    name: &str,
    value: &Value,
    base_dir: &Path,
    origin: &str,
) -> Result<DatasetSpec, DatasetError> {
    let cx = Ctx { origin };
    let Value::Object(obj) = value else {
        return Err(DatasetError::Config {
            origin: origin.to_string(),
            field: None,
            message: format!("a dataset config must be a table, found {}", kind(value)),
            hint: None,
        });
    };
    cx.check_keys(obj, TOP_KEYS, "")?;
    let source = match obj.get("source") {
        None => {
            return Err(cx.err(
                "source",
                "missing",
                Some(
                    "set source = \"aime\", \"synthetic\", { huggingface = \"org/name\", split = \"train\" } or { file = \"data/x.jsonl\" }"
                        .to_string(),
                ),
            ))
        }
        Some(v) => source_from_value(&cx, v, base_dir)?,
    };
    let default_column = if source == DatasetSource::Aime {
        "Question"
    } else {
        "text"
    };
    let prompt_column = cx
        .string(obj.get("prompt_column"), "prompt_column")?
        .unwrap_or_else(|| default_column.to_string());
    let max_rows = match obj.get("max_rows") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    cx.err(
                        "max_rows",
                        format!("expected a positive whole number, found {n}"),
                        None,
                    )
                })?,
        ),
        Some(other) => {
            return Err(cx.err(
                "max_rows",
                format!("expected a positive whole number, found {}", kind(other)),
                None,
            ))
        }
    };
    let _ = cx.string(obj.get("description"), "description")?;
    Ok(DatasetSpec {
        name: name.to_string(),
        source,
        prompt_column,
        image_column: cx.string(obj.get("image_column"), "image_column")?,
        system_prompt: cx.string(obj.get("system_prompt"), "system_prompt")?,
        messages_column: cx.string(obj.get("messages_column"), "messages_column")?,
        max_rows,
        raw_config: value.clone(),
    })
}

fn source_from_value(
    cx: &Ctx<'_>,
    v: &Value,
    base_dir: &Path,
) -> Result<DatasetSource, DatasetError> {
    match v {
        Value::String(s) => match s.as_str() {
            "aime" => Ok(DatasetSource::Aime),
            "synthetic" => Ok(DatasetSource::Synthetic),
            other => Err(cx.err(
                "source",
                format!("unknown source `{other}`"),
                Some(
                    "use \"aime\", \"synthetic\", { huggingface = \"org/name\" } or { file = \"path\" }"
                        .to_string(),
                ),
            )),
        },
        Value::Object(obj) => {
            if obj.contains_key("huggingface") {
                cx.check_keys(obj, HF_KEYS, "source.")?;
                let repo = cx
                    .string(obj.get("huggingface"), "source.huggingface")?
                    .unwrap_or_default();
                hf_source(
                    cx,
                    repo,
                    cx.string(obj.get("config"), "source.config")?,
                    cx.string(obj.get("split"), "source.split")?,
                    cx.string(obj.get("revision"), "source.revision")?,
                    "source.huggingface",
                )
            } else if obj.contains_key("file") {
                cx.check_keys(obj, FILE_KEYS, "source.")?;
                let path = cx.string(obj.get("file"), "source.file")?.unwrap_or_default();
                let format = cx.string(obj.get("format"), "source.format")?;
                file_source(cx, &path, format.as_deref(), base_dir, "source.file")
            } else {
                original_source(cx, obj, base_dir)
            }
        }
        other => Err(cx.err(
            "source",
            format!("expected a string or a table, found {}", kind(other)),
            None,
        )),
    }
}

/// The original tool's `{"type": ..., "path": ..., "huggingface_kwargs": {...}}`.
fn original_source(
    cx: &Ctx<'_>,
    obj: &serde_json::Map<String, Value>,
    base_dir: &Path,
) -> Result<DatasetSource, DatasetError> {
    cx.check_keys(obj, ORIGINAL_SOURCE_KEYS, "source.")?;
    let ty = cx
        .string(obj.get("type"), "source.type")?
        .unwrap_or_else(|| "file".to_string());
    match ty.as_str() {
        "aime" => Ok(DatasetSource::Aime),
        "file" => {
            let path = cx
                .string(obj.get("path"), "source.path")?
                .ok_or_else(|| cx.err("source.path", "missing (the file to read)", None))?;
            file_source(cx, &path, None, base_dir, "source.path")
        }
        "huggingface" => {
            let repo = cx
                .string(obj.get("path"), "source.path")?
                .unwrap_or_default();
            let (mut config, mut split, mut revision) = (None, None, None);
            match obj.get("huggingface_kwargs") {
                None | Some(Value::Null) => {}
                Some(Value::Object(kw)) => {
                    cx.check_keys(kw, HF_KWARGS, "source.huggingface_kwargs.")?;
                    config = cx.string(kw.get("name"), "source.huggingface_kwargs.name")?;
                    split = cx.string(kw.get("split"), "source.huggingface_kwargs.split")?;
                    revision =
                        cx.string(kw.get("revision"), "source.huggingface_kwargs.revision")?;
                }
                Some(other) => {
                    return Err(cx.err(
                        "source.huggingface_kwargs",
                        format!("expected a table, found {}", kind(other)),
                        None,
                    ))
                }
            }
            hf_source(cx, repo, config, split, revision, "source.path")
        }
        other => {
            let hint = did_you_mean(other, &["huggingface", "file", "aime"]).map_or_else(
                || "use huggingface, file or aime".to_string(),
                |s| format!("did you mean `{s}`?"),
            );
            Err(cx.err("source.type", format!("unknown type `{other}`"), Some(hint)))
        }
    }
}

fn hf_source(
    cx: &Ctx<'_>,
    repo: String,
    config: Option<String>,
    split: Option<String>,
    revision: Option<String>,
    repo_field: &str,
) -> Result<DatasetSource, DatasetError> {
    let parts: Vec<&str> = repo.split('/').collect();
    if repo.is_empty() || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(cx.err(
            repo_field,
            format!("`{repo}` is not a Hugging Face dataset id"),
            Some("write it as \"org/name\" (or \"name\" for canonical datasets)".to_string()),
        ));
    }
    Ok(DatasetSource::HuggingFace {
        repo,
        config,
        split: split.unwrap_or_else(|| "train".to_string()),
        revision,
    })
}

fn file_source(
    cx: &Ctx<'_>,
    path: &str,
    format: Option<&str>,
    base_dir: &Path,
    field: &str,
) -> Result<DatasetSource, DatasetError> {
    if path.is_empty() {
        return Err(cx.err(field, "the file path is empty", None));
    }
    let p = PathBuf::from(path);
    let resolved = if p.is_absolute() { p } else { base_dir.join(p) };
    let names = "csv, json, jsonl, txt or parquet";
    let format = match format {
        Some(f) => parse_format(f).ok_or_else(|| {
            cx.err(
                "source.format",
                format!("unknown format `{f}`"),
                Some(format!("use {names}")),
            )
        })?,
        None => resolved
            .extension()
            .and_then(|e| e.to_str())
            .and_then(parse_format)
            .ok_or_else(|| {
                cx.err(
                    field,
                    format!("cannot tell the format of `{path}` from its suffix"),
                    Some(format!(
                        "name it .csv/.json/.jsonl/.txt/.parquet or set format = {names}"
                    )),
                )
            })?,
    };
    Ok(DatasetSource::File {
        path: resolved,
        format,
    })
}

fn parse_format(s: &str) -> Option<FileFormat> {
    match s.to_ascii_lowercase().as_str() {
        "csv" => Some(FileFormat::Csv),
        "json" => Some(FileFormat::Json),
        "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
        "txt" | "text" => Some(FileFormat::Txt),
        "parquet" => Some(FileFormat::Parquet),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline(s: &str) -> Result<DatasetSpec, DatasetError> {
        let v: toml::Value = toml::from_str(s).unwrap();
        dataset_spec_from_toml_value("inl", &v, Path::new("/base"))
    }

    #[test]
    fn inline_tables_resolve() {
        let d = inline(
            "source = { huggingface = \"openai/gsm8k\", config = \"main\", split = \"test\" }\nprompt_column = \"question\"\nmax_rows = 5",
        )
        .unwrap();
        assert_eq!(
            d.source,
            DatasetSource::HuggingFace {
                repo: "openai/gsm8k".into(),
                config: Some("main".into()),
                split: "test".into(),
                revision: None
            }
        );
        assert_eq!(d.prompt_column, "question");
        assert_eq!(d.max_rows, Some(5));
        assert_eq!(d.name, "inl");

        let f = inline("source = { file = \"data/x.tsv\", format = \"csv\" }").unwrap();
        assert_eq!(
            f.source,
            DatasetSource::File {
                path: PathBuf::from("/base/data/x.tsv"),
                format: FileFormat::Csv
            }
        );
        let a = inline("source = \"aime\"").unwrap();
        assert_eq!(a.prompt_column, "Question");
        let s = dataset_spec_from_toml_value(
            "syn",
            &toml::Value::String("synthetic".into()),
            Path::new("."),
        )
        .unwrap();
        assert_eq!(s.source, DatasetSource::Synthetic);
    }

    #[test]
    fn errors_name_the_field_and_suggest() {
        let e = inline("source = \"aime\"\npromt_column = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("dataset `inl`"), "{e}");
        assert!(e.contains("promt_column"), "{e}");
        assert!(e.contains("did you mean `prompt_column`"), "{e}");

        let e = inline("source = { huggingface = \"a/b\", spilt = \"x\" }")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("source.spilt") && e.contains("source.split"),
            "{e}"
        );

        let e = inline("source = { file = \"x.weird\" }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("source.file") && e.contains("x.weird"), "{e}");

        let e = inline("source = \"aime\"\nmax_rows = -3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_rows"), "{e}");

        let e = inline("prompt_column = \"x\"").unwrap_err().to_string();
        assert!(e.contains("source") && e.contains("missing"), "{e}");

        let e = inline("source = { type = \"huggingfase\", path = \"a/b\" }")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("source.type") && e.contains("did you mean `huggingface`"),
            "{e}"
        );

        let e = inline("source = { huggingface = \"a/b/c\" }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a Hugging Face dataset id"), "{e}");
    }

    #[test]
    fn original_json_form_is_understood() {
        let v: toml::Value = toml::from_str(
            "prompt_column = \"instruction\"\n[source]\ntype = \"huggingface\"\npath = \"tatsu-lab/alpaca_eval\"\n[source.huggingface_kwargs]\nname = \"alpaca_eval\"\nsplit = \"eval\"\ntrust_remote_code = true",
        )
        .unwrap();
        let d = dataset_spec_from_toml_value("a", &v, Path::new(".")).unwrap();
        assert_eq!(
            d.source,
            DatasetSource::HuggingFace {
                repo: "tatsu-lab/alpaca_eval".into(),
                config: Some("alpaca_eval".into()),
                split: "eval".into(),
                revision: None
            }
        );
        let untyped: toml::Value = toml::from_str("[source]\npath = \"p.txt\"").unwrap();
        let d = dataset_spec_from_toml_value("u", &untyped, Path::new("/d")).unwrap();
        assert_eq!(
            d.source,
            DatasetSource::File {
                path: PathBuf::from("/d/p.txt"),
                format: FileFormat::Txt
            }
        );
    }

    #[test]
    fn config_files_over_the_size_limit_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.toml");
        let limit = usize::try_from(crate::manifest::MAX_MANIFEST_BYTES).unwrap();
        std::fs::write(&path, format!("# {}\n", "x".repeat(limit))).unwrap();
        let err = load_dataset_config(&path).unwrap_err().to_string();
        assert!(err.contains("huge.toml"), "{err}");
        assert!(err.contains("larger than the 1 MiB limit"), "{err}");
    }
}
