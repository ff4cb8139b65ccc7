//! The [`Preparer`]: datasets and tokenizers loaded once, request bodies per run.
//!
//! **Synthesised requests** (the default). For request `i` of a run:
//! 1. lengths `(in, out)` from the scenario's workload (`lengths` stream):
//!    `D` fixed; `N` `max(1, trunc(normal(mean, std)))`, input then output;
//!    `U` uniform over the inclusive bounds; `I` uses [`IMAGE_PROMPT_TOKENS`]
//!    and [`IMAGE_OUTPUT_TOKENS`];
//! 2. the prompt: `in` tokens of dataset text (see `tokens`); with a prefix
//!    workload, one of `groups` shared prefixes of exactly `tokens` tokens
//!    (group drawn uniformly from the `prefix-group` stream; prefix texts come
//!    from the point's seed, so every run of a point shares them), a space, and
//!    a unique suffix up to `in` (a target below the prefix gives the prefix alone);
//! 3. images, follow-up turns, LoRA adapter, each from its own stream;
//! 4. `max_tokens = clamp(out, 1, max_tokens_cap)` and the body (see `body`).
//!
//! Embeddings: one text per request of `E(tokens)` tokens, or an `E(short)`-style
//! text; with `embed_batch_in_one_request` the run is ONE request whose `input`
//! holds all `count` texts (`items = count`). Rerank/score: a query of
//! `query_tokens` and `documents` documents of `doc_tokens`.
//!
//! **Replay** (`scenario.replay`): dataset rows in order, verbatim, the first
//! `min(count, rows)` of them (so a run may hold fewer than `count` requests),
//! `max_tokens = max_tokens_cap`. Rows of a messages column send their messages
//! up to the first user message; later user messages become the follow-ups.
//! Rows keep their own images.
//!
//! **`compat = "original"`**: the original tool's requests instead (its seeds,
//! snippet picks and counts, images, LoRA strategies and body fields; see
//! `Ctx::original` and the `compat` module), for synthesised and replayed
//! requests and their warmups alike.
//!
//! **Warmup** ([`Preparer::prepare_warmup`]), on the `warmup` streams (its own
//! seeds, so warmup never repeats a measured prompt), one turn and no shared
//! prefix (the prefix cache the experiment measures stays cold); replay
//! scenarios warm up with synthesised requests too. With `warmup_shape =
//! "point"` (the default) the requests have the point's own shape — its
//! lengths, images, API and LoRA adapters — so one-time costs for that shape
//! (compiled graphs, adapter loads) are paid before the clock starts. With
//! `"short"`: generation `D(`[`WARMUP_INPUT_TOKENS`]`,`[`WARMUP_OUTPUT_TOKENS`]`)`,
//! embeddings of 32 tokens (or `E(short)`), rerank with 32-token documents and a
//! 16-token query, on the base model. Under `compat = "original"`, warmup is
//! the original tool's own.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::body::{self, Generation};
use super::hub::{self, HubConfig, HubDataset};
use super::images;
use super::lora::{self, LoraMix};
use super::rng::{stream, Purpose, Scope};
use super::source::{self, Columns, ImageRef, Message, Row};
use super::text;
use super::tokens::{self, Built, Counter, Pool};
use super::{DatasetError, PreparedRequest, PreparedRun};
use crate::plan::{DatasetSource, DatasetSpec, EndpointSpec, Plan, PointSpec, ScenarioSpec};
use crate::vocab::workload::{TextLength, Workload, MAX_TOKENS};
use crate::vocab::{ApiKind, ImageFormat, ImageSpec, LoraStrategy, TokenizerSource, WarmupShape};

/// Text tokens of an `I(w,h[,n])` request.
pub const IMAGE_PROMPT_TOKENS: u32 = 16;
/// Output tokens asked for by an `I(w,h[,n])` request (then capped by `max_tokens_cap`).
pub const IMAGE_OUTPUT_TOKENS: u32 = 128;
/// Input tokens of a warmup generation request.
pub const WARMUP_INPUT_TOKENS: u32 = 32;
/// Output tokens of a warmup generation request.
pub const WARMUP_OUTPUT_TOKENS: u32 = 16;
/// The built-in AIME dataset on the Hub (config `default`, split `train`, column `Question`).
pub const AIME_REPO: &str = "gneubig/aime-1983-2024";
/// Put before every AIME question.
pub const AIME_PREAMBLE: &str =
    "You are an assistant that helps students solve challenging problems.\n\n";

/// A loaded dataset.
struct Dataset {
    spec: DatasetSpec,
    /// How errors name it (file path or Hub dataset).
    origin: String,
    rows: Vec<Row>,
}

impl Dataset {
    fn pool(&self) -> Pool<'_> {
        Pool {
            texts: self
                .rows
                .iter()
                .map(|r| r.text.as_str())
                .filter(|t| !t.trim().is_empty())
                .collect(),
        }
    }
}

/// A scenario with its dataset and LoRA mix resolved.
struct Scenario {
    spec: ScenarioSpec,
    dataset: Option<usize>,
    lora: Option<LoraMix>,
}

/// Dataset texts with their original token counts (`compat = "original"`).
type Snippets = Arc<Vec<(String, u32)>>;

