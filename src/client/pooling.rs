//! Wire format of the pooling APIs (embeddings, rerank, score): count and check
//! what came back.
//!
//! Every check is about the response's shape, not its values' meaning:
//!
//! * **embeddings** (`data[].embedding`, a float list or, with
//!   `encoding_format = "base64"`, a base64 string of little-endian `f32`s): one
//!   embedding per input, all of the same dimension, equal to the endpoint's
//!   `embedding_dim` when that is set, and every value finite;
//! * **rerank** (`results[]` of `{index, relevance_score}`, Jina/Cohere/vLLM/
//!   llama.cpp; or a bare list of `{index, score}`, TEI): one score per document,
//!   indices in range and distinct, scores finite;
//! * **score** (`data[]` of `{score}`, vLLM `/score`; or `scores[]`, SGLang
//!   `/v1/score`, one row per item): one score (row) per item, values finite.
//!
//! Embedding vectors are never materialised as `Vec<f32>`: float lists are
//! counted while parsing and base64 strings are decoded into one reused buffer.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::openai::{usage_from_value, UsageCounts};

/// What a pooling response held, and what is wrong with it (if anything).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolingOutcome {
    /// Embeddings or scores received.
    pub items_returned: u32,
    /// The (common) dimension of the embeddings received.
    pub embedding_dim: Option<u32>,
    /// A non-empty `usage` object.
    pub usage: Option<UsageCounts>,
    /// Why the response breaks the API's promise (None = valid).
    pub problem: Option<String>,
}

impl PoolingOutcome {
    fn invalid(problem: String) -> Self {
        PoolingOutcome {
            problem: Some(problem),
            ..PoolingOutcome::default()
        }
    }

    /// Records the first problem found (later ones are consequences, usually).
    fn flag(&mut self, problem: String) {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
    }

    fn check_count(&mut self, expected: u32, what: &str) {
        if self.items_returned != expected {
            self.flag(format!(
                "expected {expected} {what} (one per input), got {}",
                self.items_returned
            ));
        }
    }
}

/// Checks an embeddings response for `expected_items` inputs.
#[must_use]
pub fn parse_embeddings(
    body: &[u8],
    expected_items: u32,
    expected_dim: Option<u32>,
) -> PoolingOutcome {
    let mut state = EmbeddingsState {
        scratch: Vec::new(),
        dims: None,
        count: 0,
        problem: None,
        data_seen: false,
        usage: None,
        error: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = EmbeddingsSeed { st: &mut state }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Err(e) = parsed {
        return PoolingOutcome::invalid(format!("not a valid embeddings response: {e}"));
    }
    if let Some(err) = state.error {
        return PoolingOutcome::invalid(format!("the server answered with an error: {err}"));
    }
    let mut out = PoolingOutcome {
        items_returned: state.count,
        embedding_dim: state.dims,
        usage: state.usage,
        problem: state.problem,
    };
    if !state.data_seen {
        out.flag("the response has no `data` list of embeddings".to_string());
    }
    out.check_count(expected_items, "embeddings");
    if let (Some(want), Some(got)) = (expected_dim, state.dims) {
        if want != got {
            out.flag(format!(
                "embeddings have dimension {got}, the endpoint expects {want} (embedding_dim)"
            ));
        }
    }
    out
}

/// Checks a rerank response for `expected_items` documents.
#[must_use]
pub fn parse_rerank(body: &[u8], expected_items: u32) -> PoolingOutcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return PoolingOutcome::invalid(format!("not a valid rerank response: {e}")),
    };
    if let Some(err) = error_of(&v) {
        return PoolingOutcome::invalid(format!("the server answered with an error: {err}"));
    }
    let results = match &v {
        Value::Array(items) => Some(items),
        Value::Object(o) => o
            .get("results")
            .or_else(|| o.get("data"))
            .and_then(Value::as_array),
        _ => None,
    };
    let mut out = PoolingOutcome {
        usage: usage_of(&v),
        ..PoolingOutcome::default()
    };
    let Some(results) = results else {
        out.flag("the response has no `results` list".to_string());
        return out;
    };
    out.items_returned = u32::try_from(results.len()).unwrap_or(u32::MAX);
    let mut seen = std::collections::HashSet::with_capacity(results.len());
    for (i, r) in results.iter().enumerate() {
        let score = r
            .get("relevance_score")
            .or_else(|| r.get("score"))
            .and_then(Value::as_f64);
        match score {
            Some(s) if s.is_finite() => {}
            _ => out.flag(format!("result {i} has no finite relevance_score")),
        }
        if let Some(index) = r.get("index") {
            match index.as_u64() {
                Some(x) if x < u64::from(expected_items) => {
                    if !seen.insert(x) {
                        out.flag(format!("document index {x} is scored twice"));
                    }
                }
                _ => out.flag(format!(
                    "result {i} has index {index}, outside the {expected_items} documents sent"
                )),
            }
        }
    }
    out.check_count(expected_items, "scores");
    out
}

