//! Synthesised embeddings, rerank and score requests.

use super::{sample_lengths, Ctx};
use crate::dataset::body::{self};
use crate::dataset::lora::{self};
use crate::dataset::rng::Purpose;
use crate::dataset::text;
use crate::dataset::tokens::Pool;
use crate::dataset::{DatasetError, PreparedRequest};
use crate::vocab::workload::Workload;

impl Ctx<'_> {
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

    pub(super) fn embedding_requests(
        &self,
        count: u32,
    ) -> Result<Vec<PreparedRequest>, DatasetError> {
        let workload = self.workload();
        let pool = self.pool();
        let texts = (0..count)
            .map(|i| self.embedding_text(&workload, i, &pool))
            .collect::<Result<Vec<_>, _>>()?;
        self.embedding_bodies(texts)
    }

    /// Embedding requests from `(text, target, built)` triples (batched or one each).
    pub(super) fn embedding_bodies(
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

    pub(super) fn ranking_requests(
        &self,
        count: u32,
    ) -> Result<Vec<PreparedRequest>, DatasetError> {
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
}
