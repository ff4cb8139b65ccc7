//! Built-in text: the `synthetic` dataset and the embedding text generator.
//!
//! Both draw from one fixed English word list. The `synthetic` source is a
//! corpus of [`SYNTHETIC_ROWS`] sentences made from a fixed stream (the same on
//! every machine and for every seed), so it behaves like any other dataset:
//! prompts are built from its rows with the request's own seed. The embedding
//! generator makes texts of the shapes in [`TextLength`] from the request's stream.

use rand::seq::IndexedRandom;
use rand::Rng;

use super::rng;
use crate::vocab::workload::TextLength;

/// Rows in the built-in `synthetic` corpus.
pub(crate) const SYNTHETIC_ROWS: usize = 512;

/// The word list (common English words; order matters for reproducibility).
const WORDS: &[&str] = &[
    "time", "people", "water", "system", "market", "river", "energy", "garden", "window",
    "history", "science", "music", "city", "country", "school", "family", "question", "answer",
    "number", "morning", "evening", "winter", "summer", "forest", "mountain", "ocean", "island",
    "bridge", "engine", "signal", "network", "library", "language", "picture", "story", "letter",
    "journey", "harbor", "village", "kitchen", "teacher", "student", "doctor", "farmer", "painter",
    "builder", "machine", "computer", "program", "memory", "pattern", "measure", "balance",
    "surface", "light", "shadow", "sound", "voice", "silence", "weather", "season", "planet",
    "orbit", "station", "theory", "method", "result", "problem", "reason", "choice", "change",
    "growth", "value", "price", "trade", "policy", "council", "court", "record", "report",
    "careful", "quiet", "bright", "simple", "rapid", "steady", "ancient", "modern", "gentle",
    "strong", "narrow", "distant", "early", "late", "small", "large", "clear", "warm", "cold",
    "green", "golden", "hidden", "open", "quickly", "slowly", "often", "rarely", "together",
    "always", "builds", "carries", "follows", "opens", "measures", "explains", "reaches",
    "changes", "moves", "holds", "shows", "makes", "finds", "keeps", "turns", "writes", "reads",
    "grows", "the", "a", "of", "and", "in", "on", "with", "from", "over", "under", "through",
    "between", "after", "before", "near", "across",
];

/// Sentence openers for the medium and long embedding shapes.
const OPENERS: &[&str] = &[
    "In most cases",
    "Over the last decade",
    "Many engineers agree that",
    "A recent survey suggests that",
    "It is often said that",
    "During the long winter",
    "From a practical point of view",
    "Early in the morning",
    "As the report explains",
    "Near the old harbor",
];

/// One sentence of `words` random words, capitalised, with a full stop.
fn sentence<R: Rng>(rng: &mut R, words: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        let w = WORDS.choose(rng).copied().unwrap_or("word");
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    capitalise(&mut out);
    out.push('.');
    out
}

/// An opener followed by `words` random words (at least the opener), with a full stop.
fn opened_sentence<R: Rng>(rng: &mut R, words: usize) -> String {
    let opener = OPENERS.choose(rng).copied().unwrap_or("In most cases");
    let mut out = opener.to_string();
    for _ in 0..words {
        out.push(' ');
        out.push_str(WORDS.choose(rng).copied().unwrap_or("word"));
    }
    out.push('.');
    out
}

fn capitalise(s: &mut String) {
    if let Some(first) = s.chars().next() {
        let upper: String = first.to_uppercase().collect();
        s.replace_range(..first.len_utf8(), &upper);
    }
}

fn opener_words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// The built-in `synthetic` corpus: [`SYNTHETIC_ROWS`] sentences of 8–24 words.
pub(crate) fn synthetic_corpus() -> Vec<String> {
    let mut rng = rng::fixed("synthetic-corpus");
    (0..SYNTHETIC_ROWS)
        .map(|_| {
            let n = rng.random_range(8..=24);
            sentence(&mut rng, n)
        })
        .collect()
}

