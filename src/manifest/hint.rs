//! Hints of errors raised inside the manifest's value deserializers.
//!
//! serde's error trait carries one message (`de::Error::custom`), and the
//! deserializer that finds a bad value (`D(12,x)`, an unknown source) knows how
//! to fix it. [`hinted`] raises the error with the message alone and keeps the
//! hint beside it, on this thread; [`take`] hands it back when the loader turns
//! the deserializer's error into a `ManifestError` with its `hint` field.
//! Deserializing is synchronous, so the hint is taken on the thread that raised it.

use std::cell::RefCell;
use std::fmt;

use serde::de;

/// Hints not yet taken, newest last (at most a handful: one per raised error).
const MAX_KEPT: usize = 16;

thread_local! {
    static HINTS: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// A deserializer error saying `message`, whose hint [`take`] returns.
pub(crate) fn hinted<E: de::Error>(message: impl fmt::Display, hint: impl fmt::Display) -> E {
    let message = message.to_string();
    HINTS.with(|h| {
        let mut h = h.borrow_mut();
        if h.len() >= MAX_KEPT {
            h.remove(0);
        }
        h.push((message.clone(), hint.to_string()));
    });
    E::custom(message)
}

/// The hint of the newest error raised with `message`, if any (and forgets it).
pub(crate) fn take(message: &str) -> Option<String> {
    HINTS.with(|h| {
        let mut h = h.borrow_mut();
        let i = h.iter().rposition(|(m, _)| m == message)?;
        Some(h.remove(i).1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_is_taken_once_by_its_message() {
        let e: serde_json::Error = hinted("bad `x`", "write y");
        assert_eq!(e.to_string(), "bad `x`");
        assert_eq!(take("bad `x`").as_deref(), Some("write y"));
        assert_eq!(take("bad `x`"), None);
        assert_eq!(take("never raised"), None);
    }

    #[test]
    fn only_the_newest_hints_are_kept() {
        for i in 0..(MAX_KEPT + 4) {
            let _: serde_json::Error = hinted(format!("m{i}"), format!("h{i}"));
        }
        assert_eq!(take("m0"), None);
        assert_eq!(
            take(&format!("m{}", MAX_KEPT + 3)).as_deref(),
            Some(&*format!("h{}", MAX_KEPT + 3))
        );
    }
}
