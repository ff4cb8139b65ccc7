//! The scenario grammar: token-length distributions of requests.
//!
//! | form | meaning |
//! |---|---|
//! | `D(in,out)` | fixed lengths |
//! | `N(mean_in,std_in)/(mean_out,std_out)` | normal lengths, truncated toward zero, at least 1 |
//! | `U(min_in,max_in)/(min_out,max_out)` | uniform lengths, inclusive bounds, `min ≤ max` |
//! | `I(width,height[,count])` | `count` (default 1) images of width×height with a short text |
//! | `E(tokens)` | embedding inputs of exactly `tokens` tokens |
//! | `E(short)`, `E(medium)`, `E(long)`, `E(mixed)`, `E(<n>w)` | embedding texts shaped like the original tool's sequence lengths (word counts, see [`TextLength`]) |
//! | `R(doc_tokens,query_tokens[,documents])` | rerank/score a query against `documents` (default 8) documents |
//!
//! Whitespace is allowed anywhere between tokens (`U( 10 , 20 ) / (5,9)`), the
//! letter may be lower case, and `N` accepts decimal numbers (`N(100.5,20)/(50,0)`).
//! The manifest may also give the documents of `R` in a separate field; that sets
//! [`Workload::Rerank::documents`] directly. A malformed spec is a
//! [`ScenarioError`] that shows the spec with a caret under the offending
//! character and lists the accepted forms.
//!
//! The table form is the serde form of [`Workload`], e.g.
//! `{ kind = "uniform", input_min = 10, input_max = 20, output_min = 5, output_max = 9 }`;
//! check it with [`Workload::validate`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// Documents per rerank query when the spec does not say.
pub const DEFAULT_RERANK_DOCUMENTS: u32 = 8;

/// The `temperature` the original tool sends when none is given (its `--temperature`
/// default); `compat = "original"` sends it too.
pub const ORIGINAL_TEMPERATURE: f64 = 0.7;

/// The original tool's `max_tokens` cap for runs with synthetic images when none is given
/// (its `--max-tokens` default with `--num-images`); `compat = "original"` uses it too.
pub const ORIGINAL_IMAGE_MAX_TOKENS: u32 = 32;

/// Most tokens of one request's input, and most output tokens it may ask for:
/// 2^21 = 2,097,152 (above every served context window today). A request's
/// whole input counts: a rerank query with its documents, a shared prefix with
/// its prompt, every turn of a conversation. Normal draws above it count as it.
pub const MAX_TOKENS: u32 = 1 << 21;

/// Most pixels of one image (width × height): 4096 × 4096.
pub const MAX_IMAGE_PIXELS: u64 = 1 << 24;

/// Most images per request.
pub const MAX_IMAGES: u32 = 64;

/// Most documents per rerank or score request.
pub const MAX_DOCUMENTS: u32 = 10_000;

/// The accepted forms, listed in every grammar error.
pub const ACCEPTED_FORMS: &str = "D(in,out), N(mean_in,std_in)/(mean_out,std_out), \
U(min_in,max_in)/(min_out,max_out), I(width,height[,count]), E(tokens), \
E(short|medium|long|mixed|<words>w), R(doc_tokens,query_tokens[,documents])";

/// A parsed scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Workload {
    /// `D(in,out)`: fixed lengths.
    Deterministic { input: u32, output: u32 },
    /// `N(mi,si)/(mo,so)`: normal lengths, truncated toward zero, at least 1.
    Normal {
        input_mean: f64,
        input_std: f64,
        output_mean: f64,
        output_std: f64,
    },
    /// `U(a,b)/(c,d)`: uniform lengths, inclusive bounds.
    Uniform {
        input_min: u32,
        input_max: u32,
        output_min: u32,
        output_max: u32,
    },
    /// `I(w,h[,n])`: `n` images of w×h with a short text.
    Image {
        width: u32,
        height: u32,
        #[serde(default = "one")]
        count: u32,
    },
    /// `E(tokens)`: embedding inputs of `tokens` tokens.
    Embedding { tokens: u32 },
    /// `R(doc_tokens,query_tokens)`: rerank a query against documents.
    Rerank {
        doc_tokens: u32,
        query_tokens: u32,
        #[serde(default = "default_documents")]
        documents: u32,
    },
    /// `E(short)` etc.: embedding texts measured in words, shaped like the
    /// original tool's sequence lengths.
    EmbeddingText { length: TextLength },
}

