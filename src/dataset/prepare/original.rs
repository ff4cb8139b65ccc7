//! `compat = "original"` requests: the original tool's token counts, requests
//! and LoRA picks.

use rand::Rng;

use super::load::image_spec;
use super::Ctx;
use crate::dataset::body::{self};
use crate::dataset::images;
use crate::dataset::lora::{self};
use crate::dataset::rng::{Purpose, Scope};
use crate::dataset::source::{ImageRef, Row};
use crate::dataset::{DatasetError, PreparedRequest};
use crate::plan::PointSpec;
use crate::vocab::workload::Workload;
use crate::vocab::LoraStrategy;

impl Ctx<'_> {
    /// The original's token count of `text` (`compat = "original"` needs a tokenizer).
    pub(super) fn original_count(&self, text: &str) -> Result<u32, DatasetError> {
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
    /// [`crate::dataset::compat`] and the README's compatibility section).
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
    /// * LoRA: the original's strategies (see [`crate::dataset::compat::assign_original_lora`]);
    ///   warmups use the base model.
    /// * Bodies: [`body::original_chat`].
    pub(super) fn original(
        &self,
        base_seed: u64,
        point: &PointSpec,
        count: u32,
        uid_base: u64,
        snippets: &[(String, u32)],
    ) -> Result<Vec<PreparedRequest>, DatasetError> {
        use crate::dataset::compat::{self, OriginalPrompt};
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
        use crate::dataset::compat::{assign_original_lora, OriginalLoraStrategy as S};
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
