//! What a plan needs, loaded once: datasets (local files or the Hub), token
//! counters and image specs; and [`fetch`], which downloads them ahead of a run.

use std::sync::Arc;

use super::{Dataset, AIME_PREAMBLE, AIME_REPO};
use crate::dataset::hub::{self, HubConfig, HubDataset};
use crate::dataset::source::{self, Columns, Row};
use crate::dataset::text;
use crate::dataset::tokens::{self, Counter};
use crate::dataset::DatasetError;
use crate::plan::{DatasetSource, DatasetSpec, Plan, ScenarioSpec};
use crate::vocab::workload::Workload;
use crate::vocab::{ImageFormat, ImageSpec, TokenizerSource};

/// True when a scenario reads its dataset (generated embedding texts do not).
pub(super) fn needs_dataset(sc: &ScenarioSpec) -> bool {
    sc.replay || !matches!(sc.workload, Workload::EmbeddingText { .. })
}

/// The Hub dataset behind a source, if any.
fn hub_dataset(source: &DatasetSource) -> Option<HubDataset> {
    match source {
        DatasetSource::Aime => Some(HubDataset::new(AIME_REPO, None, "train", None)),
        DatasetSource::HuggingFace {
            repo,
            config,
            split,
            revision,
        } => Some(HubDataset::new(
            repo,
            config.as_deref(),
            split,
            revision.as_deref(),
        )),
        DatasetSource::Synthetic | DatasetSource::File { .. } => None,
    }
}

/// Two specs read the same rows (name, description and system prompt aside).
pub(super) fn same_rows(a: &DatasetSpec, b: &DatasetSpec) -> bool {
    a.source == b.source
        && a.prompt_column == b.prompt_column
        && a.image_column == b.image_column
        && a.messages_column == b.messages_column
        && a.max_rows == b.max_rows
        && a.delimiter == b.delimiter
}

pub(super) fn load_dataset(
    spec: &DatasetSpec,
    hub: &HubConfig,
    manifest: &str,
) -> Result<Dataset, DatasetError> {
    let cols = Columns {
        text: spec
            .messages_column
            .clone()
            .unwrap_or_else(|| spec.prompt_column.clone()),
        messages: spec.messages_column.is_some(),
        image: spec.image_column.clone(),
    };
    let (origin, (rows, oversize)) = match &spec.source {
        DatasetSource::Synthetic => {
            let rows = text::synthetic_corpus()
                .into_iter()
                .take(spec.max_rows.unwrap_or(usize::MAX))
                .map(|text| Row {
                    text,
                    messages: None,
                    images: Vec::new(),
                })
                .collect();
            ("the built-in synthetic dataset".to_string(), (rows, 0))
        }
        DatasetSource::Aime => {
            let ds = HubDataset::new(AIME_REPO, None, "train", None);
            let origin = ds.describe();
            let paths = hub::cached_parquet(hub, &ds, manifest)?;
            let aime_cols = Columns {
                text: "Question".to_string(),
                messages: false,
                image: None,
            };
            let table = source::read_parquet(&paths, &aime_cols, spec.max_rows)?;
            let mut rows = source::rows_from_table(table, &aime_cols, &origin, None)?;
            for r in &mut rows.rows {
                r.text = format!("{AIME_PREAMBLE}{}", r.text);
            }
            (origin, finish_rows(rows, &spec.name))
        }
        DatasetSource::HuggingFace { .. } => {
            let ds = hub_dataset(&spec.source).ok_or_else(|| DatasetError::Build {
                message: "internal: a Hub source without a Hub dataset".to_string(),
            })?;
            let origin = ds.describe();
            let paths = hub::cached_parquet(hub, &ds, manifest)?;
            let table = source::read_parquet(&paths, &cols, spec.max_rows)?;
            let rows = source::rows_from_table(table, &cols, &origin, None)?;
            (origin, finish_rows(rows, &spec.name))
        }
        DatasetSource::File { path, format } => {
            let origin = path.display().to_string();
            let table = source::read_file(path, *format, spec.delimiter, &cols, spec.max_rows)?;
            let rows = source::rows_from_table(table, &cols, &origin, path.parent())?;
            (origin, finish_rows(rows, &spec.name))
        }
    };
    if rows.is_empty() {
        let detail = if oversize > 0 {
            format!(
                "{}; every other row lacks text in `{}` or is empty",
                oversize_note(oversize),
                cols.text
            )
        } else {
            format!("every row lacks text in `{}` or is empty", cols.text)
        };
        return Err(DatasetError::Empty { origin, detail });
    }
    Ok(Dataset {
        spec: spec.clone(),
        origin,
        rows,
    })
}