/// Checks a score response for `expected_items` items.
#[must_use]
pub fn parse_score(body: &[u8], expected_items: u32) -> PoolingOutcome {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return PoolingOutcome::invalid(format!("not a valid score response: {e}")),
    };
    if let Some(err) = error_of(&v) {
        return PoolingOutcome::invalid(format!("the server answered with an error: {err}"));
    }
    let mut out = PoolingOutcome {
        usage: usage_of(&v),
        ..PoolingOutcome::default()
    };
    if let Some(data) = v.get("data").and_then(Value::as_array) {
        out.items_returned = u32::try_from(data.len()).unwrap_or(u32::MAX);
        for (i, d) in data.iter().enumerate() {
            if !d.get("score").is_some_and(finite_scores) {
                out.flag(format!("data[{i}] has no finite score"));
            }
        }
    } else if let Some(rows) = v.get("scores").and_then(Value::as_array) {
        out.items_returned = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        for (i, row) in rows.iter().enumerate() {
            if !finite_scores(row) {
                out.flag(format!(
                    "scores[{i}] is not a finite score or list of scores"
                ));
            }
        }
    } else {
        out.flag("the response has neither a `data` nor a `scores` list".to_string());
        return out;
    }
    out.check_count(expected_items, "scores");
    out
}

/// A finite number, or a non-empty list of finite numbers.
fn finite_scores(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(f64::is_finite),
        Value::Array(row) => {
            !row.is_empty() && row.iter().all(|x| x.as_f64().is_some_and(f64::is_finite))
        }
        _ => false,
    }
}

fn usage_of(v: &Value) -> Option<UsageCounts> {
    v.get("usage")
        .filter(|u| u.is_object())
        .and_then(|u| usage_from_value(u).ok())
        .filter(UsageCounts::is_nonempty)
}

/// `{"error": …}` or `{"object": "error", "message": …}` → the message.
fn error_of(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    if let Some(e) = o.get("error").filter(|e| !e.is_null()) {
        return Some(match e.get("message") {
            Some(Value::String(m)) => m.clone(),
            _ => e.to_string(),
        });
    }
    if o.get("object").and_then(Value::as_str) == Some("error") {
        return Some(match o.get("message") {
            Some(Value::String(m)) => m.clone(),
            _ => v.to_string(),
        });
    }
    None
}

struct EmbeddingsState {
    /// Reused buffer for base64 decoding.
    scratch: Vec<u8>,
    /// Dimension of the first embedding.
    dims: Option<u32>,
    count: u32,
    problem: Option<String>,
    data_seen: bool,
    usage: Option<UsageCounts>,
    error: Option<String>,
}

impl EmbeddingsState {
    fn flag(&mut self, problem: String) {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
    }

