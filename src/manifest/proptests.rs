//! Property tests of manifest loading on bad input.
//!
//! Arbitrary text, TOML documents built from the manifest's own vocabulary
//! (known and unknown keys, values of every TOML type, `--set` flags and
//! `TOKENOMICS_*` variables) and arbitrary dataset config files go through
//! [`load_from_str`]. Loading never panics; it either yields a manifest that
//! loads again from its own resolved TOML and plans without panicking, or an
//! error naming the file and a location in it (a key path, a line and column,
//! or the flag or variable at fault).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::Index;
use toml::{Table, Value};

use super::*;

/// Where the generated manifests claim to live (nothing is read from there
/// except dataset config files the manifest names, which do not exist).
fn fake_path() -> PathBuf {
    PathBuf::from("proptest-no-such-dir/m.toml")
}

fn load_doc(
    path: &Path,
    text: &str,
    sets: &[String],
    env: &[(String, String)],
) -> Result<Manifest, ManifestError> {
    let opts = LoadOptions {
        overrides: sets.to_vec(),
    };
    load_from_str(path, text, &opts, env.iter().cloned())
}

/// True when the error says where the problem is: a key path, a position in
/// the TOML text, or the override that caused it.
fn names_a_location(e: &ManifestError) -> bool {
    e.key.as_deref().is_some_and(|k| !k.is_empty())
        || e.message.starts_with("invalid TOML at line ")
        || e.message.starts_with("invalid JSON at line ")
        || e.message.starts_with("`--set ")
        || e.message.starts_with("--set ")
        || e.message.starts_with("environment variable ")
        || e.message.starts_with("the top level of ")
}

/// The checks every load result must pass; returns the manifest when it loaded.
fn check_result(
    path: &Path,
    result: Result<Manifest, ManifestError>,
) -> Result<Option<Manifest>, TestCaseError> {
    match result {
        Ok(m) => {
            // The results directory is named after the experiment: never a path.
            let name = &m.raw.experiment.name;
            prop_assert!(
                !name.contains(['/', '\\']) && !name.starts_with('.') && !name.is_empty(),
                "experiment name {name:?} is not path-safe"
            );
            // The resolved manifest (written into the results) loads on its own.
            let again = load_doc(path, &m.resolved_toml, &[], &[]);
            prop_assert!(
                again.is_ok(),
                "resolved TOML does not load again: {:?}\n{}",
                again.err(),
                m.resolved_toml
            );
            // Planning a valid manifest never panics (errors are fine).
            let _ = crate::plan::build(&m, &crate::plan::PlanOptions::default());
            Ok(Some(m))
        }
        Err(e) => {
            // The manifest, or a dataset config file it names.
            prop_assert!(e.file == path || e.file.is_file(), "wrong file in {e:?}");
            prop_assert!(names_a_location(&e), "no location in: {e}");
            Ok(None)
        }
    }
}

// ---------------------------------------------------------------------------
// Generators.

/// Keys of the manifest and dataset configs, with near misses and unknown ones.
const KEYS: &[&str] = &[
    "schema",
    "experiment",
    "endpoints",
    "datasets",
    "scenarios",
    "grid",
    "name",
    "description",
    "seed",
    "runs",
    "warmup",
    "output_dir",
    "max_failure_rate",
    "max_points",
    "max_requests",
    "percentiles",
    "steady_state_threshold",
    "bucket_ms",
    "slo",
    "ttft_ms",
    "e2e_ms",
    "base_url",
    "simulator",
    "model",
    "api",
    "stream",
    "api_key_env",
    "timeout_s",
    "idle_timeout_s",
    "temperature",
    "n",
    "extra_body",
    "headers",
    "tokenizer",
    "health_path",
    "retries",
    "max",
    "backoff_ms",
    "malformed_events",
    "max_event_bytes",
    "metrics",
    "url",
    "interval_ms",
    "encoding_format",
    "embedding_dim",
    "path",
    "preconnect",
    "itl_ms",
    "batching",
    "max_batch",
    "faults",
    "http_500",
    "source",
    "file",
    "format",
    "huggingface",
    "split",
    "prompt_column",
    "image_column",
    "messages_column",
    "max_rows",
    "spec",
    "kind",
    "dataset",
    "max_tokens_cap",
    "images",
    "prefix",
    "tokens",
    "groups",
    "turns",
    "lora",
    "strategy",
    "adapters",
    "weights",
    "compat",
    "replay",
    "mode",
    "batch_sizes",
    "concurrency",
    "rates",
    "arrival",
    "requests",
    "duration_s",
    "max_concurrency",
    "stages",
    "rate",
    // Near misses and strangers.
    "batch_size",
    "Name",
    "bogus",
    "",
    " ",
    "a.b",
    "0",
    "é",
    "[x]",
];

