//! Wire format of chat / completions responses: what one SSE chunk (or one
//! non-streamed body) carries.
//!
//! This is the client's hot path, so the JSON is never built into a tree: a set
//! of `DeserializeSeed` visitors walks it once, borrows every string from the
//! input (serde_json hands escaped strings to the visitor through its scratch
//! buffer), skips what it does not need, and folds what it finds into a small
//! [`ChunkInfo`] plus the long-lived [`TextAcc`]. A chunk without usage, error
//! or finish reason allocates nothing.
//!
//! Generated text is read from every choice, from `delta` (streaming chat),
//! `message` (non-streamed chat) or the choice itself (`text`, completions):
//!
//! * **full text**: `content`, `reasoning_content`, `reasoning`, `text`, `output_text`;
//! * **output text**: the same without the reasoning fields.
//!
//! Each value may be a string or a list of parts (strings, or objects whose
//! `text` is used). Whitespace counts as text. A role-only chunk
//! (`{"role":"assistant","content":null}`) carries none.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Token counts from a `usage` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageCounts {
    /// `prompt_tokens`.
    pub prompt: Option<u32>,
    /// `completion_tokens`.
    pub completion: Option<u32>,
    /// `total_tokens`.
    pub total: Option<u32>,
    /// `completion_tokens_details.reasoning_tokens`, else a top-level `reasoning_tokens`.
    pub reasoning: Option<u32>,
    /// `prompt_tokens_details.cached_tokens`, else a top-level `cached_tokens`.
    pub cached: Option<u32>,
    /// The first count that is not a plausible token count (negative,
    /// fractional, not finite, or above 2^32 − 1) as the server wrote it, e.g.
    /// `completion_tokens = -3`; that count reads as absent.
    pub implausible: Option<String>,
}

impl UsageCounts {
    /// A usage object counts ("is latched") when it has at least one of the three main counts.
    #[must_use]
    pub fn is_nonempty(&self) -> bool {
        self.prompt.is_some() || self.completion.is_some() || self.total.is_some()
    }
}

/// What a server reports about its own handling of one request: llama.cpp's
/// `timings` object (`prompt_ms`, `predicted_ms`, `cache_n`), sent on the last
/// event of a stream and in a whole body. A field that is missing, not a
/// number, negative or not finite reads as absent; a `timings` value that is
/// not an object is ignored (it never fails the request).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServerTimings {
    /// `prompt_ms`: prompt processing up to the first token's logits, ms.
    pub prefill_ms: Option<f64>,
    /// `predicted_ms`: generation after the first token, ms.
    pub decode_ms: Option<f64>,
    /// `cache_n`: prompt tokens the server reused from its cache.
    pub cached_tokens: Option<u32>,
}

impl ServerTimings {
    /// Reads a `timings` value; None when it carries none of the three figures.
    #[must_use]
    pub fn from_value(v: &serde_json::Value) -> Option<ServerTimings> {
        let obj = v.as_object()?;
        let ms = |key: &str| {
            obj.get(key)
                .and_then(serde_json::Value::as_f64)
                .filter(|x| x.is_finite() && *x >= 0.0)
        };
        let t = ServerTimings {
            prefill_ms: ms("prompt_ms"),
            decode_ms: ms("predicted_ms"),
            cached_tokens: obj
                .get("cache_n")
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
        };
        (t.prefill_ms.is_some() || t.decode_ms.is_some() || t.cached_tokens.is_some()).then_some(t)
    }
}

/// What one chunk (or body) carried.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChunkInfo {
    /// Some choice had non-empty full text: a content event.
    pub has_text: bool,
    /// Some choice had non-empty output text (reasoning excluded).
    pub has_output: bool,
    /// Characters (Unicode scalar values) of full text, over all choices.
    pub chars: u32,
    /// Choices that carried a non-null `finish_reason`.
    pub finished: u32,
    /// The object had a `choices` key.
    pub has_choices: bool,
    /// A non-empty `usage` object.
    pub usage: Option<UsageCounts>,
    /// The object is an error (`{"error": …}` or `{"object": "error", …}`): its message.
    pub error: Option<String>,
    /// The server's own timings of the request (`timings`, llama.cpp).
    pub timings: Option<ServerTimings>,
}

