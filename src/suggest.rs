//! "Did you mean …?" suggestions for misspelt names and keys.

/// The candidate closest to `word` (Jaro–Winkler similarity ≥ 0.8, or edit
/// distance ≤ 2 for short words), if any is close enough to be a likely typo.
#[must_use]
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(word, c);
        let close = score >= 0.8 || strsim::levenshtein(word, c) <= 2.min(word.len() / 2 + 1);
        if close && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["batch_sizes", "concurrency", "rates", "endpoints"];
        assert_eq!(did_you_mean("batch_size", keys), Some("batch_sizes"));
        assert_eq!(did_you_mean("concurency", keys), Some("concurrency"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