/// Loads datasets and tokenizers once and builds the requests of every run.
pub struct Preparer {
    endpoints: BTreeMap<String, EndpointSpec>,
    scenarios: BTreeMap<String, Scenario>,
    datasets: Vec<Dataset>,
    counters: BTreeMap<String, Counter>,
    /// The experiment seed (the original tool's base seed, for `compat = "original"`).
    base_seed: u64,
    /// What warmup requests look like.
    warmup_shape: WarmupShape,
    /// `compat = "original"`: the original's request counter (image ids and prompt
    /// prefixes) at the start of each planned point, by point id (see [`uid_bases`]).
    uid_bases: HashMap<String, u64>,
    /// `compat = "original"`: snippet texts and their original counts, by
    /// (dataset index, endpoint name), counted once as the original does.
    snippets: Mutex<HashMap<(usize, String), Snippets>>,
}

/// True when a scenario reads its dataset (generated embedding texts do not).
fn needs_dataset(sc: &ScenarioSpec) -> bool {
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
fn same_rows(a: &DatasetSpec, b: &DatasetSpec) -> bool {
    a.source == b.source
        && a.prompt_column == b.prompt_column
        && a.image_column == b.image_column
        && a.messages_column == b.messages_column
        && a.max_rows == b.max_rows
        && a.delimiter == b.delimiter
}

fn load_dataset(
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

fn load_counter(
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
fn image_spec(sc: &ScenarioSpec) -> Option<ImageSpec> {
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

impl Preparer {
    /// Loads what `plan` needs (see [`Preparer::with_hub`]), with the Hub settings
    /// from the environment (`HF_HOME`, `HF_ENDPOINT`, `HF_TOKEN`).
    ///
    /// # Errors
    /// As [`Preparer::with_hub`].
    pub fn new(plan: &Plan) -> Result<Self, DatasetError> {
        Self::with_hub(plan, &HubConfig::from_env())
    }

    /// Loads every tokenizer and dataset of `plan` (Hub files from the cache
    /// only) and checks every point's endpoint × scenario combination.
    ///
    /// # Errors
    /// A dataset or tokenizer that cannot be loaded (a Hub file not cached says
    /// to run `tokenomics fetch`), or a combination that cannot work (e.g. an
    /// `E(...)` scenario on a chat endpoint).
    pub fn with_hub(plan: &Plan, hub: &HubConfig) -> Result<Self, DatasetError> {
        let manifest = plan.manifest_path.display().to_string();
        let mut counters = BTreeMap::new();
        let mut loaded: Vec<(TokenizerSource, Counter)> = Vec::new();
        for (name, ep) in &plan.endpoints {
            let counter = match &ep.tokenizer {
                None => Counter::Estimate,
                Some(src) => match loaded.iter().find(|(s, _)| s == src) {
                    Some((_, c)) => c.clone(),
                    None => {
                        let c = load_counter(src, hub, &manifest)?;
                        loaded.push((src.clone(), c.clone()));
                        c
                    }
                },
            };
            counters.insert(name.clone(), counter);
        }
        let mut datasets: Vec<Dataset> = Vec::new();
        let mut scenarios = BTreeMap::new();
        for (name, sc) in &plan.scenarios {
            sc.workload.validate()?;
            let origin = format!("scenario `{name}`");
            let lora = sc
                .lora
                .as_ref()
                .map(|l| LoraMix::new(l, &origin))
                .transpose()?;
            let dataset = if needs_dataset(sc) {
                match datasets
                    .iter()
                    .position(|d| same_rows(&d.spec, &sc.dataset))
                {
                    Some(i) => Some(i),
                    None => {
                        datasets.push(load_dataset(&sc.dataset, hub, &manifest)?);
                        Some(datasets.len() - 1)
                    }
                }
            } else {
                None
            };
            scenarios.insert(
                name.clone(),
                Scenario {
                    spec: sc.clone(),
                    dataset,
                    lora,
                },
            );
        }
        let mut me = Preparer {
            endpoints: plan.endpoints.clone(),
            scenarios,
            datasets,
            counters,
            base_seed: plan.experiment.seed,
            warmup_shape: plan.experiment.warmup_shape,
            uid_bases: HashMap::new(),
            snippets: Mutex::new(HashMap::new()),
        };
        me.uid_bases = uid_bases(&me, &plan.points);
        for point in &plan.points {
            me.check_point(point)?;
        }
        for search in &plan.searches {
            me.check_point(&search.probe_point(1.0, 0))?;
        }
        Ok(me)
    }

    fn lookup(
        &self,
        point: &PointSpec,
    ) -> Result<(&EndpointSpec, &Scenario, &Counter), DatasetError> {
        let invalid = |field: &str, message: String| DatasetError::Invalid {
            origin: format!("point `{}`", point.id),
            field: field.to_string(),
            message,
        };
        let ep = self.endpoints.get(&point.endpoint).ok_or_else(|| {
            invalid(
                "endpoint",
                format!("endpoint `{}` is not in the plan", point.endpoint),
            )
        })?;
        let sc = self.scenarios.get(&point.scenario).ok_or_else(|| {
            invalid(
                "scenario",
                format!("scenario `{}` is not in the plan", point.scenario),
            )
        })?;
        let counter = self
            .counters
            .get(&point.endpoint)
            .unwrap_or(&Counter::Estimate);
        Ok((ep, sc, counter))
    }

    /// Checks that the point's scenario can run on its endpoint.
    fn check_point(&self, point: &PointSpec) -> Result<(), DatasetError> {
        let (ep, sc, counter) = self.lookup(point)?;
        let s = &sc.spec;
        let fail = |field: &str, message: String| {
            Err(DatasetError::Invalid {
                origin: format!("scenario `{}` on endpoint `{}`", s.name, ep.name),
                field: field.to_string(),
                message,
            })
        };
        let api = ep.api.as_str();
        let spec = s.workload.to_spec_string();
        if s.replay {
            if matches!(ep.api, ApiKind::Rerank | ApiKind::Score) {
                return fail(
                    "replay",
                    format!("replay is not available for api = \"{api}\" (use R(...))"),
                );
            }
        } else {
            match &s.workload {
                w if w.generates() && !ep.api.generates() => {
                    return fail(
                        "workload",
                        format!("{spec} generates text, but the endpoint's api is \"{api}\" (use E(...) for embeddings, R(...) for rerank/score)"),
                    )
                }
                Workload::Embedding { .. } | Workload::EmbeddingText { .. }
                    if ep.api != ApiKind::Embeddings =>
                {
                    return fail("workload", format!("{spec} needs api = \"embeddings\", not \"{api}\""))
                }
                Workload::Rerank { .. } if !matches!(ep.api, ApiKind::Rerank | ApiKind::Score) => {
                    return fail("workload", format!("{spec} needs api = \"rerank\" or \"score\", not \"{api}\""))
                }
                _ => {}
            }
        }
        if s.compat_original {
            if ep.api != ApiKind::Chat {
                return fail(
                    "compat",
                    format!("compat = \"original\" sends chat requests, as the original does; the endpoint's api is \"{api}\""),
                );
            }
            if matches!(counter, Counter::Estimate) {
                return fail(
                    "compat",
                    "compat = \"original\" counts prompt tokens with the model's tokenizer, as the \
                     original does; set `tokenizer` on the endpoint"
                        .to_string(),
                );
            }
        }
        if s.turns == 0 {
            return fail("turns", "must be at least 1".to_string());
        }
        if s.turns > 1 && ep.api != ApiKind::Chat {
            return fail(
                "turns",
                format!("multi-turn needs api = \"chat\", not \"{api}\""),
            );
        }
        if s.max_tokens_cap == 0 {
            return fail("max_tokens_cap", "must be at least 1".to_string());
        }
        if let Some(img) = image_spec(s) {
            if ep.api != ApiKind::Chat {
                return fail(
                    "images",
                    format!("images need api = \"chat\", not \"{api}\""),
                );
            }
            if img.width == 0 || img.height == 0 || img.count == 0 {
                return fail(
                    "images",
                    "width, height and count must be at least 1".to_string(),
                );
            }
            if img.from_dataset {
                let with_images = sc
                    .dataset
                    .and_then(|i| self.datasets.get(i))
                    .is_some_and(|d| d.rows.iter().any(|r| !r.images.is_empty()));
                if !with_images {
                    return fail(
                        "images.from_dataset",
                        format!(
                            "dataset `{}` has no images (set its image_column)",
                            s.dataset.name
                        ),
                    );
                }
            }
        }
        if let Some(p) = &s.prefix {
            if !ep.api.generates() {
                return fail(
                    "prefix",
                    format!("shared prefixes need a generation api, not \"{api}\""),
                );
            }
            if p.tokens == 0 || p.groups == 0 {
                return fail("prefix", "tokens and groups must be at least 1".to_string());
            }
        }
        Ok(())
    }

    /// The request bodies of measured run `run` of `point`, `count` requests, in schedule order.
    ///
    /// # Errors
    /// When the point is not in the plan or a request cannot be built.
    pub fn prepare_run(
        &self,
        point: &PointSpec,
        run: u32,
        count: u32,
    ) -> Result<PreparedRun, DatasetError> {
        self.build(point, Scope::Run(run), count)
    }

    /// `count` warmup requests for `point` (see the module docs), seeded apart from measured runs.
    ///
    /// # Errors
    /// As [`Preparer::prepare_run`].
    pub fn prepare_warmup(
        &self,
        point: &PointSpec,
        count: u32,
    ) -> Result<PreparedRun, DatasetError> {
        self.build(point, Scope::Warmup, count)
    }

    fn build(
        &self,
        point: &PointSpec,
        scope: Scope,
        count: u32,
    ) -> Result<PreparedRun, DatasetError> {
        let (ep, sc, counter) = self.lookup(point)?;
        let cx = Ctx {
            ep,
            sc,
            counter,
            dataset: sc.dataset.and_then(|i| self.datasets.get(i)),
            seed: point.seed,
            scope,
            warmup_shape: self.warmup_shape,
        };
        let requests = if sc.spec.compat_original {
            let uid_base = self.uid_bases.get(&point.id).copied().unwrap_or(0);
            let snippets = self.original_snippets(&cx, &point.endpoint)?;
            cx.original(self.base_seed, point, count, uid_base, &snippets)?
        } else if sc.spec.replay && scope != Scope::Warmup {
            cx.replay(count)?
        } else {
            cx.synthesize(count)?
        };
        Ok(PreparedRun {
            requests,
            counting: counter.counting(),
        })
    }
}

impl Preparer {
    /// `compat = "original"`: every row text of the scenario's dataset with its
    /// original token count (the original's pre-tokenised snippet list), counted
    /// once per dataset and endpoint. Empty for replay and without a dataset.
    fn original_snippets(&self, cx: &Ctx<'_>, endpoint: &str) -> Result<Snippets, DatasetError> {
        let (Some(index), false) = (cx.sc.dataset, cx.sc.spec.replay) else {
            return Ok(Arc::new(Vec::new()));
        };
        let key = (index, endpoint.to_string());
        let mut cache = self
            .snippets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = cache.get(&key) {
            return Ok(Arc::clone(found));
        }
        let rows = cx.dataset.map_or(&[][..], |d| d.rows.as_slice());
        let list = rows
            .iter()
            .map(|r| Ok((r.text.clone(), cx.original_count(&r.text)?)))
            .collect::<Result<Vec<_>, DatasetError>>()?;
        let list = Arc::new(list);
        cache.insert(key, Arc::clone(&list));
        Ok(list)
    }

    /// Requests per measured run of `point` as the original would send them:
    /// the planned count, or for replay at most the dataset's rows.
    fn original_run_len(&self, point: &PointSpec) -> u64 {
        let planned = point.requests_per_run();
        match self.scenarios.get(&point.scenario) {
            Some(sc) if sc.spec.replay => {
                let rows = sc
                    .dataset
                    .and_then(|i| self.datasets.get(i))
                    .map_or(0, |d| d.rows.len() as u64);
                planned.min(rows)
            }
            _ => planned,
        }
    }
}

/// The original's request counter at the start of each point of `points`.
///
/// One run of the original sweeps one endpoint × scenario × mode over its load
/// values, and counts every measured request of that invocation from 0, in
/// order (load values, then runs, then requests). A series here is the points of
/// one endpoint, scenario, mode and grid (the `original/` output's series), in
/// plan order; a point's counter starts after all measured requests of the
/// earlier points of its series. Points not in the plan (search probes) start at 0.
fn uid_bases(prep: &Preparer, points: &[PointSpec]) -> HashMap<String, u64> {
    let mut next: HashMap<(String, String, &'static str, String), u64> = HashMap::new();
    let mut out = HashMap::new();
    for p in points {
        let key = (
            p.endpoint.clone(),
            p.scenario.clone(),
            p.load.mode_name(),
            p.grid.clone(),
        );
        let start = next.entry(key).or_default();
        out.insert(p.id.clone(), *start);
        *start = start.saturating_add(u64::from(p.runs).saturating_mul(prep.original_run_len(p)));
    }
    out
}

/// Everything one `build` call needs.
struct Ctx<'a> {
    ep: &'a EndpointSpec,
    sc: &'a Scenario,
    counter: &'a Counter,
    dataset: Option<&'a Dataset>,
    seed: u64,
    scope: Scope,
    warmup_shape: WarmupShape,
}

/// `trunc(x)` clamped to `1..=MAX_TOKENS` (a normal draw above the limit counts as it).
fn at_least_one(x: f64) -> u32 {
    let t = x.trunc();
    if t.is_nan() || t < 1.0 {
        1
    } else if t >= f64::from(MAX_TOKENS) {
        MAX_TOKENS
    } else {
        // In range by the checks above.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let v = t as u32;
        v
    }
}

fn normal(mean: f64, std: f64) -> Result<Normal<f64>, DatasetError> {
    Normal::new(mean, std).map_err(|e| DatasetError::Build {
        message: format!("normal({mean}, {std}): {e}"),
    })
}

/// Samples `(input, output)` lengths of a generation workload (see the module docs).
fn sample_lengths<R: Rng>(w: &Workload, rng: &mut R) -> Result<(u32, u32), DatasetError> {
    Ok(match w {
        Workload::Deterministic { input, output } => (*input, *output),
        Workload::Normal {
            input_mean,
            input_std,
            output_mean,
            output_std,
        } => {
            let i = at_least_one(normal(*input_mean, *input_std)?.sample(rng));
            let o = at_least_one(normal(*output_mean, *output_std)?.sample(rng));
            (i, o)
        }
        Workload::Uniform {
            input_min,
            input_max,
            output_min,
            output_max,
        } => (
            rng.random_range(*input_min..=*input_max),
            rng.random_range(*output_min..=*output_max),
        ),
        Workload::Image { .. } => (IMAGE_PROMPT_TOKENS, IMAGE_OUTPUT_TOKENS),
        Workload::Embedding { tokens } => (*tokens, 0),
        Workload::Rerank { query_tokens, .. } => (*query_tokens, 0),
        Workload::EmbeddingText { .. } => (0, 0),
    })
}

impl Ctx<'_> {
    fn warmup(&self) -> bool {
        self.scope == Scope::Warmup
    }

    fn rng(&self, purpose: Purpose, index: u32) -> rand_chacha::ChaCha12Rng {
        stream(self.seed, self.scope, purpose, u64::from(index))
    }

    fn pool(&self) -> Pool<'_> {
        self.dataset
            .map_or(Pool { texts: Vec::new() }, Dataset::pool)
    }

    fn origin(&self) -> String {
        self.dataset
            .map_or_else(|| "generated text".to_string(), |d| d.origin.clone())
    }

    /// Warmup with short requests instead of the point's own shape.
    fn short_warmup(&self) -> bool {
        self.warmup() && self.warmup_shape == WarmupShape::Short
    }

    /// The workload in effect (a short warmup replaces it with a short one).
    fn workload(&self) -> Workload {
        let w = &self.sc.spec.workload;
        if !self.short_warmup() {
            return w.clone();
        }
        match w {
            Workload::Embedding { .. } => Workload::Embedding { tokens: 32 },
            Workload::EmbeddingText { .. } => Workload::EmbeddingText {
                length: TextLength::Short,
            },
            Workload::Rerank { documents, .. } => Workload::Rerank {
                doc_tokens: 32,
                query_tokens: 16,
                documents: *documents,
            },
            _ => Workload::Deterministic {
                input: WARMUP_INPUT_TOKENS,
                output: WARMUP_OUTPUT_TOKENS,
            },
        }
    }

    fn lora(&self, index: u32) -> Option<String> {
        if self.short_warmup() {
            return None;
        }
        let mix = self.sc.lora.as_ref()?;
        mix.pick(index, &mut self.rng(Purpose::Lora, index))
    }

    fn system(&self) -> Option<&str> {
        self.dataset.and_then(|d| d.spec.system_prompt.as_deref())
    }

    /// The original's token count of `text` (`compat = "original"` needs a tokenizer).
    fn original_count(&self, text: &str) -> Result<u32, DatasetError> {
        self.counter
            .count_original(text)
            .ok_or_else(|| DatasetError::Invalid {
                origin: format!(
                    "scenario `{}` on endpoint `{}`",
                    self.sc.spec.name, self.ep.name
                ),
                field: "tokenizer".to_string(),
                message: "compat = \"original\" counts tokens with the model's tokenizer, and the \
                          endpoint has none (set `tokenizer` on the endpoint)"
                    .to_string(),
            })
    }

    /// `compat = "original"`: the requests the original tool sends (see
    /// [`super::compat`] and the README's compatibility section).
    ///
    /// * Seed = `derive_seed(experiment seed, load value, run)`, run −1 for warmup.
    /// * Prompts: lengths from NumPy's legacy generator, snippets (every dataset
    ///   row, with their original counts: special tokens, padding and truncation
    ///   as the tokenizer.json configures them) picked with CPython's
    ///   `random.choice` and joined with one space until their counts reach the
    ///   target. Warmup: `N(100,50)/(50,25)` with `max_tokens` ≤ 4096.
    /// * Replay: the first `count` rows in order, `max_tokens` = the cap; warmup
    ///   sends row 0 (without its own images).
    /// * Images (synthetic PNG): measured request number `uid` (counted over the
    ///   series, see [`uid_bases`]) gets ids `uid·k ..`, and its prompt the prefix
    ///   `"{uid} "`; warmups get ids `2^31 ..` and no prefix. Replayed rows with
    ///   their own images send those instead.
    /// * LoRA: the original's strategies (see [`super::compat::assign_original_lora`]);
    ///   warmups use the base model.
    /// * Bodies: [`body::original_chat`].
    fn original(
        &self,
        base_seed: u64,
        point: &PointSpec,
        count: u32,
        uid_base: u64,
        snippets: &[(String, u32)],
    ) -> Result<Vec<PreparedRequest>, DatasetError> {
        use super::compat::{self, OriginalPrompt};
        let warmup = self.warmup();
        let run: i64 = match self.scope {
            Scope::Run(r) => i64::from(r),
            Scope::Warmup | Scope::Point => -1,
        };
        #[allow(clippy::cast_possible_truncation)]
        let sweep = point.load.value().round() as i64;
        let seed = compat::derive_seed(base_seed, sweep, run);
        let cap = self.sc.spec.max_tokens_cap.max(1);
        let name = self.sc.spec.name.clone();
        let fail = |e: compat::CompatError| DatasetError::Build {
            message: format!("scenario `{name}`: {e}"),
        };

        // (prompt, the row's own images) per request.
        let mut prompts: Vec<(OriginalPrompt, &[ImageRef])> = Vec::new();
        if self.sc.spec.replay {
            let rows = self.dataset.map_or(&[][..], |d| d.rows.as_slice());
            let picked: Vec<&Row> = if warmup {
                rows.first()
                    .map_or_else(Vec::new, |r| vec![r; count as usize])
            } else {
                rows.iter().take(count as usize).collect()
            };
            let max_tokens = if warmup { cap.min(4096) } else { cap };
            for row in picked {
                let n = self.original_count(&row.text)?;
                let own: &[ImageRef] = if warmup { &[] } else { &row.images };
                prompts.push((
                    OriginalPrompt {
                        text: row.text.clone(),
                        target_input: n,
                        actual_input: n,
                        target_output: cap,
                        max_tokens,
                    },
                    own,
                ));
            }
        } else {
            let (workload, cap) = if warmup {
                let w = Workload::Normal {
                    input_mean: 100.0,
                    input_std: 50.0,
                    output_mean: 50.0,
                    output_std: 25.0,
                };
                (w, 4096)
            } else {
                (self.sc.spec.workload.clone(), cap)
            };
            // The original raises on an empty dataset even for zero targets.
            if snippets.is_empty() {
                return Err(fail(compat::CompatError::EmptySnippets));
            }
            prompts = compat::synthesize_original(seed, &workload, snippets, count as usize, cap)
                .map_err(fail)?
                .into_iter()
                .map(|p| (p, &[][..]))
                .collect();
        }

        let adapters = self.original_lora(prompts.len())?;
        let synthetic = image_spec(&self.sc.spec).filter(|s| !s.from_dataset);
        let warmup_images = match (&synthetic, warmup) {
            (Some(spec), true) => compat::image_ids(0, spec.count)
                .map(|j| {
                    images::original_synthetic(compat::WARMUP_IMAGE_ID + j, spec.width, spec.height)
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        let per_run = prompts.len() as u64;
        let run_start = match self.scope {
            Scope::Run(r) => uid_base.saturating_add(u64::from(r).saturating_mul(per_run)),
            Scope::Warmup | Scope::Point => uid_base,
        };
        let origin = self.origin();
        let mut out = Vec::with_capacity(prompts.len());
        for (i, (p, own)) in (0u32..).zip(prompts) {
            let (text, images) = if !own.is_empty() {
                let imgs = own
                    .iter()
                    .map(|img| images::from_dataset(img, &origin))
                    .collect::<Result<Vec<_>, _>>()?;
                (p.text, imgs)
            } else {
                match &synthetic {
                    Some(_) if warmup => (p.text, warmup_images.clone()),
                    Some(spec) => {
                        let uid = run_start.saturating_add(u64::from(i));
                        let imgs = compat::image_ids(uid, spec.count)
                            .map(|id| images::original_synthetic(id, spec.width, spec.height))
                            .collect::<Result<Vec<_>, _>>()?;
                        (compat::uid_prompt(uid, &p.text), imgs)
                    }
                    None => (p.text, Vec::new()),
                }
            };
            let adapter = adapters.get(i as usize).cloned().flatten();
            let model = lora::model_field(&self.ep.model, adapter.as_deref());
            let body = body::original_chat(self.ep, &model, &text, &images, p.max_tokens, warmup)?;
            out.push(PreparedRequest {
                index: i,
                path: body::path_for(self.ep),
                body,
                model,
                lora: adapter,
                target_input_tokens: Some(p.target_input),
                built_input_tokens: Some(p.actual_input),
                target_output_tokens: Some(p.target_output),
                max_tokens: Some(p.max_tokens),
                items: 1,
                prefix_group: None,
                followups: Vec::new(),
                conversation: None,
            });
        }
        Ok(out)
    }

    /// `compat = "original"`: the adapter of each of `count` requests (none for warmup).
    fn original_lora(&self, count: usize) -> Result<Vec<Option<String>>, DatasetError> {
        use super::compat::{assign_original_lora, OriginalLoraStrategy as S};
        let Some(mix) = self.sc.lora.as_ref().filter(|_| !self.warmup()) else {
            return Ok(vec![None; count]);
        };
        let spec = mix.spec();
        let strategy = match spec.strategy {
            LoraStrategy::Single => S::Single,
            LoraStrategy::RoundRobin | LoraStrategy::AllUnique => S::RoundRobin,
            LoraStrategy::Mixed => S::Mixed,
            LoraStrategy::Zipf if spec.zipf_alpha > 1.0 => S::Zipf {
                alpha: spec.zipf_alpha,
            },
            other => {
                return Err(DatasetError::Invalid {
                    origin: format!("scenario `{}`", self.sc.spec.name),
                    field: "lora.strategy".to_string(),
                    message: format!(
                        "{} has no equivalent in the original tool; with compat = \"original\" use \
                         single, round_robin (the original's uniform), all-unique, mixed, or zipf \
                         with zipf_alpha > 1",
                        compat_strategy_label(other)
                    ),
                })
            }
        };
        let seed = self.rng(Purpose::Lora, 0).random::<u64>();
        Ok(assign_original_lora(
            strategy,
            spec.adapters.len(),
            spec.base_model_ratio,
            count,
            seed,
        )
        .into_iter()
        .map(|a| a.and_then(|j| spec.adapters.get(j).cloned()))
        .collect())
    }

    fn synthesize(&self, count: u32) -> Result<Vec<PreparedRequest>, DatasetError> {
        match self.ep.api {
            ApiKind::Chat | ApiKind::Completions => self.generation_requests(count),
            ApiKind::Embeddings => self.embedding_requests(count),
            ApiKind::Rerank | ApiKind::Score => self.ranking_requests(count),
        }
    }

    /// The shared prefixes of the scenario (none for warmup).
    fn prefixes(&self) -> Result<Vec<Built>, DatasetError> {
        let Some(p) = self.sc.spec.prefix.as_ref().filter(|_| !self.warmup()) else {
            return Ok(Vec::new());
        };
        let pool = self.pool();
        (0..p.groups)
            .map(|g| {
                let mut r = stream(self.seed, Scope::Point, Purpose::PrefixText, u64::from(g));
                self.counter.build(p.tokens, &pool, &mut r)
            })
            .collect()
    }

    /// Synthetic or dataset images for request `index` (`spec` count of them).
    fn images(&self, index: u32) -> Result<Vec<String>, DatasetError> {
        let Some(spec) = image_spec(&self.sc.spec) else {
            return Ok(Vec::new());
        };
        let mut rng = self.rng(Purpose::Images, index);
        if !spec.from_dataset {
            return (0..spec.count)
                .map(|_| images::synthetic(&mut rng, spec.width, spec.height, spec.format))
                .collect();
        }
        let rows: Vec<&Row> = self
            .dataset
            .map(|d| d.rows.iter().filter(|r| !r.images.is_empty()).collect())
            .unwrap_or_default();
        if rows.is_empty() {
            return Err(DatasetError::Image {
                origin: self.origin(),
                message: "no row has images (set image_column)".to_string(),
            });
        }
        let mut out = Vec::with_capacity(spec.count as usize);
        while out.len() < spec.count as usize {
            let row = rows[rng.random_range(0..rows.len())];
            for img in &row.images {
                if out.len() < spec.count as usize {
                    out.push(images::from_dataset(img, &self.origin())?);
                }
            }
        }
        Ok(out)
    }

    fn generation_requests(&self, count: u32) -> Result<Vec<PreparedRequest>, DatasetError> {
        let workload = self.workload();
        let pool = self.pool();
        let prefixes = self.prefixes()?;
        let cap = self.sc.spec.max_tokens_cap.max(1);
        let turns = if self.warmup() { 1 } else { self.sc.spec.turns };
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let (tin, tout) = sample_lengths(&workload, &mut self.rng(Purpose::Lengths, i))?;
            let mut text_rng = self.rng(Purpose::Text, i);
            let (built, group) = if prefixes.is_empty() {
                (self.counter.build(tin, &pool, &mut text_rng)?, None)
            } else {
                let groups = u32::try_from(prefixes.len()).unwrap_or(u32::MAX);
                let g = self.rng(Purpose::PrefixGroup, i).random_range(0..groups);
                let head = &prefixes[g as usize];
                let b =
                    self.counter
                        .build_after(&head.text, head.tokens, tin, &pool, &mut text_rng)?;
                (b, Some(g))
            };
            let mut followups = Vec::new();
            if turns > 1 {
                let mut r = self.rng(Purpose::Followups, i);
                for _ in 1..turns {
                    let (fin, _) = sample_lengths(&workload, &mut r)?;
                    followups.push(self.counter.build(fin, &pool, &mut r)?.text);
                }
            }
            let images = self.images(i)?;
            let adapter = self.lora(i);
            let model = lora::model_field(&self.ep.model, adapter.as_deref());
            let max_tokens = tout.clamp(1, cap);
            let body = body::generation(
                self.ep,
                &Generation {
                    model: &model,
                    system: self.system(),
                    text: &built.text,
                    images: &images,
                    messages: None,
                    max_tokens,
                },
            )?;
            out.push(PreparedRequest {
                index: i,
                path: body::path_for(self.ep),
                body,
                model,
                lora: adapter,
                target_input_tokens: Some(tin),
                built_input_tokens: Some(built.tokens),
                target_output_tokens: Some(tout),
                max_tokens: Some(max_tokens),
                items: 1,
                prefix_group: group,
                followups,
                conversation: (turns > 1).then_some(i),
            });
        }
        Ok(out)
    }

    /// One embedding text for request `index`: `(text, target, built)`.
    fn embedding_text(
        &self,
        workload: &Workload,
        index: u32,
        pool: &Pool<'_>,
    ) -> Result<(String, Option<u32>, u32), DatasetError> {
        let mut rng = self.rng(Purpose::Text, index);
        match workload {
            Workload::EmbeddingText { length } => {
                let t = text::embedding_text(&mut rng, *length);
                let n = self.counter.count(&t)?;
                Ok((t, None, n))
            }
            _ => {
                let (tin, _) = sample_lengths(workload, &mut self.rng(Purpose::Lengths, index))?;
                let b = self.counter.build(tin, pool, &mut rng)?;
                Ok((b.text, Some(tin), b.tokens))
            }
        }
    }

    fn embedding_requests(&self, count: u32) -> Result<Vec<PreparedRequest>, DatasetError> {
        let workload = self.workload();
        let pool = self.pool();
        let texts = (0..count)
            .map(|i| self.embedding_text(&workload, i, &pool))
            .collect::<Result<Vec<_>, _>>()?;
        self.embedding_bodies(texts)
    }

    /// Embedding requests from `(text, target, built)` triples (batched or one each).
    fn embedding_bodies(
        &self,
        texts: Vec<(String, Option<u32>, u32)>,
    ) -> Result<Vec<PreparedRequest>, DatasetError> {
        let path = body::path_for(self.ep);
        if self.ep.embed_batch_in_one_request {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            let adapter = self.lora(0);
            let model = lora::model_field(&self.ep.model, adapter.as_deref());
            let target = texts.iter().map(|t| t.1).sum::<Option<u32>>();
            let built: u32 = texts.iter().map(|t| t.2).sum();
            let items = u32::try_from(texts.len()).unwrap_or(u32::MAX);
            let inputs: Vec<String> = texts.into_iter().map(|t| t.0).collect();
            let body = body::embeddings(self.ep, &model, &inputs)?;
            return Ok(vec![PreparedRequest {
                index: 0,
                path,
                body,
                model,
                lora: adapter,
                target_input_tokens: target,
                built_input_tokens: Some(built),
                target_output_tokens: None,
                max_tokens: None,
                items,
                prefix_group: None,
                followups: Vec::new(),
                conversation: None,
            }]);
        }
        texts
            .into_iter()
            .enumerate()
            .map(|(i, (text, target, built))| {
                let index = u32::try_from(i).unwrap_or(u32::MAX);
                let adapter = self.lora(index);
                let model = lora::model_field(&self.ep.model, adapter.as_deref());
                let body = body::embeddings(self.ep, &model, &[text])?;
                Ok(PreparedRequest {
                    index,
                    path: path.clone(),
                    body,
                    model,
                    lora: adapter,
                    target_input_tokens: target,
                    built_input_tokens: Some(built),
                    target_output_tokens: None,
                    max_tokens: None,
                    items: 1,
                    prefix_group: None,
                    followups: Vec::new(),
                    conversation: None,
                })
            })
            .collect()
    }

    fn ranking_requests(&self, count: u32) -> Result<Vec<PreparedRequest>, DatasetError> {
        let Workload::Rerank {
            doc_tokens,
            query_tokens,
            documents,
        } = self.workload()
        else {
            return Err(DatasetError::Build {
                message: format!(
                    "scenario `{}`: api = \"{}\" needs an R(doc_tokens,query_tokens) workload",
                    self.sc.spec.name,
                    self.ep.api.as_str()
                ),
            });
        };
        let pool = self.pool();
        let path = body::path_for(self.ep);
        (0..count)
            .map(|i| {
                let mut rng = self.rng(Purpose::Text, i);
                let query = self.counter.build(query_tokens, &pool, &mut rng)?;
                let mut built = query.tokens;
                let mut docs = Vec::with_capacity(documents as usize);
                for _ in 0..documents {
                    let d = self.counter.build(doc_tokens, &pool, &mut rng)?;
                    built = built.saturating_add(d.tokens);
                    docs.push(d.text);
                }
                let adapter = self.lora(i);
                let model = lora::model_field(&self.ep.model, adapter.as_deref());
                let body = body::ranking(self.ep, &model, &query.text, &docs)?;
                Ok(PreparedRequest {
                    index: i,
                    path: path.clone(),
                    body,
                    model,
                    lora: adapter,
                    target_input_tokens: Some(
                        query_tokens.saturating_add(doc_tokens.saturating_mul(documents)),
                    ),
                    built_input_tokens: Some(built),
                    target_output_tokens: None,
                    max_tokens: None,
                    items: documents,
                    prefix_group: None,
                    followups: Vec::new(),
                    conversation: None,
                })
            })
            .collect()
    }

    fn replay(&self, count: u32) -> Result<Vec<PreparedRequest>, DatasetError> {
        let Some(ds) = self.dataset else {
            return Err(DatasetError::Build {
                message: format!("scenario `{}`: replay needs a dataset", self.sc.spec.name),
            });
        };
        let n = (count as usize).min(ds.rows.len());
        let rows = &ds.rows[..n];
        if self.ep.api == ApiKind::Embeddings {
            let texts = rows
                .iter()
                .map(|r| Ok((r.text.clone(), None, self.counter.count(&r.text)?)))
                .collect::<Result<Vec<_>, DatasetError>>()?;
            return self.embedding_bodies(texts);
        }
        let cap = self.sc.spec.max_tokens_cap.max(1);
        let turns = self.sc.spec.turns.max(1) as usize;
        let spec = image_spec(&self.sc.spec);
        let mut out = Vec::with_capacity(n);
        for (i, row) in rows.iter().enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let (messages, followups) = split_conversation(row.messages.as_deref(), turns);
            let counted: String = match &messages {
                Some(ms) => ms
                    .iter()
                    .map(|m| m.content.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n"),
                None => row.text.clone(),
            };
            let built = self.counter.count(&counted)?;
            let images = match &spec {
                Some(s) if !s.from_dataset => self.images(index)?,
                _ => row
                    .images
                    .iter()
                    .map(|img: &ImageRef| images::from_dataset(img, &ds.origin))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let adapter = self.lora(index);
            let model = lora::model_field(&self.ep.model, adapter.as_deref());
            let body = body::generation(
                self.ep,
                &Generation {
                    model: &model,
                    system: self.system(),
                    text: &row.text,
                    images: &images,
                    messages: messages.as_deref(),
                    max_tokens: cap,
                },
            )?;
            out.push(PreparedRequest {
                index,
                path: body::path_for(self.ep),
                body,
                model,
                lora: adapter,
                target_input_tokens: None,
                built_input_tokens: Some(built),
                target_output_tokens: Some(cap),
                max_tokens: Some(cap),
                items: 1,
                prefix_group: None,
                conversation: (turns > 1).then_some(index),
                followups,
            });
        }
        Ok(out)
    }
}

/// How a strategy that compat mode rejects is named in its error.
fn compat_strategy_label(s: LoraStrategy) -> &'static str {
    match s {
        LoraStrategy::Uniform => "strategy = \"uniform\" (tokenomics' random pick, the original's `mixed`; the original's `uniform` is round-robin)",
        LoraStrategy::Weighted => "strategy = \"weighted\"",
        LoraStrategy::Zipf => "strategy = \"zipf\" with zipf_alpha ≤ 1 (NumPy's zipf rejects it)",
        _ => "this strategy",
    }
}

/// A replayed conversation: messages up to the first user message, and up to
/// `turns − 1` later user messages as follow-ups.
fn split_conversation(
    messages: Option<&[Message]>,
    turns: usize,
) -> (Option<Vec<Message>>, Vec<String>) {
    let Some(ms) = messages else {
        return (None, Vec::new());
    };
    let Some(first_user) = ms.iter().position(|m| m.role == "user") else {
        return (Some(ms.to_vec()), Vec::new());
    };
    let head = ms[..=first_user].to_vec();
    let followups = ms[first_user + 1..]
        .iter()
        .filter(|m| m.role == "user")
        .take(turns.saturating_sub(1))
        .map(|m| m.content.clone())
        .collect();
    (Some(head), followups)
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
