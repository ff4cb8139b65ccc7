//! The launch scripts under `server/`: every one parses (`bash -n`), prints its
//! help, and its `--dry-run` prints the server command with the flags asked for.
//! (The llama.cpp script is also exercised for real by `tests/llamacpp.rs`.)

use std::process::Command;

use crate::common::repo;

fn bash(args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .args(args)
        .current_dir(repo())
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const SCRIPTS: [&str; 3] = [
    "server/vllm_run_server.sh",
    "server/sglang_run_server.sh",
    "server/llamacpp_run_server.sh",
];

#[test]
fn every_launch_script_parses_and_has_help() {
    for script in SCRIPTS {
        let (ok, text) = bash(&["-n", script]);
        assert!(ok, "{script} does not parse: {text}");
        let (ok, text) = bash(&[script, "--help"]);
        assert!(ok, "{script} --help failed: {text}");
        assert!(text.contains("--dry-run"), "{script} --help: {text}");
        let (ok, text) = bash(&[script, "--no-such-flag"]);
        assert!(!ok, "{script} accepted an unknown flag: {text}");
    }
}

#[test]
fn dry_runs_print_the_server_command_with_the_flags_given() {
    let (ok, text) = bash(&[
        "server/vllm_run_server.sh",
        "--dry-run",
        "--model",
        "org/model-x",
        "--tp",
        "2",
        "--port",
        "8123",
        "--max-model-len",
        "4096",
        "--lora",
        "a=/adapters/a",
    ]);
    assert!(ok, "{text}");
    for want in [
        "vllm serve org/model-x",
        "--port 8123",
        "--tensor-parallel-size 2",
        "--max-model-len 4096",
        "--enable-lora",
        "a=/adapters/a",
    ] {
        assert!(text.contains(want), "vllm dry run lacks `{want}`: {text}");
    }

    let (ok, text) = bash(&[
        "server/sglang_run_server.sh",
        "--dry-run",
        "--model",
        "org/model-y",
        "--tp",
        "4",
        "--port",
        "8124",
    ]);
    assert!(ok, "{text}");
    for want in ["--model-path org/model-y", "--port 8124", "--tp-size 4"] {
        assert!(text.contains(want), "sglang dry run lacks `{want}`: {text}");
    }

    let (ok, text) = bash(&[
        "server/llamacpp_run_server.sh",
        "--dry-run",
        "--port",
        "8125",
        "--embeddings",
    ]);
    assert!(ok, "{text}");
    for want in [
        "llama-server",
        "--port 8125",
        "--host 127.0.0.1",
        "--embeddings",
    ] {
        assert!(
            text.contains(want),
            "llama.cpp dry run lacks `{want}`: {text}"
        );
    }
}
