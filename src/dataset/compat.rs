//! Bit-exact reproduction of the original tool's prompt synthesis.
//!
//! The original benchmark builds its scenario prompts from two independent random streams:
//!
//! * NumPy's **legacy global `RandomState`** (a 32-bit Mersenne Twister seeded with
//!   `seed mod 2^32`) supplies the per-request token-length targets: `normal` for `N(..)/(..)`
//!   scenarios and bounded `randint` for `U(..)/(..)` scenarios.
//! * CPython's **`random` module** (the same Mersenne Twister, but seeded from the full integer
//!   through `init_by_array`) supplies `random.choice` picks of dataset snippets.
//!
//! Synthetic images additionally use `np.random.default_rng(id)`: a PCG64 generator seeded
//! through NumPy's `SeedSequence`.
//!
//! This module re-implements all of those generators in plain Rust so that a tokenomics run in
//! compatibility mode sends byte-identical prompts (and identical image pixels) to the ones the
//! original would have sent for the same seed, scenario, snippet list and tokenizer. Everything here is
//! pure: no I/O, no global state, no clocks.
//!
//! Entry points:
//!
//! * [`derive_seed`]: the per-run seed, `u64(SHA-256("{base}|{sweep}|{run}")[0..8])`.
//! * [`Mt19937`]: the 32-bit Mersenne Twister (MT19937, Matsumoto & Nishimura 1998).
//! * [`CpythonRandom`]: `random.Random` semantics (`seed`, `getrandbits`, `_randbelow`,
//!   `choice`, `random`).
//! * [`NumpyRandomState`]: `numpy.random.RandomState` legacy semantics (`random_sample`,
//!   `standard_normal`, `normal`, `randint`).
//! * [`Pcg64`] and [`numpy_default_rng_u8`]: `default_rng(seed).integers(0, 256, .., uint8)`.
//! * [`sample_lengths`] and [`synthesize_original`]: the scenario sampler and the snippet
//!   concatenation of the original's text sampler.
//! * [`python_word_estimate`]: the original's token count when encoding fails,
//!   `int(len(text.split()) × 1.3)`.
//! * [`NumpyRandomState::zipf`] and [`assign_original_lora`]: the original's LoRA strategies.
//! * [`image_ids`], [`image_pixels`] and [`uid_prompt`]: its synthetic images and the request
//!   counter that makes each request unique.
//!
//! The snippet counts themselves (the tokenizer as its tokenizer.json configures it, special
//! tokens included) are made by the `tokens` module; the requests by `prepare`.

use sha2::{Digest, Sha256};

use crate::vocab::workload::Workload;

mod rngs;
pub use rngs::{
    numpy_default_rng_u8, seed_sequence_generate_state, CpythonRandom, Mt19937, NumpyRandomState,
    Pcg64,
};

/// Errors of the compatibility samplers.
///
/// The original raises a Python exception in each of these situations; tokenomics reports them
/// as values instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompatError {
    /// `randint(low, high)` was asked for an empty half-open range.
    #[error(
        "empty integer range: low {low} must be smaller than high {high} \
         (for a U(a,b) scenario write the smaller bound first)"
    )]
    EmptyRange {
        /// Inclusive lower bound that was requested.
        low: i64,
        /// Exclusive upper bound that was requested.
        high: i64,
    },
    /// A normal scenario has a mean or standard deviation that NumPy would reject or that
    /// cannot become a token count.
    #[error(
        "invalid normal distribution N({mean},{std}): the mean must be finite and the standard \
         deviation finite and non-negative"
    )]
    InvalidNormal {
        /// The requested mean.
        mean: f64,
        /// The requested standard deviation.
        std: f64,
    },
    /// The workload kind has no sampler in the original tool.
    #[error(
        "scenario `{0}` has no original-compatible sampler: the original only implements \
         D(in,out), N(mi,si)/(mo,so) and U(a,b)/(c,d)"
    )]
    UnsupportedWorkload(String),
    /// A positive input target cannot be reached without any snippet to choose from.
    #[error(
        "cannot build a prompt with a positive input target from an empty snippet list; \
         check that the dataset has at least one text"
    )]
    EmptySnippets,
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

