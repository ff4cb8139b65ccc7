//! Turning deserialization errors into [`ManifestError`]s: key paths in manifest
//! syntax (`grid[0].mode`), plain-language messages and "did you mean" hints.

use std::path::Path;

use figment::error::{Actual, Kind};
use figment::value::Value;

use super::ManifestError;
use crate::suggest::suggestion;

/// Renders figment's key path in manifest syntax, using the document to tell
/// array indices (`[0]`) from table keys.
pub(crate) fn render_path(doc: &Value, path: &[String]) -> String {
    let mut out = String::new();
    let mut current = Some(doc);
    for seg in path {
        match current {
            Some(Value::Array(_, items)) => {
                out.push('[');
                out.push_str(seg);
                out.push(']');
                current = seg.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            other => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&toml_key(seg));
                current = other.and_then(Value::as_dict).and_then(|d| d.get(seg));
            }
        }
    }
    out
}

/// Plain-language name of a serde "expected" text.
fn expected(exp: &str) -> String {
    match exp {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a string" | "string" => "a string".into(),
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e if e.starts_with("enum ") => "one of the listed names".into(),
        e if e.starts_with("path string") => "a path string".into(),
        e => e.to_owned(),
    }
}

fn actual(a: &Actual) -> String {
    match a {
        Actual::Bool(b) => format!("boolean `{b}`"),
        Actual::Unsigned(v) => format!("integer `{v}`"),
        Actual::Signed(v) => format!("integer `{v}`"),
        Actual::Float(v) => format!("number `{v}`"),
        Actual::Char(c) => format!("string {:?}", c.to_string()),
        Actual::Str(s) => format!("string {s:?}"),
        Actual::Bytes(_) => "bytes".into(),
        Actual::Unit | Actual::Option => "nothing".into(),
        Actual::Seq => "an array".into(),
        Actual::Map => "a table".into(),
        other => other.to_string(),
    }
}

/// The fix for a value of the wrong type.
fn type_hint(found: &Actual, exp: &str, key: &str) -> String {
    let numeric = matches!(
        exp,
        "u8" | "u16"
            | "u32"
            | "u64"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "isize"
            | "f32"
            | "f64"
    );
    match found {
        Actual::Str(s) if numeric && s.trim().parse::<f64>().is_ok() => {
            format!("write the number without quotes: {}", s.trim())
        }
        Actual::Str(s) if exp == "a boolean" && matches!(s.trim(), "true" | "false") => {
            format!("write the boolean without quotes: {}", s.trim())
        }
        Actual::Map if exp == "a sequence" && key == "grid" => {
            "write every grid as its own [[grid]] table (double brackets)".to_owned()
        }
        Actual::Signed(v) if exp == "a sequence" => {
            format!("write a list, even of one value: [{v}]")
        }
        Actual::Unsigned(v) if exp == "a sequence" => {
            format!("write a list, even of one value: [{v}]")
        }
        Actual::Float(v) if exp == "a sequence" => {
            format!("write a list, even of one value: [{v}]")
        }
        Actual::Str(v) if exp == "a sequence" => {
            format!("write a list, even of one value: [{v:?}]")
        }
        _ => "experiments/reference.toml shows every key with a value of the right type".to_owned(),
    }
}

/// A key path segment in TOML syntax: bare when possible, else quoted.
pub(crate) fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        s.to_owned()
    } else {
        format!("{s:?}")
    }
}

