//! Tests of manifest loading: error messages (snapshots), layering, shorthand values.

use std::path::{Path, PathBuf};

use super::*;
use crate::vocab::workload::Workload;
use crate::vocab::{Arrival, FileFormat, ImageFormat, TokenizerSource};
use values::SourceValue;

const INVALID_DIR: &str = "tests/fixtures/manifests/invalid";

const VALID: &str = r#"
schema = 1

[experiment]
name = "t"

[endpoints.vllm]
base_url = "http://localhost:8000/v1"
model = "m"

[scenarios.short]
spec = "D(128,64)"

[[grid]]
endpoints = ["vllm"]
scenarios = ["short"]
mode = "burst"
batch_sizes = [1, 2]
"#;

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

/// Writes `text` as `m.toml` in a fresh directory and loads it.
fn load_str_with(
    text: &str,
    env: &[(&str, &str)],
    sets: &[&str],
) -> (tempfile::TempDir, Result<Manifest, ManifestError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.toml");
    std::fs::write(&path, text).expect("write manifest");
    let opts = LoadOptions {
        overrides: sets.iter().map(|s| (*s).to_owned()).collect(),
    };
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let result = load_with_env(&path, &opts, env);
    (dir, result)
}

fn load_str(text: &str) -> Result<Manifest, ManifestError> {
    load_str_with(text, &[], &[]).1
}

fn err_of(text: &str) -> ManifestError {
    match load_str(text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

/// `VALID` with `from` replaced by `to` (which must occur).
fn valid_with(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "{from:?} not in VALID");
    VALID.replacen(from, to, 1)
}

fn invalid_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(INVALID_DIR)
        .expect("fixture dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_fixture_fails_with_a_snapshotted_message() {
    let files = invalid_fixtures();
    assert!(files.len() >= 20, "only {} fixtures", files.len());
    for file in files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("stem")
            .to_owned();
        let err = match load_with_env(&file, &LoadOptions::default(), no_env()) {
            Ok(_) => panic!("{} loaded without error", file.display()),
            Err(e) => e,
        };
        assert!(err.hint.is_some(), "{stem}: no hint in {err}");
        insta::assert_snapshot!(format!("invalid_{stem}"), err.to_string());
    }
}

#[test]
fn unknown_key_suggests_the_closest_valid_key() {
    let err = err_of(&valid_with("batch_sizes = [1, 2]", "batch_size = [1, 2]"));
    assert_eq!(err.key.as_deref(), Some("grid[0].batch_size"));
    let hint = err.hint.expect("hint");
    assert!(hint.starts_with("did you mean `batch_sizes`?"), "{hint}");
    assert!(
        hint.contains("`concurrency`"),
        "lists the valid keys: {hint}"
    );
}

#[test]
fn unknown_endpoint_name_suggests_a_defined_one() {
    let err = err_of(&valid_with(
        "endpoints = [\"vllm\"]",
        "endpoints = [\"vlm\"]",
    ));
    assert_eq!(err.key.as_deref(), Some("grid[0].endpoints[0]"));
    assert_eq!(err.message, "unknown endpoint `vlm`");
    assert!(err.hint.expect("hint").starts_with("did you mean `vllm`?"));
}

#[test]
fn missing_file_names_the_file() {
    let err = load_with_env(
        Path::new("experiments/no-such-manifest.toml"),
        &LoadOptions::default(),
        no_env(),
    )
    .expect_err("missing file");
    insta::assert_snapshot!("missing_file", err.to_string());
}

#[test]
fn directory_instead_of_file_is_an_error() {
    let err = load_with_env(Path::new("experiments"), &LoadOptions::default(), no_env())
        .expect_err("a directory");
    assert!(err.message.contains("it is a directory"), "{err}");
}

#[test]
fn files_above_the_size_limit_are_rejected() {
    let mut text = VALID.to_owned();
    text.push('#');
    let limit = usize::try_from(MAX_MANIFEST_BYTES).expect("fits");
    text.push_str(&"x".repeat(limit));
    let err = err_of(&text);
    assert!(err.message.contains("larger than the 1 MiB limit"), "{err}");
    // Just under the limit still loads.
    let mut ok = VALID.to_owned();
    ok.push('#');
    ok.push_str(&"x".repeat(limit - VALID.len() - 2));
    ok.push('\n');
    assert!(ok.len() as u64 <= MAX_MANIFEST_BYTES);
    load_str(&ok).expect("a file at the limit loads");
}