/// The per-run seed of the original.
///
/// `derive_seed(base, sweep, run) = u64::from_be_bytes(SHA-256("{base}|{sweep}|{run}")[0..8])`,
/// where the string is the UTF-8 decimal rendering of the three integers joined with `|`
/// (negative values keep their `-` sign: warmup uses `run = -1`).
#[must_use]
pub fn derive_seed(base: u64, sweep_value: i64, run: i64) -> u64 {
    let digest = Sha256::digest(format!("{base}|{sweep_value}|{run}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

// ---------------------------------------------------------------------------------------------
// The original's scenario sampler and text sampler
// ---------------------------------------------------------------------------------------------

/// Converts a sampled normal value to a token count: `max(1, int(x))`, `int` truncating toward
/// zero. Values beyond `u32::MAX` saturate (Python would keep the exact integer).
fn normal_to_count(x: f64) -> u32 {
    let truncated = x.trunc();
    if truncated < 1.0 {
        1
    } else if truncated >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // In [1, u32::MAX) and integral: exact.
        truncated as u32
    }
}

/// Samples one request's `(input, output)` token targets, input first, as the original does.
///
/// * `D(in,out)`: `(in, out)`, **no draw**.
/// * `N(mi,si)/(mo,so)`: `in = max(1, int(normal(mi, si)))`, then
///   `out = max(1, int(normal(mo, so)))` (legacy gauss, so one polar pair usually serves both).
/// * `U(a,b)/(c,d)`: `in = randint(a, b + 1)`, then `out = randint(c, d + 1)`.
///
/// # Errors
/// [`CompatError::UnsupportedWorkload`] for image, embedding and rerank workloads (the original
/// never implemented them), [`CompatError::EmptyRange`] when a uniform minimum exceeds its
/// maximum (the original raises at sampling time), [`CompatError::InvalidNormal`] for a
/// non-finite mean or a negative or non-finite standard deviation.
pub fn sample_lengths(
    state: &mut NumpyRandomState,
    workload: &Workload,
) -> Result<(u32, u32), CompatError> {
    match workload {
        Workload::Deterministic { input, output } => Ok((*input, *output)),
        Workload::Normal {
            input_mean,
            input_std,
            output_mean,
            output_std,
        } => {
            for (mean, std) in [(*input_mean, *input_std), (*output_mean, *output_std)] {
                if !mean.is_finite() || !std.is_finite() || std < 0.0 {
                    return Err(CompatError::InvalidNormal { mean, std });
                }
            }
            let input = normal_to_count(state.normal(*input_mean, *input_std));
            let output = normal_to_count(state.normal(*output_mean, *output_std));
            Ok((input, output))
        }
        Workload::Uniform {
            input_min,
            input_max,
            output_min,
            output_max,
        } => {
            let input = state.randint(i64::from(*input_min), i64::from(*input_max) + 1)?;
            let output = state.randint(i64::from(*output_min), i64::from(*output_max) + 1)?;
            // Both lie within the u32 bounds they were drawn between.
            let to_u32 = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
            Ok((to_u32(input), to_u32(output)))
        }
        other @ (Workload::Image { .. }
        | Workload::Embedding { .. }
        | Workload::EmbeddingText { .. }
        | Workload::Rerank { .. }) => Err(CompatError::UnsupportedWorkload(other.to_spec_string())),
    }
}

/// One prompt as the original's scenario-mode text sampler builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalPrompt {
    /// The user message: the picked snippets joined with one space (empty for a 0 target).
    pub text: String,
    /// The sampled input-token target.
    pub target_input: u32,
    /// The sum of the picked snippets' cached token counts (the original's
    /// `actual_input_tokens`; not a re-tokenisation of `text`). Saturates at `u32::MAX`.
    pub actual_input: u32,
    /// The sampled output-token target.
    pub target_output: u32,
    /// `max(1, min(max_tokens_cap, target_output))`.
    pub max_tokens: u32,
}

/// Builds `count` prompts exactly as the original does for one run seeded with `seed`.
///
/// `use_seed(seed)` seeds CPython's generator with the full `seed` and NumPy's legacy generator
/// with `seed mod 2^32`. Then, for each request in order:
///
/// 1. `(target_in, target_out)` from [`sample_lengths`] (NumPy stream);
/// 2. snippets `(text, tokens)` are picked with `random.choice` (CPython stream, with
///    replacement) and appended while `Σ tokens < target_in` and fewer than
///    `max(100, 10 · len(snippets))` have been picked;
/// 3. `text` = the picks joined with `" "`, `actual_input = Σ tokens`;
/// 4. `max_tokens = max(1, min(max_tokens_cap, target_out))`.
///
/// The two streams are independent generators, so interleaving the length draws with the
/// snippet picks (as here) or drawing all lengths first gives the same prompts.
///
/// # Errors
/// As [`sample_lengths`], plus [`CompatError::EmptySnippets`] when a positive input target meets
/// an empty snippet list (the original's `random.choice` raises `IndexError`).
pub fn synthesize_original(
    seed: u64,
    workload: &Workload,
    snippets: &[(String, u32)],
    count: usize,
    max_tokens_cap: u32,
) -> Result<Vec<OriginalPrompt>, CompatError> {
    let mut python = CpythonRandom::new(seed);
    // Truncation is the intended reduction mod 2^32.
    let mut numpy = NumpyRandomState::new((seed & 0xffff_ffff) as u32);
    let max_picks = 100usize.max(snippets.len().saturating_mul(10));

    let mut prompts = Vec::with_capacity(count);
    for _ in 0..count {
        let (target_input, target_output) = sample_lengths(&mut numpy, workload)?;
        let mut picked: Vec<&str> = Vec::new();
        let mut total: u64 = 0;
        while total < u64::from(target_input) && picked.len() < max_picks {
            let index = python
                .choice(snippets.len())
                .ok_or(CompatError::EmptySnippets)?;
            let (text, tokens) = &snippets[index];
            picked.push(text.as_str());
            total += u64::from(*tokens);
        }
        prompts.push(OriginalPrompt {
            text: picked.join(" "),
            target_input,
            actual_input: u32::try_from(total).unwrap_or(u32::MAX),
            target_output,
            max_tokens: max_tokens_cap.min(target_output).max(1),
        });
    }
    Ok(prompts)
}

// ---------------------------------------------------------------------------------------------
// Token counting fallback, LoRA assignment and synthetic image ids
// ---------------------------------------------------------------------------------------------

pub use crate::vocab::workload::{ORIGINAL_IMAGE_MAX_TOKENS, ORIGINAL_TEMPERATURE};

/// The first image id of warmup requests (`2^31`): warmups reuse ids `2^31 .. 2^31 + k`.
pub const WARMUP_IMAGE_ID: u64 = 1 << 31;

/// True for the characters CPython's `str.split()` (no argument) splits on: Unicode
/// `White_Space` plus the four ASCII separators `\x1c`..`\x1f`, which Python also counts.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The original's token-count fallback when encoding fails: `int(len(text.split()) * 1.3)`,
/// the product computed in binary floating point and truncated, as Python does.
#[must_use]
pub fn python_word_estimate(text: &str) -> u32 {
    let words = text.split(python_space).filter(|w| !w.is_empty()).count();
    // Word counts are far below 2^53, so the conversion is exact; the product is truncated
    // toward zero as Python's `int()` does.
    #[allow(clippy::cast_precision_loss)]
    let product = words as f64 * 1.3;
    if product >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // Non-negative and below u32::MAX.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = product as u32;
        n
    }
}

