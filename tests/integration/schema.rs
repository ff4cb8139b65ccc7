//! The JSON Schemas (`tokenomics schema`) against the files and the loader:
//! the committed `schema/*.json` are what the code generates; every example
//! manifest and dataset config carries the `#:schema` line and validates; and
//! on invalid manifests the schema and the loader agree where a schema can
//! speak.
//!
//! What only the loader catches — a schema describes keys, types, enum values
//! and string shapes, not relations or arithmetic:
//! - cross-references: a grid's endpoints and scenarios, a scenario's dataset,
//!   SLO metric names (the schema lets any `experiment.slo` key through);
//! - ranges: counts of at least 1, fractions in 0..1, percentiles in (0, 100],
//!   positive bounds and burstiness, `min ≤ max` in `U(...)`, token, image and
//!   document limits, distinct load values;
//! - mode- and API-specific keys: which load key a grid's mode needs, `stream`
//!   or `ignore_eos` on pooling APIs, a scenario shape the endpoint's API cannot send;
//! - path-safe names (endpoint, scenario, dataset and experiment names);
//! - files: a dataset config named by `path` must exist and parse;
//! - the forms a value's own parser rejects after its shape matched: a
//!   tokenizer id that looks like a file, `delimiter` on a non-CSV source.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenomics::cli::SchemaKind;
use tokenomics::manifest::{self, LoadOptions};
use tokenomics::plan::{self, PlanOptions};

use crate::common::{bin, repo};

fn validator(kind: SchemaKind) -> jsonschema::Validator {
    jsonschema::draft7::new(&tokenomics::schema::schema(kind)).expect("the schema compiles")
}

/// The TOML file as the JSON value a TOML language server validates.
fn toml_to_json(text: &str) -> Result<Value, String> {
    let doc: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
    serde_json::to_value(doc).map_err(|e| e.to_string())
}

/// Schema errors of `text`, one `path: message` each; a TOML error is one too.
fn schema_errors(v: &jsonschema::Validator, text: &str) -> Vec<String> {
    match toml_to_json(text) {
        Ok(json) => v
            .iter_errors(&json)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect(),
        Err(e) => vec![format!("TOML: {e}")],
    }
}

/// What `tokenomics validate` does: load, then plan.
fn loader_verdict(path: &Path, text: &str) -> Result<(), String> {
    let m = manifest::load_from_str(path, text, &LoadOptions::default(), std::iter::empty())
        .map_err(|e| e.to_string())?;
    plan::build(&m, &PlanOptions::default()).map_err(|e| e.to_string())?;
    Ok(())
}