#[test]
fn display_puts_the_hint_on_its_own_line() {
    let e = ManifestError::new(
        Path::new("experiments/x.toml"),
        Some("endpoints.vllm.base_url".into()),
        "`x` has no scheme",
        Some("write the full URL".into()),
    );
    assert_eq!(
        e.to_string(),
        "experiments/x.toml: endpoints.vllm.base_url: `x` has no scheme\n  hint: write the full URL"
    );
    let e = ManifestError::new(Path::new("a.toml"), None, "broken", None);
    assert_eq!(e.to_string(), "a.toml: broken");
}

#[test]
fn env_overrides_the_file_and_set_overrides_env() {
    let text = valid_with("name = \"t\"", "name = \"t\"\nruns = 5");
    let (_d, m) = load_str_with(&text, &[("TOKENOMICS_EXPERIMENT__RUNS", "2")], &[]);
    assert_eq!(m.expect("loads").raw.experiment.runs, Some(2));
    let (_d, m) = load_str_with(
        &text,
        &[("TOKENOMICS_EXPERIMENT__RUNS", "2")],
        &["experiment.runs=1"],
    );
    let m = m.expect("loads");
    assert_eq!(m.raw.experiment.runs, Some(1));
    assert!(m.resolved_toml.contains("runs = 1"), "{}", m.resolved_toml);
    // The last --set wins.
    let (_d, m) = load_str_with(&text, &[], &["experiment.runs=1", "experiment.runs=4"]);
    assert_eq!(m.expect("loads").raw.experiment.runs, Some(4));
    // Without overrides the file's value stands.
    let (_d, m) = load_str_with(&text, &[], &[]);
    assert_eq!(m.expect("loads").raw.experiment.runs, Some(5));
}

#[test]
fn env_prefix_matching_and_lowercasing() {
    let (_d, m) = load_str_with(
        VALID,
        &[
            (
                "TOKENOMICS_ENDPOINTS__VLLM__BASE_URL",
                "http://gpu-box:9000/v1",
            ),
            ("tokenomics_experiment__seed", "7"),
            // No `__`: not a manifest key, ignored (and never copied into the manifest).
            ("TOKENOMICS_API_KEY", "sk-secret"),
            ("OTHER_EXPERIMENT__RUNS", "9"),
        ],
        &[],
    );
    let m = m.expect("loads");
    assert_eq!(
        m.raw.endpoints["vllm"].base_url.as_deref(),
        Some("http://gpu-box:9000/v1")
    );
    assert_eq!(m.raw.experiment.seed, Some(7));
    assert_eq!(m.raw.experiment.runs, None);
    assert!(!m.resolved_toml.contains("sk-secret"));
}

#[test]
fn overrides_can_index_arrays() {
    let (_d, m) = load_str_with(
        VALID,
        &[("TOKENOMICS_GRID__0__RUNS", "2")],
        &["grid[0].batch_sizes=[4, 8, 16]"],
    );
    let m = m.expect("loads");
    assert_eq!(m.raw.grid.len(), 1);
    assert_eq!(m.raw.grid[0].batch_sizes, Some(vec![4, 8, 16]));
    assert_eq!(m.raw.grid[0].runs, Some(2));
    assert_eq!(m.raw.grid[0].endpoints, vec!["vllm".to_owned()]);
    let (_d, m) = load_str_with(VALID, &[], &["grid.0.warmup=0"]);
    assert_eq!(m.expect("loads").raw.grid[0].warmup, Some(0));
}

#[test]
fn override_values_fall_back_to_strings() {
    let (_d, m) = load_str_with(
        VALID,
        &[],
        &[
            "endpoints.vllm.base_url=http://10.0.0.2:8000/v1",
            "endpoints.vllm.model=\"x\"",
        ],
    );
    let m = m.expect("loads");
    assert_eq!(
        m.raw.endpoints["vllm"].base_url.as_deref(),
        Some("http://10.0.0.2:8000/v1")
    );
    assert_eq!(m.raw.endpoints["vllm"].model.as_deref(), Some("x"));
}

