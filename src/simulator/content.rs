//! What the simulator says: token estimates, generated text, token ids,
//! embedding vectors and relevance scores, all deterministic.
//!
//! # Prompt-token estimate
//!
//! The simulator has no tokenizer. A prompt's token count is:
//!
//! * text: the number of whitespace-separated words (`str::split_whitespace`);
//! * chat `messages`: the sum over messages of their `content`: a string counts
//!   its words; in a list of parts, a `text` part counts the words of its `text`,
//!   an image part (`type` `image_url`, `input_image` or `image`) counts
//!   [`IMAGE_PART_TOKENS`], any other part counts 0. Roles, names and tools count 0;
//! * completions `prompt`: a string, a list of strings (summed), a list of token
//!   ids (its length) or a list of such lists (summed lengths).
//!
//! # Generated text
//!
//! Token `k` (0-based) of every choice is [`token_text`]`(k)` = `" tok{k}"`: one
//! whitespace-separated word per token, so word counts equal token counts.

use serde_json::Value;

use super::faults::splitmix64;

/// Tokens counted for one image part of a chat message.
pub const IMAGE_PART_TOKENS: u32 = 64;

/// Vocabulary size of the simulated token ids (ids are `1..VOCAB`).
pub const VOCAB: u32 = 32_000;

/// The id every image token gets in `/tokenize`.
pub const IMAGE_TOKEN_ID: u32 = VOCAB;

/// Text of generated token `k`.
#[must_use]
pub fn token_text(k: u32) -> String {
    format!(" tok{k}")
}

/// Whitespace-separated words of `text`.
#[must_use]
pub fn word_count(text: &str) -> u32 {
    u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX)
}

/// 64-bit FNV-1a of `bytes`.
#[must_use]
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The id of one word: `1 + fnv1a(word) mod (VOCAB − 1)`.
#[must_use]
pub fn word_id(word: &str) -> u32 {
    // The remainder is below VOCAB − 1, so it fits in u32.
    1 + u32::try_from(fnv1a(word.as_bytes()) % u64::from(VOCAB - 1)).unwrap_or(0)
}

/// One piece of prompt content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Image,
}

