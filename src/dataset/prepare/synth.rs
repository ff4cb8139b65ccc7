//! Synthesised chat and completions requests: lengths, shared prefixes, images
//! and follow-up turns.

use rand::Rng;

use super::load::image_spec;
use super::{sample_lengths, Ctx};
use crate::dataset::body::{self, Generation};
use crate::dataset::images;
use crate::dataset::lora::{self};
use crate::dataset::rng::{stream, Purpose, Scope};
use crate::dataset::source::Row;
use crate::dataset::tokens::Built;
use crate::dataset::{DatasetError, PreparedRequest};
use crate::vocab::ApiKind;

impl Ctx<'_> {
    pub(super) fn synthesize(&self, count: u32) -> Result<Vec<PreparedRequest>, DatasetError> {
        match self.ep.api {
            ApiKind::Chat | ApiKind::Completions => self.generation_requests(count),
            ApiKind::Embeddings => self.embedding_requests(count),
            ApiKind::Rerank | ApiKind::Score => self.ranking_requests(count),
        }
    }

    /// The shared prefixes of the scenario (none for warmup).
    fn prefixes(&self) -> Result<Vec<Built>, DatasetError> {
        let Some(p) = self.sc.spec.prefix.as_ref().filter(|_| !self.warmup()) else {
            return Ok(Vec::new());
        };
        let pool = self.pool();
        (0..p.groups)
            .map(|g| {
                let mut r = stream(self.seed, Scope::Point, Purpose::PrefixText, u64::from(g));
                self.counter.build(p.tokens, &pool, &mut r)
            })
            .collect()
    }

    /// Synthetic or dataset images for request `index` (`spec` count of them).
    pub(super) fn images(&self, index: u32) -> Result<Vec<String>, DatasetError> {
        let Some(spec) = image_spec(&self.sc.spec) else {
            return Ok(Vec::new());
        };
        let mut rng = self.rng(Purpose::Images, index);
        if !spec.from_dataset {
            return (0..spec.count)
                .map(|_| images::synthetic(&mut rng, spec.width, spec.height, spec.format))
                .collect();
        }
        let rows: Vec<&Row> = self
            .dataset
            .map(|d| d.rows.iter().filter(|r| !r.images.is_empty()).collect())
            .unwrap_or_default();
        if rows.is_empty() {
            return Err(DatasetError::Image {
                origin: self.origin(),
                message: "no row has images (set image_column)".to_string(),
            });
        }
        let mut out = Vec::with_capacity(spec.count as usize);
        while out.len() < spec.count as usize {
            let row = rows[rng.random_range(0..rows.len())];
            for img in &row.images {
                if out.len() < spec.count as usize {
                    out.push(images::from_dataset(img, &self.origin())?);
                }
            }
        }
        Ok(out)
    }

    fn generation_requests(&self, count: u32) -> Result<Vec<PreparedRequest>, DatasetError> {
        let workload = self.workload();
        let pool = self.pool();
        let prefixes = self.prefixes()?;
        let cap = self.sc.spec.max_tokens_cap.max(1);
        let turns = if self.warmup() { 1 } else { self.sc.spec.turns };
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let (tin, tout) = sample_lengths(&workload, &mut self.rng(Purpose::Lengths, i))?;
            let mut text_rng = self.rng(Purpose::Text, i);
            let (built, group) = if prefixes.is_empty() {
                (self.counter.build(tin, &pool, &mut text_rng)?, None)
            } else {
                let groups = u32::try_from(prefixes.len()).unwrap_or(u32::MAX);
                let g = self.rng(Purpose::PrefixGroup, i).random_range(0..groups);
                let head = &prefixes[g as usize];
                let b =
                    self.counter
                        .build_after(&head.text, head.tokens, tin, &pool, &mut text_rng)?;
                (b, Some(g))
            };
            let mut followups = Vec::new();
            if turns > 1 {
                let mut r = self.rng(Purpose::Followups, i);
                for _ in 1..turns {
                    let (fin, _) = sample_lengths(&workload, &mut r)?;
                    followups.push(self.counter.build(fin, &pool, &mut r)?.text);
                }
            }
            let images = self.images(i)?;
            let adapter = self.lora(i);
            let model = lora::model_field(&self.ep.model, adapter.as_deref());
            let max_tokens = tout.clamp(1, cap);
            let body = body::generation(
                self.ep,
                &Generation {
                    model: &model,
                    system: self.system(),
                    text: &built.text,
                    images: &images,
                    messages: None,
                    max_tokens,
                },
            )?;
            out.push(PreparedRequest {
                index: i,
                path: body::path_for(self.ep),
                body,
                model,
                lora: adapter,
                target_input_tokens: Some(tin),
                built_input_tokens: Some(built.tokens),
                target_output_tokens: Some(tout),
                max_tokens: Some(max_tokens),
                items: 1,
                prefix_group: group,
                followups,
                conversation: (turns > 1).then_some(i),
            });
        }
        Ok(out)
    }
}
