//! Tests of `tokenomics init` (see the module docs of `crate::init`).

use super::*;
use crate::manifest::{self, LoadOptions};
use crate::plan::{self, PlanOptions};
use serde_json::json;

#[test]
fn names_come_from_the_model_id() {
    assert_eq!(name_from_model("Qwen/Qwen3-4B"), "qwen3-4b");
    assert_eq!(name_from_model("meta-llama/Llama 3.1:8b"), "llama-3.1-8b");
    assert_eq!(name_from_model("_x"), "x");
    assert_eq!(name_from_model("///"), "server");
    assert_eq!(name_from_model(""), "server");
    let long = name_from_model(&"a".repeat(200));
    assert!(long.len() + "-embeddings".len() <= MAX_NAME_LEN);
    for m in ["Qwen/Qwen3-4B", "a b/c:d", "🙂", "x".repeat(100).as_str()] {
        let n = format!("{}-embeddings", name_from_model(m));
        assert!(check_name(NameKind::Experiment, &n).is_ok(), "{n}");
    }
}

#[test]
fn a_base_url_without_a_path_gets_v1() {
    assert_eq!(api_root("http://h:8000"), "http://h:8000/v1");
    assert_eq!(api_root("http://h:8000/"), "http://h:8000/v1");
    assert_eq!(api_root("http://h:8000/v1/"), "http://h:8000/v1");
    assert_eq!(api_root("https://h/proxy/api"), "https://h/proxy/api");
}

fn listing(owned_by: &str) -> Value {
    json!({ "object": "list", "data": [{ "id": "m", "object": "model", "owned_by": owned_by }] })
}

#[test]
fn servers_are_recognised_from_their_model_list() {
    for (owner, server) in [
        ("vllm", "vLLM"),
        ("sglang", "SGLang"),
        ("llamacpp", "llama.cpp"),
        ("tokenomics-simulator", "the tokenomics simulator"),
    ] {
        let d = detect_server(&listing(owner), "m").expect(owner);
        assert_eq!(d.server, server);
        assert!(d.accepts_ignore_eos);
        assert!(d.evidence.contains(owner), "{}", d.evidence);
    }
    // llama.cpp's shape: an ollama-style `models` list beside `data`, no owned_by.
    let shape = json!({ "models": [{ "name": "m" }], "object": "list", "data": [{ "id": "m" }] });
    assert_eq!(
        detect_server(&shape, "m").map(|d| d.server),
        Some("llama.cpp")
    );
    // The entry of the chosen model decides.
    let two =
        json!({ "data": [{ "id": "a", "owned_by": "openai" }, { "id": "m", "owned_by": "vllm" }] });
    assert_eq!(detect_server(&two, "m").map(|d| d.server), Some("vLLM"));
    for unknown in [
        listing("openai"),
        listing("system"),
        json!({ "data": [] }),
        json!({}),
    ] {
        assert_eq!(detect_server(&unknown, "m"), None, "{unknown}");
    }
    assert_eq!(
        max_model_len(
            &json!({ "data": [{ "id": "m", "max_model_len": 4096 }] }),
            "m"
        ),
        Some(4096)
    );
    assert_eq!(max_model_len(&listing("vllm"), "m"), None);
}

fn server(detected: Option<Detected>, key: Option<&str>) -> Target {
    Target::Server {
        base_url: "http://127.0.0.1:8000/v1".into(),
        model: "Org/Model \"quoted\"".into(),
        served: vec!["Org/Model \"quoted\"".into(), "other".into()],
        detected,
        max_model_len: Some(8192),
        api_key_env: key.map(str::to_owned),
    }
}

#[test]
fn every_starter_manifest_loads_and_plans() {
    let tmp = tempfile::tempdir().unwrap();
    let vllm = Detected {
        server: "vLLM",
        evidence: "owned_by = \"vllm\"".into(),
        accepts_ignore_eos: true,
    };
    for api in [
        ApiKind::Chat,
        ApiKind::Completions,
        ApiKind::Embeddings,
        ApiKind::Rerank,
        ApiKind::Score,
    ] {
        for (label, target) in [
            ("simulator", Target::Simulator),
            ("vllm", server(Some(vllm.clone()), None)),
            ("unknown", server(None, Some("MY_KEY"))),
        ] {
            let text = starter_manifest(&Starter {
                name: format!("start-{label}"),
                api,
                target: target.clone(),
                schema_path: "../schema/manifest.schema.json".into(),
            });
            assert!(text.starts_with("#:schema ../schema/manifest.schema.json\n"));
            let path = tmp.path().join(format!("{label}-{}.toml", api.as_str()));
            let m =
                manifest::load_from_str(&path, &text, &LoadOptions::default(), std::iter::empty())
                    .unwrap_or_else(|e| panic!("{label} {api:?}: {e}\n{text}"));
            let plan = plan::build(&m, &PlanOptions::default())
                .unwrap_or_else(|e| panic!("{label} {api:?}: {e}\n{text}"));
            assert!(!plan.points.is_empty());
            let (name, ep) = m.raw.endpoints.iter().next().unwrap();
            assert_eq!(ep.api, Some(api));
            let ignore_eos = ep.ignore_eos == Some(true);
            assert_eq!(
                ignore_eos,
                api.generates() && label != "unknown",
                "{label} {api:?}"
            );
            if label == "unknown" && api.generates() {
                assert!(text.contains("# ignore_eos = true"), "{text}");
            }
            match &target {
                Target::Simulator => assert_eq!(name, "sim"),
                Target::Server { model, .. } => {
                    assert_eq!(ep.model.as_deref(), Some(model.as_str()));
                    assert!(text.contains("max_model_len = 8192"));
                    assert!(text.contains("serves 2 models"));
                }
            }
            if label == "vllm" {
                assert!(
                    text.contains("detected vLLM (owned_by = \"vllm\")"),
                    "{text}"
                );
            }
            if label == "unknown" {
                assert_eq!(ep.api_key_env.as_deref(), Some("MY_KEY"));
                assert!(text.contains("not recognised"));
            }
        }
    }
}