#[test]
fn override_errors_name_their_source() {
    let (_d, r) = load_str_with(VALID, &[], &["experiment.runs=0"]);
    let err = r.expect_err("runs = 0");
    assert_eq!(err.key.as_deref(), Some("experiment.runs"));
    assert!(
        err.hint
            .as_deref()
            .is_some_and(|h| h.ends_with("(the value comes from --set experiment.runs)")),
        "{err}"
    );
    // A rejected value is never echoed: it may be a secret.
    let (_d, r) = load_str_with(
        VALID,
        &[],
        &["endpoints.vllm.api_key_env=\"sk-canary-0123456789abcdef0123456789abcdef\""],
    );
    let err = r.expect_err("a key, not a variable name");
    assert!(!err.to_string().contains("sk-canary"), "{err}");
    assert!(
        err.hint
            .as_deref()
            .is_some_and(|h| h.contains("looks like a key")),
        "{err}"
    );
    let (_d, r) = load_str_with(VALID, &[("TOKENOMICS_EXPERIMENT__RUNZ", "1")], &[]);
    let err = r.expect_err("unknown key");
    assert_eq!(err.key.as_deref(), Some("experiment.runz"));
    let hint = err.hint.expect("hint");
    assert!(hint.contains("did you mean `runs`?"), "{hint}");
    assert!(
        hint.contains("environment variable TOKENOMICS_EXPERIMENT__RUNZ"),
        "{hint}"
    );
}

#[test]
fn malformed_set_flags_are_errors() {
    for (set, needle) in [
        ("experiment.runs", "is not KEY=VALUE"),
        ("=1", "is not a key path"),
        ("grid[x].runs=1", "is not a key path"),
        ("grid[3].runs=1", "does not exist (the array has 1 items)"),
        ("experiment[0]=1", "is not an array"),
        ("grid.runs=1", "is an array"),
    ] {
        let (_d, r) = load_str_with(VALID, &[], &[set]);
        let err = r.expect_err(set);
        assert!(err.message.contains(needle), "{set}: {err}");
        assert!(err.hint.is_some(), "{set}");
    }
}

#[test]
fn resolved_toml_reloads_to_the_same_manifest() {
    let path = Path::new("experiments/reference.toml");
    let m = load_with_env(path, &LoadOptions::default(), no_env()).expect("reference loads");
    let dir = tempfile::tempdir().expect("tempdir");
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &m.resolved_toml).expect("write");
    let m2 = load_with_env(&again, &LoadOptions::default(), no_env()).expect("resolved loads");
    assert_eq!(m2.resolved_toml, m.resolved_toml);
    assert_eq!(m2.raw.grid.len(), m.raw.grid.len());
    assert!(
        m.resolved_toml.starts_with("schema = 1\n"),
        "{}",
        m.resolved_toml
    );
}

#[test]
fn spec_accepts_strings_and_tables() {
    let cases: [(&str, Workload); 4] = [
        (
            "\"N(100,50)/(50,25)\"",
            Workload::Normal {
                input_mean: 100.0,
                input_std: 50.0,
                output_mean: 50.0,
                output_std: 25.0,
            },
        ),
        (
            "{ kind = \"deterministic\", input = 10, output = 20 }",
            Workload::Deterministic {
                input: 10,
                output: 20,
            },
        ),
        (
            "{ kind = \"uniform\", input_min = 1, input_max = 2, output_min = 3, output_max = 4 }",
            Workload::Uniform {
                input_min: 1,
                input_max: 2,
                output_min: 3,
                output_max: 4,
            },
        ),
        (
            "{ kind = \"normal\", input_mean = 1.5, input_std = 0, output_mean = 2, output_std = 0.5 }",
            Workload::Normal {
                input_mean: 1.5,
                input_std: 0.0,
                output_mean: 2.0,
                output_std: 0.5,
            },
        ),
    ];
    for (spec, want) in cases {
        let m = load_str(&valid_with(
            "spec = \"D(128,64)\"",
            &format!("spec = {spec}"),
        ))
        .unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(m.raw.scenarios["short"].spec.0, want, "{spec}");
    }
    for (spec, needle) in [
        (
            "{ kind = \"uniform\", input_min = 5, input_max = 2, output_min = 3, output_max = 4 }",
            "input_min (5) is larger than input_max (2)",
        ),
        (
            "{ kind = \"deterministic\", input = 4294967295, output = 4 }",
            "above the limit of 2097152 tokens per request",
        ),
        ("\"N(4000000000,1)/(4,1)\"", "above the limit of 2097152"),
        ("{ kind = \"deterministic\", input = 10 }", "missing"),
        ("{ kind = \"gaussian\", input = 10 }", "unknown"),
        ("42", "expected"),
    ] {
        let err = err_of(&valid_with(
            "spec = \"D(128,64)\"",
            &format!("spec = {spec}"),
        ));
        assert_eq!(
            err.key
                .as_deref()
                .map(|k| k.starts_with("scenarios.short.spec")),
            Some(true),
            "{err}"
        );
        assert!(err.to_string().contains(needle), "{spec}: {err}");
    }
}