/// Word-count shapes of embedding texts (the original tool's `--sequence_lengths`).
///
/// | length | text |
/// |---|---|
/// | `short` | 5–15 random words, capitalised, with a full stop |
/// | `medium` | a sentence opener plus 15–40 words |
/// | `long` | 4–8 sentences, each an opener plus 15–40 words |
/// | `mixed` | one of short/medium/long, chosen per text |
/// | `words = n` (`E(<n>w)`) | exactly `n` words |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextLength {
    Short,
    Medium,
    Long,
    Mixed,
    /// Exactly this many words.
    Words(u32),
}

fn one() -> u32 {
    1
}

fn default_documents() -> u32 {
    DEFAULT_RERANK_DOCUMENTS
}

impl Workload {
    /// The canonical string form; [`parse`] of it gives back the same workload.
    #[must_use]
    pub fn to_spec_string(&self) -> String {
        match self {
            Workload::Deterministic { input, output } => format!("D({input},{output})"),
            Workload::Normal {
                input_mean,
                input_std,
                output_mean,
                output_std,
            } => {
                format!("N({input_mean},{input_std})/({output_mean},{output_std})")
            }
            Workload::Uniform {
                input_min,
                input_max,
                output_min,
                output_max,
            } => {
                format!("U({input_min},{input_max})/({output_min},{output_max})")
            }
            Workload::Image {
                width,
                height,
                count,
            } => format!("I({width},{height},{count})"),
            Workload::Embedding { tokens } => format!("E({tokens})"),
            Workload::Rerank {
                doc_tokens,
                query_tokens,
                documents,
            } => {
                if *documents == DEFAULT_RERANK_DOCUMENTS {
                    format!("R({doc_tokens},{query_tokens})")
                } else {
                    format!("R({doc_tokens},{query_tokens},{documents})")
                }
            }
            Workload::EmbeddingText { length } => match length {
                TextLength::Short => "E(short)".to_string(),
                TextLength::Medium => "E(medium)".to_string(),
                TextLength::Long => "E(long)".to_string(),
                TextLength::Mixed => "E(mixed)".to_string(),
                TextLength::Words(n) => format!("E({n}w)"),
            },
        }
    }

    /// True for the shapes that generate text (`D`, `N`, `U`, `I`).
    #[must_use]
    pub fn generates(&self) -> bool {
        matches!(
            self,
            Workload::Deterministic { .. }
                | Workload::Normal { .. }
                | Workload::Uniform { .. }
                | Workload::Image { .. }
        )
    }