#[test]
fn the_schema_path_is_relative_to_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("checkout");
    std::fs::create_dir_all(root.join("schema")).unwrap();
    std::fs::create_dir_all(root.join("experiments/mine")).unwrap();
    std::fs::write(root.join(SchemaKind::Manifest.path()), "{}").unwrap();
    assert_eq!(
        find_schema(&root).as_deref(),
        Some("schema/manifest.schema.json")
    );
    assert_eq!(
        find_schema(&root.join("experiments")).as_deref(),
        Some("../schema/manifest.schema.json")
    );
    assert_eq!(
        find_schema(&root.join("experiments/mine")).as_deref(),
        Some("../../schema/manifest.schema.json")
    );
    assert_eq!(find_schema(&tmp.path().join("elsewhere")), None);
}

#[tokio::test]
async fn the_model_comes_from_the_simulator_and_the_manifest_validates() {
    let config = crate::vocab::SimConfig {
        model: "Org/Served-Model".into(),
        log_requests: false,
        ..crate::vocab::SimConfig::default()
    };
    let sim = crate::simulator::spawn(config, 0).await.expect("simulator");
    let target = ask_server(&sim.base_url(), None, None)
        .await
        .expect("asked");
    let Target::Server {
        model,
        detected,
        served,
        ..
    } = &target
    else {
        panic!("{target:?}")
    };
    assert_eq!(model, "Org/Served-Model");
    assert_eq!(served, &vec!["Org/Served-Model".to_owned()]);
    assert_eq!(
        detected.as_ref().map(|d| d.server),
        Some("the tokenomics simulator")
    );
    // --model must be one the server lists.
    let err = ask_server(&sim.base_url(), Some("org/served-model"), None)
        .await
        .expect_err("not served");
    assert_eq!(err.exit_code(), exit::PREFLIGHT);
    assert!(
        err.hint().is_some_and(|h| h.contains("Org/Served-Model")),
        "{err:?}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("experiments/served.toml");
    let args = InitArgs {
        name: None,
        base_url: Some(sim.base_url()),
        api: crate::cli::ApiArg::Chat,
        model: None,
        api_key_env: None,
        output: Some(out.clone()),
        force: false,
    };
    assert_eq!(run(&args).await.expect("init"), exit::OK);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("#:schema ./manifest.schema.json\n"),
        "{text}"
    );
    assert!(tmp
        .path()
        .join("experiments/manifest.schema.json")
        .is_file());
    let m = manifest::load(&out, &LoadOptions::default()).expect("loads");
    plan::build(&m, &PlanOptions::default()).expect("plans");
    assert_eq!(m.raw.experiment.name, "served-model");
    let ep = &m.raw.endpoints["server"];
    assert_eq!(ep.model.as_deref(), Some("Org/Served-Model"));
    assert_eq!(ep.base_url.as_deref(), Some(sim.base_url().as_str()));
    assert_eq!(ep.ignore_eos, Some(true));
    // Never over an existing file without --force.
    let err = run(&args).await.expect_err("exists");
    assert_eq!(err.exit_code(), exit::USAGE);
    assert!(err.hint().is_some_and(|h| h.contains("--force")));
    let forced = InitArgs {
        force: true,
        api: crate::cli::ApiArg::Embeddings,
        ..args
    };
    assert_eq!(run(&forced).await.expect("forced"), exit::OK);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("api = \"embeddings\""));
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let err = ask_server(&url, None, None)
        .await
        .expect_err("nothing listens");
    assert_eq!(err.exit_code(), exit::PREFLIGHT);
    assert!(err.to_string().contains(&format!("{url}/models")), "{err}");
    assert!(err.hint().is_some_and(|h| h.contains("--base-url")));
}
