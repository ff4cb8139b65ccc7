//! `tokenomics schema`: JSON Schemas of the manifest and of dataset config files.
//!
//! Both are generated from the types the loader deserializes into: the structs of
//! [`crate::manifest::raw`] (derived, so every `deny_unknown_fields` struct says
//! `additionalProperties: false` and every key's doc comment is its description)
//! and the shorthand values of [`crate::manifest::values`] (hand-written, one
//! `oneOf` branch per accepted form). The schemas are JSON Schema draft 07, the
//! dialect TOML language servers (taplo / Even Better TOML) read; the committed
//! copies in `schema/` are what the `#:schema` line at the top of every example
//! manifest and dataset config points at, and a test fails when they are stale.
//!
//! A schema describes keys, types, enum values and string shapes. The loader
//! checks more: cross-references (a grid's endpoints and scenarios, a scenario's
//! dataset, SLO metric names), ranges (at least 1, fractions in 0..1, token and
//! image limits), mode- and API-specific keys, path-safe names and files that
//! must exist. `tokenomics validate` is the full check.

use std::io::Write;

use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, RestrictFormats};
use schemars::{JsonSchema, Schema};
use serde_json::{json, Value};

use crate::cli::{SchemaArgs, SchemaKind};
use crate::error::{exit, Error};
use crate::manifest::raw::{RawDataset, RawManifest};

/// Where the committed manifest schema lives, relative to the repository root.
pub const MANIFEST_SCHEMA_PATH: &str = "schema/manifest.schema.json";

/// Where the committed dataset config schema lives, relative to the repository root.
pub const DATASET_CONFIG_SCHEMA_PATH: &str = "schema/dataset-config.schema.json";

impl SchemaKind {
    /// The committed file of this schema, relative to the repository root.
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            SchemaKind::Manifest => MANIFEST_SCHEMA_PATH,
            SchemaKind::DatasetConfig => DATASET_CONFIG_SCHEMA_PATH,
        }
    }
}

/// Draft 07 settings, tidied for TOML (see [`tidy`]), with only the `format`s
/// draft 07 defines (not Rust's `uint32` and the like). Subschemas are inlined:
/// editors then show each key's own description, and there is no `$ref` to follow.
fn settings() -> SchemaSettings {
    SchemaSettings::draft07()
        .with(|s| s.inline_subschemas = true)
        .with_transform(RecursiveTransform(tidy as fn(&mut Schema)))
        .with_transform(RestrictFormats::default())
}

/// Removes the `null` that `Option` adds (TOML has no null): from `type` lists,
/// `enum` lists and `anyOf` branches (a lone remaining branch is merged into the
/// key's schema, the key's description first). Joins the lines of a doc comment
/// wrapped in the source into one line of description (paragraphs stay).
fn tidy(schema: &mut Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::String(text)) = obj.get_mut("description") {
        *text = text
            .split("\n\n")
            .map(|para| {
                para.split('\n')
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if let Some(Value::Array(branches)) = obj.get_mut("anyOf") {
        branches.retain(|b| b != &json!({ "type": "null" }));
        if let [Value::Object(only)] = branches.as_slice() {
            let only = only.clone();
            obj.remove("anyOf");
            if only.contains_key("$ref") {
                obj.insert("allOf".into(), Value::Array(vec![Value::Object(only)]));
            } else {
                // The key's own description wins over its type's.
                for (k, v) in only {
                    obj.entry(k).or_insert(v);
                }
            }
        }
    }
}

fn root_for<T: JsonSchema>() -> Value {
    settings()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value()
}

/// The manifest schema (`tokenomics schema`).
#[must_use]
pub fn manifest_schema() -> Value {
    let mut schema = root_for::<RawManifest>();
    schema["title"] = json!("tokenomics experiment manifest");
    schema
}

/// The schema of a dataset config file (`tokenomics schema dataset-config`): the
/// keys of an inline `[datasets.<name>]` table without `path`, with `source` required.
#[must_use]
pub fn dataset_config_schema() -> Value {
    let mut schema = root_for::<RawDataset>();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("title".into(), json!("tokenomics dataset config"));
        obj.insert(
            "description".into(),
            json!("A dataset config file, named by a manifest's `[datasets.<name>] path = \"...\"`: the keys of an inline dataset table except `path`. Relative data paths resolve against this file's directory."),
        );
        obj.remove("anyOf");
        obj.insert("required".into(), json!(["source"]));
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            props.remove("path");
        }
    }
    schema
}

/// The schema of `kind`.
#[must_use]
pub fn schema(kind: SchemaKind) -> Value {
    match kind {
        SchemaKind::Manifest => manifest_schema(),
        SchemaKind::DatasetConfig => dataset_config_schema(),
    }
}

/// The schema of `kind` as the committed file holds it: pretty JSON and a newline.
#[must_use]
pub fn render(kind: SchemaKind) -> String {
    let mut text = serde_json::to_string_pretty(&schema(kind))
        .unwrap_or_else(|e| unreachable!("a JSON value always serializes: {e}"));
    text.push('\n');
    text
}

/// `tokenomics schema`: prints the schema on standard output.
///
/// # Errors
/// When standard output cannot be written.
pub fn run(args: &SchemaArgs) -> Result<i32, Error> {
    std::io::stdout()
        .lock()
        .write_all(render(args.kind).as_bytes())
        .map_err(|source| Error::Process {
            what: "writing the schema to standard output".into(),
            source,
        })?;
    Ok(exit::OK)
}
