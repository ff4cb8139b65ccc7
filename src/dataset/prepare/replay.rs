//! Replayed dataset rows: requests verbatim, conversations split into a head
//! and follow-up turns.

use super::load::image_spec;
use super::Ctx;
use crate::dataset::body::{self, Generation};
use crate::dataset::images;
use crate::dataset::lora::{self};
use crate::dataset::source::{ImageRef, Message};
use crate::dataset::{DatasetError, PreparedRequest};
use crate::vocab::ApiKind;

impl Ctx<'_> {
    pub(super) fn replay(&self, count: u32) -> Result<Vec<PreparedRequest>, DatasetError> {
        let Some(ds) = self.dataset else {
            return Err(DatasetError::Build {
                message: format!("scenario `{}`: replay needs a dataset", self.sc.spec.name),
            });
        };
        let n = (count as usize).min(ds.rows.len());
        let rows = &ds.rows[..n];
        if self.ep.api == ApiKind::Embeddings {
            let texts = rows
                .iter()
                .map(|r| Ok((r.text.clone(), None, self.counter.count(&r.text)?)))
                .collect::<Result<Vec<_>, DatasetError>>()?;
            return self.embedding_bodies(texts);
        }
        let cap = self.sc.spec.max_tokens_cap.max(1);
        let turns = self.sc.spec.turns.max(1) as usize;
        let spec = image_spec(&self.sc.spec);
        let mut out = Vec::with_capacity(n);
        for (i, row) in rows.iter().enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let (messages, followups) = split_conversation(row.messages.as_deref(), turns);
            let counted: String = match &messages {
                Some(ms) => ms
                    .iter()
                    .map(|m| m.content.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n"),
                None => row.text.clone(),
            };
            let built = self.counter.count(&counted)?;
            let images = match &spec {
                Some(s) if !s.from_dataset => self.images(index)?,
                _ => row
                    .images
                    .iter()
                    .map(|img: &ImageRef| images::from_dataset(img, &ds.origin))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let adapter = self.lora(index);
            let model = lora::model_field(&self.ep.model, adapter.as_deref());
            let body = body::generation(
                self.ep,
                &Generation {
                    model: &model,
                    system: self.system(),
                    text: &row.text,
                    images: &images,
                    messages: messages.as_deref(),
                    max_tokens: cap,
                },
            )?;
            out.push(PreparedRequest {
                index,
                path: body::path_for(self.ep),
                body,
                model,
                lora: adapter,
                target_input_tokens: None,
                built_input_tokens: Some(built),
                target_output_tokens: Some(cap),
                max_tokens: Some(cap),
                items: 1,
                prefix_group: None,
                conversation: (turns > 1).then_some(index),
                followups,
            });
        }
        Ok(out)
    }
}

/// A replayed conversation: messages up to the first user message, and up to
/// `turns − 1` later user messages as follow-ups.
fn split_conversation(
    messages: Option<&[Message]>,
    turns: usize,
) -> (Option<Vec<Message>>, Vec<String>) {
    let Some(ms) = messages else {
        return (None, Vec::new());
    };
    let Some(first_user) = ms.iter().position(|m| m.role == "user") else {
        return (Some(ms.to_vec()), Vec::new());
    };
    let head = ms[..=first_user].to_vec();
    let followups = ms[first_user + 1..]
        .iter()
        .filter(|m| m.role == "user")
        .take(turns.saturating_sub(1))
        .map(|m| m.content.clone())
        .collect();
    (Some(head), followups)
}
