//! Dataset configs through the product's one parser: every file in
//! `dataset_configs/` is read the way `[datasets.<name>] path = "..."` reads it,
//! then named by a manifest that is validated and planned; the original tool's
//! JSON configs load unchanged; broken configs name the file and the key.

use std::path::{Path, PathBuf};

use tokenomics::manifest::{self, LoadOptions, ManifestError};
use tokenomics::plan::{self, DatasetSource, DatasetSpec, PlanOptions};
use tokenomics::vocab::FileFormat;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/datasets")
}

/// One config file, read by the manifest's parser and resolved by the plan.
fn load_dataset_config(path: &Path) -> Result<DatasetSpec, ManifestError> {
    manifest::load_dataset_config(path).map(|c| plan::dataset_spec(&c))
}

#[test]
fn a_manifest_naming_every_bundled_config_plans() {
    let dir = root().join("dataset_configs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml" || e == "json"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 21, "{names:?}");
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "schema = 1\n[experiment]\nname = \"configs\"\n[endpoints.sim]\nsimulator = {}\n",
    );
    for name in &names {
        let file = ["toml", "json"]
            .iter()
            .map(|e| dir.join(format!("{name}.{e}")))
            .find(|p| p.is_file())
            .unwrap();
        text.push_str(&format!(
            "[datasets.{name}]\npath = {:?}\n[scenarios.{name}]\nspec = \"D(16,4)\"\ndataset = \"{name}\"\n",
            file.display().to_string()
        ));
    }
    text.push_str(&format!(
        "[[grid]]\nendpoints = [\"sim\"]\nscenarios = {names:?}\nmode = \"burst\"\nbatch_sizes = [1]\n"
    ));
    let path = tmp.path().join("configs.toml");
    std::fs::write(&path, &text).unwrap();
    let m = manifest::load(&path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let plan = plan::build(&m, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plan.points.len(), names.len());
    for name in &names {
        let sc = &plan.scenarios[name];
        assert_eq!(&sc.dataset.name, name);
        // The plan carries what the config file alone gives.
        let file = ["toml", "json"]
            .iter()
            .map(|e| dir.join(format!("{name}.{e}")))
            .find(|p| p.is_file())
            .unwrap();
        let alone = load_dataset_config(&file).unwrap();
        assert_eq!(sc.dataset, alone, "{name}");
    }
}

#[test]
fn every_bundled_config_loads() {
    let dir = root().join("dataset_configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let spec = load_dataset_config(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(spec.name, path.file_stem().unwrap().to_str().unwrap());
            assert!(
                spec.raw_config["description"].is_string(),
                "{}",
                path.display()
            );
            n += 1;
        }
    }
    assert_eq!(n, 21, "the 21 example configs");
    let gsm = load_dataset_config(&dir.join("gsm8k.toml")).unwrap();
    assert_eq!(
        gsm.source,
        DatasetSource::HuggingFace {
            repo: "openai/gsm8k".into(),
            config: Some("main".into()),
            split: "test".into(),
            revision: None
        }
    );
    assert_eq!(gsm.prompt_column, "question");
    let chart = load_dataset_config(&dir.join("chartqa.toml")).unwrap();
    assert_eq!(chart.image_column.as_deref(), Some("image"));
    let aime = load_dataset_config(&dir.join("aime_simple.toml")).unwrap();
    assert_eq!(aime.source, DatasetSource::Aime);
    let short = load_dataset_config(&dir.join("short_prompts.toml")).unwrap();
    assert_eq!(
        short.source,
        DatasetSource::File {
            path: dir.join("data/short_prompts.txt"),
            format: FileFormat::Txt
        }
    );
}

#[test]
fn original_json_configs_load_unchanged() {
    let d = fixtures();
    let gsm = load_dataset_config(&d.join("original_gsm8k.json")).unwrap();
    assert_eq!(
        gsm.source,
        DatasetSource::HuggingFace {
            repo: "openai/gsm8k".into(),
            config: Some("main".into()),
            split: "test".into(),
            revision: None
        }
    );
    assert_eq!(
        gsm.raw_config["source"]["huggingface_kwargs"]["name"],
        "main"
    );
    let local = load_dataset_config(&d.join("original_local.json")).unwrap();
    assert_eq!(
        local.source,
        DatasetSource::File {
            path: d.join("prompts.txt"),
            format: FileFormat::Txt
        }
    );
    assert_eq!(
        load_dataset_config(&d.join("original_aime.json"))
            .unwrap()
            .source,
        DatasetSource::Aime
    );
    let vision = load_dataset_config(&d.join("original_vision.json")).unwrap();
    assert_eq!(vision.image_column.as_deref(), Some("image"));
}

#[test]
fn bad_configs_name_the_file_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("broken.toml");
    std::fs::write(
        &p,
        "source = { huggingface = \"a/b\" }\nimage_colum = \"img\"\n",
    )
    .unwrap();
    let e = load_dataset_config(&p).unwrap_err().to_string();
    assert!(e.contains("broken.toml"), "{e}");
    assert!(
        e.contains("`image_colum`") && e.contains("did you mean `image_column`"),
        "{e}"
    );

    let p = tmp.path().join("syntax.toml");
    std::fs::write(&p, "source = \n").unwrap();
    let e = load_dataset_config(&p).unwrap_err().to_string();
    assert!(
        e.contains("syntax.toml") && e.contains("invalid TOML"),
        "{e}"
    );

    let p = tmp.path().join("wrongtype.json");
    std::fs::write(
        &p,
        r#"{"source": {"type": "file", "path": "x.txt"}, "prompt_column": 3}"#,
    )
    .unwrap();
    let e = load_dataset_config(&p).unwrap_err();
    assert_eq!(e.file, p);
    assert_eq!(e.key.as_deref(), Some("prompt_column"), "{e}");
    assert!(e.message.contains("expected a string"), "{e}");

    let p = tmp.path().join("config.yaml");
    std::fs::write(&p, "x").unwrap();
    assert!(load_dataset_config(&p)
        .unwrap_err()
        .to_string()
        .contains("config.yaml"));
}

#[test]
fn delimiter_applies_to_csv_files_only_and_is_one_character() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ok = write(
        "semi.toml",
        "source = { file = \"rows.csv\" }\nprompt_column = \"q\"\ndelimiter = \";\"\n",
    );
    assert_eq!(load_dataset_config(&ok).unwrap().delimiter, Some(';'));
    let tsv = write("tsv.toml", "source = { file = \"rows.tsv\" }\n");
    let spec = load_dataset_config(&tsv).unwrap();
    assert!(
        matches!(
            &spec.source,
            DatasetSource::File {
                format: FileFormat::Csv,
                ..
            }
        ),
        "{spec:?}"
    );
    for (name, text, needle) in [
        (
            "jsonl.toml",
            "source = { file = \"rows.jsonl\" }\ndelimiter = \";\"\n",
            "applies only to CSV files",
        ),
        (
            "two.toml",
            "source = { file = \"rows.csv\" }\ndelimiter = \";;\"\n",
            "one ASCII character",
        ),
        (
            "quote.toml",
            "source = { file = \"rows.csv\" }\ndelimiter = '\"'\n",
            "one ASCII character",
        ),
    ] {
        let e = load_dataset_config(&write(name, text)).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("delimiter"), "{e}");
        assert!(e.message.contains(needle), "{e}");
    }
}
