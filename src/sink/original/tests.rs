//! Tests of the original tool's per-point files.

use std::path::Path;

use serde_json::{json, Value};

use super::embeddings::sample_stat;
use super::number::to_python_json;
use super::*;
use crate::metrics::Stat;
use crate::plan::{DatasetSource, LoadSpec};
use crate::results::layout::ORIGINAL_DIR;
use crate::results::test_fixture::{
    lone_embeddings_series, small_results as sample_results, with_embeddings,
};
use crate::results::{ExperimentResults, ResultsDir};
use crate::sink::Sink;
use crate::vocab::{ApiKind, LoraStrategy};

#[test]
fn rounding_matches_the_originals_examples() {
    // 16657.4 → 16660.0, 0.0123456 → 0.01235, 599.4321 → 599.4; 0 stays 0.0
    assert_eq!(round_sig4(16657.4), 16660.0);
    assert_eq!(round_sig4(0.0123456), 0.01235);
    assert_eq!(round_sig4(599.4321), 599.4);
    assert_eq!(round_sig4(0.0), 0.0);
    assert_eq!(round_sig4(-599.4321), -599.4);
    // carry into the next power of ten: round(9999.6, 0) = 10000.0
    assert_eq!(round_sig4(9999.6), 10000.0);
    // exact binary tie 1.0625 → half to even at 3 decimals: 1.062 (Python: round(1.0625, 3))
    assert_eq!(round_sig4(1.0625), 1.062);
}

#[test]
fn python_float_text() {
    assert_eq!(python_float_repr(16660.0), "16660.0");
    assert_eq!(python_float_repr(0.01235), "0.01235");
    assert_eq!(python_float_repr(0.0), "0.0");
    assert_eq!(python_float_repr(1e-5), "1e-05");
    assert_eq!(python_float_repr(0.0001), "0.0001");
    assert_eq!(python_float_repr(1.5e-7), "1.5e-07");
    assert_eq!(python_float_repr(1e16), "1e+16");
    assert_eq!(python_float_repr(123_500_000.0), "123500000.0");
    assert_eq!(python_float_repr(-2.5), "-2.5");
}

#[test]
fn python_json_text() {
    // json.dumps({"a": 1, "b": [1.5, {}], "c": "é", "d": []}, indent=2)
    let v = json!({"a": 1, "b": [1.5, {}], "c": "é", "d": []});
    let text = String::from_utf8(to_python_json(&v, Path::new("x.json")).unwrap()).unwrap();
    assert_eq!(
        text,
        "{\n  \"a\": 1,\n  \"b\": [\n    1.5,\n    {}\n  ],\n  \"c\": \"\\u00e9\",\n  \"d\": []\n}"
    );
}

#[test]
fn rounds_floats_and_leaves_integers() {
    let mut v = json!({"f": 16657.4, "i": 16657, "list": [0.0123456, 3], "n": null});
    round_floats(&mut v);
    assert_eq!(
        v,
        json!({"f": 16660.0, "i": 16657, "list": [0.01235, 3], "n": null})
    );
    assert!(v["i"].is_u64());
}

