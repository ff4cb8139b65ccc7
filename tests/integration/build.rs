//! One build for both README commands: `cargo build --release` and
//! `cargo test --release` must resolve every shared crate with the same
//! features, or the tests compile tokio, hyper, arrow, parquet and the rest a
//! second time (minutes on a small machine). A dev-dependency that switches on
//! a feature of a shared crate fails this test; the fix is to name that feature
//! in `Cargo.toml`'s `[dependencies]` too (see "One build for both commands").

use std::collections::BTreeMap;
use std::process::Command;

/// `cargo tree` over the given edge kinds: each package with its features.
fn features(edges: &str) -> BTreeMap<String, String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["-e", edges, "-f", "{p}|{f}"])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -e {edges} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (pkg, feats) = l.trim_end_matches(" (*)").split_once('|')?;
            Some((pkg.to_owned(), feats.to_owned()))
        })
        .collect()
}

#[test]
fn the_tests_reuse_the_products_build() {
    let product = features("normal,build");
    let tests = features("normal,build,dev");
    assert!(product.len() > 100, "{} packages", product.len());
    assert!(
        tests.len() > product.len(),
        "the dev-dependencies add packages"
    );
    let differ: Vec<String> = product
        .iter()
        .filter_map(|(pkg, f)| {
            let t = tests.get(pkg)?;
            (t != f).then(|| format!("{pkg}: build [{f}], test [{t}]"))
        })
        .collect();
    assert!(
        differ.is_empty(),
        "the tests would rebuild these crates with other features:\n{}",
        differ.join("\n")
    );
}