#[test]
fn source_tokenizer_arrival_and_images_shorthands() {
    let text = r#"
[experiment]
name = "t"

[endpoints.a]
base_url = "http://h:1/v1"
model = "m"
tokenizer = "org/model"

[endpoints.b]
base_url = "http://h:1/v1"
model = "m"
tokenizer = { path = "tok/tokenizer.json" }

[endpoints.c]
base_url = "http://h:1/v1"
model = "m"
tokenizer = { repo = "org/model", revision = "abc" }

[datasets.hf]
source = { huggingface = "org/data", split = "test" }

[datasets.f]
source = { file = "data/rows.jsonl" }

[datasets.g]
source = { file = "data/rows.dat", format = "csv" }

[scenarios.s]
spec = "D(1,1)"
dataset = "hf"
images = { width = 64, height = 32, count = 2, format = "jpeg" }

[scenarios.t]
spec = "D(1,1)"
images = "I(8,8)"

[[grid]]
endpoints = ["a", "b", "c"]
scenarios = ["s", "t"]
mode = "rate"
rates = [1.0]
arrival = { gamma = 0.5 }

[[grid]]
endpoints = ["a"]
scenarios = ["s"]
mode = "rate"
rates = [2.0]
arrival = "constant"
"#;
    let m = load_str(text).expect("loads");
    assert_eq!(
        m.raw.endpoints["a"].tokenizer.as_ref().map(|t| t.0.clone()),
        Some(TokenizerSource::Hub {
            repo: "org/model".into(),
            revision: None
        })
    );
    assert_eq!(
        m.raw.endpoints["b"].tokenizer.as_ref().map(|t| t.0.clone()),
        Some(TokenizerSource::File("tok/tokenizer.json".into()))
    );
    assert_eq!(
        m.raw.endpoints["c"].tokenizer.as_ref().map(|t| t.0.clone()),
        Some(TokenizerSource::Hub {
            repo: "org/model".into(),
            revision: Some("abc".into())
        })
    );
    assert_eq!(
        m.datasets["hf"].source,
        SourceValue::HuggingFace {
            repo: "org/data".into(),
            config: None,
            split: Some("test".into()),
            revision: None
        }
    );
    assert_eq!(
        m.datasets["g"].source,
        SourceValue::File {
            path: "data/rows.dat".into(),
            format: Some(FileFormat::Csv)
        }
    );
    let images = m.raw.scenarios["s"]
        .images
        .as_ref()
        .expect("images")
        .0
        .clone();
    assert_eq!(
        (images.width, images.height, images.count, images.format),
        (64, 32, 2, ImageFormat::Jpeg)
    );
    let images = m.raw.scenarios["t"]
        .images
        .as_ref()
        .expect("images")
        .0
        .clone();
    assert_eq!(
        (images.width, images.height, images.count, images.format),
        (8, 8, 1, ImageFormat::Png)
    );
    assert_eq!(
        m.raw.grid[0].arrival.map(|a| a.0),
        Some(Arrival::Gamma { burstiness: 0.5 })
    );
    assert_eq!(m.raw.grid[1].arrival.map(|a| a.0), Some(Arrival::Constant));
}