    /// Checks the value constraints: non-empty ranges, finite non-negative
    /// normal parameters, at least one image, token, document or word, and the
    /// limits ([`MAX_TOKENS`], [`MAX_IMAGE_PIXELS`], [`MAX_IMAGES`],
    /// [`MAX_DOCUMENTS`]). [`parse`] applies it to every string it accepts; the
    /// manifest applies it to the table form.
    ///
    /// # Errors
    /// A [`ScenarioError`] (without a position) naming the broken constraint.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let fail = |message: String| {
            Err(ScenarioError {
                spec: self.to_spec_string(),
                position: None,
                message,
            })
        };
        let too_many = |what: &str, v: u64| {
            fail(format!(
                "{what} = {v} is above the limit of {MAX_TOKENS} tokens per request"
            ))
        };
        match self {
            Workload::Deterministic { input, output } => {
                if *input > MAX_TOKENS {
                    return too_many("input", u64::from(*input));
                }
                if *output > MAX_TOKENS {
                    return too_many("output", u64::from(*output));
                }
                Ok(())
            }
            Workload::Normal {
                input_mean,
                input_std,
                output_mean,
                output_std,
            } => {
                for (name, v) in [
                    ("input_mean", input_mean),
                    ("input_std", input_std),
                    ("output_mean", output_mean),
                    ("output_std", output_std),
                ] {
                    if !v.is_finite() || *v < 0.0 {
                        return fail(format!("{name} must be a finite number ≥ 0, got {v}"));
                    }
                    if *v > f64::from(MAX_TOKENS) {
                        return fail(format!(
                            "{name} = {v} is above the limit of {MAX_TOKENS} tokens per request"
                        ));
                    }
                }
                Ok(())
            }
            Workload::Uniform {
                input_min,
                input_max,
                output_min,
                output_max,
            } => {
                if input_min > input_max {
                    return fail(format!(
                        "input_min ({input_min}) is larger than input_max ({input_max})"
                    ));
                }
                if output_min > output_max {
                    return fail(format!(
                        "output_min ({output_min}) is larger than output_max ({output_max})"
                    ));
                }
                if *input_max > MAX_TOKENS {
                    return too_many("input_max", u64::from(*input_max));
                }
                if *output_max > MAX_TOKENS {
                    return too_many("output_max", u64::from(*output_max));
                }
                Ok(())
            }
            Workload::Image {
                width,
                height,
                count,
            } => {
                if *width == 0 || *height == 0 {
                    return fail(format!("image size {width}x{height} must be at least 1x1"));
                }
                if u64::from(*width) * u64::from(*height) > MAX_IMAGE_PIXELS {
                    return fail(format!(
                        "image size {width}x{height} is above the limit of {MAX_IMAGE_PIXELS} pixels (4096x4096)"
                    ));
                }
                if *count == 0 {
                    return fail("image count must be at least 1".to_string());
                }
                if *count > MAX_IMAGES {
                    return fail(format!(
                        "{count} images per request is above the limit of {MAX_IMAGES}"
                    ));
                }
                Ok(())
            }
            Workload::Embedding { tokens } => {
                if *tokens == 0 {
                    return fail("embedding tokens must be at least 1".to_string());
                }
                if *tokens > MAX_TOKENS {
                    return too_many("tokens", u64::from(*tokens));
                }
                Ok(())
            }
            Workload::Rerank {
                doc_tokens,
                query_tokens,
                documents,
            } => {
                if *doc_tokens == 0 || *query_tokens == 0 {
                    return fail("document and query tokens must be at least 1".to_string());
                }
                if *documents == 0 {
                    return fail("documents per query must be at least 1".to_string());
                }
                if *documents > MAX_DOCUMENTS {
                    return fail(format!(
                        "{documents} documents per query is above the limit of {MAX_DOCUMENTS}"
                    ));
                }
                let total =
                    u64::from(*doc_tokens) * u64::from(*documents) + u64::from(*query_tokens);
                if total > u64::from(MAX_TOKENS) {
                    return too_many("doc_tokens × documents + query_tokens", total);
                }
                Ok(())
            }
            Workload::EmbeddingText { length } => match length {
                TextLength::Words(0) => fail("an embedding text needs at least 1 word".to_string()),
                TextLength::Words(n) if *n > MAX_TOKENS => fail(format!(
                    "{n} words is above the limit of {MAX_TOKENS} words per text"
                )),
                _ => Ok(()),
            },
        }
    }

    /// A high estimate of one request's input tokens, for memory estimates:
    /// the maximum, or mean + 4σ for normal lengths (capped at [`MAX_TOKENS`]);
    /// an image request counts its text, an embedding text two tokens a word.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn input_tokens_high(&self) -> u64 {
        match self {
            Workload::Deterministic { input, .. } => u64::from(*input),
            Workload::Normal {
                input_mean,
                input_std,
                ..
            } => (input_mean + 4.0 * input_std).clamp(1.0, f64::from(MAX_TOKENS)) as u64,
            Workload::Uniform { input_max, .. } => u64::from(*input_max),
            Workload::Image { .. } => 64,
            Workload::Embedding { tokens } => u64::from(*tokens),
            Workload::Rerank {
                doc_tokens,
                query_tokens,
                documents,
            } => u64::from(*doc_tokens) * u64::from(*documents) + u64::from(*query_tokens),
            Workload::EmbeddingText { length } => match length {
                TextLength::Words(n) => u64::from(*n) * 2,
                _ => 8 * 41 * 2,
            },
        }
    }

    /// Pixels of the images one request carries.
    #[must_use]
    pub fn image_pixels(&self) -> u64 {
        match self {
            Workload::Image {
                width,
                height,
                count,
            } => u64::from(*width) * u64::from(*height) * u64::from(*count),
            _ => 0,
        }
    }
}

/// A malformed or invalid scenario spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The spec as given.
    pub spec: String,
    /// Character index of the offending character (None for value errors of the table form).
    pub position: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid scenario `{}`: {}", self.spec, self.message)?;
        if let Some(pos) = self.position {
            // Control characters are shown as spaces so the caret stays aligned.
            let shown: String = self
                .spec
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            writeln!(f, "  {shown}")?;
            writeln!(f, "  {}^", " ".repeat(pos))?;
        }
        write!(f, "accepted forms: {ACCEPTED_FORMS}")
    }
}