/// String values: valid ones for various keys, and hostile ones.
const STRINGS: &[&str] = &[
    "",
    " ",
    "x",
    "t",
    "sim",
    "short",
    "synthetic",
    "aime",
    "burst",
    "concurrency",
    "rate",
    "ramp",
    "poisson",
    "chat",
    "embeddings",
    "rerank",
    "original",
    "D(128,64)",
    "U(32,256)/(16,64)",
    "N(100,10)/(50,5)",
    "I(64,64,1)",
    "E(16)",
    "D(",
    "D(0,0)",
    "D(4294967296,1)",
    "http://127.0.0.1:8000/v1",
    "https://[::1]:0/v1",
    "ftp://h",
    "http://u:p@h/v1",
    "data/x.jsonl",
    "../escape",
    "/etc/passwd",
    "a/b",
    "..",
    ".",
    "1",
    "-1",
    "nan",
    "1e999",
    "sk-secret",
    "line\nbreak",
    "nul\u{0}byte",
    "\u{feff}bom",
    "ünïcödé",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "\\PC{0,6}",
    ]
}

fn datetime() -> Value {
    "1979-05-27T07:32:00Z"
        .parse::<toml::value::Datetime>()
        .map_or_else(|_| Value::String("1979-05-27".into()), Value::Datetime)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(STRINGS).prop_map(|s| Value::String(s.to_owned())),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(2),
            Just(64),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(i64::from(u32::MAX) + 1),
            any::<i64>(),
        ]
        .prop_map(Value::Integer),
        prop_oneof![
            Just(0.0f64),
            Just(-0.0),
            Just(0.5),
            Just(1.5),
            Just(-2.5),
            Just(1e300),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            any::<f64>(),
        ]
        .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        Just(datetime()),
    ]
}

/// Any TOML value: leaves, arrays and tables keyed from [`KEYS`].
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

fn table(pairs: Vec<(&str, Value)>) -> Value {
    Value::Table(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

fn ints(v: &[i64]) -> Value {
    Value::Array(v.iter().map(|i| Value::Integer(*i)).collect())
}

fn names(v: &[String]) -> Value {
    Value::Array(v.iter().map(|n| s(n)).collect())
}

fn endpoint() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(table(vec![
            ("base_url", s("http://127.0.0.1:8000/v1")),
            ("model", s("m")),
        ])),
        Just(table(vec![("simulator", table(vec![]))])),
        (0i64..100, 0i64..20).prop_map(|(ttft, itl)| table(vec![(
            "simulator",
            table(vec![
                ("ttft_ms", Value::Integer(ttft)),
                ("itl_ms", Value::Integer(itl)),
            ]),
        )])),
    ]
}

fn scenario() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&["D(128,64)", "U(32,256)/(16,64)", "N(100,10)/(50,5)"][..]),
        prop::option::of(1i64..5),
    )
        .prop_map(|(spec, turns)| {
            let mut t = vec![("spec", s(spec))];
            if let Some(turns) = turns {
                t.push(("turns", Value::Integer(turns)));
            }
            table(t)
        })
}

fn load_keys() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
    prop_oneof![
        Just(vec![("mode", s("burst")), ("batch_sizes", ints(&[1, 2]))]),
        Just(vec![
            ("mode", s("concurrency")),
            ("concurrency", ints(&[1, 4])),
            ("requests", Value::Integer(8)),
        ]),
        Just(vec![
            ("mode", s("rate")),
            ("rates", Value::Array(vec![Value::Float(2.5)])),
            ("requests", Value::Integer(8)),
        ]),
    ]
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,7}"
}