/// Exactly `n` random words from the word list, joined by spaces.
pub(crate) fn random_words<R: Rng>(rng: &mut R, n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS.choose(rng).copied().unwrap_or("word"));
    }
    out
}

/// One embedding text of the given shape.
///
/// * `Short`: 5–15 words as one sentence.
/// * `Medium`: an opener plus 15–40 words.
/// * `Long`: 4–8 medium-style sentences.
/// * `Mixed`: one of the three above, chosen uniformly.
/// * `Words(n)`: exactly `n` words: one plain sentence for n ≤ 20, an opener
///   plus the rest for n ≤ 50, else sentences of 10–25 words (the first with an
///   opener) until `n` words are used.
pub(crate) fn embedding_text<R: Rng>(rng: &mut R, length: TextLength) -> String {
    match length {
        TextLength::Short => {
            let n = rng.random_range(5..=15);
            sentence(rng, n)
        }
        TextLength::Medium => {
            let n = rng.random_range(15..=40);
            opened_sentence(rng, n)
        }
        TextLength::Long => {
            let sentences = rng.random_range(4..=8);
            let parts: Vec<String> = (0..sentences)
                .map(|_| {
                    let n = rng.random_range(15..=40);
                    opened_sentence(rng, n)
                })
                .collect();
            parts.join(" ")
        }
        TextLength::Mixed => {
            let pick = rng.random_range(0..3);
            let inner = [TextLength::Short, TextLength::Medium, TextLength::Long][pick];
            embedding_text(rng, inner)
        }
        TextLength::Words(n) => exact_words(rng, n as usize),
    }
}

/// A text of exactly `n` words (see [`embedding_text`]).
fn exact_words<R: Rng>(rng: &mut R, n: usize) -> String {
    if n <= 20 {
        return sentence(rng, n);
    }
    let opener = OPENERS.choose(rng).copied().unwrap_or("In most cases");
    if n <= 50 {
        let rest = n.saturating_sub(opener_words(opener));
        let mut out = opener.to_string();
        out.push(' ');
        out.push_str(&random_words(rng, rest));
        out.push('.');
        return out;
    }
    let mut parts = Vec::new();
    let mut remaining = n;
    let mut first = true;
    while remaining > 0 {
        let len = rng.random_range(10..=25).min(remaining);
        let part = if first && len > opener_words(opener) {
            let mut s = opener.to_string();
            s.push(' ');
            s.push_str(&random_words(rng, len - opener_words(opener)));
            s.push('.');
            s
        } else {
            sentence(rng, len)
        };
        first = false;
        parts.push(part);
        remaining -= len;
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha12Rng;

    #[test]
    fn corpus_is_fixed() {
        let a = synthetic_corpus();
        assert_eq!(a.len(), SYNTHETIC_ROWS);
        assert_eq!(a, synthetic_corpus());
        for s in &a {
            let n = s.split_whitespace().count();
            assert!((8..=24).contains(&n), "{s}");
            assert!(s.ends_with('.'));
            assert!(s.chars().next().is_some_and(char::is_uppercase));
        }
    }

    #[test]
    fn word_counts_match_the_shapes() {
        let mut rng = ChaCha12Rng::seed_from_u64(1);
        for _ in 0..50 {
            let s = embedding_text(&mut rng, TextLength::Short);
            assert!((5..=15).contains(&s.split_whitespace().count()));
            let m = embedding_text(&mut rng, TextLength::Medium)
                .split_whitespace()
                .count();
            assert!((17..=46).contains(&m), "{m}");
            let l = embedding_text(&mut rng, TextLength::Long)
                .split_whitespace()
                .count();
            assert!((4 * 17..=8 * 46).contains(&l), "{l}");
        }
        for n in [1u32, 7, 20, 21, 35, 50, 51, 200, 1000] {
            let t = embedding_text(&mut rng, TextLength::Words(n));
            assert_eq!(t.split_whitespace().count(), n as usize, "{t}");
        }
    }
}