#[test]
fn writes_the_original_layout() {
    let dir = tempfile::tempdir().unwrap();
    let rd = ResultsDir::new(dir.path());
    let mut results = sample_results();
    results.points[0].summary.ttft_ms = Stat::from_values(&[52.34567]);
    results.points[0].summary.reliability.total = 16;
    results.points[0].summary.reliability.ok = 15;
    results.points[0].summary.reliability.failed = 1;
    OriginalJsonSink.write(&rd, &results).unwrap();
    // one series → flat: original/8.json
    let path = dir.path().join("original/8.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let top = keys(&v);
    assert_eq!(top, ["metadata", "sweep_value", "result"]);
    assert!(v["sweep_value"].is_u64());
    assert_eq!(v["sweep_value"], 8);
    let meta = keys(&v["metadata"]);
    assert_eq!(
        meta,
        [
            "timestamp",
            "model",
            "scenario",
            "prompt_source",
            "max_tokens",
            "num_images",
            "image_size",
            "input_tokens",
            "dataset_config",
            "api_base",
            "execution_mode",
            "num_runs",
            "warmup_runs",
            "temperature",
            "num_completions",
            "stream",
            "description",
            "seed",
            "lora_config",
            "steady_state_threshold",
            "bucket_size_seconds",
            "batch_sizes"
        ]
    );
    assert_eq!(v["metadata"]["execution_mode"], "burst");
    assert_eq!(v["metadata"]["batch_sizes"], json!([8]));
    assert_eq!(v["metadata"]["bucket_size_seconds"], 0.05);
    let result = keys(&v["result"]);
    assert_eq!(
        result,
        [
            "tokens",
            "prefill_metrics",
            "decode_metrics",
            "batch_metrics",
            "reliability",
            "usage_extras",
            "phased_metrics"
        ]
    );
    // ttft in seconds, 4 significant digits: 52.34567 ms → 0.05234567 s → 0.05235
    assert_eq!(v["result"]["prefill_metrics"]["ttft"]["mean"], 0.05235);
    assert_eq!(v["result"]["prefill_metrics"]["ttft"]["std"], 0.0);
    // e2e_tps per run 100 and 120 → mean 110, population std 10
    assert_eq!(v["result"]["batch_metrics"]["e2e_tps"]["mean"], 110.0);
    assert_eq!(v["result"]["batch_metrics"]["e2e_tps"]["std"], 10.0);
    assert_eq!(
        v["result"]["reliability"],
        json!({"total_requests": 16, "successful": 15, "failed": 1})
    );
    let phased = &v["result"]["phased_metrics"];
    assert_eq!(phased["steady_state_tps"]["median"], 121.0);
    assert_eq!(phased["peak_active_requests"], 8);
    assert_eq!(
        phased["time_series"]["output_tokens_per_bucket"],
        json!([0, 3, 8, 8, 2])
    );
    assert_eq!(v["result"]["usage_extras"], json!({}));
    // indent 2, Python float text
    assert!(
        text.starts_with("{\n  \"metadata\": {\n    \"timestamp\": "),
        "{text}"
    );
    assert!(text.contains("\"bucket_size_seconds\": 0.05,"));
}

#[test]
fn several_series_get_subdirectories_and_empty_phased_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let rd = ResultsDir::new(dir.path());
    let mut results = sample_results();
    let mut other = results.points[0].clone();
    other.spec.id = "sim.long.burst-8".into();
    other.spec.index = 1;
    other.spec.scenario = "long/x".into();
    for r in &mut other.runs {
        r.ok = 0;
    }
    results.plan.points.push(other.spec.clone());
    results.points.push(other);
    OriginalJsonSink.write(&rd, &results).unwrap();
    assert!(dir.path().join("original/sim__short/8.json").is_file());
    let p = dir.path().join("original/sim__long_x/8.json");
    let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    assert_eq!(v["result"]["phased_metrics"], json!({}));
}

#[test]
fn colliding_series_names_add_the_mode_and_rates_keep_decimals() {
    let mut results = sample_results();
    let mut rate = results.points[0].clone();
    rate.spec.id = "sim.short.rate-2.5".into();
    rate.spec.index = 1;
    rate.spec.load = LoadSpec::Rate {
        rate: 2.5,
        arrival: crate::vocab::Arrival::Poisson,
        requests: 20,
        duration: None,
        max_concurrency: None,
    };
    results.plan.points.push(rate.spec.clone());
    results.points.push(rate);
    let dir = tempfile::tempdir().unwrap();
    OriginalJsonSink
        .write(&ResultsDir::new(dir.path()), &results)
        .unwrap();
    assert!(dir
        .path()
        .join("original/sim__short__burst/8.json")
        .is_file());
    let p = dir.path().join("original/sim__short__rate/2.5.json");
    let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    assert_eq!(v["sweep_value"], 2.5);
    assert_eq!(v["metadata"]["execution_mode"], "rate");
    assert_eq!(v["metadata"]["rates"], json!([2.5]));
    assert_eq!(v["metadata"]["num_prompts"], 20);
}