/// A valid manifest, drawn from a small space of shapes.
fn valid_doc() -> impl Strategy<Value = Table> {
    (
        ident(),
        prop::option::of(1i64..4),
        prop::collection::btree_map(ident(), endpoint(), 1..3),
        prop::collection::btree_map(ident(), scenario(), 1..3),
    )
        .prop_flat_map(|(exp, runs, eps, scs)| {
            let ep_names: Vec<String> = eps.keys().cloned().collect();
            let sc_names: Vec<String> = scs.keys().cloned().collect();
            let grid = (
                prop::sample::subsequence(ep_names.clone(), 1..=ep_names.len()),
                prop::sample::subsequence(sc_names.clone(), 1..=sc_names.len()),
                load_keys(),
            );
            (
                Just((exp, runs, eps, scs)),
                prop::collection::vec(grid, 1..3),
            )
        })
        .prop_map(|((exp, runs, eps, scs), grids)| {
            let mut experiment = vec![("name", s(&exp))];
            if let Some(r) = runs {
                experiment.push(("runs", Value::Integer(r)));
            }
            let grid = grids
                .into_iter()
                .map(|(e, sc, load)| {
                    let mut g = vec![("endpoints", names(&e)), ("scenarios", names(&sc))];
                    g.extend(load);
                    table(g)
                })
                .collect();
            let mut doc = Table::new();
            doc.insert("schema".into(), Value::Integer(1));
            doc.insert("experiment".into(), table(experiment));
            doc.insert("endpoints".into(), Value::Table(eps.into_iter().collect()));
            doc.insert("scenarios".into(), Value::Table(scs.into_iter().collect()));
            doc.insert("grid".into(), Value::Array(grid));
            doc
        })
}

/// One step of a path into a TOML document.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path as the loader renders it in errors: `grid[0].mode`.
fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&super::diagnostic::toml_key(k));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Paths of every table (`tables`) and every non-table value (`leaves`).
fn walk(v: &Value, path: &mut Vec<Step>, tables: &mut Vec<Vec<Step>>, leaves: &mut Vec<Vec<Step>>) {
    match v {
        Value::Table(t) => {
            tables.push(path.clone());
            for (k, child) in t {
                path.push(Step::Key(k.clone()));
                walk(child, path, tables, leaves);
                path.pop();
            }
        }
        Value::Array(items) if items.iter().all(Value::is_table) && !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                path.push(Step::Index(i));
                walk(child, path, tables, leaves);
                path.pop();
            }
        }
        _ => leaves.push(path.clone()),
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v);
    };
    let child = match (v, first) {
        (Value::Table(t), Step::Key(k)) => t.get_mut(k)?,
        (Value::Array(a), Step::Index(i)) => a.get_mut(*i)?,
        _ => return None,
    };
    at_mut(child, rest)
}

/// A change to a document.
#[derive(Clone, Debug)]
enum Mutation {
    /// Insert (or overwrite) `key` in a table.
    Insert(Index, String, Value),
    /// Replace a non-table value.
    Replace(Index, Value),
    /// Remove a key from a table.
    Remove(Index, Index),
    /// Replace a whole table with another value.
    ReplaceTable(Index, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), key(), value()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        (any::<Index>(), value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::Remove(i, j)),
        (any::<Index>(), value()).prop_map(|(i, v)| Mutation::ReplaceTable(i, v)),
    ]
}

fn pick<'a>(i: &Index, paths: &'a [Vec<Step>]) -> &'a [Step] {
    i.get(paths).as_slice()
}

fn apply(doc: Table, m: &Mutation) -> Table {
    let mut root = Value::Table(doc);
    let (mut tables, mut leaves) = (Vec::new(), Vec::new());
    walk(&root, &mut Vec::new(), &mut tables, &mut leaves);
    match m {
        Mutation::Insert(i, k, v) => {
            if let Some(Value::Table(t)) = at_mut(&mut root, pick(i, &tables)) {
                t.insert(k.clone(), v.clone());
            }
        }
        Mutation::Replace(i, v) => {
            if !leaves.is_empty() {
                if let Some(slot) = at_mut(&mut root, pick(i, &leaves)) {
                    *slot = v.clone();
                }
            }
        }
        Mutation::Remove(i, j) => {
            if let Some(Value::Table(t)) = at_mut(&mut root, pick(i, &tables)) {
                let keys: Vec<String> = t.keys().cloned().collect();
                if !keys.is_empty() {
                    t.remove(j.get(&keys));
                }
            }
        }
        Mutation::ReplaceTable(i, v) => {
            let path = pick(i, &tables);
            // The root stays a table (TOML documents are tables).
            if !path.is_empty() {
                if let Some(slot) = at_mut(&mut root, path) {
                    *slot = v.clone();
                }
            }
        }
    }
    match root {
        Value::Table(t) => t,
        _ => Table::new(),
    }
}