/// State kept across the chunks of one response.
#[derive(Clone, Debug, Default)]
pub struct TextAcc {
    /// Output text of the first choice (index 0), collected only when `Some`.
    pub output_text: Option<String>,
    /// The last non-null `finish_reason`.
    pub finish_reason: Option<String>,
    /// Whitespace-separated words of the full text, counted only when `Some`.
    pub words: Option<WordCounter>,
}

impl TextAcc {
    /// An accumulator that keeps the output text when `want_text` and counts
    /// words when `count_words`.
    #[must_use]
    pub fn new(want_text: bool, count_words: bool) -> Self {
        TextAcc {
            output_text: want_text.then(String::new),
            finish_reason: None,
            words: count_words.then(WordCounter::default),
        }
    }
}

/// Counts words the way Python's `str.split()` does (runs of non-whitespace),
/// across pieces of text fed in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WordCounter {
    /// Words seen so far.
    pub words: u64,
    in_word: bool,
}

impl WordCounter {
    /// Feeds the next piece of text.
    pub fn feed(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_whitespace() {
                self.in_word = false;
            } else if !self.in_word {
                self.in_word = true;
                self.words += 1;
            }
        }
    }

    /// The documented fallback estimate: `int(words × 1.3)` tokens (truncated).
    #[must_use]
    pub fn estimate_tokens(&self) -> u32 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let est = (self.words as f64 * 1.3) as u32;
        est
    }
}

/// Parses one streamed event's data.
///
/// Takes `&str` (the SSE parser's output is already UTF-8) so serde_json skips
/// validating strings a second time.
///
/// # Errors
/// When `data` is not a JSON object of the expected shape (a malformed event).
pub fn parse_chunk(data: &str, acc: &mut TextAcc) -> Result<ChunkInfo, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(data);
    let info = ChunkSeed { acc }.deserialize(&mut de)?;
    de.end()?;
    Ok(info)
}

/// Parses a whole non-streamed body (same shape as a chunk, with `message`).
///
/// # Errors
/// When `body` is not a JSON object of the expected shape.
pub fn parse_body(body: &[u8], acc: &mut TextAcc) -> Result<ChunkInfo, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let info = ChunkSeed { acc }.deserialize(&mut de)?;
    de.end()?;
    Ok(info)
}

/// Parses a `usage` value (lenient: counts may be floats, strings or null).
///
/// # Errors
/// When the value is not an object.
pub fn usage_from_value(v: &serde_json::Value) -> Result<UsageCounts, serde_json::Error> {
    RawUsage::deserialize(v).map(|u| u.counts())
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum TopField {
    Choices,
    Usage,
    Error,
    Object,
    Message,
    Timings,
    #[serde(other)]
    Other,
}

struct ChunkSeed<'a> {
    acc: &'a mut TextAcc,
}

impl<'de> DeserializeSeed<'de> for ChunkSeed<'_> {
    type Value = ChunkInfo;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<ChunkInfo, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChunkSeed<'_> {
    type Value = ChunkInfo;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (a completion chunk)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ChunkInfo, A::Error> {
        let mut info = ChunkInfo::default();
        let mut object_is_error = false;
        let mut message: Option<serde_json::Value> = None;
        while let Some(key) = map.next_key::<TopField>()? {
            match key {
                TopField::Choices => {
                    info.has_choices = true;
                    map.next_value_seed(ChoicesSeed {
                        acc: self.acc,
                        info: &mut info,
                    })?;
                }
                TopField::Usage => {
                    let raw: Option<RawUsage> = map.next_value()?;
                    if let Some(counts) = raw.map(|u| u.counts()) {
                        if counts.is_nonempty() || counts.implausible.is_some() {
                            info.usage = Some(counts);
                        }
                    }
                }
                TopField::Error => {
                    let v: serde_json::Value = map.next_value()?;
                    if !v.is_null() {
                        info.error = Some(describe_error(&v));
                    }
                }
                TopField::Object => object_is_error = map.next_value_seed(IsErrorSeed)?,
                TopField::Message => message = Some(map.next_value()?),
                TopField::Timings => {
                    let v: serde_json::Value = map.next_value()?;
                    info.timings = ServerTimings::from_value(&v);
                }
                TopField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if object_is_error && info.error.is_none() {
            info.error = Some(match message {
                Some(serde_json::Value::String(s)) => s,
                Some(v) => v.to_string(),
                None => "an object of type `error`".to_string(),
            });
        }
        Ok(info)
    }
}

/// The message of an error value: `message` of an object, else the value itself.
fn describe_error(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => match o.get("message") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => v.to_string(),
        },
        _ => v.to_string(),
    }
}

