//! Reading the manifest and layering it with figment: file, then `TOKENOMICS_*`
//! environment variables, then `--set` flags (see the parent module docs).

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use figment::value::{Dict, Map, Num, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::DeserializeOwned;

use super::diagnostic;
use super::{ManifestError, ENV_PREFIX, MAX_MANIFEST_BYTES};

/// Most segments in an override's key path (`--set a.b[0].c` has four). Deeper
/// paths cannot name a manifest key, and unbounded ones would exhaust the stack.
pub(crate) const MAX_KEY_SEGMENTS: usize = 64;

/// Reads a UTF-8 text file of at most [`MAX_MANIFEST_BYTES`]; `what` names it in errors.
pub(crate) fn read_limited(path: &Path, what: &str) -> Result<String, ManifestError> {
    let fail = |message: String, hint: &str| {
        ManifestError::new(path, None, message, Some(hint.to_owned()))
    };
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => fail(
            format!("cannot read the {what}: no such file"),
            "check the path; relative paths are resolved from the current directory",
        ),
        std::io::ErrorKind::PermissionDenied => fail(
            format!("cannot read the {what}: permission denied"),
            "make the file readable by the current user",
        ),
        _ => fail(
            format!("cannot read the {what}: {e}"),
            "check that the path names a readable file",
        ),
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(fail(
            format!("cannot read the {what}: it is a directory"),
            "name a .toml file, e.g. experiments/demo.toml",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            fail(
                format!("cannot read the {what}: {e}"),
                "check that the path names a readable file",
            )
        })?;
    check_size(path, what, bytes.len())?;
    String::from_utf8(bytes).map_err(|e| {
        fail(
            format!(
                "the {what} is not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ),
            "save the file as UTF-8",
        )
    })
}

/// Rejects a manifest or dataset config of `len` bytes when it is over
/// [`MAX_MANIFEST_BYTES`]; `what` names it in the error.
pub(crate) fn check_size(path: &Path, what: &str, len: usize) -> Result<(), ManifestError> {
    if len as u64 > MAX_MANIFEST_BYTES {
        return Err(ManifestError::new(
            path,
            None,
            format!("the {what} is larger than the 1 MiB limit"),
            Some(
                "manifests and dataset configs describe data; keep prompts and rows in dataset files"
                    .to_owned(),
            ),
        ));
    }
    Ok(())
}

/// Parses TOML text into a figment dictionary, with positioned syntax errors.
pub(crate) fn parse_toml(path: &Path, text: &str) -> Result<Dict, ManifestError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let (line, col, src) = match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                let src = line_excerpt(text.lines().nth(line - 1).unwrap_or(""), col);
                (line, col, src)
            }
            None => (0, 0, String::new()),
        };
        let message = e.message().trim().to_owned();
        let (message, hint) = if line > 0 {
            (
                format!("invalid TOML at line {line}, column {col}: {message}"),
                Some(format!("the line reads `{src}`")),
            )
        } else {
            (format!("invalid TOML: {message}"), None)
        };
        ManifestError::new(path, None, message, hint)
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| (k, toml_to_value(v)))
        .collect())
}

/// Characters of a line shown around an error's column.
const EXCERPT_CHARS: usize = 60;

/// The line an error is on, trimmed; a long line is cut to the
/// [`EXCERPT_CHARS`] characters on each side of column `col` (1-based), with
/// `…` where text was left out. Control characters show as spaces.
fn line_excerpt(line: &str, col: usize) -> String {
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let at = col.saturating_sub(1).min(chars.len());
    let start = at.saturating_sub(EXCERPT_CHARS);
    let end = (at + EXCERPT_CHARS).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    out.trim().to_owned()
}

/// Converts a TOML value into a figment value (datetimes become strings).
pub(crate) fn toml_to_value(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::from(b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::from(a.into_iter().map(toml_to_value).collect::<Vec<_>>()),
        toml::Value::Table(t) => Value::from(
            t.into_iter()
                .map(|(k, v)| (k, toml_to_value(v)))
                .collect::<Dict>(),
        ),
    }
}

/// Converts a figment value back to TOML (`None` for empty values).
fn value_to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::String(_, s) => toml::Value::String(s.clone()),
        Value::Char(_, c) => toml::Value::String(c.to_string()),
        Value::Bool(_, b) => toml::Value::Boolean(*b),
        Value::Num(_, n) => num_to_toml(*n),
        Value::Empty(..) => return None,
        Value::Dict(_, d) => toml::Value::Table(
            d.iter()
                .filter_map(|(k, v)| Some((k.clone(), value_to_toml(v)?)))
                .collect(),
        ),
        Value::Array(_, a) => toml::Value::Array(a.iter().filter_map(value_to_toml).collect()),
    })
}

