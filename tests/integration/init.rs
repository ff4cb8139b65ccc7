//! `tokenomics init` as a user runs it: a starter manifest that `tokenomics
//! validate` accepts, for the embedded simulator and for a running server (the
//! simulator, started in this process on 127.0.0.1:0), never written over an
//! existing file without `--force`.

use predicates::str::contains;

use crate::common::{bin, repo};

#[test]
fn without_a_url_the_manifest_targets_the_simulator_and_validates() {
    let tmp = tempfile::tempdir().unwrap();
    bin()
        .arg("init")
        .current_dir(tmp.path())
        .assert()
        .success()
        .stdout(contains("experiments/simulator.toml"));
    let file = tmp.path().join("experiments/simulator.toml");
    let text = std::fs::read_to_string(&file).expect("written");
    // Outside a checkout the schema is copied beside the manifest.
    assert!(
        text.starts_with("#:schema ./manifest.schema.json\n"),
        "{text}"
    );
    let copy = std::fs::read_to_string(tmp.path().join("experiments/manifest.schema.json"))
        .expect("schema copy");
    let committed = std::fs::read_to_string(repo().join("schema/manifest.schema.json")).unwrap();
    assert_eq!(copy, committed);
    assert!(text.contains("simulator = {"), "{text}");
    bin()
        .args(["validate", "experiments/simulator.toml"])
        .current_dir(tmp.path())
        .assert()
        .success()
        .stdout(contains("ok: experiments/simulator.toml"));

    // A second init neither overwrites nor succeeds.
    std::fs::write(&file, "# mine\n").unwrap();
    bin()
        .arg("init")
        .current_dir(tmp.path())
        .assert()
        .code(2)
        .stderr(contains("already exists"))
        .stderr(contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    bin()
        .args(["init", "--force"])
        .current_dir(tmp.path())
        .assert()
        .success();
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("[experiment]"));
}

#[test]
fn every_api_gets_a_manifest_that_validates() {
    let tmp = tempfile::tempdir().unwrap();
    for api in ["chat", "completions", "embeddings", "rerank", "score"] {
        let out = format!("{api}.toml");
        bin()
            .args([
                "init",
                "--api",
                api,
                "--output",
                &out,
                &format!("starter-{api}"),
            ])
            .current_dir(tmp.path())
            .assert()
            .success();
        let text = std::fs::read_to_string(tmp.path().join(&out)).unwrap();
        assert!(text.contains(&format!("api = \"{api}\"")), "{text}");
        assert!(
            text.contains(&format!("name = \"starter-{api}\"")),
            "{text}"
        );
        bin()
            .args(["validate", &out])
            .current_dir(tmp.path())
            .assert()
            .success();
    }
    bin()
        .args(["init", "--api", "chatt"])
        .current_dir(tmp.path())
        .assert()
        .code(2);
    bin()
        .args(["init", "../escape"])
        .current_dir(tmp.path())
        .assert()
        .code(2)
        .stderr(contains("experiment name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_url_the_model_comes_from_the_server() {
    let config = tokenomics::vocab::SimConfig {
        model: "Org/Served-Model".into(),
        log_requests: false,
        ..tokenomics::vocab::SimConfig::default()
    };
    let sim = tokenomics::simulator::spawn(config, 0)
        .await
        .expect("simulator");
    let base = sim.base_url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let (init, validate, down) = tokio::task::spawn_blocking(move || {
        // The API root is found from the server's address alone.
        let root = base.trim_end_matches("/v1").to_owned();
        let init = bin()
            .args(["init", "--base-url", &root, "--output", "served.toml"])
            .current_dir(&dir)
            .output()
            .expect("init runs");
        let validate = bin()
            .args(["validate", "served.toml"])
            .current_dir(&dir)
            .output()
            .expect("validate runs");
        let text = std::fs::read_to_string(dir.join("served.toml")).unwrap_or_default();
        (init, validate, text)
    })
    .await
    .expect("blocking task");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(
        String::from_utf8_lossy(&init.stdout).contains("Org/Served-Model"),
        "{}",
        String::from_utf8_lossy(&init.stdout)
    );
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    assert!(down.contains("model = \"Org/Served-Model\""), "{down}");
    assert!(
        down.contains(&format!("base_url = \"{}\"", sim.base_url())),
        "{down}"
    );
    assert!(down.contains("detected the tokenomics simulator"), "{down}");
    assert!(down.contains("ignore_eos = true"), "{down}");
}

#[test]
fn a_server_that_does_not_answer_is_named_in_the_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/v1");
    bin()
        .args(["init", "--base-url", &url])
        .current_dir(tmp.path())
        .assert()
        .code(4)
        .stderr(contains(format!("{url}/models")))
        .stderr(contains("hint:"));
    assert!(!tmp.path().join("experiments").exists());
}
