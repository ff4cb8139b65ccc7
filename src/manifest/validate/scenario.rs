//! Checks of `[scenarios.NAME]` tables and of which scenario an endpoint's API
//! can serve.

use std::collections::BTreeMap;

use super::{Check, Checker};
use crate::manifest::dataset_config::{DatasetConfig, BUILTIN_DATASETS};
use crate::manifest::diagnostic::toml_key;
use crate::manifest::limits;
use crate::manifest::raw::{Compat, RawEndpoint, RawScenario};
use crate::suggest::suggestion;
use crate::vocab::name::NameKind;
use crate::vocab::workload::Workload;
use crate::vocab::workload::MAX_TOKENS;
use crate::vocab::{ApiKind, ImageFormat, LoraStrategy};

fn workload_label(w: &Workload) -> &'static str {
    match w {
        Workload::Deterministic { .. } | Workload::Normal { .. } | Workload::Uniform { .. } => {
            "text generation"
        }
        Workload::Image { .. } => "image",
        Workload::Embedding { .. } | Workload::EmbeddingText { .. } => "embedding",
        Workload::Rerank { .. } => "rerank",
    }
}

pub(super) fn scenario(
    c: &Checker,
    name: &str,
    sc: &RawScenario,
    datasets: &BTreeMap<String, DatasetConfig>,
) -> Check {
    let k = |field: &str| format!("scenarios.{name}.{field}");
    c.name(
        &format!("scenarios.{}", toml_key(name)),
        NameKind::Scenario,
        name,
    )?;
    let dataset_name = sc
        .dataset
        .as_deref()
        .unwrap_or(crate::manifest::raw::defaults::DATASET);
    let dataset = match datasets.get(dataset_name) {
        Some(d) => Some(d),
        None if BUILTIN_DATASETS.contains(&dataset_name) => None,
        None => {
            let mut known: Vec<&str> = datasets.keys().map(String::as_str).collect();
            known.extend(
                BUILTIN_DATASETS
                    .iter()
                    .filter(|b| !datasets.contains_key(**b)),
            );
            known.sort_unstable();
            return Err(c.fail(
                k("dataset"),
                format!("unknown dataset `{dataset_name}`"),
                suggestion(dataset_name, &known, "defined datasets"),
            ));
        }
    };
    let has_rows = dataset.map_or(dataset_name == "aime", DatasetConfig::has_rows);
    let has_images = dataset.is_some_and(|d| d.image_column.is_some());
    c.at_least_one(
        &k("max_tokens_cap"),
        sc.max_tokens_cap,
        "the cap on max_tokens, 4096 by default",
    )?;
    c.at_least_one(
        &k("turns"),
        sc.turns,
        "turns = 1 is a single-turn conversation",
    )?;
    c.count_at_most(
        &k("max_tokens_cap"),
        sc.max_tokens_cap,
        u64::from(MAX_TOKENS),
    )?;
    c.count_at_most(&k("turns"), sc.turns, u64::from(limits::MAX_TURNS))?;
    let workload = &sc.spec.0;
    let text = matches!(
        workload,
        Workload::Deterministic { .. } | Workload::Normal { .. } | Workload::Uniform { .. }
    );
    if let Some(images) = &sc.images {
        if !text {
            return Err(c.fail(
                k("images"),
                format!("`images` cannot be added to a {} scenario", workload_label(workload)),
                "images go with a text-generation spec (D, N or U); an I(...) spec already carries its images",
            ));
        }
        if images.0.from_dataset && !has_images {
            return Err(c.fail(
                k("images"),
                format!("from_dataset = true needs a dataset with `image_column` (dataset `{dataset_name}` has none)"),
                "set image_column in the dataset, or synthesise images with width and height",
            ));
        }
    }
    if sc.turns.is_some_and(|t| t > 1) && !text {
        return Err(c.fail(
            k("turns"),
            format!(
                "multi-turn conversations need a text-generation spec, not {}",
                workload_label(workload)
            ),
            "remove `turns`",
        ));
    }
    if let Some(p) = &sc.prefix {
        if !text {
            return Err(c.fail(
                k("prefix"),
                format!(
                    "a shared prefix needs a text-generation spec, not {}",
                    workload_label(workload)
                ),
                "remove `prefix`",
            ));
        }
        c.at_least_one(
            &k("prefix.tokens"),
            Some(p.tokens),
            "the shared prefix length in tokens",
        )?;
        c.at_least_one(
            &k("prefix.groups"),
            p.groups,
            "the number of distinct prefixes, 1 or more",
        )?;
        c.count_at_most(&k("prefix.tokens"), Some(p.tokens), u64::from(MAX_TOKENS))?;
        c.count_at_most(
            &k("prefix.groups"),
            p.groups,
            u64::from(limits::MAX_PREFIX_GROUPS),
        )?;
    }
    if sc.replay == Some(true) && !has_rows {
        return Err(c.fail(
            k("replay"),
            format!("replay sends dataset rows verbatim, but dataset `{dataset_name}` is synthetic filler"),
            "set dataset to a dataset with rows (aime, a Hugging Face or a file source)",
        ));
    }
    if let Some(l) = &sc.lora {
        let lk = |field: &str| format!("scenarios.{name}.lora.{field}");
        if l.adapters.is_empty() {
            return Err(c.fail(
                lk("adapters"),
                "the adapter list is empty",
                "list the adapter names served, e.g. adapters = [\"a\", \"b\"]",
            ));
        }
        if let Some(i) = l.adapters.iter().position(|a| a.trim().is_empty()) {
            return Err(c.fail(
                format!("scenarios.{name}.lora.adapters[{i}]"),
                "empty adapter name",
                "remove it",
            ));
        }
        c.fraction(
            &lk("base_model_ratio"),
            l.base_model_ratio,
            "the share of requests sent to the base model, from 0 to 1",
        )?;
        match (l.strategy, &l.weights) {
            (LoraStrategy::Weighted, None) => {
                return Err(c.fail(
                    lk("weights"),
                    "strategy = \"weighted\" needs `weights`",
                    "give one weight per adapter, e.g. weights = [3, 1]",
                ));
            }
            (LoraStrategy::Weighted, Some(w)) => {
                if w.len() != l.adapters.len() {
                    return Err(c.fail(
                        lk("weights"),
                        format!("{} weights for {} adapters", w.len(), l.adapters.len()),
                        "give one weight per adapter",
                    ));
                }
                if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
                    return Err(c.fail(
                        lk("weights"),
                        "weights must be ≥ 0 and not all 0",
                        "e.g. weights = [3, 1]",
                    ));
                }
            }
            (_, Some(_)) => {
                return Err(c.fail(
                    lk("weights"),
                    "`weights` applies only to strategy = \"weighted\"",
                    "remove `weights`, or set strategy = \"weighted\"",
                ));
            }
            (_, None) => {}
        }
        match (l.strategy, l.zipf_alpha) {
            (LoraStrategy::Zipf, Some(a)) if !(a.is_finite() && a > 1.0) => {
                return Err(c.fail(
                    lk("zipf_alpha"),
                    format!("zipf_alpha = {a} must be > 1"),
                    "the Zipf distribution is defined for exponents above 1, e.g. 1.2",
                ));
            }
            (LoraStrategy::Zipf, _) | (_, None) => {}
            (_, Some(_)) => {
                return Err(c.fail(
                    lk("zipf_alpha"),
                    "`zipf_alpha` applies only to strategy = \"zipf\"",
                    "remove `zipf_alpha`, or set strategy = \"zipf\"",
                ));
            }
        }
    }
    if sc.compat == Some(Compat::Original) {
        compat_scenario(c, name, sc, dataset_name, dataset)?;
    }
    Ok(())
}