/// A path as written after `--set`: `grid[0].mode`, `endpoints.sim.model`.
fn set_key(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Values as typed after `--set key=`.
fn set_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "1",
                "0",
                "-1",
                "2.5",
                "true",
                "[1,2]",
                "[]",
                "{}",
                "{ x = 1 }",
                "\"q\"",
                "[",
                "nan",
                "inf",
                "1e999",
                "99999999999999999999",
                "burst",
                "D(8,8)",
                "http://127.0.0.1:9/v1",
                "\"\"",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        prop::sample::select(STRINGS).prop_map(str::to_owned),
        "\\PC{0,8}",
    ]
}

/// `--set` flags: key paths from [`KEYS`] with indices, values as typed on a command line.
fn set_flag() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => (prop::sample::select(&["grid", "percentiles", "stages", "batch_sizes"][..]), 0usize..3)
            .prop_map(|(k, i)| format!("{k}[{i}]")),
        1 => (0usize..3).prop_map(|i| i.to_string()),
    ];
    prop_oneof![
        8 => (prop::collection::vec(segment, 1..4), set_value())
            .prop_map(|(segs, v)| format!("{}={v}", segs.join("."))),
        1 => "\\PC{0,16}",
    ]
}

/// `TOKENOMICS_*` variables (and a few others that must be ignored).
fn env_var() -> impl Strategy<Value = (String, String)> {
    let segment = prop_oneof![
        prop::sample::select(KEYS).prop_map(str::to_ascii_uppercase),
        (0usize..3).prop_map(|i| i.to_string()),
        Just(String::new()),
    ];
    (
        prop::collection::vec(segment, 1..4),
        prop::sample::select(&["TOKENOMICS_", "tokenomics_", "OTHER_", "TOKENOMICS"][..]),
        prop::sample::select(STRINGS),
    )
        .prop_map(|(segs, prefix, v)| (format!("{prefix}{}", segs.join("__")), v.to_owned()))
}

