//! Token counting and building texts of an exact token count.
//!
//! **Counting.** With a tokenizer, a text's count is the length of
//! `encode(text, add_special_tokens = false)`, with padding and truncation
//! disabled after loading (some tokenizer.json files pin a fixed padding). The
//! server adds its chat template and special tokens on top, so its
//! `prompt_tokens` is larger by a roughly constant amount; both are recorded.
//! Without a tokenizer the count is an estimate, `floor(words × 1.3)` (words
//! split on whitespace), the rule of the original tool.
//!
//! **Exact texts** ([`Counter::build`]), with a tokenizer:
//! 1. append randomly chosen dataset snippets (joined by one space) until the
//!    text has about 6 bytes per wanted token, and encode it (more text is added
//!    and the encoding repeated when it yields too few tokens);
//! 2. keep the first `target` ids and decode them;
//! 3. re-encode the decoded text; if the count differs (decode/encode is not
//!    always stable at the cut), move the cut by the difference and repeat, up
//!    to 12 times;
//! 4. if that does not converge, drop trailing words or append short filler
//!    words one at a time until the count matches.
//!
//! The recorded count is always the verified count of the final text, so it
//! equals the target unless step 4 also failed (not seen with real tokenizers).
//!
//! Without a tokenizer a text of `target` tokens is `round(target / 1.3)` words
//! taken from the snippets, and its estimated count is recorded.
//!
//! **The original's count** ([`Counter::count_original`], for `compat = "original"`):
//! `encode(text, add_special_tokens = true)` with the tokenizer exactly as its
//! tokenizer.json configures it (post-processor, padding and truncation included),
//! falling back to `int(words × 1.3)` when encoding fails, as the original does.

use std::path::Path;
use std::sync::Arc;

use rand::Rng;
use tokenizers::Tokenizer;

use super::{DatasetError, PromptTokenCounting};

/// Bytes of source text per wanted token in the first encoding attempt.
const BYTES_PER_TOKEN: usize = 6;
/// Cut adjustments before falling back to word trimming and padding.
const MAX_CUT_ADJUSTMENTS: usize = 12;
/// Words appended, one at a time, when a count must grow by a few tokens.
const FILLER: &[&str] = &["the", "and", "of", "a", "in", "to", "is", "it"];

/// Loads a tokenizer.json exactly as the file configures it.
pub(crate) fn load_tokenizer_as_configured(path: &Path) -> Result<Tokenizer, DatasetError> {
    Tokenizer::from_file(path).map_err(|e| DatasetError::Tokenizer {
        source_name: path.display().to_string(),
        message: format!("cannot load tokenizer.json: {e}"),
    })
}

/// Loads a tokenizer.json and disables padding and truncation.
#[cfg(test)]
pub(crate) fn load_tokenizer(path: &Path) -> Result<Tokenizer, DatasetError> {
    without_padding(load_tokenizer_as_configured(path)?, path)
}

/// `tok` with padding and truncation disabled.
pub(crate) fn without_padding(mut tok: Tokenizer, path: &Path) -> Result<Tokenizer, DatasetError> {
    tok.with_padding(None);
    tok.with_truncation(None)
        .map_err(|e| DatasetError::Tokenizer {
            source_name: path.display().to_string(),
            message: format!("cannot disable truncation: {e}"),
        })?;
    Ok(tok)
}

/// A text and its (verified or estimated) token count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Built {
    pub text: String,
    pub tokens: u32,
}

/// Counts tokens with a tokenizer, or estimates them from words.
#[derive(Clone)]
pub(crate) enum Counter {
    Tokenizer {
        /// Padding and truncation disabled: the counts and texts tokenomics builds.
        tok: Arc<Tokenizer>,
        /// As the tokenizer.json configures it: the original's counts.
        configured: Arc<Tokenizer>,
        name: String,
    },
    Estimate,
}

/// Estimated tokens of `words` words: `floor(words × 1.3)`.
pub(crate) fn estimate_words(words: usize) -> u32 {
    u32::try_from(words.saturating_mul(13) / 10).unwrap_or(u32::MAX)
}

/// Words needed for an estimated `target` tokens: `round(target / 1.3)`, at least 1 when target > 0.
pub(crate) fn words_for(target: u32) -> usize {
    if target == 0 {
        return 0;
    }
    ((u64::from(target) * 10 + 6) / 13).max(1) as usize
}

/// Snippet texts to draw from.
pub(crate) struct Pool<'a> {
    pub texts: Vec<&'a str>,
}

impl<'a> Pool<'a> {
    fn pick<R: Rng>(&self, rng: &mut R) -> &'a str {
        if self.texts.is_empty() {
            return "";
        }
        self.texts[rng.random_range(0..self.texts.len())]
    }
}