/// Parses a scenario spec such as `D(128,64)` or `U(10, 20)/(5, 9)`.
///
/// # Errors
/// A [`ScenarioError`] pointing at the offending character.
pub fn parse(s: &str) -> Result<Workload, ScenarioError> {
    let mut p = Parser {
        spec: s,
        chars: s.chars().collect(),
        pos: 0,
    };
    let workload = p.workload()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error_at(p.pos, "unexpected text after the scenario"));
    }
    // Value errors point at the arguments.
    let args = p.chars.iter().position(|c| *c == '(').unwrap_or(0);
    workload.validate().map_err(|e| ScenarioError {
        position: Some(args),
        ..e
    })?;
    Ok(workload)
}

/// A number as written, with where it started.
struct Num {
    text: String,
    at: usize,
}

struct Parser<'a> {
    spec: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn error_at(&self, at: usize, message: &str) -> ScenarioError {
        ScenarioError {
            spec: self.spec.to_string(),
            position: Some(at.min(self.chars.len())),
            message: message.to_string(),
        }
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    fn expect(&mut self, want: char) -> Result<(), ScenarioError> {
        match self.peek() {
            Some(c) if c == want => {
                self.pos += 1;
                Ok(())
            }
            Some(c) => Err(self.error_at(self.pos, &format!("expected `{want}`, found `{c}`"))),
            None => Err(self.error_at(self.pos, &format!("expected `{want}`, found the end"))),
        }
    }

    fn workload(&mut self) -> Result<Workload, ScenarioError> {
        let Some(kind) = self.peek() else {
            return Err(self.error_at(0, "the scenario is empty"));
        };
        let kind_at = self.pos;
        self.pos += 1;
        let w = match kind.to_ascii_uppercase() {
            'D' => {
                let (a, b) = self.pair()?;
                Workload::Deterministic {
                    input: self.int(&a)?,
                    output: self.int(&b)?,
                }
            }
            'N' => {
                let (mi, si) = self.pair()?;
                self.expect('/')?;
                let (mo, so) = self.pair()?;
                Workload::Normal {
                    input_mean: self.float(&mi)?,
                    input_std: self.float(&si)?,
                    output_mean: self.float(&mo)?,
                    output_std: self.float(&so)?,
                }
            }
            'U' => {
                let (a, b) = self.pair()?;
                self.expect('/')?;
                let (c, d) = self.pair()?;
                let (input_min, input_max) = (self.int(&a)?, self.int(&b)?);
                let (output_min, output_max) = (self.int(&c)?, self.int(&d)?);
                if input_min > input_max {
                    return Err(self.error_at(
                        a.at,
                        &format!("min_in ({input_min}) is larger than max_in ({input_max})"),
                    ));
                }
                if output_min > output_max {
                    return Err(self.error_at(
                        c.at,
                        &format!("min_out ({output_min}) is larger than max_out ({output_max})"),
                    ));
                }
                Workload::Uniform {
                    input_min,
                    input_max,
                    output_min,
                    output_max,
                }
            }
            'I' => {
                let args = self.args(2, 3)?;
                let width = self.positive(&args[0], "width")?;
                let height = self.positive(&args[1], "height")?;
                let count = match args.get(2) {
                    Some(n) => self.positive(n, "image count")?,
                    None => 1,
                };
                Workload::Image {
                    width,
                    height,
                    count,
                }
            }
            'E' => self.embedding()?,
            'R' => {
                let args = self.args(2, 3)?;
                let doc_tokens = self.positive(&args[0], "doc_tokens")?;
                let query_tokens = self.positive(&args[1], "query_tokens")?;
                let documents = match args.get(2) {
                    Some(n) => self.positive(n, "documents")?,
                    None => DEFAULT_RERANK_DOCUMENTS,
                };
                Workload::Rerank {
                    doc_tokens,
                    query_tokens,
                    documents,
                }
            }
            _ => {
                return Err(self.error_at(
                    kind_at,
                    &format!("unknown scenario type `{kind}` (expected D, N, U, I, E or R)"),
                ))
            }
        };
        Ok(w)
    }

    /// `E(` then a token count, a word count (`200w`) or a length name, then `)`.
    fn embedding(&mut self) -> Result<Workload, ScenarioError> {
        self.expect('(')?;
        self.skip_ws();
        let at = self.pos;
        let mut word = String::new();
        while let Some(c) = self.chars.get(self.pos).copied() {
            if c.is_ascii_alphanumeric() {
                word.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        if word.is_empty() {
            return Err(self.error_at(
                at,
                "expected a token count, a word count like `200w`, or short/medium/long/mixed",
            ));
        }
        let lower = word.to_ascii_lowercase();
        let w = match lower.as_str() {
            "short" => Workload::EmbeddingText {
                length: TextLength::Short,
            },
            "medium" => Workload::EmbeddingText {
                length: TextLength::Medium,
            },
            "long" => Workload::EmbeddingText {
                length: TextLength::Long,
            },
            "mixed" => Workload::EmbeddingText {
                length: TextLength::Mixed,
            },
            _ => {
                let (digits, words) = match lower.strip_suffix('w') {
                    Some(d) => (d, true),
                    None => (lower.as_str(), false),
                };
                if let Some(bad) = digits.chars().position(|c| !c.is_ascii_digit()) {
                    return Err(self.error_at(
                        at + bad,
                        "expected a token count, a word count like `200w`, or short/medium/long/mixed",
                    ));
                }
                if digits.is_empty() {
                    return Err(self.error_at(at, "expected a number before `w`"));
                }
                let num = Num {
                    text: digits.to_string(),
                    at,
                };
                if words {
                    Workload::EmbeddingText {
                        length: TextLength::Words(self.positive(&num, "word count")?),
                    }
                } else {
                    Workload::Embedding {
                        tokens: self.positive(&num, "tokens")?,
                    }
                }
            }
        };
        self.expect(')')?;
        Ok(w)
    }

    fn pair(&mut self) -> Result<(Num, Num), ScenarioError> {
        let mut args = self.args(2, 2)?.into_iter();
        match (args.next(), args.next()) {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(self.error_at(self.pos, "expected two numbers")),
        }
    }

    /// `(` num `,` num ... `)` with between `min` and `max` numbers.
    fn args(&mut self, min: usize, max: usize) -> Result<Vec<Num>, ScenarioError> {
        self.expect('(')?;
        let mut out = vec![self.number()?];
        loop {
            match self.peek() {
                Some(',') if out.len() < max => {
                    self.pos += 1;
                    out.push(self.number()?);
                }
                Some(')') if out.len() >= min => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(')') => {
                    return Err(self.error_at(
                        self.pos,
                        &format!("expected {min} numbers, found {}", out.len()),
                    ))
                }
                Some(',') => {
                    return Err(
                        self.error_at(self.pos, &format!("at most {max} numbers are allowed"))
                    )
                }
                Some(c) => {
                    return Err(
                        self.error_at(self.pos, &format!("expected `,` or `)`, found `{c}`"))
                    )
                }
                None => return Err(self.error_at(self.pos, "expected `)`, found the end")),
            }
        }
    }

    /// Digits with at most one decimal point.
    fn number(&mut self) -> Result<Num, ScenarioError> {
        self.skip_ws();
        let at = self.pos;
        let mut text = String::new();
        while let Some(c) = self.chars.get(self.pos).copied() {
            if c.is_ascii_digit() || (c == '.' && !text.contains('.')) {
                text.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        if text.is_empty() || text == "." {
            let found = self
                .chars
                .get(at)
                .map_or_else(|| "the end".to_string(), |c| format!("`{c}`"));
            return Err(self.error_at(
                at,
                &format!("expected a non-negative number, found {found}"),
            ));
        }
        Ok(Num { text, at })
    }

    fn int(&self, n: &Num) -> Result<u32, ScenarioError> {
        if let Some(dot) = n.text.find('.') {
            return Err(self.error_at(n.at + dot, "expected a whole number"));
        }
        n.text.parse::<u32>().map_err(|_| {
            self.error_at(n.at, &format!("{} is too large (max {})", n.text, u32::MAX))
        })
    }

    fn positive(&self, n: &Num, what: &str) -> Result<u32, ScenarioError> {
        let v = self.int(n)?;
        if v == 0 {
            return Err(self.error_at(n.at, &format!("{what} must be at least 1")));
        }
        Ok(v)
    }

    fn float(&self, n: &Num) -> Result<f64, ScenarioError> {
        match n.text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.error_at(n.at, &format!("{} is not a usable number", n.text))),
        }
    }
}

#[cfg(test)]
mod tests;