    fn add(&mut self, dim: usize) {
        let dim = u32::try_from(dim).unwrap_or(u32::MAX);
        match self.dims {
            None => self.dims = Some(dim),
            Some(first) if first != dim => self.flag(format!(
                "embedding {} has dimension {dim}, the first has {first}",
                self.count
            )),
            Some(_) => {}
        }
        self.count += 1;
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum TopField {
    Data,
    Usage,
    Error,
    Object,
    #[serde(other)]
    Other,
}

struct EmbeddingsSeed<'a> {
    st: &'a mut EmbeddingsState,
}

impl<'de> DeserializeSeed<'de> for EmbeddingsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EmbeddingsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an embeddings response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut object_is_error = false;
        while let Some(key) = map.next_key::<TopField>()? {
            match key {
                TopField::Data => {
                    self.st.data_seen = true;
                    map.next_value_seed(DataSeed { st: self.st })?;
                }
                TopField::Usage => {
                    let v: Value = map.next_value()?;
                    if v.is_object() {
                        self.st.usage = usage_from_value(&v).ok().filter(UsageCounts::is_nonempty);
                    }
                }
                TopField::Error => {
                    let v: Value = map.next_value()?;
                    if !v.is_null() {
                        self.st.error = Some(match v.get("message") {
                            Some(Value::String(m)) => m.clone(),
                            _ => v.to_string(),
                        });
                    }
                }
                TopField::Object => {
                    let v: Value = map.next_value()?;
                    object_is_error = v.as_str() == Some("error");
                }
                TopField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if object_is_error && self.st.error.is_none() {
            self.st.error = Some("an object of type `error`".to_string());
        }
        Ok(())
    }
}

struct DataSeed<'a> {
    st: &'a mut EmbeddingsState,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of embedding objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(ItemSeed { st: self.st })?.is_some() {}
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ItemField {
    Embedding,
    #[serde(other)]
    Other,
}

struct ItemSeed<'a> {
    st: &'a mut EmbeddingsState,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an embedding object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut dim = None;
        while let Some(key) = map.next_key::<ItemField>()? {
            match key {
                ItemField::Embedding => {
                    dim = map.next_value_seed(VectorSeed { st: self.st })?;
                }
                ItemField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match dim {
            Some(d) => self.st.add(d),
            None => {
                let i = self.st.count;
                self.st.flag(format!("data[{i}] has no usable embedding"));
                self.st.count += 1;
            }
        }
        Ok(())
    }
}

/// An embedding: a list of numbers, or base64 of little-endian `f32`s → its dimension.
struct VectorSeed<'a> {
    st: &'a mut EmbeddingsState,
}