// ---- embeddings ------------------------------------------------------------------

/// The keys of a JSON object, in order.
fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn read(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v = serde_json::from_str(&text).unwrap();
    (text, v)
}

/// `{mean, std, min, max}` as written: sample std, every value rounded to 4 digits.
fn stat4(mean: f64, std: f64, min: f64, max: f64) -> Value {
    json!({
        "mean": round_sig4(mean),
        "std": round_sig4(std),
        "min": round_sig4(min),
        "max": round_sig4(max),
    })
}

#[test]
fn sample_stat_uses_n_minus_one() {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − 5)² = 32, sample std = sqrt(32/7)
    let v = sample_stat(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
    assert_eq!(v["mean"], 5.0);
    assert!((v["std"].as_f64().unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
    assert_eq!(
        (v["min"].as_f64(), v["max"].as_f64()),
        (Some(2.0), Some(9.0))
    );
    assert_eq!(sample_stat(&[3.0])["std"], 0.0);
    assert_eq!(
        sample_stat(&[]),
        json!({"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0})
    );
}

#[test]
fn embeddings_points_get_the_original_embedding_layout() {
    let dir = tempfile::tempdir().unwrap();
    OriginalJsonSink
        .write(&ResultsDir::new(dir.path()), &with_embeddings())
        .unwrap();
    // Beside the completion series, the embeddings series gets its own directory.
    assert!(dir.path().join("original/sim__short/8.json").is_file());
    let (text, v) = read(&dir.path().join("original/embed/batch_2_seq_260.json"));
    let top = keys(&v);
    assert_eq!(top, ["metadata", "config_key", "result"]);
    assert_eq!(v["config_key"], "batch_2_seq_260");
    let meta = &v["metadata"];
    assert_eq!(
        keys(meta),
        [
            "timestamp",
            "model",
            "api_base",
            "batch_sizes",
            "sequence_lengths",
            "num_runs",
            "warmup_runs",
            "concurrent_requests",
            "seed",
            "description"
        ]
    );
    assert_eq!(meta["model"], "qwen3-embedding");
    assert_eq!(meta["api_base"], "http://127.0.0.1:8000/v1");
    assert_eq!(meta["batch_sizes"], json!([2, 1]));
    assert_eq!(meta["sequence_lengths"], json!([260, "short"]));
    assert_eq!(
        (&meta["num_runs"], &meta["warmup_runs"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(meta["concurrent_requests"], true);
    assert_eq!(
        (&meta["seed"], &meta["description"]),
        // The experiment's description, and which curve this is: the original's
        // plots label each file's curve with it.
        (&json!(42), &json!("a test (embed/embed-200, burst)"))
    );

    let r = &v["result"];
    let groups = keys(r);
    assert_eq!(groups, ["tokens", "timings", "throughput"]);
    // Per successful request (final attempts, warmup excluded): tokens 250, 270, 260.
    // mean 260, Σ(x − 260)² = 200, sample std = sqrt(200/2) = 10
    assert_eq!(
        r["tokens"]["total_per_batch"],
        stat4(260.0, 10.0, 250.0, 270.0)
    );
    assert_eq!(
        r["tokens"]["embeddings_per_batch"],
        stat4(1.0, 0.0, 1.0, 1.0)
    );
    // One value per run: wall 0.5 and 0.4 s: mean 0.45, std sqrt(2·0.05²/1)
    let two = |a: f64, b: f64| {
        let m = (a + b) / 2.0;
        stat4(
            m,
            ((a - m).powi(2) + (b - m).powi(2)).sqrt(),
            a.min(b),
            a.max(b),
        )
    };
    let t = &r["timings"];
    assert_eq!(t["batch_total_seconds"], two(0.5, 0.4));
    // Run 0 ends at 0.1 and 0.2 s; run 1 at 0.1 and 0.3 s (the failed first attempt,
    // ended at 0.05 s, is not the request's final attempt).
    assert_eq!(t["fastest_seconds"], two(0.1, 0.1));
    assert_eq!(t["slowest_seconds"], two(0.2, 0.3));
    assert_eq!(t["spread_seconds"], two(0.1, 0.2));
    let th = &r["throughput"];
    // Σ embeddings / wall: 2/0.5 = 4 and 1/0.4 = 2.5; Σ tokens / wall: 520/0.5 and 260/0.4.
    assert_eq!(th["batch_embeddings_per_second"], two(4.0, 2.5));
    assert_eq!(th["batch_tokens_per_second"], two(1040.0, 650.0));
    // Per request over end − start: 1/0.1, 1/0.2, 1/0.1 and 250/0.1, 270/0.2, 260/0.1.
    let three = |xs: [f64; 3]| {
        let m = xs.iter().sum::<f64>() / 3.0;
        let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 2.0).sqrt();
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        stat4(m, sd, min, xs.iter().copied().fold(0.0, f64::max))
    };
    assert_eq!(
        th["request_embeddings_per_second"],
        three([10.0, 5.0, 10.0])
    );
    assert_eq!(
        th["request_tokens_per_second"],
        three([2500.0, 1350.0, 2600.0])
    );
    assert_eq!(th["request_tokens_per_second"]["min"], 1350.0);
    // Python json.dump text: floats in repr form, two-space indent.
    assert!(
        text.contains("\"total_per_batch\": {\n        \"mean\": 260.0,"),
        "{text}"
    );
    assert!(text.contains("\"concurrent_requests\": true,"));

    // The word-count scenario: S = "short", one run → std 0.
    let (_, w) = read(&dir.path().join("original/embed/batch_1_seq_short.json"));
    assert_eq!(w["config_key"], "batch_1_seq_short");
    assert_eq!(
        w["result"]["tokens"]["total_per_batch"],
        stat4(12.0, 0.0, 12.0, 12.0)
    );
    // 1 embedding / 0.08 s = 12.5 per second
    assert_eq!(
        w["result"]["throughput"]["request_embeddings_per_second"],
        stat4(12.5, 0.0, 12.5, 12.5)
    );
}

#[test]
fn a_lone_embeddings_series_is_flat() {
    let results = lone_embeddings_series();
    let dir = tempfile::tempdir().unwrap();
    OriginalJsonSink
        .write(&ResultsDir::new(dir.path()), &results)
        .unwrap();
    let orig = dir.path().join(ORIGINAL_DIR);
    let mut names: Vec<String> = std::fs::read_dir(&orig)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["batch_1_seq_short.json", "batch_2_seq_260.json"]);
    let (_, v) = read(&orig.join("batch_2_seq_260.json"));
    assert_eq!(v["metadata"]["concurrent_requests"], false);
}

#[test]
fn rerank_and_score_points_are_not_written() {
    let mut results = with_embeddings();
    results.plan.endpoints.get_mut("embed").unwrap().api = ApiKind::Rerank;
    let dir = tempfile::tempdir().unwrap();
    OriginalJsonSink
        .write(&ResultsDir::new(dir.path()), &results)
        .unwrap();
    // Only the completion series remains, so it is flat.
    let names: Vec<String> = std::fs::read_dir(dir.path().join(ORIGINAL_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["8.json"]);
}

/// `sample_results` with its endpoint `sim` and its scenario `short` (D(128,64)) in the plan.
fn sample_with_specs() -> ExperimentResults {
    use crate::results::test_fixture::{endpoint, scenario};
    let mut results = sample_results();
    let mut ep = endpoint("sim", "m", ApiKind::Chat, false);
    ep.temperature = None;
    results.plan.endpoints.insert("sim".into(), ep);
    results.plan.scenarios.insert(
        "short".into(),
        scenario("short", crate::vocab::workload::parse("D(128,64)").unwrap()),
    );
    results
}

/// The metadata of the single point of `results`, written and read back.
fn written_metadata(results: &ExperimentResults) -> Value {
    let dir = tempfile::tempdir().unwrap();
    OriginalJsonSink
        .write(&ResultsDir::new(dir.path()), results)
        .unwrap();
    read(&dir.path().join("original/8.json")).1["metadata"].clone()
}

#[test]
fn metadata_reports_what_compat_sent_in_the_originals_shapes() {
    use crate::plan::LoraSpec;
    use crate::vocab::{ImageFormat, ImageSpec};
    let mut results = sample_with_specs();
    let sc = results.plan.scenarios.values_mut().next().unwrap();
    sc.compat_original = true;
    sc.images = Some(ImageSpec {
        width: 640,
        height: 480,
        count: 2,
        format: ImageFormat::Png,
        from_dataset: false,
    });
    sc.lora = Some(LoraSpec {
        strategy: LoraStrategy::RoundRobin,
        adapters: vec!["a".into(), "b".into()],
        weights: vec![],
        base_model_ratio: 0.25,
        zipf_alpha: 1.0,
    });
    sc.dataset.source = DatasetSource::HuggingFace {
        repo: "openai/gsm8k".into(),
        config: Some("main".into()),
        split: "test".into(),
        revision: None,
    };
    sc.dataset.prompt_column = "question".into();
    sc.dataset.raw_config = json!({
        "source": {"huggingface": "openai/gsm8k", "config": "main", "split": "test"},
        "prompt_column": "question",
        "max_rows": 10
    });
    let m = written_metadata(&results);
    // The original's default temperature, sent by compat bodies.
    assert_eq!(m["temperature"], 0.7);
    assert_eq!(m["num_images"], 2);
    assert_eq!(m["image_size"], "640x480");
    // Round-robin is the original's `uniform`.
    assert_eq!(
        m["lora_config"],
        json!({"strategy": "uniform", "lora_names": ["a", "b"], "base_model_ratio": 0.25})
    );
    assert_eq!(
        m["dataset_config"],
        json!({
            "source": {
                "type": "huggingface",
                "path": "openai/gsm8k",
                "huggingface_kwargs": {"name": "main", "split": "test"}
            },
            "prompt_column": "question",
            "description": "tokenomics dataset `synthetic`"
        })
    );
    assert_eq!(
        keys(&m["dataset_config"]),
        ["source", "prompt_column", "description"]
    );
}

#[test]
fn metadata_copies_original_configs_and_names_builtins_by_type() {
    let mut results = sample_with_specs();
    let original = json!({
        "source": {"type": "file", "path": "../data/sample_prompts.txt"},
        "prompt_column": "text",
        "description": "30k token testing"
    });
    let sc = results.plan.scenarios.values_mut().next().unwrap();
    sc.dataset.raw_config = original.clone();
    assert_eq!(written_metadata(&results)["dataset_config"], original);

    let sc = results.plan.scenarios.values_mut().next().unwrap();
    sc.dataset.source = DatasetSource::Aime;
    sc.dataset.raw_config = json!({"source": "aime", "description": "AIME"});
    let m = written_metadata(&results);
    assert_eq!(
        m["dataset_config"],
        json!({"source": {"type": "aime"}, "prompt_column": "Question", "description": "AIME"})
    );
    // Not compat, no temperature set: none was sent, none is reported.
    assert_eq!(written_metadata(&results)["temperature"], Value::Null);
    assert_eq!(written_metadata(&results)["num_images"], 0);
    assert_eq!(written_metadata(&results)["image_size"], Value::Null);
}

/// Two endpoints (or scenarios, or modes) of one experiment get two legend
/// labels in the original's plots: `metadata.description` names the curve.
#[test]
fn every_curve_gets_its_own_legend_label() {
    let results = crate::results::test_fixture::sample_results();
    let mut labels = std::collections::BTreeMap::new();
    for p in &results.points {
        let label = super::document::legend_description(
            &results.plan.experiment.description,
            &p.spec,
            p.spec.load.mode_name(),
        );
        let curve = (
            p.spec.endpoint.clone(),
            p.spec.scenario.clone(),
            p.spec.load.mode_name(),
        );
        if let Some(other) = labels.insert(label.clone(), curve.clone()) {
            assert_eq!(other, curve, "{label} labels two curves");
        }
        assert!(label.contains(&p.spec.endpoint) && label.contains(&p.spec.scenario));
    }
    assert!(labels.len() >= 2, "{labels:?}");
}