/// The original's LoRA strategies (its `--lora-strategy` values).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OriginalLoraStrategy {
    /// `single`: every request gets the first adapter.
    Single,
    /// `uniform` and `all-unique` (identical in the original): `adapters[i mod k]`.
    RoundRobin,
    /// `zipf`: NumPy's legacy `zipf(alpha, N)`, adapter `(s − 1) mod k`.
    Zipf {
        /// The exponent; must be above 1 (NumPy rejects the rest).
        alpha: f64,
    },
    /// `mixed`: CPython's `random.choice` for each request.
    Mixed,
}

/// The original's LoRA assignment for the `count` requests of one run: for each request the
/// index of its adapter, or `None` for the base model.
///
/// First the raw assignment for all requests (round-robin, `count` zipf draws or `count`
/// `random.choice` picks), then, when `base_model_ratio ≠ 0`, one `random.random()` per request
/// in order, replacing the adapter with the base model when it is below the ratio.
///
/// The original makes these draws on its process-wide generators **outside** its seeded
/// context, so they cannot be reproduced from its seed; here the CPython generator is seeded
/// with `seed` and NumPy's legacy generator with `seed mod 2^32`, giving the original's
/// distributions and draw order, deterministically. Single and round-robin assignments with a
/// ratio of 0 draw nothing and equal the original's exactly.
#[must_use]
pub fn assign_original_lora(
    strategy: OriginalLoraStrategy,
    adapters: usize,
    base_model_ratio: f64,
    count: usize,
    seed: u64,
) -> Vec<Option<usize>> {
    if adapters == 0 {
        return vec![None; count];
    }
    let mut python = CpythonRandom::new(seed);
    // Truncation is the intended reduction mod 2^32.
    let mut numpy = NumpyRandomState::new((seed & 0xffff_ffff) as u32);
    let raw: Vec<usize> = match strategy {
        OriginalLoraStrategy::Single => vec![0; count],
        OriginalLoraStrategy::RoundRobin => (0..count).map(|i| i % adapters).collect(),
        OriginalLoraStrategy::Zipf { alpha } => (0..count)
            .map(|_| {
                let s = numpy.zipf(alpha);
                // s ≥ 1, so (s − 1) mod k is in 0..k.
                usize::try_from((s - 1).rem_euclid(adapters as i64)).unwrap_or(0)
            })
            .collect(),
        OriginalLoraStrategy::Mixed => (0..count)
            .map(|_| python.choice(adapters).unwrap_or(0))
            .collect(),
    };
    if base_model_ratio == 0.0 {
        return raw.into_iter().map(Some).collect();
    }
    raw.into_iter()
        .map(|a| (python.random() >= base_model_ratio).then_some(a))
        .collect()
}

/// Ids of the `per_request` synthetic images of request number `uid` (the original's global
/// request counter): `uid·k .. uid·k + k`.
#[must_use]
pub fn image_ids(uid: u64, per_request: u32) -> std::ops::Range<u64> {
    let k = u64::from(per_request);
    uid.saturating_mul(k)..uid.saturating_mul(k).saturating_add(k)
}

/// The pixels of the original's synthetic image `id` of `width`×`height`:
/// `default_rng(id).integers(0, 256, (height, width, 3), uint8)`, row-major RGB.
#[must_use]
pub fn image_pixels(id: u64, width: u32, height: u32) -> Vec<u8> {
    numpy_default_rng_u8(id, width as usize * height as usize * 3)
}

/// The prompt of an image request: `"{uid} {text}"`, or `"{uid}"` for an empty text.
#[must_use]
pub fn uid_prompt(uid: u64, text: &str) -> String {
    if text.is_empty() {
        uid.to_string()
    } else {
        format!("{uid} {text}")
    }
}

#[cfg(test)]
mod tests;