/// `compat = "original"` sends only what the original tool can send: everything
/// else is an error here, never dropped silently.
fn compat_scenario(
    c: &Checker,
    name: &str,
    sc: &RawScenario,
    dataset_name: &str,
    dataset: Option<&DatasetConfig>,
) -> Check {
    let k = |field: &str| format!("scenarios.{name}.{field}");
    let without = "or remove compat = \"original\" to use tokenomics' own request synthesis";
    let workload = &sc.spec.0;
    let text = matches!(
        workload,
        Workload::Deterministic { .. } | Workload::Normal { .. } | Workload::Uniform { .. }
    );
    if !text && sc.replay != Some(true) {
        return Err(c.fail(
            k("spec"),
            format!(
                "compat = \"original\" reproduces the original's D, N and U scenarios; {} has no equivalent there",
                workload.to_spec_string()
            ),
            format!("for the original's --num-images use a D, N or U spec with images = \"I(w,h,n)\"; {without}"),
        ));
    }
    if sc.prefix.is_some() {
        return Err(c.fail(
            k("prefix"),
            "the original tool has no shared-prefix workload",
            format!("remove `prefix`, {without}"),
        ));
    }
    if sc.turns.is_some_and(|t| t > 1) {
        return Err(c.fail(
            k("turns"),
            "the original tool sends single-turn requests only",
            format!("remove `turns`, {without}"),
        ));
    }
    if let Some(images) = &sc.images {
        let i = &images.0;
        if i.from_dataset && sc.replay != Some(true) {
            return Err(c.fail(
                k("images"),
                "the original attaches dataset images only when replaying the dataset",
                format!("set replay = true, or synthesise images with width and height; {without}"),
            ));
        }
        if !i.from_dataset && i.format != ImageFormat::Png {
            return Err(c.fail(
                k("images"),
                "the original's synthetic images are PNG",
                "remove format, or set format = \"png\"",
            ));
        }
    }
    if let Some(d) = dataset {
        for (key, set) in [
            ("system_prompt", d.system_prompt.is_some()),
            ("messages_column", d.messages_column.is_some()),
        ] {
            if set {
                return Err(c.fail(
                    k("dataset"),
                    format!("dataset `{dataset_name}` sets `{key}`, which the original tool has no equivalent for (it sends one user message)"),
                    format!("use a dataset without `{key}`, {without}"),
                ));
            }
        }
    }
    if let Some(l) = &sc.lora {
        let lk = format!("scenarios.{name}.lora.strategy");
        match l.strategy {
            LoraStrategy::Uniform => {
                return Err(c.fail(
                    lk,
                    "with compat = \"original\", strategy = \"uniform\" is ambiguous: tokenomics' `uniform` is a random pick per request, the original's `uniform` is round-robin",
                    "write \"mixed\" (the original's random pick) or \"round_robin\" / \"all-unique\" (the original's `uniform`)",
                ));
            }
            LoraStrategy::Weighted => {
                return Err(c.fail(
                    lk,
                    "the original tool has no `weighted` LoRA strategy",
                    format!("use single, round_robin, all-unique, mixed or zipf; {without}"),
                ));
            }
            LoraStrategy::Zipf if l.zipf_alpha.is_none_or(|a| !(a.is_finite() && a > 1.0)) => {
                return Err(c.fail(
                    format!("scenarios.{name}.lora.zipf_alpha"),
                    "the original's zipf strategy draws NumPy's zipf(zipf_alpha), which rejects exponents ≤ 1 (so its default of 1.0 fails)",
                    "set zipf_alpha above 1, e.g. zipf_alpha = 1.5",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `compat = "original"` scenarios need a chat endpoint with a tokenizer, as the original.
pub(super) fn compat_endpoint(c: &Checker, e: &str, ep: &RawEndpoint, s: &str) -> Check {
    let k = |field: &str| format!("endpoints.{}.{field}", toml_key(e));
    let api = ep.api.unwrap_or(ApiKind::Chat);
    if api != ApiKind::Chat {
        return Err(c.fail(
            k("api"),
            format!("scenario `{s}` has compat = \"original\", which sends chat requests as the original does, but endpoint `{e}` has api = \"{}\"", api.as_str()),
            "run the scenario on an api = \"chat\" endpoint",
        ));
    }
    if ep.tokenizer.is_none() {
        return Err(c.fail(
            k("tokenizer"),
            format!("scenario `{s}` has compat = \"original\", which counts prompt tokens with the model's tokenizer as the original does, but endpoint `{e}` has no tokenizer"),
            "set tokenizer = \"org/model\" (the served model's Hugging Face tokenizer; `tokenomics fetch` downloads it) or tokenizer = { path = \"tokenizer.json\" }",
        ));
    }
    if ep.min_tokens == Some(true) {
        return Err(c.fail(
            k("min_tokens"),
            format!(
                "scenario `{s}` has compat = \"original\", and the original never sends min_tokens"
            ),
            "use ignore_eos = true (the original's --ignore-eos), or remove min_tokens",
        ));
    }
    Ok(())
}

/// Whether `workload` can run on an endpoint speaking `api`; the hint when not.
pub(super) fn compatible(workload: &Workload, api: ApiKind) -> Result<(), &'static str> {
    match workload {
        Workload::Deterministic { .. } | Workload::Normal { .. } | Workload::Uniform { .. }
            if !api.generates() =>
        {
            Err("text-generation specs (D, N, U) need api = \"chat\" or \"completions\"")
        }
        Workload::Image { .. } if api != ApiKind::Chat => {
            Err("image specs (I) need api = \"chat\"")
        }
        Workload::Embedding { .. } | Workload::EmbeddingText { .. }
            if api != ApiKind::Embeddings =>
        {
            Err("embedding specs (E) need api = \"embeddings\"")
        }
        Workload::Rerank { .. } if !matches!(api, ApiKind::Rerank | ApiKind::Score) => {
            Err("rerank specs (R) need api = \"rerank\" or \"score\"")
        }
        _ => Ok(()),
    }
}
