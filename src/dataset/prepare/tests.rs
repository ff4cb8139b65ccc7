//! Tests of request preparation (see the module docs of `crate::dataset::prepare`).

use super::*;
use crate::dataset::source;
use crate::plan::DatasetSource;
use crate::vocab::FileFormat;

#[test]
fn a_dataset_of_only_oversized_rows_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.txt");
    let line = "x".repeat(source::MAX_TEXT_BYTES + 1);
    std::fs::write(&path, format!("{line}\n{line}\n")).expect("write");
    let spec = DatasetSpec {
        name: "big".into(),
        source: DatasetSource::File {
            path: path.clone(),
            format: FileFormat::Txt,
        },
        prompt_column: "text".into(),
        image_column: None,
        system_prompt: None,
        messages_column: None,
        max_rows: None,
        delimiter: None,
        raw_config: serde_json::Value::Null,
    };
    let hub = HubConfig {
        cache_dir: None,
        endpoint: String::new(),
        token: None,
        progress: false,
    };
    let err = load_dataset(&spec, &hub, "m.toml")
        .err()
        .expect("no usable rows")
        .to_string();
    assert!(err.contains("big.txt"), "{err}");
    assert!(err.contains("skipped 2 rows over the size limits"), "{err}");
    assert!(err.contains("over 1 MiB"), "{err}");
}