fn num_to_toml(n: Num) -> toml::Value {
    let float = matches!(n, Num::F32(_) | Num::F64(_));
    match n.to_i128().and_then(|i| i64::try_from(i).ok()) {
        Some(i) if !float => toml::Value::Integer(i),
        _ => toml::Value::Float(n.to_f64().unwrap_or(f64::NAN)),
    }
}

/// Parses an override value: a TOML value, else the raw text as a string.
pub(crate) fn parse_override_value(raw: &str) -> Value {
    let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .filter(|t| t.len() == 1)
        .and_then(|mut t| t.remove("v"));
    match parsed {
        Some(v) => toml_to_value(v),
        None => Value::from(raw.to_owned()),
    }
}

/// One segment of an override key path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// A table key.
    Key(String),
    /// `[n]`: an array index.
    Index(usize),
    /// A bare number: an index into an array, else a table key.
    Number(usize),
}

/// Where an override came from.
#[derive(Clone, Debug)]
struct Override {
    /// `environment variable TOKENOMICS_X__Y` or `--set x.y=v`.
    origin: String,
    path: Vec<Segment>,
    value: Value,
    /// The key path as shown in errors, filled in when applied.
    shown: String,
}

fn parse_set_path(key: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && out.is_empty() {
            return None;
        }
        if !name.is_empty() {
            if name.bytes().all(|b| b.is_ascii_digit()) {
                out.push(Segment::Number(name.parse().ok()?));
            } else {
                out.push(Segment::Key(name.to_owned()));
            }
        } else if rest.is_empty() {
            return None;
        }
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let index = rest.get(1..close)?.parse().ok()?;
            out.push(Segment::Index(index));
            rest = rest.strip_prefix('[')?.get(close..)?;
        }
    }
    Some(out)
}

/// A figment provider for one layer: `value` nested under the dotted `key`.
struct Layer {
    name: String,
    key: Option<String>,
    value: Value,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let value = match &self.key {
            Some(key) => figment::util::nest(key, self.value.clone()),
            None => self.value.clone(),
        };
        let dict = value
            .into_dict()
            .ok_or_else(|| figment::Error::from(format!("{} is not a table", self.name)))?;
        let mut map = Map::new();
        map.insert(Profile::Default, dict);
        Ok(map)
    }
}

/// The merged manifest: the figment plus the overrides that went into it.
pub(crate) struct Layered {
    figment: Figment,
    merged: Value,
    overrides: Vec<Override>,
}

impl Layered {
    /// Layers the file `text`, the `TOKENOMICS_*` variables among `env` and the `--set` flags.
    pub(crate) fn build(
        path: &Path,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        sets: &[String],
    ) -> Result<Layered, ManifestError> {
        let file = parse_toml(path, text)?;
        let mut figment = Figment::new().merge(Layer {
            name: path.display().to_string(),
            key: None,
            value: Value::from(file),
        });
        let mut overrides = env_overrides(path, env)?;
        for set in sets {
            overrides.push(set_override(path, set)?);
        }
        for ov in &mut overrides {
            figment = apply(path, figment, ov)?;
        }
        let merged = merged_value(path, &figment)?;
        Ok(Layered {
            figment,
            merged,
            overrides,
        })
    }

    /// Deserializes the merged manifest.
    pub(crate) fn extract<T: DeserializeOwned>(&self, path: &Path) -> Result<T, ManifestError> {
        self.figment
            .extract::<T>()
            .map_err(|e| self.annotate(diagnostic::from_figment(path, &e, &self.merged)))
    }

    /// The merged value at a dotted path (`datasets.aime`), if any.
    pub(crate) fn find(&self, path: &str) -> Option<&Value> {
        self.merged.find_ref(path)
    }

    /// Adds "set by ..." to an error whose key an override touched.
    pub(crate) fn annotate(&self, mut err: ManifestError) -> ManifestError {
        let Some(key) = err.key.as_deref() else {
            return err;
        };
        let related = |a: &str, b: &str| {
            a == b || (a.starts_with(b) && matches!(a.as_bytes().get(b.len()), Some(b'.' | b'[')))
        };
        let origins: Vec<&str> = self
            .overrides
            .iter()
            .filter(|o| related(key, &o.shown) || related(&o.shown, key))
            .map(|o| o.origin.as_str())
            .collect();
        if let Some(last) = origins.last() {
            let note = format!("the value comes from {last}");
            err.hint = Some(match err.hint.take() {
                Some(h) => format!("{h} ({note})"),
                None => note,
            });
        }
        err
    }