/// `"object": "error"` → true.
struct IsErrorSeed;

impl<'de> DeserializeSeed<'de> for IsErrorSeed {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IsErrorSeed {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == "error")
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

struct ChoicesSeed<'a> {
    acc: &'a mut TextAcc,
    info: &'a mut ChunkInfo,
}

impl<'de> DeserializeSeed<'de> for ChoicesSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ChoicesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of choices or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(ChoiceSeed {
                acc: self.acc,
                info: self.info,
            })?
            .is_some()
        {}
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ChoiceField {
    Delta,
    Message,
    Text,
    OutputText,
    FinishReason,
    Index,
    #[serde(other)]
    Other,
}

/// Text found in one choice.
struct ChoiceText<'w> {
    full_nonempty: bool,
    output_nonempty: bool,
    chars: usize,
    /// This choice's output text, when the caller wants text.
    buf: Option<String>,
    words: Option<&'w mut WordCounter>,
}

impl ChoiceText<'_> {
    fn add(&mut self, s: &str, output: bool) {
        if s.is_empty() {
            return;
        }
        self.full_nonempty = true;
        self.chars += s.chars().count();
        if output {
            self.output_nonempty = true;
            if let Some(buf) = &mut self.buf {
                buf.push_str(s);
            }
        }
        if let Some(w) = &mut self.words {
            w.feed(s);
        }
    }
}

struct ChoiceSeed<'a> {
    acc: &'a mut TextAcc,
    info: &'a mut ChunkInfo,
}