#[test]
fn shorthand_errors() {
    let ep = "model = \"m\"";
    for (from, to, key, needle) in [
        (
            ep,
            "model = \"m\"\ntokenizer = \"tok/tokenizer.json\"",
            "endpoints.vllm.tokenizer",
            "looks like a file",
        ),
        (
            ep,
            "model = \"m\"\ntokenizer = { repo = \"a/b\", path = \"x.json\" }",
            "endpoints.vllm.tokenizer",
            "exactly one",
        ),
        (
            ep,
            "model = \"m\"\ntokenizer = { repos = \"a/b\" }",
            "endpoints.vllm.tokenizer.repos",
            "unknown key",
        ),
    ] {
        let err = err_of(&valid_with(from, to));
        assert_eq!(err.key.as_deref(), Some(key), "{err}");
        assert!(err.message.contains(needle), "{err}");
    }
    let with_ds = |source: &str| {
        valid_with(
            "[scenarios.short]\nspec = \"D(128,64)\"",
            &format!("[datasets.d]\nsource = {source}\n\n[scenarios.short]\nspec = \"D(128,64)\"\ndataset = \"d\""),
        )
    };
    for (source, key, needle) in [
        ("\"org/data\"", "datasets.d.source", "unknown source"),
        (
            "{ huggingface = \"a/b\", file = \"x.csv\" }",
            "datasets.d.source",
            "exactly one",
        ),
        (
            "{ file = \"x.csv\", split = \"test\" }",
            "datasets.d.source",
            "apply only",
        ),
        (
            "{ file = \"rows.xyz\" }",
            "datasets.d.source",
            "cannot tell the format",
        ),
        ("{ hf = \"a/b\" }", "datasets.d.source.hf", "unknown key"),
    ] {
        let err = err_of(&with_ds(source));
        assert_eq!(err.key.as_deref(), Some(key), "{source}: {err}");
        assert!(err.message.contains(needle), "{source}: {err}");
    }
    let err = err_of(&with_ds("\"org/data\""));
    assert!(
        err.hint
            .as_deref()
            .is_some_and(|h| h.contains("huggingface = \"org/data\"")),
        "{err}"
    );
}

#[test]
fn api_specific_keys_are_checked() {
    for (extra, key) in [
        (
            "api = \"embeddings\"\nignore_eos = true",
            "endpoints.vllm.ignore_eos",
        ),
        ("api = \"rerank\"\nn = 2", "endpoints.vllm.n"),
        (
            "encoding_format = \"base64\"",
            "endpoints.vllm.encoding_format",
        ),
        ("path = \"/score\"", "endpoints.vllm.path"),
        (
            "extra_body = { model = \"other\" }",
            "endpoints.vllm.extra_body.model",
        ),
        ("api_key_env = \"sk-abc123\"", "endpoints.vllm.api_key_env"),
        ("timeout_s = 0", "endpoints.vllm.timeout_s"),
        (
            "timeout_s = 5\nidle_timeout_s = 10",
            "endpoints.vllm.idle_timeout_s",
        ),
        ("health_path = \"v1/models\"", "endpoints.vllm.health_path"),
    ] {
        let err = err_of(&valid_with(
            "model = \"m\"",
            &format!("model = \"m\"\n{extra}"),
        ));
        assert_eq!(err.key.as_deref(), Some(key), "{extra}: {err}");
        assert!(err.hint.is_some(), "{extra}");
    }
}

#[test]
fn mode_specific_keys_are_checked() {
    let grid = "mode = \"burst\"\nbatch_sizes = [1, 2]";
    for (to, key) in [
        (
            "mode = \"burst\"\nbatch_sizes = [1]\nrequests = 10",
            "grid[0].requests",
        ),
        (
            "mode = \"concurrency\"\nconcurrency = [1]\narrival = \"poisson\"",
            "grid[0].arrival",
        ),
        (
            "mode = \"rate\"\nrates = [1.0]\nstages = []",
            "grid[0].stages",
        ),
        ("mode = \"ramp\"", "grid[0].stages"),
        ("mode = \"rate\"\nrates = [0.0]", "grid[0].rates[0]"),
        (
            "mode = \"concurrency\"\nconcurrency = []",
            "grid[0].concurrency",
        ),
        (
            "mode = \"ramp\"\nstages = [{ rate = 1, duration_s = 0 }]",
            "grid[0].stages[0].duration_s",
        ),
        (
            "mode = \"rate\"\nrates = [1.0]\narrival = { gamma = 0 }",
            "grid[0].arrival",
        ),
        ("mode = \"sweep\"", "grid[0].search"),
        (
            "mode = \"sweep\"\nsearch = { start = 1 }",
            "grid[0].search.max",
        ),
        (
            "mode = \"sweep\"\nsearch = { max = 8, factor = 1 }",
            "grid[0].search.factor",
        ),
        (
            "mode = \"sweep\"\nsearch = { max = 8, min = 2 }",
            "grid[0].search.min",
        ),
        (
            "mode = \"sweep\"\nsearch = { max = 8.5 }",
            "grid[0].search.max",
        ),
        (
            "mode = \"sweep\"\nsearch = { start = 16, max = 8 }",
            "grid[0].search.max",
        ),
        (
            "mode = \"sweep\"\nsearch = { max = 8 }\narrival = \"poisson\"",
            "grid[0].arrival",
        ),
        (
            "mode = \"burst\"\nbatch_sizes = [1]\nsearch = { max = 8 }",
            "grid[0].search",
        ),
        // No [experiment.slo] in the base manifest: an SLO search has nothing to look for.
        (
            "mode = \"slo_search\"\nsearch = { max = 8 }",
            "grid[0].mode",
        ),
    ] {
        let err = err_of(&valid_with(grid, to));
        assert_eq!(err.key.as_deref(), Some(key), "{to}: {err}");
    }
}