fn to_text(doc: &Table) -> String {
    toml::to_string(doc).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Dataset config files.

/// JSON in the shape of the original tool's dataset configs, with wrong types.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let json_keys = prop::sample::select(
        &[
            "source",
            "type",
            "path",
            "huggingface_kwargs",
            "name",
            "split",
            "revision",
            "trust_remote_code",
            "streaming",
            "prompt_column",
            "image_column",
            "description",
            "file_format",
            "bogus",
        ][..],
    )
    .prop_map(str::to_owned);
    let json_leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        prop::sample::select(
            &[
                "huggingface",
                "file",
                "aime",
                "synthetic",
                "openai/gsm8k",
                "data.jsonl",
                "data.xyz",
                "",
                "question",
            ][..]
        )
        .prop_map(serde_json::Value::from),
        "\\PC{0,8}".prop_map(serde_json::Value::from),
    ];
    json_leaf.prop_recursive(3, 20, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(json_keys.clone(), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The text of a dataset config file.
#[derive(Clone, Debug)]
enum ConfigFile {
    Json(String),
    Toml(String),
}

fn config_file() -> impl Strategy<Value = ConfigFile> {
    prop_oneof![
        json_value().prop_map(|v| ConfigFile::Json(v.to_string())),
        "\\PC{0,40}".prop_map(ConfigFile::Json),
        prop::collection::btree_map(key(), value(), 0..4)
            .prop_map(|m| ConfigFile::Toml(to_text(&m.into_iter().collect()))),
        "\\PC{0,40}".prop_map(ConfigFile::Toml),
    ]
}

const WITH_DATASET: &str = r#"
[experiment]
name = "t"

[endpoints.sim]
simulator = {}

[datasets.d]
path = "PATH"

[scenarios.short]
spec = "D(128,64)"
dataset = "d"

[[grid]]
endpoints = ["sim"]
scenarios = ["short"]
mode = "burst"
batch_sizes = [1]
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let path = fake_path();
        check_result(&path, load_doc(&path, &text, &[], &[]))?;
    }

    #[test]
    fn toml_like_text_never_panics(
        text in "([\\[\\]a-z_.=\"0-9 ]{0,20}\n){0,8}",
    ) {
        let path = fake_path();
        check_result(&path, load_doc(&path, &text, &[], &[]))?;
    }

    #[test]
    fn generated_valid_manifests_load(doc in valid_doc()) {
        let path = fake_path();
        let loaded = load_doc(&path, &to_text(&doc), &[], &[]);
        prop_assert!(loaded.is_ok(), "{:?}\n{}", loaded.err(), to_text(&doc));
        check_result(&path, loaded)?;
    }

    #[test]
    fn mutated_manifests_load_or_name_the_key(
        doc in valid_doc(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let doc = mutations.iter().fold(doc, apply);
        let path = fake_path();
        check_result(&path, load_doc(&path, &to_text(&doc), &[], &[]))?;
    }

    /// `--set` flags on keys the manifest has (and some it lacks), and variables.
    #[test]
    fn overrides_load_or_name_the_key(
        doc in valid_doc(),
        on_doc in prop::collection::vec((any::<Index>(), set_value()), 0..3),
        sets in prop::collection::vec(set_flag(), 0..2),
        env in prop::collection::vec(env_var(), 0..2),
    ) {
        let (mut tables, mut leaves) = (Vec::new(), Vec::new());
        walk(&Value::Table(doc.clone()), &mut Vec::new(), &mut tables, &mut leaves);
        let mut all: Vec<String> = on_doc
            .iter()
            .map(|(i, v)| format!("{}={v}", set_key(pick(i, &leaves))))
            .collect();
        all.extend(sets);
        let path = fake_path();
        check_result(&path, load_doc(&path, &to_text(&doc), &all, &env))?;
    }

    #[test]
    fn random_documents_load_or_name_the_key(
        doc in prop::collection::btree_map(key(), value(), 0..6),
        sets in prop::collection::vec(set_flag(), 0..2),
    ) {
        let doc: Table = doc.into_iter().collect();
        let path = fake_path();
        check_result(&path, load_doc(&path, &to_text(&doc), &sets, &[]))?;
    }

    /// An unknown key anywhere is reported at exactly its key path.
    #[test]
    fn unknown_keys_are_reported_at_their_path(
        doc in valid_doc(),
        at in any::<Index>(),
        stranger in prop::sample::select(&["bogus", "batch_size", "Name", "a b", "é"][..]),
        v in leaf(),
    ) {
        let mut root = Value::Table(doc);
        let (mut tables, mut leaves) = (Vec::new(), Vec::new());
        walk(&root, &mut Vec::new(), &mut tables, &mut leaves);
        // Tables that are maps of user-chosen names accept any key; skip those.
        let named_maps = ["endpoints", "scenarios", "datasets"];
        let fixed: Vec<Vec<Step>> = tables
            .into_iter()
            .filter(|p| !(p.len() == 1 && matches!(&p[0], Step::Key(k) if named_maps.contains(&k.as_str()))))
            .collect();
        let mut path = pick(&at, &fixed).to_vec();
        if let Some(Value::Table(t)) = at_mut(&mut root, &path) {
            t.insert(stranger.to_owned(), v);
        }
        path.push(Step::Key(stranger.to_owned()));
        let Value::Table(doc) = root else { unreachable!() };
        let file = fake_path();
        let err = load_doc(&file, &to_text(&doc), &[], &[]).expect_err("an unknown key");
        let expected = render(&path);
        prop_assert_eq!(err.key.as_deref(), Some(expected.as_str()), "{}", err);
        prop_assert!(err.message.contains("unknown key"), "{}", err);
    }

    /// A value of the wrong type is reported at (or inside) its key path.
    #[test]
    fn wrong_types_are_reported_at_their_path(
        doc in valid_doc(),
        which in prop::sample::select(&[
            "experiment.name",
            "schema",
            "grid[0].mode",
            "grid[0].endpoints",
            "grid[0].scenarios",
        ][..]),
        bad in prop_oneof![
            Just(Value::Boolean(true)),
            Just(Value::Float(0.5)),
            Just(table(vec![("x", Value::Integer(1))])),
            Just(datetime()),
        ],
    ) {
        let path: Vec<Step> = match which {
            "experiment.name" => vec![Step::Key("experiment".into()), Step::Key("name".into())],
            "schema" => vec![Step::Key("schema".into())],
            other => {
                let field = other.trim_start_matches("grid[0].");
                vec![Step::Key("grid".into()), Step::Index(0), Step::Key(field.into())]
            }
        };
        let mut root = Value::Table(doc);
        if let Some(slot) = at_mut(&mut root, &path) {
            *slot = bad;
        }
        let Value::Table(doc) = root else { unreachable!() };
        let file = fake_path();
        let err = load_doc(&file, &to_text(&doc), &[], &[]).expect_err("a wrong type");
        let key = err.key.clone().unwrap_or_default();
        prop_assert!(key.starts_with(which), "expected the error at {which}, got {err}");
    }

    /// Dataset config files (the original's JSON, or TOML) of any shape.
    #[test]
    fn dataset_config_files_load_or_name_the_key(file in config_file()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (name, text) = match &file {
            ConfigFile::Json(t) => ("d.json", t),
            ConfigFile::Toml(t) => ("d.toml", t),
        };
        std::fs::write(dir.path().join(name), text).expect("write config");
        let path = dir.path().join("m.toml");
        let manifest = WITH_DATASET.replace("PATH", name);
        match load_doc(&path, &manifest, &[], &[]) {
            Ok(m) => {
                let d = m.datasets.get("d").expect("dataset d");
                let expected = dir.path().join(name);
                prop_assert_eq!(d.file.as_deref(), Some(expected.as_path()));
            }
            Err(e) => {
                prop_assert!(
                    e.file == path || e.file == dir.path().join(name),
                    "error names {} instead of the manifest or the config", e.file.display()
                );
                prop_assert!(names_a_location(&e), "no location in: {}", e);
            }
        }
    }
}

#[test]
fn text_over_the_size_limit_names_the_file() {
    let path = Path::new("experiments/huge.toml");
    let limit = usize::try_from(MAX_MANIFEST_BYTES).expect("fits");
    let text = format!("# {}\n", "x".repeat(limit));
    let err = load_from_str(path, &text, &LoadOptions::default(), Vec::new())
        .expect_err("over the limit");
    assert_eq!(err.file, path);
    assert!(
        err.to_string()
            .starts_with("experiments/huge.toml: the manifest is larger than the 1 MiB limit"),
        "{err}"
    );
}

#[test]
fn dataset_config_over_the_size_limit_names_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limit = usize::try_from(MAX_MANIFEST_BYTES).expect("fits");
    let config = dir.path().join("d.toml");
    std::fs::write(&config, format!("# {}\n", "x".repeat(limit))).expect("write");
    let path = dir.path().join("m.toml");
    let err = load_from_str(
        &path,
        &WITH_DATASET.replace("PATH", "d.toml"),
        &LoadOptions::default(),
        Vec::new(),
    )
    .expect_err("over the limit");
    assert_eq!(err.file, config);
    assert!(
        err.message
            .contains("dataset config is larger than the 1 MiB limit"),
        "{err}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let path = fake_path();
    let load = |text: &str, sets: Vec<String>| {
        load_from_str(&path, text, &LoadOptions { overrides: sets }, Vec::new())
            .expect_err("rejected")
    };
    for depth in [100, 100_000] {
        let arrays = format!("a = {}1{}", "[".repeat(depth), "]".repeat(depth));
        let tables = format!("a = {}1{}", "{b=".repeat(depth), "}".repeat(depth));
        let dotted = format!("{} = 1", vec!["a"; depth].join("."));
        for text in [arrays, tables, dotted] {
            let e = load(&text, Vec::new());
            assert!(e.message.contains("recursion limit"), "{e}");
        }
        let e = load("", vec![format!("{}=1", vec!["a"; depth].join("."))]);
        assert!(e.message.contains("more than 64 segments"), "{e}");
        let e = load_from_str(
            &path,
            "",
            &LoadOptions::default(),
            vec![(
                format!("TOKENOMICS_{}", vec!["A"; depth].join("__")),
                "1".into(),
            )],
        )
        .expect_err("rejected");
        assert!(e.message.contains("more than 64 segments"), "{e}");
    }
}
