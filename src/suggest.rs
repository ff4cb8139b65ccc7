//! "Did you mean …?": the one place that decides whether a misspelt name, key or
//! value is close enough to a valid one to suggest it. Manifest keys and values,
//! dataset configs, scenario and endpoint names and served model names all use it.
//!
//! **Rule.** Compare lower-cased: the similarity is the normalised
//! Damerau–Levenshtein similarity (1 − edits / longer length); a candidate that
//! starts with the word, or that the word starts with, scores at least 0.7. The
//! best candidate scoring at least 0.6 is suggested; of equally close ones, the
//! last listed.

/// The closest candidate to `word`, when close enough to be a plausible typo.
#[must_use]
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lc = word.to_ascii_lowercase();
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        let mut score = strsim::normalized_damerau_levenshtein(&word_lc, &c.to_ascii_lowercase());
        if !word.is_empty() && (c.starts_with(word) || word.starts_with(c)) {
            score = score.max(0.7);
        }
        if score >= 0.6 && best.is_none_or(|(_, s)| score >= s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

/// `did you mean `x`? <what>: `a`, `b`, `c`` — or only the list when nothing is
/// close, or `there are no <what>` when there is nothing to list.
#[must_use]
pub fn suggestion(word: &str, candidates: &[&str], what: &str) -> String {
    let list = if candidates.is_empty() {
        format!("there are no {what}")
    } else {
        format!(
            "{what}: {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match closest(word, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? {list}"),
        None => list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_matches_typos_only() {
        let keys = [
            "batch_sizes",
            "concurrency",
            "rates",
            "requests",
            "endpoints",
        ];
        assert_eq!(closest("batch_size", keys), Some("batch_sizes"));
        assert_eq!(closest("concurency", keys), Some("concurrency"));
        assert_eq!(closest("rate", keys), Some("rates"));
        assert_eq!(closest("Endpoints", keys), Some("endpoints"));
        assert_eq!(closest("xyzzy", keys), None);
        assert_eq!(closest("zzz", keys), None);
        assert_eq!(closest("anything", []), None);
    }

    #[test]
    fn model_names_with_a_changed_suffix_are_suggested() {
        let served = ["Qwen/Qwen3-8B", "Qwen/Qwen3-32B"];
        assert_eq!(closest("Qwen/Qwen3-8b", served), Some("Qwen/Qwen3-8B"));
        assert_eq!(closest("llama", served), None);
    }

    #[test]
    fn the_last_of_equally_close_candidates_wins() {
        assert_eq!(closest("rate", ["rated", "rates"]), Some("rates"));
        assert_eq!(closest("rate", ["rates", "rated"]), Some("rated"));
    }

    #[test]
    fn suggestion_lists_candidates_with_or_without_a_guess() {
        assert_eq!(
            suggestion("rate", &["rates", "burst"], "valid keys"),
            "did you mean `rates`? valid keys: `rates`, `burst`"
        );
        assert_eq!(
            suggestion("zzz", &["rates"], "valid keys"),
            "valid keys: `rates`"
        );
        assert_eq!(
            suggestion("x", &[], "defined endpoints"),
            "there are no defined endpoints"
        );
    }
}