#[test]
fn searches_validate_and_plan() {
    let grid = "mode = \"burst\"\nbatch_sizes = [1, 2]";
    let sweep = valid_with(
        grid,
        "mode = \"sweep\"\nsearch = { over = \"rate\", start = 0.5, max = 8 }\narrival = \"constant\"",
    );
    let m = load_str(&sweep).unwrap_or_else(|e| panic!("{e}"));
    let plan = crate::plan::build(&m, &crate::plan::PlanOptions::default()).unwrap();
    assert!(plan.points.is_empty());
    assert_eq!(plan.searches.len(), 1);
    assert!(matches!(
        plan.searches[0].over,
        crate::vocab::SearchOver::Rate {
            arrival: crate::vocab::Arrival::Constant,
            ..
        }
    ));
    let slo = valid_with(grid, "mode = \"slo_search\"\nsearch = { min = 1, max = 8 }").replace(
        "[experiment]",
        "[experiment.slo]\ntpot_ms = { p90 = 50 }\n\n[experiment]",
    );
    let err = err_of(&slo.replace("max = 8 }", "max = 8, min_gain = 0.2 }"));
    assert_eq!(err.key.as_deref(), Some("grid[0].search.min_gain"), "{err}");
    let m = load_str(&slo).unwrap_or_else(|e| panic!("{e}"));
    let plan = crate::plan::build(&m, &crate::plan::PlanOptions::default()).unwrap();
    assert_eq!(plan.searches[0].kind.mode_name(), "slo_search");
}

#[test]
fn simulator_endpoints_take_the_model_from_either_place() {
    let text = valid_with(
        "base_url = \"http://localhost:8000/v1\"\nmodel = \"m\"",
        "simulator = { model = \"a\" }\nmodel = \"b\"",
    );
    let err = err_of(&text);
    assert_eq!(err.key.as_deref(), Some("endpoints.vllm.model"));
    let text = valid_with(
        "base_url = \"http://localhost:8000/v1\"\nmodel = \"m\"",
        "simulator = {}",
    );
    load_str(&text).expect("a bare simulator loads");
}

#[test]
fn metrics_url_may_be_auto_and_is_optional_for_simulators() {
    let sim = "simulator = {}\nmetrics = { interval_ms = 100 }";
    let text = valid_with(
        "base_url = \"http://localhost:8000/v1\"\nmodel = \"m\"",
        sim,
    );
    load_str(&text).expect("a simulator scrapes its own page by default");
    let text = valid_with(
        "model = \"m\"",
        "model = \"m\"\nmetrics = { url = \"auto\", interval_ms = 100 }",
    );
    load_str(&text).expect("auto is accepted for URL endpoints");
    let text = valid_with(
        "model = \"m\"",
        "model = \"m\"\nmetrics = { url = \"localhost:9090/metrics\" }",
    );
    let err = err_of(&text);
    assert_eq!(
        err.key.as_deref(),
        Some("endpoints.vllm.metrics.url"),
        "{err}"
    );
}

#[test]
fn dataset_configs_load_from_toml_and_original_json() {
    let path = Path::new("tests/fixtures/manifests/valid/dataset_configs.toml");
    let m = load_with_env(path, &LoadOptions::default(), no_env()).expect("loads");
    let gsm = &m.datasets["gsm8k"];
    assert_eq!(
        gsm.source,
        SourceValue::HuggingFace {
            repo: "openai/gsm8k".into(),
            config: Some("main".into()),
            split: Some("test".into()),
            revision: None
        }
    );
    assert_eq!(gsm.prompt_column.as_deref(), Some("question"));
    assert_eq!(gsm.raw_config["source"]["type"], "huggingface");
    let local = &m.datasets["local"];
    assert_eq!(
        local.base_dir,
        Path::new("tests/fixtures/manifests/valid/dataset_configs")
    );
    assert_eq!(
        local.file.as_deref(),
        Some(Path::new(
            "tests/fixtures/manifests/valid/dataset_configs/local.toml"
        ))
    );
    let short = &m.datasets["short_txt"];
    assert_eq!(
        short.source,
        SourceValue::File {
            path: "../data/short_prompts.txt".into(),
            format: None
        }
    );
}

