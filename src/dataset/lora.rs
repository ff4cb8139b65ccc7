//! LoRA adapter assignment.
//!
//! For request `i` (its own `lora` stream, see `rng`):
//!
//! | strategy | adapter |
//! |---|---|
//! | `single` | `adapters[0]` |
//! | `uniform`, `mixed` | a uniformly random adapter |
//! | `round_robin`, `all-unique` | `adapters[i mod k]` |
//! | `weighted` | adapter `j` with probability `weights[j] / Σ weights` |
//! | `zipf` | rank `r ∈ 1..=k` with probability ∝ `r^(−zipf_alpha)` (bounded Zipf), adapter `r − 1` |
//!
//! Then, with probability `base_model_ratio`, the request uses the base model
//! instead. Both draws are always made, so the adapter sequence does not depend
//! on the ratio. The `model` field of a LoRA request is `"{model}:{adapter}"`
//! (the SGLang convention). `mixed` and `all-unique` are the original tool's
//! names; with `compat = "original"` the original's assignment is used instead
//! (see `compat::assign_original_lora`).

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::Rng;
use rand_distr::Zipf;

use super::DatasetError;
use crate::plan::LoraSpec;
use crate::vocab::LoraStrategy;

/// A LoRA spec checked once, ready to draw from.
#[derive(Clone, Debug)]
pub(crate) struct LoraMix {
    spec: LoraSpec,
    weighted: Option<WeightedIndex<f64>>,
    zipf: Option<Zipf<f64>>,
}

impl LoraMix {
    /// Checks `spec` (`origin` names the scenario in errors).
    pub(crate) fn new(spec: &LoraSpec, origin: &str) -> Result<Self, DatasetError> {
        let bad = |field: &str, message: String| DatasetError::Invalid {
            origin: origin.to_string(),
            field: format!("lora.{field}"),
            message,
        };
        if spec.adapters.is_empty() {
            return Err(bad("adapters", "list at least one adapter name".into()));
        }
        if !(0.0..=1.0).contains(&spec.base_model_ratio) {
            return Err(bad(
                "base_model_ratio",
                format!("must be between 0 and 1, got {}", spec.base_model_ratio),
            ));
        }
        let mut weighted = None;
        let mut zipf = None;
        match spec.strategy {
            LoraStrategy::Weighted => {
                if spec.weights.len() != spec.adapters.len() {
                    return Err(bad(
                        "weights",
                        format!(
                            "needs one weight per adapter ({} adapters, {} weights)",
                            spec.adapters.len(),
                            spec.weights.len()
                        ),
                    ));
                }
                weighted = Some(WeightedIndex::new(&spec.weights).map_err(|e| {
                    bad(
                        "weights",
                        format!("weights must be ≥ 0 with a positive sum ({e})"),
                    )
                })?);
            }
            LoraStrategy::Zipf => {
                if !(spec.zipf_alpha.is_finite() && spec.zipf_alpha > 0.0) {
                    return Err(bad(
                        "zipf_alpha",
                        format!("must be a positive number, got {}", spec.zipf_alpha),
                    ));
                }
                #[allow(clippy::cast_precision_loss)]
                let n = spec.adapters.len() as f64;
                zipf = Some(
                    Zipf::new(n, spec.zipf_alpha).map_err(|e| bad("zipf_alpha", e.to_string()))?,
                );
            }
            LoraStrategy::Single
            | LoraStrategy::Uniform
            | LoraStrategy::Mixed
            | LoraStrategy::RoundRobin
            | LoraStrategy::AllUnique => {}
        }
        Ok(LoraMix {
            spec: spec.clone(),
            weighted,
            zipf,
        })
    }

    /// The checked spec.
    pub(crate) fn spec(&self) -> &LoraSpec {
        &self.spec
    }

    /// The adapter of request `index`, or None for the base model.
    pub(crate) fn pick<R: Rng>(&self, index: u32, rng: &mut R) -> Option<String> {
        let k = self.spec.adapters.len();
        let j = match self.spec.strategy {
            LoraStrategy::Single => 0,
            LoraStrategy::Uniform | LoraStrategy::Mixed => rng.random_range(0..k),
            LoraStrategy::RoundRobin | LoraStrategy::AllUnique => index as usize % k,
            LoraStrategy::Weighted => self.weighted.as_ref().map_or(0, |w| w.sample(rng)),
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            LoraStrategy::Zipf => self
                .zipf
                .as_ref()
                .map_or(0, |z| (z.sample(rng) as usize).saturating_sub(1).min(k - 1)),
        };
        let base: f64 = rng.random();
        if base < self.spec.base_model_ratio {
            None
        } else {
            self.spec.adapters.get(j).cloned()
        }
    }
}

/// The `model` field for `adapter` on `model`.
pub(crate) fn model_field(model: &str, adapter: Option<&str>) -> String {
    match adapter {
        Some(a) => format!("{model}:{a}"),
        None => model.to_string(),
    }
}