fn finish_rows(rows: source::Rows, name: &str) -> (Vec<Row>, usize) {
    if rows.oversize > 0 {
        tracing::warn!(
            dataset = name,
            skipped = rows.oversize,
            "{}",
            oversize_note(rows.oversize)
        );
    }
    (rows.rows, rows.oversize)
}

/// Says how many rows were skipped for their size, and the limits.
fn oversize_note(skipped: usize) -> String {
    format!(
        "skipped {skipped} rows over the size limits (a prompt or conversation over {} MiB, or a \
         .jsonl line over {} MiB)",
        source::MAX_TEXT_BYTES >> 20,
        source::MAX_LINE_BYTES >> 20
    )
}

pub(super) fn load_counter(
    src: &TokenizerSource,
    hub: &HubConfig,
    manifest: &str,
) -> Result<Counter, DatasetError> {
    let (path, name) = match src {
        TokenizerSource::File(p) => (p.clone(), p.display().to_string()),
        TokenizerSource::Hub { repo, revision } => (
            hub::cached_tokenizer(hub, repo, revision.as_deref(), manifest)?,
            repo.clone(),
        ),
    };
    let configured = tokens::load_tokenizer_as_configured(&path)?;
    let tok = tokens::without_padding(configured.clone(), &path)?;
    Ok(Counter::Tokenizer {
        tok: Arc::new(tok),
        configured: Arc::new(configured),
        name,
    })
}

/// The images requests of a scenario carry, if any.
pub(super) fn image_spec(sc: &ScenarioSpec) -> Option<ImageSpec> {
    sc.images.clone().or(match sc.workload {
        Workload::Image {
            width,
            height,
            count,
        } => Some(ImageSpec {
            width,
            height,
            count,
            format: ImageFormat::Png,
            from_dataset: false,
        }),
        _ => None,
    })
}

/// Downloads every Hub dataset and tokenizer `plan` needs into the cache, with
/// the Hub settings from the environment; see [`fetch_with`].
///
/// # Errors
/// As [`fetch_with`].
pub async fn fetch(plan: &Plan) -> Result<Vec<String>, DatasetError> {
    fetch_with(plan, &HubConfig::from_env()).await
}

/// Downloads every Hub dataset (Parquet shards) and Hub tokenizer of `plan`
/// that is not cached yet. Returns one line per item: what it is and whether it
/// was downloaded or already cached. Local files and the synthetic source are
/// not listed.
///
/// # Errors
/// The first download that fails (not found, access denied, network), naming
/// the dataset or model and a hint.
pub async fn fetch_with(plan: &Plan, hub: &HubConfig) -> Result<Vec<String>, DatasetError> {
    let mut out = Vec::new();
    let mut seen: Vec<HubDataset> = Vec::new();
    for sc in plan.scenarios.values().filter(|s| needs_dataset(s)) {
        let Some(ds) = hub_dataset(&sc.dataset.source) else {
            continue;
        };
        if seen.contains(&ds) {
            continue;
        }
        let n = hub::fetch_parquet(hub, &ds).await?;
        out.push(format!(
            "{}: {} Parquet file(s) downloaded, {} already cached",
            ds.describe(),
            n.downloaded,
            n.cached
        ));
        seen.push(ds);
    }
    let mut seen_tok: Vec<(String, Option<String>)> = Vec::new();
    for ep in plan.endpoints.values() {
        let Some(TokenizerSource::Hub { repo, revision }) = &ep.tokenizer else {
            continue;
        };
        let key = (repo.clone(), revision.clone());
        if seen_tok.contains(&key) {
            continue;
        }
        let downloaded = hub::fetch_tokenizer(hub, repo, revision.as_deref()).await?;
        out.push(format!(
            "tokenizer.json of model {repo}: {}",
            if downloaded {
                "downloaded"
            } else {
                "already cached"
            }
        ));
        seen_tok.push(key);
    }
    Ok(out)
}