/// Hints for required keys.
fn missing_hint(parent: &str, field: &str) -> Option<String> {
    let in_grid = parent.starts_with("grid[");
    let hint = match field {
        "experiment" => "add an [experiment] table with at least name = \"my-benchmark\"",
        "name" if parent == "experiment" => {
            "give the experiment a name, e.g. name = \"my-benchmark\"; it names the results directory"
        }
        "endpoints" if in_grid => "list the endpoints to run, e.g. endpoints = [\"vllm\"]",
        "scenarios" if in_grid => "list the scenarios to run, e.g. scenarios = [\"short\"]",
        "endpoints" => {
            "add an [endpoints.<name>] table with base_url = \"http://localhost:8000/v1\" and model = \"...\", or simulator = {}"
        }
        "scenarios" => "add a [scenarios.<name>] table with spec = \"D(512,128)\"",
        "grid" => "add a [[grid]] table with endpoints, scenarios and a mode",
        "spec" => "set spec = \"D(512,128)\" or another scenario string",
        "mode" => "set mode = \"burst\", \"concurrency\", \"rate\", \"ramp\", \"sweep\" or \"slo_search\"",
        "duration_s" => "give every stage a duration_s, e.g. { rate = 5, duration_s = 10 }",
        "strategy" => "set strategy = \"single\", \"uniform\", \"round_robin\", \"weighted\", \"zipf\", or the original tool's \"mixed\" or \"all-unique\"",
        "adapters" => "list the adapter names, e.g. adapters = [\"a\", \"b\"]",
        "tokens" => "set the shared prefix length, e.g. prefix = { tokens = 1000, groups = 4 }",
        "kind" => "set kind = \"deterministic\", \"normal\", \"uniform\", \"image\", \"embedding\" or \"rerank\"",
        _ => return None,
    };
    Some(hint.to_owned())
}

/// Converts the first of figment's errors into a [`ManifestError`] for `file`.
pub(crate) fn from_figment(file: &Path, err: &figment::Error, doc: &Value) -> ManifestError {
    let path = &err.path;
    let key_of = |p: &[String]| {
        let k = render_path(doc, p);
        (!k.is_empty()).then_some(k)
    };
    let with_child = |child: &str| {
        let mut p = path.clone();
        if p.last().map(String::as_str) != Some(child) {
            p.push(child.to_owned());
        }
        p
    };
    match &err.kind {
        Kind::UnknownField(field, valid) => {
            let hint = if valid.is_empty() {
                "this table takes no keys".to_owned()
            } else {
                suggestion(field, valid, "valid keys")
            };
            ManifestError::new(
                file,
                key_of(&with_child(field)),
                format!("unknown key `{field}`"),
                Some(hint),
            )
        }
        Kind::UnknownVariant(value, valid) => ManifestError::new(
            file,
            key_of(path),
            format!("unknown value `{value}`"),
            Some(suggestion(value, valid, "expected one of")),
        ),
        Kind::MissingField(field) => {
            let parent = render_path(doc, path);
            ManifestError::new(
                file,
                key_of(&with_child(field)),
                format!("missing required key `{field}`"),
                missing_hint(&parent, field),
            )
        }
        Kind::DuplicateField(field) => ManifestError::new(
            file,
            key_of(&with_child(field)),
            format!("key `{field}` is given twice"),
            Some("keep one of them".into()),
        ),
        Kind::InvalidType(found, exp) => {
            let key = key_of(path);
            let hint = type_hint(found, exp, key.as_deref().unwrap_or(""));
            ManifestError::new(
                file,
                key,
                format!("expected {}, found {}", expected(exp), actual(found)),
                Some(hint),
            )
        }
        Kind::InvalidValue(found, exp) => {
            let hint = matches!(found, Actual::Signed(v) if *v < 0)
                .then(|| "this value cannot be negative".to_owned());
            ManifestError::new(
                file,
                key_of(path),
                format!(
                    "invalid value {}: expected {}",
                    actual(found),
                    expected(exp)
                ),
                hint,
            )
        }
        Kind::InvalidLength(n, exp) => ManifestError::new(
            file,
            key_of(path),
            format!("expected {exp}, found {n} items"),
            None,
        ),
        Kind::Message(m) => {
            let hint = super::hint::take(m);
            ManifestError::new(file, key_of(path), m.clone(), hint)
        }
        other => ManifestError::new(file, key_of(path), other.to_string(), None),
    }
}