impl Counter {
    /// How counts from this counter are labelled.
    pub(crate) fn counting(&self) -> PromptTokenCounting {
        match self {
            Counter::Tokenizer { .. } => PromptTokenCounting::Tokenizer,
            Counter::Estimate => PromptTokenCounting::Estimate,
        }
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>, DatasetError> {
        match self {
            Counter::Tokenizer { tok, name, .. } => tok
                .encode_fast(text, false)
                .map(|e| e.get_ids().to_vec())
                .map_err(|e| DatasetError::Tokenizer {
                    source_name: name.clone(),
                    message: format!("encoding failed: {e}"),
                }),
            Counter::Estimate => Ok(Vec::new()),
        }
    }

    fn decode(&self, ids: &[u32]) -> Result<String, DatasetError> {
        match self {
            Counter::Tokenizer { tok, name, .. } => {
                tok.decode(ids, false).map_err(|e| DatasetError::Tokenizer {
                    source_name: name.clone(),
                    message: format!("decoding failed: {e}"),
                })
            }
            Counter::Estimate => Ok(String::new()),
        }
    }

    /// The token count of `text` (see the module docs).
    pub(crate) fn count(&self, text: &str) -> Result<u32, DatasetError> {
        match self {
            Counter::Tokenizer { .. } => {
                Ok(u32::try_from(self.encode(text)?.len()).unwrap_or(u32::MAX))
            }
            Counter::Estimate => Ok(estimate_words(text.split_whitespace().count())),
        }
    }

    /// The original's token count of `text` (see the module docs); `None` without a tokenizer.
    pub(crate) fn count_original(&self, text: &str) -> Option<u32> {
        match self {
            Counter::Tokenizer { configured, .. } => Some(match configured.encode(text, true) {
                Ok(e) => u32::try_from(e.get_ids().len()).unwrap_or(u32::MAX),
                Err(_) => super::compat::python_word_estimate(text),
            }),
            Counter::Estimate => None,
        }
    }

    /// A text of `target` tokens from random snippets of `pool`.
    pub(crate) fn build<R: Rng>(
        &self,
        target: u32,
        pool: &Pool<'_>,
        rng: &mut R,
    ) -> Result<Built, DatasetError> {
        if target == 0 {
            return Ok(Built {
                text: String::new(),
                tokens: 0,
            });
        }
        if pool.texts.is_empty() {
            return Err(DatasetError::Build {
                message: "the dataset has no text to build prompts from".to_string(),
            });
        }
        match self {
            Counter::Estimate => {
                let want = words_for(target);
                let mut words: Vec<&str> = Vec::with_capacity(want);
                let mut guard = 0usize;
                while words.len() < want {
                    let before = words.len();
                    words.extend(pool.pick(rng).split_whitespace().take(want - words.len()));
                    guard = if words.len() == before { guard + 1 } else { 0 };
                    if guard > 1000 {
                        return Err(too_little_text(target));
                    }
                }
                Ok(Built {
                    text: words.join(" "),
                    tokens: estimate_words(words.len()),
                })
            }
            Counter::Tokenizer { .. } => self.build_exact(target as usize, pool, rng),
        }
    }

    fn build_exact<R: Rng>(
        &self,
        target: usize,
        pool: &Pool<'_>,
        rng: &mut R,
    ) -> Result<Built, DatasetError> {
        let limit = target
            .saturating_mul(BYTES_PER_TOKEN * 64)
            .saturating_add(1 << 20);
        let mut source = String::new();
        let mut budget = target.saturating_mul(BYTES_PER_TOKEN).saturating_add(32);
        let ids = loop {
            let mut stalled = 0usize;
            while source.len() < budget {
                let before = source.len();
                if !source.is_empty() {
                    source.push(' ');
                }
                source.push_str(pool.pick(rng));
                stalled = if source.len() <= before + 1 {
                    stalled + 1
                } else {
                    0
                };
                if stalled > 1000 {
                    return Err(too_little_text(target as u32));
                }
            }
            let cut = floor_char_boundary(&source, budget);
            let ids = self.encode(&source[..cut])?;
            // More ids than wanted, so the kept ones are not cut mid-word;
            // or all the text is used.
            if ids.len() > target || (ids.len() == target && cut == source.len()) {
                break ids;
            }
            if budget >= limit {
                return Err(too_little_text(target as u32));
            }
            budget = budget.saturating_mul(2).min(limit);
        };

        let mut best: Option<(String, usize)> = None;
        let mut take = target;
        let mut tried = Vec::new();
        for _ in 0..MAX_CUT_ADJUSTMENTS {
            if tried.contains(&take) || take == 0 || take > ids.len() {
                break;
            }
            tried.push(take);
            let text = self.decode(&ids[..take])?;
            let n = self.encode(&text)?.len();
            if n == target {
                return Ok(built(text, n));
            }
            let better = best
                .as_ref()
                .is_none_or(|(_, b)| n.abs_diff(target) < b.abs_diff(target));
            if better {
                best = Some((text, n));
            }
            take = if n > target {
                take.saturating_sub(n - target)
            } else {
                take + (target - n)
            };
        }
        let (text, n) = best.unwrap_or_default();
        self.pad_or_trim(text, n, target)
    }

    /// Step 4 of the module docs: drop trailing words / append filler words.
    fn pad_or_trim(
        &self,
        mut text: String,
        mut n: usize,
        target: usize,
    ) -> Result<Built, DatasetError> {
        let mut best = (text.clone(), n);
        let mut filler = 0usize;
        for _ in 0..(target.abs_diff(n) * 4 + 32) {
            if n == target {
                break;
            }
            if n > target {
                let trimmed = text.trim_end();
                match trimmed.rfind(char::is_whitespace) {
                    Some(i) => text.truncate(i),
                    None => {
                        let mut t = trimmed.to_string();
                        t.pop();
                        text = t;
                    }
                }
            } else {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(FILLER[filler % FILLER.len()]);
                filler += 1;
            }
            n = self.encode(&text)?.len();
            if n.abs_diff(target) < best.1.abs_diff(target) {
                best = (text.clone(), n);
            }
        }
        let (text, n) = if n == target { (text, n) } else { best };
        Ok(built(text, n))
    }

    /// `head` + `" "` + a tail, together `target` tokens; `head` has `head_tokens`.
    ///
    /// The tail is built for `target − head_tokens`; when the joined count
    /// differs (a token merged across the space), the tail target is corrected
    /// by the difference and the tail rebuilt from the same snippets, up to 4 times.
    pub(crate) fn build_after<R: Rng + Clone>(
        &self,
        head: &str,
        head_tokens: u32,
        target: u32,
        pool: &Pool<'_>,
        rng: &mut R,
    ) -> Result<Built, DatasetError> {
        let mut tail_target = target.saturating_sub(head_tokens);
        if tail_target == 0 {
            return Ok(Built {
                text: head.to_string(),
                tokens: head_tokens,
            });
        }
        let start = rng.clone();
        let mut last = None;
        for _ in 0..4 {
            let mut r = start.clone();
            let tail = self.build(tail_target, pool, &mut r)?;
            let text = if head.is_empty() {
                tail.text
            } else {
                format!("{head} {}", tail.text)
            };
            let n = match self {
                Counter::Estimate => head_tokens + tail.tokens,
                Counter::Tokenizer { .. } => self.count(&text)?,
            };
            *rng = r;
            if n == target {
                return Ok(Built { text, tokens: n });
            }
            let corrected = i64::from(tail_target) + i64::from(target) - i64::from(n);
            last = Some(Built { text, tokens: n });
            if corrected < 1 {
                break;
            }
            tail_target = u32::try_from(corrected).unwrap_or(u32::MAX);
        }
        last.ok_or_else(|| too_little_text(target))
    }
}

fn built(text: String, n: usize) -> Built {
    Built {
        text,
        tokens: u32::try_from(n).unwrap_or(u32::MAX),
    }
}

fn too_little_text(target: u32) -> DatasetError {
    DatasetError::Build {
        message: format!("cannot reach {target} tokens: the dataset's texts yield too few tokens"),
    }
}

/// The largest index ≤ `i` on a char boundary of `s`.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha12Rng;

    #[test]
    fn estimates_follow_the_formula() {
        assert_eq!(estimate_words(200), 260);
        assert_eq!(estimate_words(3), 3);
        assert_eq!(words_for(0), 0);
        assert_eq!(words_for(1), 1);
        assert_eq!(words_for(130), 100);
        let c = Counter::Estimate;
        assert_eq!(
            c.count("one two three four five six seven eight nine ten")
                .unwrap(),
            13
        );
        let pool = Pool {
            texts: vec!["alpha beta gamma", "delta epsilon"],
        };
        let mut rng = ChaCha12Rng::seed_from_u64(3);
        let b = c.build(130, &pool, &mut rng).unwrap();
        assert_eq!(b.text.split_whitespace().count(), 100);
        assert_eq!(b.tokens, 130);
    }

    #[test]
    fn char_boundaries_are_respected() {
        let s = "aé€b";
        for i in 0..=s.len() + 2 {
            let j = floor_char_boundary(s, i);
            assert!(s.is_char_boundary(j));
            assert!(j <= i);
        }
    }
}