impl<'de> DeserializeSeed<'de> for ChoiceSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChoiceSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a choice object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let TextAcc {
            output_text,
            finish_reason,
            words,
        } = self.acc;
        let mut text = ChoiceText {
            full_nonempty: false,
            output_nonempty: false,
            chars: 0,
            buf: output_text.as_ref().map(|_| String::new()),
            words: words.as_mut(),
        };
        let mut index: Option<u64> = None;
        let mut finished = false;
        while let Some(key) = map.next_key::<ChoiceField>()? {
            match key {
                ChoiceField::Delta | ChoiceField::Message => {
                    map.next_value_seed(MessageSeed { text: &mut text })?;
                }
                ChoiceField::Text | ChoiceField::OutputText => map.next_value_seed(TextSeed {
                    text: &mut text,
                    output: true,
                })?,
                ChoiceField::FinishReason => {
                    finished |= map.next_value_seed(FinishSeed {
                        slot: finish_reason,
                    })?;
                }
                ChoiceField::Index => index = map.next_value::<Option<u64>>()?,
                ChoiceField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let info = self.info;
        info.has_text |= text.full_nonempty;
        info.has_output |= text.output_nonempty;
        info.chars = info
            .chars
            .saturating_add(u32::try_from(text.chars).unwrap_or(u32::MAX));
        if finished {
            info.finished += 1;
        }
        if let (Some(all), Some(mine)) = (output_text.as_mut(), text.buf) {
            if index.unwrap_or(0) == 0 {
                all.push_str(&mine);
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum MessageField {
    Content,
    Text,
    OutputText,
    ReasoningContent,
    Reasoning,
    #[serde(other)]
    Other,
}

/// A `delta` or `message` object (or null).
struct MessageSeed<'a, 'w> {
    text: &'a mut ChoiceText<'w>,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message object or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<MessageField>()? {
            let output = match key {
                MessageField::Content | MessageField::Text | MessageField::OutputText => true,
                MessageField::ReasoningContent | MessageField::Reasoning => false,
                MessageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            map.next_value_seed(TextSeed {
                text: self.text,
                output,
            })?;
        }
        Ok(())
    }
}

/// A text value: a string, a list of parts, a part object (its `text`), or null.
/// Other value types carry no text and are skipped.
struct TextSeed<'a, 'w> {
    text: &'a mut ChoiceText<'w>,
    output: bool,
}

impl<'de> DeserializeSeed<'de> for TextSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum PartField {
    Text,
    #[serde(other)]
    Other,
}

impl<'de> Visitor<'de> for TextSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a list of parts, or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.text.add(v, self.output);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(TextSeed {
                text: self.text,
                output: self.output,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<PartField>()? {
            match key {
                PartField::Text => map.next_value_seed(TextSeed {
                    text: self.text,
                    output: self.output,
                })?,
                PartField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A `finish_reason`: stores a non-empty string (allocating only when it
/// changes) and reports whether there was one.
struct FinishSeed<'a> {
    slot: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for FinishSeed<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FinishSeed<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a finish reason or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        if v.is_empty() {
            return Ok(false);
        }
        if self.slot.as_deref() != Some(v) {
            *self.slot = Some(v.to_owned());
        }
        Ok(true)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

/// The `usage` object as servers send it.
#[derive(Deserialize, Default)]
struct RawUsage {
    #[serde(default, deserialize_with = "lenient_count")]
    prompt_tokens: Option<Count>,
    #[serde(default, deserialize_with = "lenient_count")]
    completion_tokens: Option<Count>,
    #[serde(default, deserialize_with = "lenient_count")]
    total_tokens: Option<Count>,
    #[serde(default, deserialize_with = "lenient_count")]
    reasoning_tokens: Option<Count>,
    #[serde(default, deserialize_with = "lenient_count")]
    cached_tokens: Option<Count>,
    #[serde(default)]
    prompt_tokens_details: Option<Details>,
    #[serde(default)]
    completion_tokens_details: Option<Details>,
}

#[derive(Deserialize, Default)]
struct Details {
    #[serde(default, deserialize_with = "lenient_count")]
    reasoning_tokens: Option<Count>,
    #[serde(default, deserialize_with = "lenient_count")]
    cached_tokens: Option<Count>,
}

/// One numeric count as the server wrote it.
#[derive(Clone, Debug, PartialEq)]
enum Count {
    /// A whole number in `0..=u32::MAX`.
    Tokens(u32),
    /// Any other number (negative, fractional, not finite, too large), as written.
    Implausible(String),
}

impl RawUsage {
    fn counts(&self) -> UsageCounts {
        let mut implausible = None;
        let mut take = |name: &str, v: Option<&Count>| match v {
            Some(Count::Tokens(t)) => Some(*t),
            Some(Count::Implausible(raw)) => {
                implausible.get_or_insert_with(|| format!("{name} = {raw}"));
                None
            }
            None => None,
        };
        let prompt = take("prompt_tokens", self.prompt_tokens.as_ref());
        let completion = take("completion_tokens", self.completion_tokens.as_ref());
        let total = take("total_tokens", self.total_tokens.as_ref());
        let reasoning = take(
            "reasoning_tokens",
            self.completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens.as_ref())
                .or(self.reasoning_tokens.as_ref()),
        );
        let cached = take(
            "cached_tokens",
            self.prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens.as_ref())
                .or(self.cached_tokens.as_ref()),
        );
        UsageCounts {
            prompt,
            completion,
            total,
            reasoning,
            cached,
            implausible,
        }
    }
}

/// A token count: an integer, an integral float, or a numeric string. A number
/// that is not a plausible count is kept as written ([`Count::Implausible`]);
/// null or anything else reads as absent.
fn lenient_count<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<Count>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Count>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a token count")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Count>, E> {
            Ok(Some(u32::try_from(v).map_or_else(
                |_| Count::Implausible(v.to_string()),
                Count::Tokens,
            )))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Count>, E> {
            Ok(Some(u32::try_from(v).map_or_else(
                |_| Count::Implausible(v.to_string()),
                Count::Tokens,
            )))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<Count>, E> {
            let whole = v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(Some(if whole {
                Count::Tokens(v as u32)
            } else {
                Count::Implausible(format!("{v}"))
            }))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Count>, E> {
            let v = v.trim();
            Ok(if let Ok(n) = v.parse::<u64>() {
                Some(
                    u32::try_from(n)
                        .map_or_else(|_| Count::Implausible(v.to_owned()), Count::Tokens),
                )
            } else if v.parse::<f64>().is_ok() {
                let shown: String = v.chars().take(40).collect();
                Some(Count::Implausible(shown))
            } else {
                None
            })
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<Count>, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<Count>, E> {
            Ok(None)
        }
        fn visit_some<D2: de::Deserializer<'de>>(self, d: D2) -> Result<Option<Count>, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<Count>, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Count>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Count>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests;