/// The pieces of chat `messages`, in order (see the module docs).
///
/// # Errors
/// When `messages` is not a list of objects.
pub fn message_pieces(messages: &Value) -> Result<Vec<Piece<'_>>, String> {
    let list = messages
        .as_array()
        .ok_or("`messages` must be a list of message objects")?;
    let mut pieces = Vec::new();
    for message in list {
        let obj = message
            .as_object()
            .ok_or("every entry of `messages` must be an object")?;
        match obj.get("content") {
            Some(Value::String(text)) => pieces.push(Piece::Text(text)),
            Some(Value::Array(parts)) => {
                for part in parts {
                    let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
                    if matches!(kind, "image_url" | "input_image" | "image") {
                        pieces.push(Piece::Image);
                    } else if let Some(text) = part.get("text").and_then(Value::as_str) {
                        pieces.push(Piece::Text(text));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(pieces)
}

/// Token estimate of a list of pieces.
#[must_use]
pub fn pieces_tokens(pieces: &[Piece<'_>]) -> u32 {
    pieces.iter().fold(0_u32, |acc, p| {
        acc.saturating_add(match p {
            Piece::Text(t) => word_count(t),
            Piece::Image => IMAGE_PART_TOKENS,
        })
    })
}

/// Token ids of a list of pieces (one per word, [`IMAGE_PART_TOKENS`] per image).
#[must_use]
pub fn pieces_ids(pieces: &[Piece<'_>]) -> Vec<u32> {
    let mut ids = Vec::new();
    for p in pieces {
        match p {
            Piece::Text(t) => ids.extend(t.split_whitespace().map(word_id)),
            Piece::Image => ids.extend(std::iter::repeat_n(
                IMAGE_TOKEN_ID,
                IMAGE_PART_TOKENS as usize,
            )),
        }
    }
    ids
}

/// One input of a completions prompt, an embeddings request or a score pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextInput {
    Text(String),
    Ids(Vec<u64>),
}

impl TextInput {
    /// Token estimate: words of a text, length of an id list.
    #[must_use]
    pub fn tokens(&self) -> u32 {
        match self {
            TextInput::Text(t) => word_count(t),
            TextInput::Ids(ids) => u32::try_from(ids.len()).unwrap_or(u32::MAX),
        }
    }

    /// A stable 64-bit fingerprint of the input.
    #[must_use]
    pub fn fingerprint(&self) -> u64 {
        match self {
            TextInput::Text(t) => fnv1a(t.as_bytes()),
            TextInput::Ids(ids) => {
                let bytes: Vec<u8> = ids.iter().flat_map(|i| i.to_le_bytes()).collect();
                // Distinct from any text with the same bytes.
                splitmix64(fnv1a(&bytes))
            }
        }
    }
}

fn id_list(items: &[Value]) -> Option<Vec<u64>> {
    items.iter().map(Value::as_u64).collect()
}

/// Parses a string, a list of strings, a list of token ids, or a list of
/// token-id lists into inputs (OpenAI's `prompt` / `input` forms).
///
/// # Errors
/// When `value` has none of these forms, or is an empty list.
pub fn text_inputs(value: &Value, field: &str) -> Result<Vec<TextInput>, String> {
    let bad = || {
        format!("`{field}` must be a string, a list of strings, a list of token ids or a list of token-id lists")
    };
    match value {
        Value::String(s) => Ok(vec![TextInput::Text(s.clone())]),
        Value::Array(items) if items.is_empty() => Err(format!("`{field}` must not be empty")),
        Value::Array(items) => {
            if items.iter().all(Value::is_string) {
                Ok(items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| TextInput::Text(s.to_owned()))
                    .collect())
            } else if let Some(ids) = id_list(items) {
                Ok(vec![TextInput::Ids(ids)])
            } else {
                items
                    .iter()
                    .map(|item| {
                        item.as_array()
                            .and_then(|ids| id_list(ids))
                            .map(TextInput::Ids)
                            .ok_or_else(bad)
                    })
                    .collect()
            }
        }
        _ => Err(bad()),
    }
}

/// A uniform draw in `[0, 1)` from a 64-bit hash.
#[must_use]
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1_u64 << 53) as f64
}

/// `unit(splitmix64(x))`: a uniform draw in `[0, 1)` from any 64-bit value.
#[must_use]
pub fn splitmix_unit(x: u64) -> f64 {
    unit(splitmix64(x))
}

/// The embedding of an input with fingerprint `seed`: `dim` values
/// `x_i = 2·unit(splitmix64(seed + i)) − 1`, scaled to unit L2 norm.
#[must_use]
pub fn embedding(seed: u64, dim: u32) -> Vec<f32> {
    let raw: Vec<f64> = (0..u64::from(dim))
        .map(|i| 2.0 * unit(splitmix64(seed.wrapping_add(i))) - 1.0)
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt();
    let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    #[allow(clippy::cast_possible_truncation)]
    raw.iter().map(|x| (x * scale) as f32).collect()
}

/// Relevance of a document to a query, in `[0, 1)`:
/// `unit(splitmix64(query_fp XOR rotl(doc_fp, 1)))`.
#[must_use]
pub fn relevance(query_fp: u64, doc_fp: u64) -> f64 {
    unit(splitmix64(query_fp ^ doc_fp.rotate_left(1)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn chat_estimate_counts_words_and_images() {
        let messages = json!([
            {"role": "system", "content": "You are  terse."},
            {"role": "user", "content": [
                {"type": "text", "text": "what is in\nthis picture"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "input_audio", "input_audio": {}},
            ]},
            {"role": "assistant", "content": null},
        ]);
        let pieces = message_pieces(&messages).expect("valid");
        assert_eq!(pieces_tokens(&pieces), 3 + 5 + IMAGE_PART_TOKENS);
        let ids = pieces_ids(&pieces);
        assert_eq!(ids.len(), (3 + 5 + IMAGE_PART_TOKENS) as usize);
        assert_eq!(ids[0], word_id("You"));
        assert!(ids[..8].iter().all(|&id| (1..VOCAB).contains(&id)));
        assert_eq!(ids[8], IMAGE_TOKEN_ID);
        assert!(message_pieces(&json!("hi")).is_err());
    }

    #[test]
    fn prompt_forms() {
        let one = text_inputs(&json!("a b c"), "prompt").expect("string");
        assert_eq!(one, vec![TextInput::Text("a b c".into())]);
        assert_eq!(one[0].tokens(), 3);
        let list = text_inputs(&json!(["a", "b c"]), "prompt").expect("strings");
        assert_eq!(list.iter().map(TextInput::tokens).sum::<u32>(), 3);
        let ids = text_inputs(&json!([5, 6, 7, 8]), "prompt").expect("ids");
        assert_eq!(ids, vec![TextInput::Ids(vec![5, 6, 7, 8])]);
        let lists = text_inputs(&json!([[1, 2], [3]]), "prompt").expect("id lists");
        assert_eq!(lists.iter().map(TextInput::tokens).sum::<u32>(), 3);
        assert!(text_inputs(&json!([]), "prompt").is_err());
        assert!(text_inputs(&json!([1, "a"]), "prompt").is_err());
        assert!(text_inputs(&json!({"a": 1}), "input")
            .unwrap_err()
            .contains("`input`"));
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = embedding(fnv1a(b"hello"), 384);
        let b = embedding(fnv1a(b"hello"), 384);
        let c = embedding(fnv1a(b"world"), 384);
        assert_eq!(a.len(), 384);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }

    #[test]
    fn relevance_is_in_unit_interval_and_order_sensitive() {
        let q = fnv1a(b"query");
        let d = fnv1a(b"doc");
        let r = relevance(q, d);
        assert!((0.0..1.0).contains(&r));
        assert_eq!(r, relevance(q, d));
        assert_ne!(r, relevance(d, q));
    }

    #[test]
    fn token_text_is_one_word() {
        assert_eq!(token_text(12), " tok12");
        assert_eq!(word_count(&(0..5).map(token_text).collect::<String>()), 5);
    }
}
