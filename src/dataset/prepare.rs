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

use super::hub::HubConfig;
use super::lora::LoraMix;
use super::rng::{stream, Purpose, Scope};
use super::source::Row;
use super::tokens::{Counter, Pool};
use super::{DatasetError, PreparedRun};
use crate::plan::{DatasetSpec, EndpointSpec, Plan, PointSpec, ScenarioSpec};
use crate::vocab::workload::{TextLength, Workload, MAX_TOKENS};
use crate::vocab::{ApiKind, TokenizerSource, WarmupShape};

mod embed;
mod load;
mod original;
mod replay;
mod synth;
pub use load::{fetch, fetch_with};
use load::{image_spec, load_counter, load_dataset, needs_dataset, same_rows};

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
}

#[cfg(test)]
mod tests;