impl<'de> DeserializeSeed<'de> for VectorSeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for VectorSeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of numbers or a base64 string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<usize>, A::Error> {
        let mut n = 0usize;
        while seq.next_element::<f64>()?.is_some() {
            n += 1;
        }
        Ok(Some(n))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        let st = self.st;
        let i = st.count;
        st.scratch.clear();
        if let Err(e) = base64::engine::general_purpose::STANDARD.decode_vec(v, &mut st.scratch) {
            st.flag(format!("embedding {i} is not valid base64: {e}"));
            return Ok(None);
        }
        if st.scratch.len() % 4 != 0 {
            let len = st.scratch.len();
            st.flag(format!(
                "embedding {i} decodes to {len} bytes, not a whole number of f32 values"
            ));
            return Ok(None);
        }
        let finite = st
            .scratch
            .chunks_exact(4)
            .all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite());
        if !finite {
            st.flag(format!("embedding {i} contains NaN or infinite values"));
        }
        Ok(Some(st.scratch.len() / 4))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<usize>, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(values: &[f32]) -> String {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn float_embeddings_are_counted() {
        let body = br#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-2,3e-3]},{"index":1,"embedding":[1,2,3]}],"usage":{"prompt_tokens":9,"total_tokens":9}}"#;
        let out = parse_embeddings(body, 2, Some(3));
        assert_eq!(out.problem, None);
        assert_eq!(out.items_returned, 2);
        assert_eq!(out.embedding_dim, Some(3));
        assert_eq!(out.usage.and_then(|u| u.prompt), Some(9));
    }

    #[test]
    fn base64_embeddings_are_decoded() {
        let body = format!(
            r#"{{"data":[{{"embedding":"{}"}},{{"embedding":"{}"}}]}}"#,
            b64(&[1.0, 2.0, 3.0, 4.0]),
            b64(&[0.5, 0.25, -1.0, 0.0])
        );
        let out = parse_embeddings(body.as_bytes(), 2, None);
        assert_eq!(out.problem, None);
        assert_eq!(out.embedding_dim, Some(4));
        assert_eq!(out.usage, None);
    }

    #[test]
    fn wrong_or_mixed_dimension_and_count_are_problems() {
        let body = br#"{"data":[{"embedding":[1,2,3]},{"embedding":[1,2]}]}"#;
        let out = parse_embeddings(body, 2, None);
        assert!(out
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("dimension 2")));
        let body = br#"{"data":[{"embedding":[1,2,3]}]}"#;
        let out = parse_embeddings(body, 1, Some(4));
        assert!(out
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("expects 4")));
        let out = parse_embeddings(body, 2, None);
        assert_eq!(out.items_returned, 1);
        assert!(out
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("expected 2")));
    }

    #[test]
    fn bad_base64_nan_and_non_json_are_problems() {
        let body = br#"{"data":[{"embedding":"@@@"}]}"#;
        assert!(parse_embeddings(body, 1, None).problem.is_some());
        let body = format!(r#"{{"data":[{{"embedding":"{}"}}]}}"#, b64(&[f32::NAN]));
        let out = parse_embeddings(body.as_bytes(), 1, None);
        assert!(out.problem.as_deref().is_some_and(|p| p.contains("NaN")));
        assert!(parse_embeddings(b"oops", 1, None).problem.is_some());
        assert!(parse_embeddings(b"{}", 0, None).problem.is_some());
        let out = parse_embeddings(br#"{"error":{"message":"too long"}}"#, 1, None);
        assert!(out
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("too long")));
    }

    #[test]
    fn rerank_counts_and_indices() {
        let body = br#"{"object":"list","results":[{"index":1,"relevance_score":0.07},{"index":0,"relevance_score":-2.28}],"usage":{"prompt_tokens":20,"total_tokens":20}}"#;
        let out = parse_rerank(body, 2);
        assert_eq!(out.problem, None);
        assert_eq!(out.items_returned, 2);
        assert_eq!(out.usage.and_then(|u| u.prompt), Some(20));
        let out = parse_rerank(body, 3);
        assert!(out
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("expected 3")));
        let dup = br#"[{"index":0,"score":1.0},{"index":0,"score":0.5}]"#;
        assert!(parse_rerank(dup, 2).problem.is_some());
        let out_of_range = br#"{"results":[{"index":5,"relevance_score":1.0}]}"#;
        assert!(parse_rerank(out_of_range, 1).problem.is_some());
        let no_score = br#"{"results":[{"index":0}]}"#;
        assert!(parse_rerank(no_score, 1).problem.is_some());
    }

    #[test]
    fn score_in_both_shapes() {
        let vllm = br#"{"object":"list","data":[{"index":0,"object":"score","score":0.9},{"index":1,"object":"score","score":0.1}],"usage":{"prompt_tokens":30}}"#;
        let out = parse_score(vllm, 2);
        assert_eq!(out.problem, None);
        assert_eq!(out.items_returned, 2);
        let sglang = br#"{"scores":[[0.2,0.8],[0.6,0.4],[1.0,0.0]]}"#;
        let out = parse_score(sglang, 3);
        assert_eq!(out.problem, None);
        assert!(parse_score(sglang, 2).problem.is_some());
        assert!(parse_score(br#"{"scores":[[]]}"#, 1).problem.is_some());
        assert!(parse_score(br#"{"nothing":1}"#, 1).problem.is_some());
    }
}