    /// The merged manifest as TOML, sections in a fixed order.
    pub(crate) fn resolved_toml(&self) -> String {
        let mut out = String::new();
        let Some(dict) = self.merged.as_dict() else {
            return out;
        };
        let order = [
            "schema",
            "experiment",
            "endpoints",
            "datasets",
            "scenarios",
            "grid",
        ];
        let mut keys: Vec<&String> = dict
            .keys()
            .filter(|k| order.contains(&k.as_str()))
            .collect();
        keys.sort_by_key(|k| order.iter().position(|o| o == k));
        keys.extend(dict.keys().filter(|k| !order.contains(&k.as_str())));
        for key in keys {
            let Some(value) = dict.get(key).and_then(value_to_toml) else {
                continue;
            };
            let mut one = toml::Table::new();
            one.insert(key.clone(), value);
            match toml::to_string(&one) {
                Ok(s) => {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(&s);
                }
                Err(e) => {
                    let _ = writeln!(out, "# {key} could not be serialised: {e}");
                }
            }
        }
        out
    }
}

fn merged_value(path: &Path, figment: &Figment) -> Result<Value, ManifestError> {
    figment.find_value("").map_err(|e| {
        ManifestError::new(
            path,
            None,
            format!("cannot merge the manifest layers: {}", e.kind),
            None,
        )
    })
}

/// The `TOKENOMICS_A__B` variables among `env`, in name order.
fn env_overrides(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<Override>, ManifestError> {
    let mut out = Vec::new();
    for (name, value) in env {
        let Some(rest) = name
            .get(..ENV_PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(ENV_PREFIX))
            .map(|_| &name[ENV_PREFIX.len()..])
        else {
            continue;
        };
        if !rest.contains("__") {
            continue;
        }
        let rest = rest.to_ascii_lowercase();
        let mut segments = Vec::new();
        for part in rest.split("__") {
            if part.is_empty() {
                return Err(ManifestError::new(
                    path,
                    None,
                    format!("environment variable {name} has an empty key segment"),
                    Some("separate key-path segments with exactly two underscores, e.g. TOKENOMICS_EXPERIMENT__RUNS".into()),
                ));
            }
            segments.push(match part.parse::<usize>() {
                Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => Segment::Number(n),
                _ => Segment::Key(part.to_owned()),
            });
        }
        if segments.len() > MAX_KEY_SEGMENTS {
            return Err(ManifestError::new(
                path,
                None,
                format!(
                    "environment variable {}: the key path has more than {MAX_KEY_SEGMENTS} segments",
                    name.chars().take(80).collect::<String>()
                ),
                Some("name a manifest key, e.g. TOKENOMICS_EXPERIMENT__RUNS".into()),
            ));
        }
        out.push(Override {
            origin: format!("environment variable {name}"),
            path: segments,
            value: parse_override_value(&value),
            shown: String::new(),
        });
    }
    out.sort_by(|a, b| a.origin.cmp(&b.origin));
    Ok(out)
}

fn set_override(path: &Path, set: &str) -> Result<Override, ManifestError> {
    let bad = |message: String| {
        ManifestError::new(
            path,
            None,
            message,
            Some("write --set key.path=value, e.g. --set experiment.runs=1 or --set grid[0].batch_sizes=[1,2]".into()),
        )
    };
    let Some((key, value)) = set.split_once('=') else {
        return Err(bad(format!("`--set {set}` is not KEY=VALUE")));
    };
    let key = key.trim();
    let segments = parse_set_path(key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("`--set {key}=…`: `{key}` is not a key path")))?;
    if segments.len() > MAX_KEY_SEGMENTS {
        let shown: String = key.chars().take(80).collect();
        return Err(bad(format!(
            "`--set {shown}...`: the key path has more than {MAX_KEY_SEGMENTS} segments"
        )));
    }
    Ok(Override {
        // The key only: a rejected value may be a secret, and errors never echo it.
        origin: format!("--set {key}"),
        path: segments,
        value: parse_override_value(value.trim()),
        shown: String::new(),
    })
}

