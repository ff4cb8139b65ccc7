//! The command line as a user meets it: help, errors, exit codes.

use crate::common::{bin, repo, write};
use predicates::str::contains;

#[test]
fn help_lists_every_command() {
    let out = bin().arg("--help").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for cmd in [
        "run",
        "validate",
        "plan",
        "report",
        "compare",
        "simulate",
        "fetch",
        "resume",
        "merge",
        "bench-client",
        "init",
        "schema",
        "completions",
        "man",
    ] {
        assert!(
            text.contains(cmd),
            "--help does not mention `{cmd}`:\n{text}"
        );
    }
}

const SUBCOMMANDS: [&str; 14] = [
    "run",
    "validate",
    "plan",
    "report",
    "compare",
    "simulate",
    "fetch",
    "resume",
    "merge",
    "bench-client",
    "init",
    "schema",
    "completions",
    "man",
];

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = bin().args(["completions", shell]).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(text.len() > 500, "{shell}: {} bytes", text.len());
        assert!(text.contains("tokenomics"), "{shell}");
        for cmd in SUBCOMMANDS {
            assert!(text.contains(cmd), "{shell} completions miss `{cmd}`");
        }
        // Flags of a subcommand complete too.
        assert!(
            text.contains("base-url"),
            "{shell} completions miss --base-url"
        );
    }
    bin().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn the_man_page_renders_every_subcommand() {
    let out = bin().arg("man").assert().success();
    let page = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(page.contains(".TH tokenomics 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for cmd in SUBCOMMANDS {
        assert!(
            page.contains(&format!("tokenomics\\-{}", cmd.replace('-', "\\-"))),
            "man page misses `{cmd}`"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["man", "--dir"])
        .arg(tmp.path())
        .assert()
        .success();
    let listed = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(tmp.path().join("tokenomics.1").is_file(), "{listed}");
    for cmd in SUBCOMMANDS {
        let file = tmp.path().join(format!("tokenomics-{cmd}.1"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains(".TH tokenomics-"), "{}", file.display());
    }
    let init = std::fs::read_to_string(tmp.path().join("tokenomics-init.1")).unwrap();
    assert!(init.contains("base\\-url"), "{init}");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    bin().args(["run", "--no-such-flag"]).assert().code(2);
}

#[test]
fn missing_manifest_names_the_file_and_exits_3() {
    bin()
        .args(["run", "does/not/exist.toml"])
        .assert()
        .code(3)
        .stderr(contains("does/not/exist.toml"));
}

#[test]
fn misspelt_key_gets_did_you_mean_and_exit_3() {
    let tmp = tempfile::tempdir().unwrap();
    let m = write(
        tmp.path(),
        "typo.toml",
        r#"
schema = 1
[experiment]
name = "typo"
[endpoints.sim]
simulator = { ttft_ms = 1, itl_ms = 1 }
[scenarios.s]
spec = "D(8,8)"
[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "burst"
batch_size = [1]
"#,
    );
    bin()
        .arg("validate")
        .arg(&m)
        .assert()
        .code(3)
        .stderr(contains("typo.toml"))
        .stderr(contains("batch_sizes"));
}

#[test]
fn plan_prints_the_matrix_without_sending_anything() {
    let out = bin()
        .args(["plan", "experiments/demo.toml"])
        .current_dir(repo())
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.to_lowercase().contains("total"), "{text}");
    assert!(
        text.contains("burst") && text.contains("concurrency"),
        "{text}"
    );
}

#[test]
fn bad_shard_is_a_usage_error() {
    bin()
        .args(["plan", "experiments/demo.toml", "--shard", "3/2"])
        .current_dir(repo())
        .assert()
        .code(2);
}

#[test]
fn unreachable_endpoint_fails_preflight_with_exit_4_before_sending() {
    let tmp = tempfile::tempdir().unwrap();
    // Bind a port, then free it: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let m = write(
        tmp.path(),
        "dead.toml",
        &format!(
            r#"
schema = 1
[experiment]
name = "dead"
[endpoints.dead]
base_url = "http://127.0.0.1:{port}/v1"
model = "m"
[scenarios.s]
spec = "D(8,8)"
[[grid]]
endpoints = ["dead"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [1]
"#
        ),
    );
    let assert = bin()
        .arg("run")
        .arg(&m)
        .arg("--output")
        .arg(tmp.path().join("out"))
        .assert()
        .code(4)
        .stderr(contains("dead"))
        .stderr(contains("--no-preflight"));
    // The message is said once, not repeated as its own cause.
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("error: preflight failed: "), "{stderr}");
    assert!(!stderr.contains("caused by"), "{stderr}");
    assert!(
        !tmp.path().join("out/dead").exists()
            || std::fs::read_dir(tmp.path().join("out/dead"))
                .unwrap()
                .all(|e| { !e.unwrap().path().join("requests.parquet").exists() })
    );
}

#[test]
fn unwritable_output_names_the_path_and_exits_6() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "not-a-dir", "x");
    bin()
        .args(["run", "experiments/demo.toml", "--quiet", "--output"])
        .arg(file.join("sub"))
        .current_dir(repo())
        .assert()
        .code(6)
        .stderr(contains("not-a-dir"));
}

/// `validate` and `plan` count the same requests (warmups included, and said so).
#[test]
fn validate_and_plan_print_the_same_request_count() {
    let demo = repo().join("experiments/demo.toml");
    let plan = bin().arg("plan").arg(&demo).assert().success();
    let plan = String::from_utf8_lossy(&plan.get_output().stdout).to_string();
    let total_line = plan
        .lines()
        .find(|l| l.starts_with("total: "))
        .unwrap_or_else(|| panic!("no total line:\n{plan}"));
    // "total: 12 points, 180 requests (warmup + runs × req/run)"
    let planned: u64 = total_line
        .split(", ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{total_line}"));
    let validated = bin().arg("validate").arg(&demo).assert().success();
    let validated = String::from_utf8_lossy(&validated.get_output().stdout).to_string();
    assert!(
        validated.contains(&format!("{planned} request(s), ")),
        "plan says {planned}, validate says: {validated}"
    );
    // demo.toml: 12 points with warmup = 1 each.
    assert!(validated.contains("12 of them warmup"), "{validated}");
}
