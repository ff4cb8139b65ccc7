//! Fuzz target: arbitrary text as a manifest, with `--set` overrides.
//!
//! Input layout: the manifest text, then optionally a NUL byte followed by
//! NUL-separated `--set` flags (`key.path=value`). Inputs that are not UTF-8 are
//! skipped. The manifest claims to live in a directory that does not exist, so
//! dataset config files named with relative paths are never found (absolute ones
//! are read, at most 1 MiB each).
//!
//! Checked: nothing panics; an error names the file and a location (a key path,
//! a line and column, or the flag at fault); a manifest that loads also loads
//! from its own resolved TOML, and planning it never panics.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tokenomics::manifest::{load_from_str, LoadOptions, ManifestError};

fn names_a_location(e: &ManifestError) -> bool {
    e.key.as_deref().is_some_and(|k| !k.is_empty())
        || e.message.starts_with("invalid TOML at line ")
        || e.message.starts_with("invalid JSON at line ")
        || e.message.starts_with("`--set ")
        || e.message.starts_with("--set ")
        || e.message.starts_with("the top level of ")
        || e.message.contains("larger than the 1 MiB limit")
        || e.message.starts_with("cannot read the dataset config")
        || e.message.starts_with("unsupported dataset config format")
        || e.message
            .starts_with("the dataset config is not valid UTF-8")
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (manifest, sets) = text.split_once('\0').unwrap_or((text, ""));
    let opts = LoadOptions {
        overrides: sets
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let path = Path::new("fuzz-no-such-dir/manifest.toml");
    match load_from_str(path, manifest, &opts, Vec::new()) {
        Ok(m) => {
            let again = load_from_str(path, &m.resolved_toml, &LoadOptions::default(), Vec::new());
            assert!(
                again.is_ok(),
                "the resolved TOML does not load: {:?}\n{}",
                again.err(),
                m.resolved_toml
            );
            let _ = tokenomics::plan::build(&m, &tokenomics::plan::PlanOptions::default());
        }
        Err(e) => {
            assert!(!e.file.as_os_str().is_empty());
            assert!(names_a_location(&e), "no location in: {e}");
        }
    }
});