/// Merges one override into `figment`. Paths through an array replace that
/// whole array with a copy holding the new value.
fn apply(path: &Path, figment: Figment, ov: &mut Override) -> Result<Figment, ManifestError> {
    let merged = merged_value(path, &figment)?;
    let fail = |message: String| {
        ManifestError::new(
            path,
            None,
            format!("{}: {message}", ov.origin),
            Some("check the key path against the manifest; arrays are indexed from 0, e.g. grid[0].runs".into()),
        )
    };
    // Walk the merged document to the first array on the path, rendering the path as we go.
    let mut shown = String::new();
    let mut keys: Vec<String> = Vec::new();
    let mut current = Some(&merged);
    let mut array_at = None;
    for (i, seg) in ov.path.iter().enumerate() {
        match (current, seg) {
            (Some(Value::Array(..)), Segment::Index(_) | Segment::Number(_)) => {
                array_at = Some(i);
                break;
            }
            (Some(Value::Array(..)), Segment::Key(k)) => {
                return Err(fail(format!(
                    "`{}` is an array; index it with [n] instead of `.{k}`",
                    display_keys(&keys)
                )));
            }
            (_, Segment::Index(n)) => {
                return Err(fail(format!(
                    "`{}` is not an array, so [{n}] cannot index it",
                    display_keys(&keys)
                )));
            }
            (_, Segment::Key(k)) => {
                keys.push(k.clone());
                current = current.and_then(|v| v.as_dict()).and_then(|d| d.get(k));
            }
            (_, Segment::Number(n)) => {
                keys.push(n.to_string());
                current = current
                    .and_then(|v| v.as_dict())
                    .and_then(|d| d.get(&n.to_string()));
            }
        }
    }
    let layer = match array_at {
        None => {
            shown.push_str(&display_keys(&keys));
            Layer {
                name: ov.origin.clone(),
                key: Some(keys.join(".")),
                value: ov.value.clone(),
            }
        }
        Some(k) => {
            let mut array = current
                .cloned()
                .unwrap_or_else(|| Value::from(Vec::<Value>::new()));
            shown.push_str(&display_keys(&keys));
            set_in(&mut array, &ov.path[k..], ov.value.clone(), &mut shown).map_err(fail)?;
            if keys.is_empty() {
                return Err(fail("the top level is a table, not an array".into()));
            }
            Layer {
                name: ov.origin.clone(),
                key: Some(keys.join(".")),
                value: array,
            }
        }
    };
    ov.shown = shown;
    Ok(figment.merge(layer))
}

fn display_keys(keys: &[String]) -> String {
    keys.join(".")
}

/// Sets `value` at `path` inside `target`, creating tables as needed.
fn set_in(
    target: &mut Value,
    path: &[Segment],
    value: Value,
    shown: &mut String,
) -> Result<(), String> {
    let Some((seg, rest)) = path.split_first() else {
        *target = value;
        return Ok(());
    };
    match (target, seg) {
        (Value::Array(_, items), Segment::Index(n) | Segment::Number(n)) => {
            let len = items.len();
            let item = items.get_mut(*n).ok_or_else(|| {
                format!("`{shown}[{n}]` does not exist (the array has {len} items)")
            })?;
            let _ = write!(shown, "[{n}]");
            set_in(item, rest, value, shown)
        }
        (Value::Array(..), Segment::Key(k)) => Err(format!(
            "`{shown}` is an array; index it with [n] instead of `.{k}`"
        )),
        (Value::Dict(_, dict), Segment::Key(_) | Segment::Number(_)) => {
            let key = match seg {
                Segment::Key(k) => k.clone(),
                Segment::Number(n) | Segment::Index(n) => n.to_string(),
            };
            if !shown.is_empty() {
                shown.push('.');
            }
            shown.push_str(&key);
            let entry = dict.entry(key).or_insert_with(|| Value::from(Dict::new()));
            set_in(entry, rest, value, shown)
        }
        (_, Segment::Index(n)) => Err(format!(
            "`{shown}` is not an array, so [{n}] cannot index it"
        )),
        (other, Segment::Key(_) | Segment::Number(_)) => {
            *other = Value::from(Dict::new());
            set_in(other, path, value, shown)
        }
    }
}

/// Deserializes a standalone document (a dataset config file) with the same
/// error reporting as the manifest.
pub(crate) fn extract_value<T: DeserializeOwned>(
    file: &Path,
    doc: &Value,
) -> Result<T, ManifestError> {
    Figment::new()
        .merge(Layer {
            name: file.display().to_string(),
            key: None,
            value: doc.clone(),
        })
        .extract::<T>()
        .map_err(|e| diagnostic::from_figment(file, &e, doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_quote_at_most_a_window_of_a_long_line() {
        let long = format!("x = \"{}\" +", "a".repeat(900_000));
        let err = parse_toml(Path::new("m.toml"), &long).unwrap_err();
        let hint = err.hint.expect("hint");
        assert!(hint.chars().count() < 200, "{} chars", hint.chars().count());
        assert!(hint.contains('…'), "{hint}");
        assert_eq!(line_excerpt("  short = 1  ", 3), "short = 1");
        assert_eq!(
            line_excerpt(&"b".repeat(200), 1),
            format!("{}…", "b".repeat(60))
        );
    }
}
