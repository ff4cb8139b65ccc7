//! Shared helpers: run the real binary, write manifests, read results back.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tokenomics::record::RequestRecord;

/// The `tokenomics` binary built for this test run.
pub fn bin() -> Command {
    let mut c = Command::cargo_bin("tokenomics").expect("binary built by cargo");
    c.env_remove("RUST_LOG");
    c
}

/// The repository root (where `experiments/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes `body` as `name` in `dir` and returns its path.
pub fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write fixture");
    p
}

/// The single run directory under `<root>/<experiment>/`.
pub fn run_dir(root: &Path, experiment: &str) -> PathBuf {
    let exp = root.join(experiment);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&exp)
        .unwrap_or_else(|e| panic!("{}: {e}", exp.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected one run directory in {}: {dirs:?}",
        exp.display()
    );
    dirs.remove(0)
}

/// Every record of a results directory, read back from its Parquet file.
pub fn records(dir: &Path) -> Vec<RequestRecord> {
    tokenomics::results::parquet::read_records(&dir.join("requests.parquet"))
        .expect("readable requests.parquet")
}

/// The parsed `summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    let bytes = std::fs::read(dir.join("summary.json")).expect("summary.json");
    serde_json::from_slice(&bytes).expect("summary.json is JSON")
}

/// Median of a list (sorted copy).
pub fn median(mut xs: Vec<f64>) -> f64 {
    assert!(!xs.is_empty(), "median of nothing");
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}