#[test]
fn builtin_datasets_need_no_table() {
    let m = load_str(&valid_with(
        "spec = \"D(128,64)\"",
        "spec = \"D(128,64)\"\ndataset = \"aime\"",
    ))
    .expect("loads");
    assert_eq!(m.dataset("aime").map(|d| d.source), Some(SourceValue::Aime));
    assert_eq!(
        m.dataset("synthetic").map(|d| d.source),
        Some(SourceValue::Synthetic)
    );
    assert_eq!(m.dataset("other"), None);
    let err = err_of(&valid_with(
        "spec = \"D(128,64)\"",
        "spec = \"D(128,64)\"\ndataset = \"synthetic\"\nreplay = true",
    ));
    assert_eq!(err.key.as_deref(), Some("scenarios.short.replay"));
}

#[test]
fn dataset_config_errors_point_into_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("d.json"),
        r#"{ "source": { "type": "huggingface", "path": "a/b", "huggingface_kwargs": { "nmae": "x" } } }"#,
    )
    .expect("write");
    std::fs::write(
        dir.path().join("t.toml"),
        "source = \"aime\"\nprompt_colum = \"q\"\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("broken.json"), "{ \"source\": ").expect("write");
    for (config, key, needle) in [
        (
            "d.json",
            Some("source.huggingface_kwargs.nmae"),
            "did you mean `name`?",
        ),
        (
            "t.toml",
            Some("prompt_colum"),
            "did you mean `prompt_column`?",
        ),
        ("broken.json", None, "invalid JSON at line 1"),
    ] {
        let text = valid_with(
            "[scenarios.short]\nspec = \"D(128,64)\"",
            &format!("[datasets.d]\npath = \"{config}\"\n\n[scenarios.short]\nspec = \"D(128,64)\"\ndataset = \"d\""),
        );
        let path = dir.path().join("m.toml");
        std::fs::write(&path, text).expect("write");
        let err = load_with_env(&path, &LoadOptions::default(), no_env()).expect_err(config);
        assert_eq!(err.file, dir.path().join(config), "{err}");
        assert_eq!(err.key.as_deref(), key, "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn path_datasets_take_no_other_keys() {
    let err = err_of(&valid_with(
        "[scenarios.short]",
        "[datasets.d]\npath = \"x.toml\"\nprompt_column = \"q\"\n\n[scenarios.short]",
    ));
    assert_eq!(err.key.as_deref(), Some("datasets.d.prompt_column"));
    assert!(
        err.message.contains("cannot be combined with `path`"),
        "{err}"
    );
}

#[test]
fn header_values_in_the_manifest_must_be_safe_and_secrets_come_from_the_environment() {
    let with = |extra: &str| valid_with("model = \"m\"\n", &format!("model = \"m\"\n{extra}\n"));
    // Built-in safe headers and listed ones are accepted.
    load_str(&with(
        "headers = { User-Agent = \"bench\", X-Team = \"a\" }\nsafe_headers = [\"x-team\"]",
    ))
    .expect("safe headers");
    load_str(&with("headers_env = { \"X-Api-Key\" = \"MY_KEY\" }")).expect("env header");
    // Anything else is refused, without echoing the value.
    let err = err_of(&with("headers = { X-Api-Key = \"sk-canary-secret\" }"));
    assert_eq!(err.key.as_deref(), Some("endpoints.vllm.headers.X-Api-Key"));
    assert!(!err.to_string().contains("sk-canary"), "{err}");
    assert!(
        err.hint
            .as_deref()
            .is_some_and(|h| h.contains("headers_env")),
        "{err}"
    );
    let (_d, r) = load_str_with(
        VALID,
        &[],
        &["endpoints.vllm.headers.Cookie=\"session=sk-canary\""],
    );
    let err = r.expect_err("cookie from --set");
    assert!(!err.to_string().contains("sk-canary"), "{err}");
    let env = [("TOKENOMICS_ENDPOINTS__VLLM__HEADERS__API-KEY", "sk-canary")];
    let (_d, r) = load_str_with(VALID, &env, &[]);
    let err = r.expect_err("api-key from the environment");
    assert!(!err.to_string().contains("sk-canary"), "{err}");
    // headers_env names variables, never values; no header twice.
    let err = err_of(&with(
        "headers_env = { \"X-Api-Key\" = \"sk-canary-0123456789\" }",
    ));
    assert_eq!(
        err.key.as_deref(),
        Some("endpoints.vllm.headers_env.X-Api-Key")
    );
    assert!(!err.to_string().contains("sk-canary"), "{err}");
    let err = err_of(&with(
        "headers = { Accept = \"x\" }\nheaders_env = { accept = \"V\" }",
    ));
    assert!(err.message.contains("both"), "{err}");
    let err = err_of(&with(
        "api_key_env = \"K\"\nheaders_env = { Authorization = \"V\" }",
    ));
    assert!(err.message.contains("api_key_env"), "{err}");
}

/// `VALID` with its scenario in compat mode (plus `extra` scenario keys) and
/// `endpoint` added to the endpoint.
fn compat_manifest(endpoint: &str, extra: &str) -> String {
    let with_ep = valid_with("model = \"m\"", &format!("model = \"m\"\n{endpoint}"));
    with_ep.replacen(
        "spec = \"D(128,64)\"",
        &format!("spec = \"D(128,64)\"\ncompat = \"original\"\n{extra}"),
        1,
    )
}

#[test]
fn compat_needs_a_tokenizer_and_a_chat_endpoint() {
    let err = err_of(&compat_manifest("", ""));
    assert_eq!(
        err.key.as_deref(),
        Some("endpoints.vllm.tokenizer"),
        "{err}"
    );
    assert!(err.message.contains("no tokenizer"), "{err}");
    assert!(err.file.ends_with("m.toml"), "{err}");
    assert!(err.hint.expect("hint").contains("tokenizer = "));

    let tok = "tokenizer = { path = \"tokenizer.json\" }";
    assert!(load_str(&compat_manifest(tok, "")).is_ok());

    let err = err_of(&compat_manifest(
        &format!("{tok}\napi = \"completions\""),
        "",
    ));
    assert_eq!(err.key.as_deref(), Some("endpoints.vllm.api"), "{err}");
    let err = err_of(&compat_manifest(&format!("{tok}\nmin_tokens = true"), ""));
    assert_eq!(
        err.key.as_deref(),
        Some("endpoints.vllm.min_tokens"),
        "{err}"
    );
}

#[test]
fn compat_rejects_what_the_original_cannot_send() {
    let tok = "tokenizer = { path = \"tokenizer.json\" }";
    for (extra, key, needle) in [
        (
            "prefix = { tokens = 10 }",
            "scenarios.short.prefix",
            "shared-prefix",
        ),
        ("turns = 2", "scenarios.short.turns", "single-turn"),
        (
            "images = { width = 8, height = 8, count = 1, format = \"jpeg\" }",
            "scenarios.short.images",
            "PNG",
        ),
        (
            "lora = { strategy = \"uniform\", adapters = [\"a\"] }",
            "scenarios.short.lora.strategy",
            "ambiguous",
        ),
        (
            "lora = { strategy = \"weighted\", adapters = [\"a\"], weights = [1] }",
            "scenarios.short.lora.strategy",
            "weighted",
        ),
        (
            "lora = { strategy = \"zipf\", adapters = [\"a\"] }",
            "scenarios.short.lora.zipf_alpha",
            "≤ 1",
        ),
    ] {
        let err = err_of(&compat_manifest(tok, extra));
        assert_eq!(err.key.as_deref(), Some(key), "{extra}: {err}");
        assert!(err.message.contains(needle), "{extra}: {err}");
        assert!(err.hint.is_some(), "{extra}");
    }
    for ok in [
        "images = \"I(8,8,2)\"",
        "lora = { strategy = \"mixed\", adapters = [\"a\", \"b\"], base_model_ratio = 0.2 }",
        "lora = { strategy = \"all-unique\", adapters = [\"a\", \"b\"] }",
        "lora = { strategy = \"round_robin\", adapters = [\"a\", \"b\"] }",
        "lora = { strategy = \"zipf\", adapters = [\"a\", \"b\"], zipf_alpha = 1.5 }",
    ] {
        let m = load_str(&compat_manifest(tok, ok));
        assert!(m.is_ok(), "{ok}: {:?}", m.err());
    }
    let err = err_of(&valid_with(
        "spec = \"D(128,64)\"",
        "spec = \"I(8,8)\"\ncompat = \"original\"",
    ));
    assert_eq!(err.key.as_deref(), Some("scenarios.short.spec"), "{err}");
}
