//! Seed derivation: every random draw of request building comes from here.
//!
//! Each draw site gets its own ChaCha12 stream (`rand_chacha::ChaCha12Rng`, a
//! portable, version-stable generator), keyed by
//!
//! ```text
//! key    = SHA-256("tokenomics/dataset/v1|{point_seed}|{scope}|{purpose}|{index}")
//! stream = ChaCha12Rng::from_seed(key)
//! ```
//!
//! where `scope` is `run:{r}` for measured run `r`, `warmup` for warmup requests
//! and `point` for things shared by every run of a point (the shared prefixes);
//! `purpose` names the draw site (`lengths`, `text`, `lora`, ...); `index` is the
//! request index within the run (or the prefix group). Because every request
//! has its own streams, request `i` is the same whatever `count` is, and
//! changing one feature (say the LoRA mix) leaves the prompts untouched.

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256};

/// Which set of requests a stream belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Measured run `r` of a point.
    Run(u32),
    /// The warmup requests of a point.
    Warmup,
    /// Shared by all runs of a point.
    Point,
}

impl Scope {
    fn label(self) -> String {
        match self {
            Scope::Run(r) => format!("run:{r}"),
            Scope::Warmup => "warmup".to_string(),
            Scope::Point => "point".to_string(),
        }
    }
}

/// The draw sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Input/output length samples.
    Lengths,
    /// Snippet choice for prompt text.
    Text,
    /// Follow-up user messages of multi-turn conversations.
    Followups,
    /// Prefix group of a request.
    PrefixGroup,
    /// Text of a shared prefix (index = group).
    PrefixText,
    /// LoRA adapter choice.
    Lora,
    /// Synthetic image pixels.
    Images,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Lengths => "lengths",
            Purpose::Text => "text",
            Purpose::Followups => "followups",
            Purpose::PrefixGroup => "prefix-group",
            Purpose::PrefixText => "prefix-text",
            Purpose::Lora => "lora",
            Purpose::Images => "images",
        }
    }
}

/// The stream for one draw site of one request (see the module docs).
pub(crate) fn stream(seed: u64, scope: Scope, purpose: Purpose, index: u64) -> ChaCha12Rng {
    let key = format!(
        "tokenomics/dataset/v1|{seed}|{}|{}|{index}",
        scope.label(),
        purpose.label()
    );
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    ChaCha12Rng::from_seed(digest)
}

/// A fixed stream not tied to any point (the built-in synthetic corpus).
pub(crate) fn fixed(label: &str) -> ChaCha12Rng {
    let digest: [u8; 32] = Sha256::digest(format!("tokenomics/fixed/v1|{label}").as_bytes()).into();
    ChaCha12Rng::from_seed(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_stable_and_distinct() {
        let a: u64 = stream(7, Scope::Run(0), Purpose::Text, 3).random();
        let b: u64 = stream(7, Scope::Run(0), Purpose::Text, 3).random();
        assert_eq!(a, b);
        let others = [
            stream(8, Scope::Run(0), Purpose::Text, 3).random::<u64>(),
            stream(7, Scope::Run(1), Purpose::Text, 3).random::<u64>(),
            stream(7, Scope::Warmup, Purpose::Text, 3).random::<u64>(),
            stream(7, Scope::Run(0), Purpose::Lora, 3).random::<u64>(),
            stream(7, Scope::Run(0), Purpose::Text, 4).random::<u64>(),
        ];
        for o in others {
            assert_ne!(a, o);
        }
    }
}