fn tomls(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn committed_schemas_are_what_the_code_generates() {
    for kind in [SchemaKind::Manifest, SchemaKind::DatasetConfig] {
        let file = repo().join(kind.path());
        let fresh = tokenomics::schema::render(kind);
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        if committed != fresh && std::env::var_os("TOKENOMICS_UPDATE_SCHEMAS").is_some() {
            std::fs::write(&file, &fresh).expect("write the schema");
            continue;
        }
        assert!(
            committed == fresh,
            "{} is stale: regenerate it with `cargo run -- schema {} > {}` \
             (or run this test with TOKENOMICS_UPDATE_SCHEMAS=1)",
            kind.path(),
            match kind {
                SchemaKind::Manifest => "manifest",
                SchemaKind::DatasetConfig => "dataset-config",
            },
            kind.path()
        );
    }
}

#[test]
fn the_schema_command_prints_the_committed_files() {
    for (arg, kind) in [
        (None, SchemaKind::Manifest),
        (Some("manifest"), SchemaKind::Manifest),
        (Some("dataset-config"), SchemaKind::DatasetConfig),
    ] {
        let mut cmd = bin();
        cmd.arg("schema");
        if let Some(a) = arg {
            cmd.arg(a);
        }
        let out = cmd.assert().success().get_output().stdout.clone();
        let committed = std::fs::read(repo().join(kind.path())).expect("committed schema");
        assert!(
            out == committed,
            "`tokenomics schema {arg:?}` differs from {}",
            kind.path()
        );
    }
}

/// Every subschema of `schema` that lists `properties` (a table), with its JSON pointer.
fn tables<'a>(schema: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") {
                out.push((at.clone(), schema));
            }
            for (k, v) in map {
                tables(v, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                tables(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_schemas_describe_the_structs_the_loader_reads() {
    let m = tokenomics::schema::manifest_schema();
    // Every table is deny_unknown_fields in the loader: no unknown key passes.
    let mut found = Vec::new();
    tables(&m, String::new(), &mut found);
    assert!(found.len() >= 20, "only {} tables", found.len());
    for (at, table) in &found {
        assert_eq!(
            table["additionalProperties"],
            Value::Bool(false),
            "the table at {at} admits unknown keys"
        );
    }
    // Doc comments are descriptions: of keys, of tables and of enum values.
    let endpoint = m
        .pointer("/properties/endpoints/additionalProperties")
        .unwrap();
    assert!(endpoint["properties"]["ignore_eos"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("ignore_eos")));
    let mode = m.pointer("/properties/grid/items/properties/mode").unwrap();
    let modes = mode["oneOf"].as_array().expect("mode values");
    assert_eq!(modes.len(), 6);
    assert!(modes.iter().all(|v| v["description"].is_string()));
    for (at, table) in &found {
        for (key, prop) in table["properties"].as_object().unwrap() {
            if at.contains("/oneOf/") && key == "kind" {
                continue; // the tag of a spec table: its const says it all
            }
            assert!(
                prop["description"].is_string(),
                "{at}/properties/{key} has no description"
            );
        }
    }
    // No `null` anywhere: TOML has none.
    let text = serde_json::to_string(&m).unwrap();
    assert!(!text.contains("\"null\""), "a null type survived");
    // The dataset config schema is a dataset table without `path`, `source` required.
    let d = tokenomics::schema::dataset_config_schema();
    assert!(d["properties"].get("path").is_none());
    assert!(d["properties"].get("source").is_some());
    assert_eq!(d["required"], serde_json::json!(["source"]));
    assert_eq!(d["additionalProperties"], Value::Bool(false));
}

/// The files that must carry the `#:schema` line, with the schema each points at.
fn examples() -> Vec<(PathBuf, SchemaKind)> {
    let root = repo();
    let mut out = Vec::new();
    for dir in ["experiments", "experiments/published"] {
        out.extend(
            tomls(&root.join(dir))
                .into_iter()
                .map(|p| (p, SchemaKind::Manifest)),
        );
    }
    out.extend(
        tomls(&root.join("dataset_configs"))
            .into_iter()
            .map(|p| (p, SchemaKind::DatasetConfig)),
    );
    out
}

#[test]
fn every_example_carries_the_schema_directive_and_validates() {
    let examples = examples();
    assert!(examples.len() >= 30, "found only {}", examples.len());
    let manifest = validator(SchemaKind::Manifest);
    let dataset = validator(SchemaKind::DatasetConfig);
    let mut problems = Vec::new();
    for (file, kind) in &examples {
        let text = std::fs::read_to_string(file).expect("read example");
        let shown = file
            .strip_prefix(repo())
            .unwrap_or(file)
            .display()
            .to_string();
        // The directive: the first line, a relative path to the committed schema.
        let first = text.lines().next().unwrap_or_default();
        match first.strip_prefix("#:schema ") {
            Some(rel) => {
                let target = file.parent().unwrap().join(rel.trim());
                let same =
                    target.canonicalize().ok() == repo().join(kind.path()).canonicalize().ok();
                if !same {
                    problems.push(format!(
                        "{shown}: `{first}` does not lead to {}",
                        kind.path()
                    ));
                }
            }
            None => problems.push(format!("{shown}: the first line is not `#:schema ...`")),
        }
        let v = match kind {
            SchemaKind::Manifest => &manifest,
            SchemaKind::DatasetConfig => &dataset,
        };
        for e in schema_errors(v, &text) {
            problems.push(format!("{shown}: {e}"));
        }
    }
    // The test fixtures the loader accepts validate too (they carry no directive).
    let valid = repo().join("tests/fixtures/manifests/valid");
    for file in tomls(&valid) {
        let text = std::fs::read_to_string(&file).unwrap();
        problems.extend(
            schema_errors(&manifest, &text)
                .into_iter()
                .map(|e| format!("{}: {e}", file.display())),
        );
    }
    for file in tomls(&valid.join("dataset_configs")) {
        let text = std::fs::read_to_string(&file).unwrap();
        problems.extend(
            schema_errors(&dataset, &text)
                .into_iter()
                .map(|e| format!("{}: {e}", file.display())),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Invalid fixtures the schema rejects as well as the loader.
const FIXTURES_BOTH_REJECT: &[&str] = &[
    "bad_arrival",
    "bad_spec_shape",
    "bad_spec_string",
    "both_base_url_and_simulator",
    "grid_single_brackets",
    "invalid_toml",
    "missing_experiment_name",
    "missing_model",
    "negative_runs",
    "no_target",
    "stage_with_two_kinds",
    "unknown_key",
    "unknown_mode",
    "unknown_source",
    "unknown_spec_table_key",
    "unknown_top_level_table",
    "unsupported_schema",
    "wrong_type",
];

/// Invalid fixtures only the loader rejects, and why a schema cannot.
const FIXTURES_LOADER_ONLY: &[(&str, &str)] = &[
    (
        "authorization_header",
        "a header name the loader reserves (any string is a valid key)",
    ),
    ("bad_base_url", "URL syntax is checked by the loader"),
    (
        "bad_dataset_config",
        "the named .json config file's contents",
    ),
    ("bad_name", "path-safe names"),
    ("duplicate_load_value", "distinct load values"),
    ("failure_rate_out_of_range", "a range"),
    (
        "incompatible_api",
        "a scenario shape the endpoint's API cannot send",
    ),
    ("missing_dataset_config", "a file that must exist"),
    ("mode_key_mismatch", "which load key a mode takes"),
    ("mode_values_missing", "which load key a mode needs"),
    ("stream_on_embeddings", "API-specific keys"),
    ("unknown_dataset", "a cross-reference"),
    ("unknown_endpoint_in_grid", "a cross-reference"),
    ("unknown_scenario_in_grid", "a cross-reference"),
    ("unknown_slo_metric", "SLO metric names"),
    ("zero_runs", "a range (at least 1)"),
];

#[test]
fn schema_and_loader_agree_on_the_invalid_fixtures() {
    let v = validator(SchemaKind::Manifest);
    let dir = repo().join("tests/fixtures/manifests/invalid");
    let mut problems = Vec::new();
    let files = tomls(&dir);
    assert!(files.len() >= 30, "found only {}", files.len());
    for file in &files {
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        if loader_verdict(file, &text).is_ok() {
            problems.push(format!("{stem}: the loader accepts it"));
        }
        let schema_rejects = !schema_errors(&v, &text).is_empty();
        let both = FIXTURES_BOTH_REJECT.contains(&stem);
        let loader_only = FIXTURES_LOADER_ONLY.iter().any(|(s, _)| *s == stem);
        match (both, loader_only, schema_rejects) {
            (true, false, true) | (false, true, false) => {}
            (true, false, false) => problems.push(format!("{stem}: the schema accepts it")),
            (false, true, true) => problems.push(format!(
                "{stem}: the schema now rejects it too; move it to FIXTURES_BOTH_REJECT"
            )),
            _ => problems.push(format!(
                "{stem}: list it in exactly one of FIXTURES_BOTH_REJECT and FIXTURES_LOADER_ONLY"
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A small manifest against the simulator with lines swapped in: `experiment`
/// keys, `endpoint` keys, `scenario` keys, `grid` keys (mode and load), and
/// anything appended after the grid.
struct Case<'a> {
    experiment: &'a str,
    endpoint: &'a str,
    scenario: &'a str,
    grid: &'a str,
    extra: &'a str,
}

const BASE: Case<'static> = Case {
    experiment: "",
    endpoint: "simulator = { ttft_ms = 1, itl_ms = 1 }",
    scenario: "spec = \"D(8,8)\"",
    grid: "mode = \"burst\"\nbatch_sizes = [1]",
    extra: "",
};

impl Case<'_> {
    fn text(&self) -> String {
        format!(
            "schema = 1\n[experiment]\nname = \"agree\"\n{}\n[endpoints.sim]\n{}\n[scenarios.s]\n{}\n[[grid]]\nendpoints = [\"sim\"]\nscenarios = [\"s\"]\n{}\n{}\n",
            self.experiment, self.endpoint, self.scenario, self.grid, self.extra
        )
    }
}

fn exp(lines: &'static str) -> Case<'static> {
    Case {
        experiment: lines,
        ..BASE
    }
}
fn ep(lines: &'static str) -> Case<'static> {
    Case {
        endpoint: lines,
        ..BASE
    }
}
fn sc(lines: &'static str) -> Case<'static> {
    Case {
        scenario: lines,
        ..BASE
    }
}
fn grid(lines: &'static str) -> Case<'static> {
    Case {
        grid: lines,
        ..BASE
    }
}
fn extra(lines: &'static str) -> Case<'static> {
    Case {
        extra: lines,
        ..BASE
    }
}

#[test]
fn schema_and_loader_agree_on_manifest_variants() {
    let v = validator(SchemaKind::Manifest);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("agree.toml");
    // Both accept.
    let accepted = [
        ("the base manifest", BASE),
        ("a spaced lower-case U spec", sc("spec = \"u( 10 , 20 ) / (5,9)\"")),
        ("a decimal N spec", sc("spec = \"n(1.5,.5)/(3.,1)\"")),
        ("a spec table", sc("spec = { kind = \"uniform\", input_min = 1, input_max = 4, output_min = 1, output_max = 2 }")),
        ("images as a string", sc("spec = \"D(8,8)\"\nimages = \"I(8,8,2)\"")),
        ("images as a table", sc("spec = \"D(8,8)\"\nimages = { width = 8, height = 8, format = \"jpeg\" }")),
        ("SLO numbers and tables", exp("[experiment.slo]\nttft_ms = { p99 = 500, \"p99.9\" = 900, max = 2000 }\ne2e_ms = 10000")),
        ("gamma arrivals", grid("mode = \"rate\"\nrates = [5]\narrival = { gamma = 0.5 }\nrequests = 4")),
        ("a ramp", grid("mode = \"ramp\"\nstages = [{ rate = 5, duration_s = 1 }, { concurrency = 2, duration_s = 1 }]")),
        ("a sweep", grid("mode = \"sweep\"\nsearch = { over = \"concurrency\", max = 4 }\nrequests = 4")),
        ("a dataset source table", Case { scenario: "spec = \"D(8,8)\"\ndataset = \"d\"", extra: "[datasets.d]\nsource = { huggingface = \"openai/gsm8k\", config = \"main\", split = \"test\" }\nprompt_column = \"question\"", ..BASE }),
        ("a tokenizer id", ep("simulator = {}\ntokenizer = \"Qwen/Qwen3-4B\"")),
        ("a URL endpoint", ep("base_url = \"http://127.0.0.1:8000/v1\"\nmodel = \"m\"\nignore_eos = true\nretries = { max = 1 }")),
    ];
    // Both reject.
    let rejected = [
        ("unknown experiment key", exp("runz = 1")),
        (
            "unknown endpoint key",
            ep("simulator = {}\nbse_url = \"http://x\""),
        ),
        ("unknown simulator key", ep("simulator = { ttft = 1 }")),
        (
            "unknown grid key",
            grid("mode = \"burst\"\nbatch_size = [1]"),
        ),
        (
            "unknown spec table key",
            sc("spec = { kind = \"deterministic\", input = 8, ouput = 8 }"),
        ),
        (
            "unknown source table key",
            Case {
                scenario: "spec = \"D(8,8)\"\ndataset = \"d\"",
                extra: "[datasets.d]\nsource = { huggingface = \"a/b\", splitt = \"x\" }",
                ..BASE
            },
        ),
        (
            "unknown retries key",
            ep("simulator = {}\nretries = { maximum = 1 }"),
        ),
        ("runs as a string", exp("runs = \"3\"")),
        ("seed as a float", exp("seed = 1.5")),
        ("percentiles as a number", exp("percentiles = 50")),
        ("stream as a string", ep("simulator = {}\nstream = \"yes\"")),
        ("spec as a number", sc("spec = 5")),
        (
            "batch sizes as a string",
            grid("mode = \"burst\"\nbatch_sizes = \"1\""),
        ),
        (
            "negative batch size",
            grid("mode = \"burst\"\nbatch_sizes = [-1]"),
        ),
        ("bad api", ep("simulator = {}\napi = \"chatt\"")),
        ("bad mode", grid("mode = \"bursty\"\nbatch_sizes = [1]")),
        (
            "bad arrival",
            grid("mode = \"rate\"\nrates = [5]\narrival = \"poison\""),
        ),
        (
            "bad malformed_events",
            ep("simulator = {}\nmalformed_events = \"ignore\""),
        ),
        (
            "bad encoding_format",
            ep("simulator = {}\napi = \"embeddings\"\nencoding_format = \"f32\""),
        ),
        ("bad compat", sc("spec = \"D(8,8)\"\ncompat = \"new\"")),
        (
            "bad lora strategy",
            sc("spec = \"D(8,8)\"\nlora = { strategy = \"random\", adapters = [\"a\"] }"),
        ),
        (
            "bad image format",
            sc("spec = \"D(8,8)\"\nimages = { width = 8, height = 8, format = \"gif\" }"),
        ),
        (
            "bad source name",
            Case {
                scenario: "spec = \"D(8,8)\"\ndataset = \"d\"",
                extra: "[datasets.d]\nsource = \"aimee\"",
                ..BASE
            },
        ),
        ("spec with a semicolon", sc("spec = \"D(128;64)\"")),
        ("unknown spec letter", sc("spec = \"X(1,2)\"")),
        ("too many spec numbers", sc("spec = \"D(1,2,3)\"")),
        ("N without its output group", sc("spec = \"N(1,2)\"")),
        ("a decimal in D", sc("spec = \"D(1.5,2)\"")),
        (
            "images that are not I(...)",
            sc("spec = \"D(8,8)\"\nimages = \"D(1,2)\""),
        ),
        (
            "both base_url and simulator",
            ep("base_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\nsimulator = {}"),
        ),
        ("neither base_url nor simulator", ep("api = \"chat\"")),
        (
            "base_url without model",
            ep("base_url = \"http://127.0.0.1:1/v1\""),
        ),
        (
            "a stage with rate and concurrency",
            grid("mode = \"ramp\"\nstages = [{ rate = 5, concurrency = 2, duration_s = 1 }]"),
        ),
        (
            "a stage without duration",
            grid("mode = \"ramp\"\nstages = [{ rate = 5 }]"),
        ),
        (
            "a search without max",
            grid("mode = \"sweep\"\nsearch = { over = \"concurrency\" }"),
        ),
        (
            "a tokenizer path with a revision",
            ep("simulator = {}\ntokenizer = { path = \"t.json\", revision = \"main\" }"),
        ),
        (
            "a tokenizer table with neither",
            ep("simulator = {}\ntokenizer = { revision = \"main\" }"),
        ),
        (
            "a source with huggingface and file",
            Case {
                scenario: "spec = \"D(8,8)\"\ndataset = \"d\"",
                extra: "[datasets.d]\nsource = { huggingface = \"a/b\", file = \"x.jsonl\" }",
                ..BASE
            },
        ),
        (
            "a file source with a split",
            Case {
                scenario: "spec = \"D(8,8)\"\ndataset = \"d\"",
                extra: "[datasets.d]\nsource = { file = \"x.jsonl\", split = \"test\" }",
                ..BASE
            },
        ),
        (
            "a dataset with neither path nor source",
            Case {
                scenario: "spec = \"D(8,8)\"\ndataset = \"d\"",
                extra: "[datasets.d]\nprompt_column = \"q\"",
                ..BASE
            },
        ),
        (
            "an SLO key that is no percentile",
            exp("[experiment.slo]\nttft_ms = { q99 = 5 }"),
        ),
        ("an empty SLO table", exp("[experiment.slo]\nttft_ms = {}")),
        (
            "an SLO bound as a string",
            exp("[experiment.slo]\nttft_ms = \"5\""),
        ),
    ];
    // Only the loader rejects (see the module docs for the kinds).
    let loader_only = [
        ("a grid naming an unknown endpoint", extra("[[grid]]\nendpoints = [\"nope\"]\nscenarios = [\"s\"]\nmode = \"burst\"\nbatch_sizes = [1]")),
        ("a scenario naming an unknown dataset", sc("spec = \"D(8,8)\"\ndataset = \"nope\"")),
        ("an unknown SLO metric", exp("[experiment.slo]\nlatency_ms = 5")),
        ("zero runs", exp("runs = 0")),
        ("a failure rate above 1", exp("max_failure_rate = 1.5")),
        ("a percentile above 100", exp("percentiles = [50, 101]")),
        ("an SLO percentile above 100", exp("[experiment.slo]\nttft_ms = { p101 = 5 }")),
        ("a negative SLO bound", exp("[experiment.slo]\ne2e_ms = -1")),
        ("gamma burstiness 0", grid("mode = \"rate\"\nrates = [5]\narrival = { gamma = 0 }")),
        ("min above max in U", sc("spec = \"U(9,1)/(1,2)\"")),
        ("a zero-sized image", sc("spec = \"I(0,8)\"")),
        ("a repeated batch size", grid("mode = \"burst\"\nbatch_sizes = [1, 1]")),
        ("a burst grid with concurrency levels", grid("mode = \"burst\"\nconcurrency = [1]")),
        ("stream on embeddings", ep("simulator = {}\napi = \"embeddings\"\nstream = true")),
        ("an embedding spec on a chat endpoint", sc("spec = \"E(8)\"")),
        ("an endpoint name with a space", Case { endpoint: "simulator = {}\n[endpoints.\"a b\"]\nsimulator = {}", ..BASE }),
        ("a tokenizer id that is a file name", ep("simulator = {}\ntokenizer = \"tokenizer.json\"")),
        ("a delimiter on a JSONL file", Case { scenario: "spec = \"D(8,8)\"\ndataset = \"d\"", extra: "[datasets.d]\nsource = { file = \"x.jsonl\" }\ndelimiter = \";\"", ..BASE }),
        ("a dataset config file that does not exist", Case { scenario: "spec = \"D(8,8)\"\ndataset = \"d\"", extra: "[datasets.d]\npath = \"nope.toml\"", ..BASE }),
    ];
    let mut problems = Vec::new();
    let mut check = |what: &str, text: String, want_loader: bool, want_schema: bool| {
        let loader = loader_verdict(&path, &text);
        let schema = schema_errors(&v, &text);
        if loader.is_ok() != want_loader {
            problems.push(format!(
                "{what}: the loader {} it ({loader:?})\n{text}",
                if want_loader { "rejects" } else { "accepts" }
            ));
        }
        if schema.is_empty() != want_schema {
            problems.push(format!(
                "{what}: the schema {} it ({schema:?})\n{text}",
                if want_schema { "rejects" } else { "accepts" }
            ));
        }
    };
    for (what, case) in accepted {
        check(what, case.text(), true, true);
    }
    for (what, case) in rejected {
        check(what, case.text(), false, false);
    }
    check(
        "schema 2",
        BASE.text().replacen("schema = 1", "schema = 2", 1),
        false,
        false,
    );
    for (what, case) in loader_only {
        check(what, case.text(), false, true);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn spec_strings_the_pattern_matches_are_the_ones_the_grammar_parses() {
    let pattern = |p: &str| {
        jsonschema::draft7::new(&serde_json::json!({ "type": "string", "pattern": p }))
            .expect("the pattern compiles")
    };
    let spec = pattern(tokenomics::manifest::values::SPEC_PATTERN);
    let images = pattern(tokenomics::manifest::values::IMAGES_PATTERN);
    // Well-formed (and within limits, so the parser accepts them).
    for s in [
        "D(512,128)",
        "d(1,1)",
        " D ( 512 , 128 ) ",
        "N(480,240)/(300,150)",
        "n(1.5,.5)/(3.,0)",
        "U(50,100)/(200,250)",
        "I(512,512)",
        "I(512,512,3)",
        "E(512)",
        "E(short)",
        "e(MIXED)",
        "E(200w)",
        "E(200W)",
        "R(512,32)",
        "R(512,32,4)",
    ] {
        let json = Value::from(s);
        assert!(
            tokenomics::manifest::parse_workload(s).is_ok(),
            "the grammar rejects {s:?}"
        );
        assert!(spec.is_valid(&json), "the pattern rejects {s:?}");
    }
    // Malformed: both reject.
    for s in [
        "",
        "D",
        "D()",
        "D(1)",
        "D(1,2,3)",
        "D(1;2)",
        "D(1.5,2)",
        "D(1,2)x",
        "X(1,2)",
        "N(1,2)",
        "N(1,2)/",
        "N(1,2)/(3)",
        "U(1,2)",
        "I(1)",
        "I(1,2,3,4)",
        "E()",
        "E(tiny)",
        "E(1.5)",
        "E(w)",
        "R(1)",
        "R(1,2,3,4)",
        "D(-1,2)",
        "D(1,2)/(3,4)",
    ] {
        let json = Value::from(s);
        assert!(
            tokenomics::manifest::parse_workload(s).is_err(),
            "the grammar accepts {s:?}"
        );
        assert!(!spec.is_valid(&json), "the pattern accepts {s:?}");
    }
    assert!(images.is_valid(&Value::from("I(512,512,1)")));
    assert!(images.is_valid(&Value::from("i( 8 , 8 )")));
    for s in ["D(1,2)", "I(1)", "E(8)"] {
        assert!(
            !images.is_valid(&Value::from(s)),
            "images pattern accepts {s:?}"
        );
    }
}
