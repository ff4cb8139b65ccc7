//! Bit-exact reproduction of the original tool's prompt synthesis.
//!
//! The original benchmark builds its scenario prompts from two independent random streams:
//!
//! * NumPy's **legacy global `RandomState`** (a 32-bit Mersenne Twister seeded with
//!   `seed mod 2^32`) supplies the per-request token-length targets: `normal` for `N(..)/(..)`
//!   scenarios and bounded `randint` for `U(..)/(..)` scenarios.
//! * CPython's **`random` module** (the same Mersenne Twister, but seeded from the full integer
//!   through `init_by_array`) supplies `random.choice` picks of dataset snippets.
//!
//! Synthetic images additionally use `np.random.default_rng(id)`: a PCG64 generator seeded
//! through NumPy's `SeedSequence`.
//!
//! This module re-implements all of those generators in plain Rust so that a tokenomics run in
//! compatibility mode sends byte-identical prompts (and identical image pixels) to the ones the
//! original would have sent for the same seed, scenario, snippet list and tokenizer. Everything here is
//! pure: no I/O, no global state, no clocks.
//!
//! Entry points:
//!
//! * [`derive_seed`]: the per-run seed, `u64(SHA-256("{base}|{sweep}|{run}")[0..8])`.
//! * [`Mt19937`]: the 32-bit Mersenne Twister (MT19937, Matsumoto & Nishimura 1998).
//! * [`CpythonRandom`]: `random.Random` semantics (`seed`, `getrandbits`, `_randbelow`,
//!   `choice`, `random`).
//! * [`NumpyRandomState`]: `numpy.random.RandomState` legacy semantics (`random_sample`,
//!   `standard_normal`, `normal`, `randint`).
//! * [`Pcg64`] and [`numpy_default_rng_u8`]: `default_rng(seed).integers(0, 256, .., uint8)`.
//! * [`sample_lengths`] and [`synthesize_original`]: the scenario sampler and the snippet
//!   concatenation of the original's text sampler.
//! * [`python_word_estimate`]: the original's token count when encoding fails,
//!   `int(len(text.split()) × 1.3)`.
//! * [`NumpyRandomState::zipf`] and [`assign_original_lora`]: the original's LoRA strategies.
//! * [`image_ids`], [`image_pixels`] and [`uid_prompt`]: its synthetic images and the request
//!   counter that makes each request unique.
//!
//! The snippet counts themselves (the tokenizer as its tokenizer.json configures it, special
//! tokens included) are made by the `tokens` module; the requests by `prepare`.

use sha2::{Digest, Sha256};

use crate::vocab::workload::Workload;

/// Errors of the compatibility samplers.
///
/// The original raises a Python exception in each of these situations; tokenomics reports them
/// as values instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompatError {
    /// `randint(low, high)` was asked for an empty half-open range.
    #[error(
        "empty integer range: low {low} must be smaller than high {high} \
         (for a U(a,b) scenario write the smaller bound first)"
    )]
    EmptyRange {
        /// Inclusive lower bound that was requested.
        low: i64,
        /// Exclusive upper bound that was requested.
        high: i64,
    },
    /// A normal scenario has a mean or standard deviation that NumPy would reject or that
    /// cannot become a token count.
    #[error(
        "invalid normal distribution N({mean},{std}): the mean must be finite and the standard \
         deviation finite and non-negative"
    )]
    InvalidNormal {
        /// The requested mean.
        mean: f64,
        /// The requested standard deviation.
        std: f64,
    },
    /// The workload kind has no sampler in the original tool.
    #[error(
        "scenario `{0}` has no original-compatible sampler: the original only implements \
         D(in,out), N(mi,si)/(mo,so) and U(a,b)/(c,d)"
    )]
    UnsupportedWorkload(String),
    /// A positive input target cannot be reached without any snippet to choose from.
    #[error(
        "cannot build a prompt with a positive input target from an empty snippet list; \
         check that the dataset has at least one text"
    )]
    EmptySnippets,
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

/// The per-run seed of the original.
///
/// `derive_seed(base, sweep, run) = u64::from_be_bytes(SHA-256("{base}|{sweep}|{run}")[0..8])`,
/// where the string is the UTF-8 decimal rendering of the three integers joined with `|`
/// (negative values keep their `-` sign: warmup uses `run = -1`).
#[must_use]
pub fn derive_seed(base: u64, sweep_value: i64, run: i64) -> u64 {
    let digest = Sha256::digest(format!("{base}|{sweep_value}|{run}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

// ---------------------------------------------------------------------------------------------
// MT19937
// ---------------------------------------------------------------------------------------------

/// Number of 32-bit words of Mersenne Twister state.
const MT_N: usize = 624;
/// Middle word offset of the twist recurrence.
const MT_M: usize = 397;
/// Twist matrix constant `a`.
const MT_MATRIX_A: u32 = 0x9908_b0df;
/// Most significant bit (the "upper" part of a word in the twist).
const MT_UPPER_MASK: u32 = 0x8000_0000;
/// Least significant 31 bits (the "lower" part of a word in the twist).
const MT_LOWER_MASK: u32 = 0x7fff_ffff;

/// The 32-bit Mersenne Twister MT19937, as in the reference `mt19937ar.c`.
///
/// Both CPython's `random` and NumPy's legacy `RandomState` run exactly this generator; they
/// differ only in how they seed it and how they turn its 32-bit words into numbers.
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; MT_N],
    /// Index of the next word to temper; `MT_N` means "twist before the next draw".
    index: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mt19937")
            .field("index", &self.index)
            .field("state[0]", &self.state[0])
            .finish_non_exhaustive()
    }
}

impl Mt19937 {
    /// Seeds from one 32-bit word (`init_genrand`; NumPy's `mt19937_seed`).
    ///
    /// `mt[0] = s`, `mt[i] = 1812433253 · (mt[i−1] ⊕ (mt[i−1] ≫ 30)) + i` (mod 2^32).
    #[must_use]
    pub fn init_genrand(seed: u32) -> Self {
        let mut state = [0u32; MT_N];
        state[0] = seed;
        for i in 1..MT_N {
            let prev = state[i - 1];
            // `i < 624`, so the cast is lossless.
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: MT_N }
    }

    /// Seeds from a key of 32-bit words (`init_by_array`), as CPython's `random.seed(int)` does.
    ///
    /// Starting from `init_genrand(19650218)`, for `max(624, len(key))` steps
    /// `mt[i] = (mt[i] ⊕ ((mt[i−1] ⊕ (mt[i−1] ≫ 30)) · 1664525)) + key[j] + j`, then for 623 steps
    /// `mt[i] = (mt[i] ⊕ ((mt[i−1] ⊕ (mt[i−1] ≫ 30)) · 1566083941)) − i` (all mod 2^32, `i`
    /// wrapping from 623 back to 1 with `mt[0] = mt[623]`), and finally `mt[0] = 2^31`.
    ///
    /// An empty key is treated as `[0]`, which is what CPython passes for `seed(0)`.
    #[must_use]
    pub fn init_by_array(key: &[u32]) -> Self {
        let zero_key = [0u32];
        let key = if key.is_empty() { &zero_key[..] } else { key };
        let mut mt = Self::init_genrand(19_650_218);
        let s = &mut mt.state;
        let mut i = 1usize;
        let mut j = 0usize;
        for _ in 0..MT_N.max(key.len()) {
            let prev = s[i - 1];
            // The reference adds `j` as a 32-bit value; key lengths beyond 2^32 words wrap.
            s[i] = (s[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= MT_N {
                s[0] = s[MT_N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..MT_N - 1 {
            let prev = s[i - 1];
            // `i < 624`, so the cast is lossless.
            s[i] =
                (s[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= MT_N {
                s[0] = s[MT_N - 1];
                i = 1;
            }
        }
        s[0] = MT_UPPER_MASK;
        mt
    }

    /// Regenerates all 624 words (the "twist").
    ///
    /// `y = (mt[k] & 2^31) | (mt[k+1] & (2^31−1))`,
    /// `mt[k] = mt[k+397] ⊕ (y ≫ 1) ⊕ (0x9908b0df if y is odd else 0)`, indices mod 624.
    fn twist(&mut self) {
        for k in 0..MT_N {
            let y = (self.state[k] & MT_UPPER_MASK) | (self.state[(k + 1) % MT_N] & MT_LOWER_MASK);
            let mag = if y & 1 == 1 { MT_MATRIX_A } else { 0 };
            self.state[k] = self.state[(k + MT_M) % MT_N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// The next 32-bit output (`genrand_int32`).
    ///
    /// Tempering: `y ^= y ≫ 11; y ^= (y ≪ 7) & 0x9d2c5680; y ^= (y ≪ 15) & 0xefc60000;
    /// y ^= y ≫ 18`.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= MT_N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// A double in `[0, 1)` with 53 random bits (`genrand_res53`).
    ///
    /// `a = next ≫ 5` (27 bits), `b = next ≫ 6` (26 bits), result `(a·2^26 + b) / 2^53`.
    /// CPython's `random()` and NumPy's legacy `random_sample()` both use this formula.
    pub fn next_f64(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }
}

// ---------------------------------------------------------------------------------------------
// CPython random.Random
// ---------------------------------------------------------------------------------------------

/// CPython's `random.Random` (its global instance backs `random.seed` / `random.choice`).
#[derive(Clone, Debug)]
pub struct CpythonRandom {
    mt: Mt19937,
}

impl CpythonRandom {
    /// A generator in the state `random.seed(seed)` leaves it in.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            mt: Self::seeded(seed),
        }
    }

    /// `random.seed(seed)` for a non-negative integer.
    ///
    /// CPython splits `|seed|` into 32-bit words, least significant first, drops leading zero
    /// words (keeping one word for 0) and passes them to `init_by_array`. A `u64` therefore gives
    /// the key `[seed & 0xffffffff]` when `seed < 2^32` and `[low, high]` otherwise. The full
    /// 64-bit value is used: unlike NumPy, there is no reduction mod 2^32.
    pub fn seed(&mut self, seed: u64) {
        self.mt = Self::seeded(seed);
    }

    fn seeded(seed: u64) -> Mt19937 {
        // Truncations are the intended split into 32-bit words.
        let low = (seed & 0xffff_ffff) as u32;
        let high = (seed >> 32) as u32;
        if high == 0 {
            Mt19937::init_by_array(&[low])
        } else {
            Mt19937::init_by_array(&[low, high])
        }
    }

    /// `getrandbits(k)` for `k ≤ 64`: a uniformly random integer in `[0, 2^k)`.
    ///
    /// CPython fills the result 32 bits at a time from the least significant word up; each word
    /// is one MT output, and the last (most significant) word keeps only its top `k mod 32` bits
    /// (`word ≫ (32 − remaining)`). `k = 0` returns 0 without drawing.
    ///
    /// # Panics
    /// When `k > 64` (a caller bug: this port only needs up to 64 bits).
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        assert!(k <= 64, "getrandbits supports at most 64 bits, got {k}");
        let mut result = 0u64;
        let mut remaining = k;
        let mut shift = 0u32;
        while remaining > 0 {
            let mut word = self.mt.next_u32();
            if remaining < 32 {
                word >>= 32 - remaining;
            }
            result |= u64::from(word) << shift;
            shift += 32;
            remaining = remaining.saturating_sub(32);
        }
        result
    }

    /// `_randbelow(n)`: a uniformly random integer in `[0, n)` by rejection.
    ///
    /// `k = n.bit_length()` (note: of `n`, not `n − 1`), then `r = getrandbits(k)` is redrawn
    /// while `r ≥ n`. For `n = 0` this returns 0 without drawing (CPython's callers never ask
    /// for it: `choice` rejects an empty sequence first).
    pub fn randbelow(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = u64::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `choice(seq)` for a sequence of length `len`: the chosen index, `_randbelow(len)`.
    ///
    /// Returns `None` for an empty sequence, where CPython raises `IndexError` without drawing.
    pub fn choice(&mut self, len: usize) -> Option<usize> {
        if len == 0 {
            return None;
        }
        // usize fits in u64 on every supported target, and the result is < len.
        let index = self.randbelow(len as u64);
        usize::try_from(index).ok()
    }

    /// `random()`: a double in `[0, 1)` with 53 random bits (see [`Mt19937::next_f64`]).
    pub fn random(&mut self) -> f64 {
        self.mt.next_f64()
    }
}

// ---------------------------------------------------------------------------------------------
// NumPy legacy RandomState
// ---------------------------------------------------------------------------------------------

/// NumPy's legacy `numpy.random.RandomState` (the generator behind `np.random.seed`,
/// `np.random.normal` and `np.random.randint`).
#[derive(Clone, Debug)]
pub struct NumpyRandomState {
    mt: Mt19937,
    /// The second value of the last polar-method pair, returned by the next gauss draw.
    cached_gauss: Option<f64>,
}

impl NumpyRandomState {
    /// `RandomState(seed)` / `np.random.seed(seed)` for a 32-bit seed: `init_genrand(seed)` and
    /// an empty gauss cache.
    #[must_use]
    pub fn new(seed: u32) -> Self {
        Self {
            mt: Mt19937::init_genrand(seed),
            cached_gauss: None,
        }
    }

    /// Re-seeds in place, as `np.random.seed(seed)` (also clears the cached gauss value).
    pub fn seed(&mut self, seed: u32) {
        *self = Self::new(seed);
    }

    /// `random_sample()`: a double in `[0, 1)`, `(a·2^26 + b)/2^53` with `a = next ≫ 5`,
    /// `b = next ≫ 6`.
    pub fn random_sample(&mut self) -> f64 {
        self.mt.next_f64()
    }

    /// `standard_normal()` in its legacy form (`legacy_gauss`, Marsaglia's polar method).
    ///
    /// If a value is cached, return it and clear the cache. Otherwise repeat
    /// `x1 = 2u1 − 1`, `x2 = 2u2 − 1`, `r2 = x1² + x2²` (u1, u2 from [`Self::random_sample`])
    /// until `0 < r2 < 1`; then `f = sqrt(−2 ln(r2) / r2)`, cache `f·x1` and return `f·x2`.
    /// `ln` is the platform's `log` (glibc's, as NumPy's compiled code uses on Linux).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(value) = self.cached_gauss.take() {
            return value;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached_gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale)` in its legacy form: `loc + scale · standard_normal()`.
    ///
    /// A scale of 0 still consumes a gauss draw, as in NumPy. The caller validates `scale ≥ 0`
    /// (NumPy raises for a negative scale before drawing).
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.standard_normal()
    }

    /// `randint(low, high)` with the default `int64` dtype: uniform in `[low, high)`.
    ///
    /// NumPy's legacy path works on the closed interval `[low, high − 1]`:
    /// `range = (high − 1 − low)` as an unsigned 64-bit value, then
    ///
    /// * `range = 0`: returns `low` **without drawing**;
    /// * `range < 2^32`: `mask` = the smallest `2^k − 1 ≥ range`; draw 32-bit words
    ///   `v = next_u32 & mask` until `v ≤ range` (a `range` of exactly `2^32 − 1` takes one
    ///   unmasked word, the same result);
    /// * `range = 2^64 − 1`: one 64-bit word;
    /// * otherwise: the same masked rejection on 64-bit words, each built as
    ///   `(first_u32 ≪ 32) | second_u32`.
    ///
    /// The result is `low + v` (wrapping in 64 bits, then read as signed).
    ///
    /// # Errors
    /// [`CompatError::EmptyRange`] when `low ≥ high` (NumPy raises `ValueError`), without drawing.
    pub fn randint(&mut self, low: i64, high: i64) -> Result<i64, CompatError> {
        if low >= high {
            return Err(CompatError::EmptyRange { low, high });
        }
        // Two's-complement reinterpretation: NumPy computes these in uint64.
        let range = (high - 1).wrapping_sub(low) as u64;
        let offset = low as u64;
        let value = if range == 0 {
            0
        } else if range <= u64::from(u32::MAX) {
            let mask = smallest_mask(range);
            loop {
                let v = u64::from(self.mt.next_u32()) & mask;
                if v <= range {
                    break v;
                }
            }
        } else if range == u64::MAX {
            self.next_u64()
        } else {
            let mask = smallest_mask(range);
            loop {
                let v = self.next_u64() & mask;
                if v <= range {
                    break v;
                }
            }
        };
        Ok(offset.wrapping_add(value) as i64)
    }

    /// A 64-bit word from two MT outputs, the first one in the high half (NumPy's
    /// `mt19937_next64` as compiled by GCC/Clang, which evaluate the left operand first).
    fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.mt.next_u32());
        let low = u64::from(self.mt.next_u32());
        (high << 32) | low
    }
}

/// The smallest `2^k − 1` that is `≥ max`: every bit below the highest set bit of `max`.
fn smallest_mask(max: u64) -> u64 {
    if max == 0 {
        0
    } else {
        u64::MAX >> max.leading_zeros()
    }
}

// ---------------------------------------------------------------------------------------------
// NumPy SeedSequence + PCG64 (default_rng)
// ---------------------------------------------------------------------------------------------

/// `SeedSequence` constants (NumPy `bit_generator.pyx`, after Melissa O'Neill's seed_seq_fe).
const SS_INIT_A: u32 = 0x43b0_d7e5;
const SS_MULT_A: u32 = 0x931e_8875;
const SS_INIT_B: u32 = 0x8b51_f9dd;
const SS_MULT_B: u32 = 0x58f3_8ded;
const SS_MIX_MULT_L: u32 = 0xca01_f9dd;
const SS_MIX_MULT_R: u32 = 0x4973_f715;
const SS_XSHIFT: u32 = 16;
const SS_POOL_SIZE: usize = 4;

/// `hashmix`: `v ^= h; h *= MULT_A; v *= h; v ^= v ≫ 16` (all mod 2^32), updating `h`.
fn ss_hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut v = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(SS_MULT_A);
    v = v.wrapping_mul(*hash_const);
    v ^ (v >> SS_XSHIFT)
}

/// `mix(x, y)`: `r = MIX_MULT_L·x − MIX_MULT_R·y; r ^ (r ≫ 16)` (mod 2^32).
fn ss_mix(x: u32, y: u32) -> u32 {
    let r = SS_MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(SS_MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> SS_XSHIFT)
}

/// `SeedSequence(entropy).generate_state(n_words, uint32)` for an integer entropy and no
/// spawn key.
///
/// 1. The entropy becomes 32-bit words, least significant first (`0 → [0]`).
/// 2. Pool of 4 words: `pool[i] = hashmix(entropy[i] or 0)` with the running constant starting
///    at `INIT_A`; then for every ordered pair `src ≠ dst`,
///    `pool[dst] = mix(pool[dst], hashmix(pool[src]))`. (A `u64` never has more than 4 words,
///    so the "remaining entropy" stage of NumPy is empty.)
/// 3. Output word `i`: `v = pool[i mod 4] ^ h; h *= MULT_B; v *= h; v ^= v ≫ 16` with `h`
///    starting at `INIT_B`.
#[must_use]
pub fn seed_sequence_generate_state(entropy: u64, n_words: usize) -> Vec<u32> {
    // Truncations are the intended split into 32-bit words.
    let low = (entropy & 0xffff_ffff) as u32;
    let high = (entropy >> 32) as u32;
    let words: Vec<u32> = if high == 0 {
        vec![low]
    } else {
        vec![low, high]
    };

    let mut hash_const = SS_INIT_A;
    let mut pool = [0u32; SS_POOL_SIZE];
    for (i, slot) in pool.iter_mut().enumerate() {
        let word = words.get(i).copied().unwrap_or(0);
        *slot = ss_hashmix(word, &mut hash_const);
    }
    for src in 0..SS_POOL_SIZE {
        for dst in 0..SS_POOL_SIZE {
            if src != dst {
                let hashed = ss_hashmix(pool[src], &mut hash_const);
                pool[dst] = ss_mix(pool[dst], hashed);
            }
        }
    }

    let mut hash_const = SS_INIT_B;
    (0..n_words)
        .map(|i| {
            let mut v = pool[i % SS_POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(SS_MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> SS_XSHIFT)
        })
        .collect()
}

/// The 128-bit LCG multiplier of PCG64 (`PCG_DEFAULT_MULTIPLIER_128`).
const PCG_MULTIPLIER: u128 = (2_549_297_995_355_413_924u128 << 64) | 4_865_540_595_714_422_341u128;

/// NumPy's `PCG64` bit generator (PCG XSL-RR 128/64), including its 32-bit output buffer.
#[derive(Clone, Debug)]
pub struct Pcg64 {
    state: u128,
    increment: u128,
    /// The high half of the last 64-bit output, returned by the next 32-bit draw.
    buffered_u32: Option<u32>,
}

impl Pcg64 {
    /// `PCG64(seed)` as `np.random.default_rng(seed)` builds it.
    ///
    /// `SeedSequence(seed).generate_state(4, uint64)` = 8 words `w0..w7` read as four
    /// little-endian `u64`s `s0..s3` (`s0 = w0 | w1 ≪ 32`, …); then `initstate = s0 ≪ 64 | s1`
    /// and `initseq = s2 ≪ 64 | s3`. PCG seeding: `inc = initseq ≪ 1 | 1`, `state = 0`, step,
    /// `state += initstate`, step.
    #[must_use]
    pub fn from_seed(seed: u64) -> Self {
        let words = seed_sequence_generate_state(seed, 8);
        let s: Vec<u64> = words
            .chunks_exact(2)
            .map(|pair| u64::from(pair[0]) | (u64::from(pair[1]) << 32))
            .collect();
        let initstate = (u128::from(s[0]) << 64) | u128::from(s[1]);
        let initseq = (u128::from(s[2]) << 64) | u128::from(s[3]);
        Self::from_state_and_sequence(initstate, initseq)
    }

    /// PCG's `srandom(initstate, initseq)`.
    #[must_use]
    pub fn from_state_and_sequence(initstate: u128, initseq: u128) -> Self {
        let mut pcg = Self {
            state: 0,
            increment: (initseq << 1) | 1,
            buffered_u32: None,
        };
        pcg.step();
        pcg.state = pcg.state.wrapping_add(initstate);
        pcg.step();
        pcg
    }

    /// LCG step: `state = state · MULT + inc` (mod 2^128).
    fn step(&mut self) {
        self.state = self
            .state
            .wrapping_mul(PCG_MULTIPLIER)
            .wrapping_add(self.increment);
    }

    /// The next 64-bit output: step, then XSL-RR of the new state,
    /// `rotr((state ≫ 64) ⊕ (state mod 2^64), state ≫ 122)`.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        // Truncations select the high and low halves and the 6-bit rotation.
        let xored = ((self.state >> 64) as u64) ^ (self.state as u64);
        let rotation = (self.state >> 122) as u32;
        xored.rotate_right(rotation)
    }

    /// The next 32-bit output: the buffered high half if there is one, otherwise a fresh 64-bit
    /// output whose low half is returned and whose high half is buffered.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(high) = self.buffered_u32.take() {
            return high;
        }
        let next = self.next_u64();
        // Truncations select the halves.
        self.buffered_u32 = Some((next >> 32) as u32);
        next as u32
    }
}

/// `np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)` flattened row-major,
/// `count = prod(size)` values.
///
/// For the full byte range NumPy's bounded uint8 generator (`random_bounded_uint8_fill` with
/// `rng = 0xFF`, where Lemire's method does not apply) returns bytes of buffered 32-bit draws:
/// each [`Pcg64::next_u32`] word yields four values, least significant byte first.
#[must_use]
pub fn numpy_default_rng_u8(seed: u64, count: usize) -> Vec<u8> {
    let mut pcg = Pcg64::from_seed(seed);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let word = pcg.next_u32().to_le_bytes();
        let take = (count - out.len()).min(word.len());
        out.extend_from_slice(&word[..take]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The original's scenario sampler and text sampler
// ---------------------------------------------------------------------------------------------

/// Converts a sampled normal value to a token count: `max(1, int(x))`, `int` truncating toward
/// zero. Values beyond `u32::MAX` saturate (Python would keep the exact integer).
fn normal_to_count(x: f64) -> u32 {
    let truncated = x.trunc();
    if truncated < 1.0 {
        1
    } else if truncated >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // In [1, u32::MAX) and integral: exact.
        truncated as u32
    }
}

/// Samples one request's `(input, output)` token targets, input first, as the original does.
///
/// * `D(in,out)`: `(in, out)`, **no draw**.
/// * `N(mi,si)/(mo,so)`: `in = max(1, int(normal(mi, si)))`, then
///   `out = max(1, int(normal(mo, so)))` (legacy gauss, so one polar pair usually serves both).
/// * `U(a,b)/(c,d)`: `in = randint(a, b + 1)`, then `out = randint(c, d + 1)`.
///
/// # Errors
/// [`CompatError::UnsupportedWorkload`] for image, embedding and rerank workloads (the original
/// never implemented them), [`CompatError::EmptyRange`] when a uniform minimum exceeds its
/// maximum (the original raises at sampling time), [`CompatError::InvalidNormal`] for a
/// non-finite mean or a negative or non-finite standard deviation.
pub fn sample_lengths(
    state: &mut NumpyRandomState,
    workload: &Workload,
) -> Result<(u32, u32), CompatError> {
    match workload {
        Workload::Deterministic { input, output } => Ok((*input, *output)),
        Workload::Normal {
            input_mean,
            input_std,
            output_mean,
            output_std,
        } => {
            for (mean, std) in [(*input_mean, *input_std), (*output_mean, *output_std)] {
                if !mean.is_finite() || !std.is_finite() || std < 0.0 {
                    return Err(CompatError::InvalidNormal { mean, std });
                }
            }
            let input = normal_to_count(state.normal(*input_mean, *input_std));
            let output = normal_to_count(state.normal(*output_mean, *output_std));
            Ok((input, output))
        }
        Workload::Uniform {
            input_min,
            input_max,
            output_min,
            output_max,
        } => {
            let input = state.randint(i64::from(*input_min), i64::from(*input_max) + 1)?;
            let output = state.randint(i64::from(*output_min), i64::from(*output_max) + 1)?;
            // Both lie within the u32 bounds they were drawn between.
            let to_u32 = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
            Ok((to_u32(input), to_u32(output)))
        }
        other @ (Workload::Image { .. }
        | Workload::Embedding { .. }
        | Workload::EmbeddingText { .. }
        | Workload::Rerank { .. }) => Err(CompatError::UnsupportedWorkload(other.to_spec_string())),
    }
}

/// One prompt as the original's scenario-mode text sampler builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalPrompt {
    /// The user message: the picked snippets joined with one space (empty for a 0 target).
    pub text: String,
    /// The sampled input-token target.
    pub target_input: u32,
    /// The sum of the picked snippets' cached token counts (the original's
    /// `actual_input_tokens`; not a re-tokenisation of `text`). Saturates at `u32::MAX`.
    pub actual_input: u32,
    /// The sampled output-token target.
    pub target_output: u32,
    /// `max(1, min(max_tokens_cap, target_output))`.
    pub max_tokens: u32,
}

/// Builds `count` prompts exactly as the original does for one run seeded with `seed`.
///
/// `use_seed(seed)` seeds CPython's generator with the full `seed` and NumPy's legacy generator
/// with `seed mod 2^32`. Then, for each request in order:
///
/// 1. `(target_in, target_out)` from [`sample_lengths`] (NumPy stream);
/// 2. snippets `(text, tokens)` are picked with `random.choice` (CPython stream, with
///    replacement) and appended while `Σ tokens < target_in` and fewer than
///    `max(100, 10 · len(snippets))` have been picked;
/// 3. `text` = the picks joined with `" "`, `actual_input = Σ tokens`;
/// 4. `max_tokens = max(1, min(max_tokens_cap, target_out))`.
///
/// The two streams are independent generators, so interleaving the length draws with the
/// snippet picks (as here) or drawing all lengths first gives the same prompts.
///
/// # Errors
/// As [`sample_lengths`], plus [`CompatError::EmptySnippets`] when a positive input target meets
/// an empty snippet list (the original's `random.choice` raises `IndexError`).
pub fn synthesize_original(
    seed: u64,
    workload: &Workload,
    snippets: &[(String, u32)],
    count: usize,
    max_tokens_cap: u32,
) -> Result<Vec<OriginalPrompt>, CompatError> {
    let mut python = CpythonRandom::new(seed);
    // Truncation is the intended reduction mod 2^32.
    let mut numpy = NumpyRandomState::new((seed & 0xffff_ffff) as u32);
    let max_picks = 100usize.max(snippets.len().saturating_mul(10));

    let mut prompts = Vec::with_capacity(count);
    for _ in 0..count {
        let (target_input, target_output) = sample_lengths(&mut numpy, workload)?;
        let mut picked: Vec<&str> = Vec::new();
        let mut total: u64 = 0;
        while total < u64::from(target_input) && picked.len() < max_picks {
            let index = python
                .choice(snippets.len())
                .ok_or(CompatError::EmptySnippets)?;
            let (text, tokens) = &snippets[index];
            picked.push(text.as_str());
            total += u64::from(*tokens);
        }
        prompts.push(OriginalPrompt {
            text: picked.join(" "),
            target_input,
            actual_input: u32::try_from(total).unwrap_or(u32::MAX),
            target_output,
            max_tokens: max_tokens_cap.min(target_output).max(1),
        });
    }
    Ok(prompts)
}

// ---------------------------------------------------------------------------------------------
// Token counting fallback, LoRA assignment and synthetic image ids
// ---------------------------------------------------------------------------------------------

pub use crate::vocab::workload::{ORIGINAL_IMAGE_MAX_TOKENS, ORIGINAL_TEMPERATURE};

/// The first image id of warmup requests (`2^31`): warmups reuse ids `2^31 .. 2^31 + k`.
pub const WARMUP_IMAGE_ID: u64 = 1 << 31;

/// True for the characters CPython's `str.split()` (no argument) splits on: Unicode
/// `White_Space` plus the four ASCII separators `\x1c`..`\x1f`, which Python also counts.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The original's token-count fallback when encoding fails: `int(len(text.split()) * 1.3)`,
/// the product computed in binary floating point and truncated, as Python does.
#[must_use]
pub fn python_word_estimate(text: &str) -> u32 {
    let words = text.split(python_space).filter(|w| !w.is_empty()).count();
    // Word counts are far below 2^53, so the conversion is exact; the product is truncated
    // toward zero as Python's `int()` does.
    #[allow(clippy::cast_precision_loss)]
    let product = words as f64 * 1.3;
    if product >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // Non-negative and below u32::MAX.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = product as u32;
        n
    }
}

impl NumpyRandomState {
    /// `zipf(a)` in its legacy form (`legacy_random_zipf`, a rejection method), for `a > 1`.
    ///
    /// `am1 = a − 1`, `b = 2^am1`; repeat: `U = 1 − random_sample()`, `V = random_sample()`,
    /// `X = floor(U^(−1/am1))`; reject `X < 1` or `X > 2^63 − 1`; with `T = (1 + 1/X)^am1`
    /// accept when `V·X·(T − 1)/(b − 1) ≤ T/b` and return `X`. The caller checks `a > 1`
    /// (NumPy raises for `a ≤ 1` before drawing).
    pub fn zipf(&mut self, a: f64) -> i64 {
        let am1 = a - 1.0;
        let b = 2f64.powf(am1);
        loop {
            let u = 1.0 - self.random_sample();
            let v = self.random_sample();
            let x = u.powf(-1.0 / am1).floor();
            // `i64::MAX as f64` rounds up to 2^63, as the C comparison does.
            #[allow(clippy::cast_precision_loss)]
            if x > i64::MAX as f64 || x < 1.0 {
                continue;
            }
            let t = (1.0 + 1.0 / x).powf(am1);
            if v * x * (t - 1.0) / (b - 1.0) <= t / b {
                // In [1, 2^63): exact.
                #[allow(clippy::cast_possible_truncation)]
                return x as i64;
            }
        }
    }
}

/// The original's LoRA strategies (its `--lora-strategy` values).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OriginalLoraStrategy {
    /// `single`: every request gets the first adapter.
    Single,
    /// `uniform` and `all-unique` (identical in the original): `adapters[i mod k]`.
    RoundRobin,
    /// `zipf`: NumPy's legacy `zipf(alpha, N)`, adapter `(s − 1) mod k`.
    Zipf {
        /// The exponent; must be above 1 (NumPy rejects the rest).
        alpha: f64,
    },
    /// `mixed`: CPython's `random.choice` for each request.
    Mixed,
}

/// The original's LoRA assignment for the `count` requests of one run: for each request the
/// index of its adapter, or `None` for the base model.
///
/// First the raw assignment for all requests (round-robin, `count` zipf draws or `count`
/// `random.choice` picks), then, when `base_model_ratio ≠ 0`, one `random.random()` per request
/// in order, replacing the adapter with the base model when it is below the ratio.
///
/// The original makes these draws on its process-wide generators **outside** its seeded
/// context, so they cannot be reproduced from its seed; here the CPython generator is seeded
/// with `seed` and NumPy's legacy generator with `seed mod 2^32`, giving the original's
/// distributions and draw order, deterministically. Single and round-robin assignments with a
/// ratio of 0 draw nothing and equal the original's exactly.
#[must_use]
pub fn assign_original_lora(
    strategy: OriginalLoraStrategy,
    adapters: usize,
    base_model_ratio: f64,
    count: usize,
    seed: u64,
) -> Vec<Option<usize>> {
    if adapters == 0 {
        return vec![None; count];
    }
    let mut python = CpythonRandom::new(seed);
    // Truncation is the intended reduction mod 2^32.
    let mut numpy = NumpyRandomState::new((seed & 0xffff_ffff) as u32);
    let raw: Vec<usize> = match strategy {
        OriginalLoraStrategy::Single => vec![0; count],
        OriginalLoraStrategy::RoundRobin => (0..count).map(|i| i % adapters).collect(),
        OriginalLoraStrategy::Zipf { alpha } => (0..count)
            .map(|_| {
                let s = numpy.zipf(alpha);
                // s ≥ 1, so (s − 1) mod k is in 0..k.
                usize::try_from((s - 1).rem_euclid(adapters as i64)).unwrap_or(0)
            })
            .collect(),
        OriginalLoraStrategy::Mixed => (0..count)
            .map(|_| python.choice(adapters).unwrap_or(0))
            .collect(),
    };
    if base_model_ratio == 0.0 {
        return raw.into_iter().map(Some).collect();
    }
    raw.into_iter()
        .map(|a| (python.random() >= base_model_ratio).then_some(a))
        .collect()
}

/// Ids of the `per_request` synthetic images of request number `uid` (the original's global
/// request counter): `uid·k .. uid·k + k`.
#[must_use]
pub fn image_ids(uid: u64, per_request: u32) -> std::ops::Range<u64> {
    let k = u64::from(per_request);
    uid.saturating_mul(k)..uid.saturating_mul(k).saturating_add(k)
}

/// The pixels of the original's synthetic image `id` of `width`×`height`:
/// `default_rng(id).integers(0, 256, (height, width, 3), uint8)`, row-major RGB.
#[must_use]
pub fn image_pixels(id: u64, width: u32, height: u32) -> Vec<u8> {
    numpy_default_rng_u8(id, width as usize * height as usize * 3)
}

/// The prompt of an image request: `"{uid} {text}"`, or `"{uid}"` for an empty text.
#[must_use]
pub fn uid_prompt(uid: u64, text: &str) -> String {
    if text.is_empty() {
        uid.to_string()
    } else {
        format!("{uid} {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values marked "Appendix A" come from /work/shared/spec/original.md; values marked
    // "CPython 3.11.7" / "NumPy 2.4.6" were produced by those libraries, not by this module.

    const SEED_42_1_0: u64 = 17_732_346_025_747_852_888;

    #[test]
    fn derive_seed_matches_appendix_a() {
        let cases = [
            ((42, 1, 0), 17_732_346_025_747_852_888u64, 2_869_079_640u64),
            ((42, 1, -1), 17_408_699_444_914_743_984, 4_021_217_968),
            ((42, 8, 2), 14_047_234_632_250_352_039, 4_225_294_759),
            ((42, 128, 0), 9_261_530_960_931_939_458, 3_668_010_114),
        ];
        for ((base, sweep, run), full, low) in cases {
            let seed = derive_seed(base, sweep, run);
            assert_eq!(seed, full, "derive_seed({base},{sweep},{run})");
            assert_eq!(seed % (1 << 32), low);
        }
    }

    #[test]
    fn mt19937_init_genrand_reference_outputs() {
        let mut mt = Mt19937::init_genrand(5489);
        // First outputs of the reference implementation's default seed (also NumPy 2.4.6
        // `RandomState(5489)._bit_generator.random_raw(3)`).
        assert_eq!(mt.next_u32(), 3_499_211_612);
        assert_eq!(mt.next_u32(), 581_869_302);
        assert_eq!(mt.next_u32(), 3_890_346_734);
        // C++ [rand.predef]: the 10000th output of mt19937 with the default seed.
        let mut mt = Mt19937::init_genrand(5489);
        let mut last = 0;
        for _ in 0..10_000 {
            last = mt.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn mt19937_init_by_array_reference_outputs() {
        // mt19937ar.out: init_by_array({0x123, 0x234, 0x345, 0x456}).
        let mut mt = Mt19937::init_by_array(&[0x123, 0x234, 0x345, 0x456]);
        let got: Vec<u32> = (0..5).map(|_| mt.next_u32()).collect();
        assert_eq!(
            got,
            [
                1_067_595_299,
                955_945_823,
                477_289_528,
                4_107_218_783,
                4_228_976_476
            ]
        );
    }

    #[test]
    fn cpython_choice_matches_appendix_a() {
        let mut rng = CpythonRandom::new(SEED_42_1_0);
        let got: Vec<usize> = (0..5).filter_map(|_| rng.choice(933)).collect();
        assert_eq!(got, [875, 101, 691, 400, 919]);
    }

    #[test]
    fn cpython_random_matches_known_values() {
        // CPython 3.11.7: random.seed(42); random.random(), and the same for seed 0.
        assert_eq!(CpythonRandom::new(42).random(), 0.639_426_798_457_883_7);
        assert_eq!(CpythonRandom::new(0).random(), 0.844_421_851_525_048_1);
    }

    #[test]
    fn cpython_getrandbits_wide_and_narrow() {
        // CPython 3.11.7: random.seed(derive_seed(42,1,0)); getrandbits(64), getrandbits(70),
        // getrandbits(33), getrandbits(1), getrandbits(0). This port stops at 64 bits, so the
        // three 32-bit words a 70-bit draw consumes are skipped by hand.
        let mut rng = CpythonRandom::new(SEED_42_1_0);
        assert_eq!(rng.getrandbits(64), 1_820_595_159_650_830_336);
        for _ in 0..3 {
            rng.mt.next_u32();
        }
        assert_eq!(rng.getrandbits(33), 4_794_269_603);
        assert_eq!(rng.getrandbits(1), 0);
        assert_eq!(rng.getrandbits(0), 0);
    }

    #[test]
    fn cpython_seed_uses_the_full_64_bit_value() {
        let mut full = CpythonRandom::new(SEED_42_1_0);
        let mut reduced = CpythonRandom::new(SEED_42_1_0 % (1 << 32));
        let a: Vec<u64> = (0..4).map(|_| full.getrandbits(32)).collect();
        let b: Vec<u64> = (0..4).map(|_| reduced.getrandbits(32)).collect();
        assert_ne!(a, b);
        assert_eq!(full.choice(0), None);
    }

    #[test]
    fn numpy_normal_scenario_matches_appendix_a() {
        let workload = Workload::Normal {
            input_mean: 1024.0,
            input_std: 50.0,
            output_mean: 256.0,
            output_std: 20.0,
        };
        let mut state = NumpyRandomState::new((SEED_42_1_0 % (1 << 32)) as u32);
        let got: Vec<(u32, u32)> = (0..3)
            .map(|_| sample_lengths(&mut state, &workload))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, [(1037, 288), (1028, 240), (1061, 246)]);
    }

    #[test]
    fn numpy_uniform_scenario_matches_appendix_a() {
        let workload = Workload::Uniform {
            input_min: 50,
            input_max: 150,
            output_min: 20,
            output_max: 80,
        };
        let mut state = NumpyRandomState::new((SEED_42_1_0 % (1 << 32)) as u32);
        let got: Vec<(u32, u32)> = (0..3)
            .map(|_| sample_lengths(&mut state, &workload))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, [(50, 74), (131, 68), (70, 66)]);
    }

    #[test]
    fn numpy_sample_and_gauss_cache_match_numpy() {
        // NumPy 2.4.6: np.random.seed(0); rand(), randn(), randn(), randn().
        let mut state = NumpyRandomState::new(0);
        assert_eq!(state.random_sample(), 0.548_813_503_927_324_8);
        assert_eq!(state.standard_normal(), 0.741_591_740_809_161_3);
        assert_eq!(state.standard_normal(), 1.552_913_721_912_816_4);
        assert_eq!(state.standard_normal(), -2.268_328_201_180_374);
        // Re-seeding clears the cached second value.
        state.seed(0);
        let first = state.random_sample();
        assert_eq!(first, 0.548_813_503_927_324_8);
    }

    #[test]
    fn numpy_randint_paths_match_numpy() {
        // NumPy 2.4.6: np.random.seed(0); randint(0, 10) six times.
        let mut state = NumpyRandomState::new(0);
        let got: Vec<i64> = (0..6).map(|_| state.randint(0, 10).unwrap()).collect();
        assert_eq!(got, [5, 0, 3, 3, 7, 9]);

        // NumPy 2.4.6: np.random.seed(7); three randint(-5, 2**40) (64-bit masked path),
        // randint(3, 4) (no draw), randint(0, 2**32) (full 32-bit range),
        // randint(-2**63, 2**63 - 1) (64-bit masked path with a near-full range).
        let mut state = NumpyRandomState::new(7);
        let wide: Vec<i64> = (0..3)
            .map(|_| state.randint(-5, 1 << 40).unwrap())
            .collect();
        assert_eq!(wide, [752_595_690_687, 108_744_157_681, 291_964_244_174]);
        assert_eq!(state.randint(3, 4), Ok(3));
        assert_eq!(state.randint(0, 1 << 32), Ok(3_107_259_287));
        assert_eq!(
            state.randint(i64::MIN, i64::MAX),
            Ok(-819_313_836_994_755_236)
        );

        assert_eq!(
            state.randint(5, 5),
            Err(CompatError::EmptyRange { low: 5, high: 5 })
        );
    }

    #[test]
    fn smallest_mask_covers_the_range() {
        assert_eq!(smallest_mask(0), 0);
        assert_eq!(smallest_mask(1), 1);
        assert_eq!(smallest_mask(100), 127);
        assert_eq!(smallest_mask(128), 255);
        assert_eq!(smallest_mask(u64::MAX - 1), u64::MAX);
    }

    #[test]
    fn default_rng_u8_matches_appendix_a() {
        assert_eq!(
            numpy_default_rng_u8(0, 12),
            [95, 130, 194, 217, 207, 235, 15, 163, 33, 215, 217, 130]
        );
    }

    #[test]
    fn default_rng_internals_match_numpy() {
        // NumPy 2.4.6: SeedSequence(0).generate_state(8).
        assert_eq!(
            seed_sequence_generate_state(0, 8),
            [
                2_968_811_710,
                3_677_149_159,
                745_650_761,
                2_884_920_346,
                2_642_120_001,
                549_907_821,
                574_372_308,
                742_431_198
            ]
        );
        // NumPy 2.4.6: default_rng(0).bit_generator.random_raw(2).
        let mut pcg = Pcg64::from_seed(0);
        assert_eq!(pcg.next_u64(), 11_749_869_230_777_074_271);
        assert_eq!(pcg.next_u64(), 4_976_686_463_289_251_617);
        // NumPy 2.4.6: default_rng(s).integers(0, 256, n, uint8) for a two-word seed and
        // lengths that are not multiples of 4.
        assert_eq!(
            numpy_default_rng_u8((1 << 40) + 17, 7),
            [138, 195, 243, 210, 116, 53, 112]
        );
        assert_eq!(
            numpy_default_rng_u8(12_345, 9),
            [157, 193, 255, 178, 141, 177, 50, 58, 222]
        );
        assert!(numpy_default_rng_u8(3, 0).is_empty());
    }

    fn indexed_snippets(n: usize, tokens: u32) -> Vec<(String, u32)> {
        (0..n).map(|i| (format!("s{i}"), tokens)).collect()
    }

    #[test]
    fn synthesis_picks_follow_the_cpython_stream() {
        // With 933 one-token snippets and D(5, 64), the five picks are Appendix A's choices.
        let snippets = indexed_snippets(933, 1);
        let workload = Workload::Deterministic {
            input: 5,
            output: 64,
        };
        let prompts = synthesize_original(SEED_42_1_0, &workload, &snippets, 1, 4096).unwrap();
        assert_eq!(
            prompts,
            [OriginalPrompt {
                text: "s875 s101 s691 s400 s919".to_string(),
                target_input: 5,
                actual_input: 5,
                target_output: 64,
                max_tokens: 64,
            }]
        );
    }

    #[test]
    fn synthesis_overshoots_by_at_most_one_snippet_and_uses_numpy_lengths() {
        let snippets = indexed_snippets(933, 7);
        let workload = Workload::Normal {
            input_mean: 1024.0,
            input_std: 50.0,
            output_mean: 256.0,
            output_std: 20.0,
        };
        let prompts = synthesize_original(SEED_42_1_0, &workload, &snippets, 3, 250).unwrap();
        let targets: Vec<(u32, u32)> = prompts
            .iter()
            .map(|p| (p.target_input, p.target_output))
            .collect();
        assert_eq!(targets, [(1037, 288), (1028, 240), (1061, 246)]);
        let caps: Vec<u32> = prompts.iter().map(|p| p.max_tokens).collect();
        assert_eq!(caps, [250, 240, 246]);
        for p in &prompts {
            assert!(p.actual_input >= p.target_input);
            assert!(p.actual_input < p.target_input + 7);
            assert_eq!(p.actual_input % 7, 0);
            let words = p.text.split(' ').count() as u32;
            assert_eq!(words * 7, p.actual_input);
        }
        // The first prompt starts with the first Appendix A choice.
        assert!(prompts[0].text.starts_with("s875 s101 s691 "));
    }

    #[test]
    fn synthesis_caps_picks_and_handles_empty_targets() {
        // 3 snippets of 1 token: the cap is max(100, 30) = 100 picks.
        let snippets = indexed_snippets(3, 1);
        let big = Workload::Deterministic {
            input: 1_000,
            output: 0,
        };
        let prompts = synthesize_original(1, &big, &snippets, 1, 4096).unwrap();
        assert_eq!(prompts[0].actual_input, 100);
        assert_eq!(prompts[0].text.split(' ').count(), 100);
        assert_eq!(prompts[0].max_tokens, 1);

        // 20 snippets: the cap is 10 · 20 = 200 picks.
        let snippets = indexed_snippets(20, 1);
        let prompts = synthesize_original(1, &big, &snippets, 1, 4096).unwrap();
        assert_eq!(prompts[0].actual_input, 200);

        // A zero target draws nothing and needs no snippets.
        let empty = Workload::Deterministic {
            input: 0,
            output: 10,
        };
        let prompts = synthesize_original(1, &empty, &[], 2, 0).unwrap();
        assert!(prompts
            .iter()
            .all(|p| p.text.is_empty() && p.actual_input == 0));
        assert!(prompts.iter().all(|p| p.max_tokens == 1));

        let positive = Workload::Deterministic {
            input: 1,
            output: 10,
        };
        assert_eq!(
            synthesize_original(1, &positive, &[], 1, 10),
            Err(CompatError::EmptySnippets)
        );
    }

    #[test]
    fn sample_lengths_rejects_what_the_original_rejects() {
        let mut state = NumpyRandomState::new(0);
        let inverted = Workload::Uniform {
            input_min: 10,
            input_max: 9,
            output_min: 1,
            output_max: 2,
        };
        assert_eq!(
            sample_lengths(&mut state, &inverted),
            Err(CompatError::EmptyRange { low: 10, high: 10 })
        );
        let negative_std = Workload::Normal {
            input_mean: 10.0,
            input_std: -1.0,
            output_mean: 5.0,
            output_std: 1.0,
        };
        assert!(matches!(
            sample_lengths(&mut state, &negative_std),
            Err(CompatError::InvalidNormal { .. })
        ));
        let image = Workload::Image {
            width: 8,
            height: 8,
            count: 1,
        };
        assert!(matches!(
            sample_lengths(&mut state, &image),
            Err(CompatError::UnsupportedWorkload(s)) if s == "I(8,8,1)"
        ));
    }

    #[test]
    fn deterministic_and_degenerate_scenarios_draw_nothing() {
        let mut state = NumpyRandomState::new(0);
        let fixed = Workload::Deterministic {
            input: 12,
            output: 34,
        };
        assert_eq!(sample_lengths(&mut state, &fixed), Ok((12, 34)));
        let point = Workload::Uniform {
            input_min: 7,
            input_max: 7,
            output_min: 9,
            output_max: 9,
        };
        assert_eq!(sample_lengths(&mut state, &point), Ok((7, 9)));
        // Still the first value of the seed-0 stream: nothing was consumed.
        assert_eq!(state.random_sample(), 0.548_813_503_927_324_8);

        // A zero std still consumes gauss draws, and the result is clamped to at least 1.
        let mut state = NumpyRandomState::new(0);
        let zero_std = Workload::Normal {
            input_mean: 0.0,
            input_std: 0.0,
            output_mean: 3.9,
            output_std: 0.0,
        };
        assert_eq!(sample_lengths(&mut state, &zero_std), Ok((1, 3)));
        assert_ne!(state.random_sample(), 0.548_813_503_927_324_8);
    }

    #[test]
    fn lora_assignment_matches_the_originals_draws() {
        // tests/fixtures/compat/lora.json: the original's own LoRA class, run after
        // `random.seed(seed)` and `np.random.seed(seed mod 2^32)`.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/compat/lora.json"
        );
        let cases: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(cases.len() >= 18);
        for case in cases {
            let strategy = match case["strategy"].as_str().unwrap() {
                "single" => OriginalLoraStrategy::Single,
                "uniform" | "all-unique" => OriginalLoraStrategy::RoundRobin,
                "mixed" => OriginalLoraStrategy::Mixed,
                "zipf" => OriginalLoraStrategy::Zipf {
                    alpha: case["zipf_alpha"].as_f64().unwrap(),
                },
                other => panic!("unknown strategy {other}"),
            };
            let want: Vec<Option<usize>> = case["assigned"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().map(|j| j as usize))
                .collect();
            let adapters = case["adapters"].as_array().unwrap().len();
            let got = assign_original_lora(
                strategy,
                adapters,
                case["base_model_ratio"].as_f64().unwrap(),
                want.len(),
                case["seed"].as_u64().unwrap(),
            );
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn legacy_zipf_matches_numpy() {
        // NumPy 2.4.6: np.random.seed(11); np.random.zipf(1.5, 8), then zipf(1.1, 6).
        let mut state = NumpyRandomState::new(11);
        let got: Vec<i64> = (0..8).map(|_| state.zipf(1.5)).collect();
        assert_eq!(got, [1, 3, 2, 1, 13, 1, 1, 2]);
        let got: Vec<i64> = (0..6).map(|_| state.zipf(1.1)).collect();
        assert_eq!(got, [68, 3, 261_237, 1, 312_742, 5_659_573_180_820_673_536]);
    }

    #[test]
    fn word_estimate_splits_as_python() {
        // int(len(s.split()) * 1.3) in CPython 3.11.
        assert_eq!(python_word_estimate(""), 0);
        assert_eq!(python_word_estimate("one"), 1);
        assert_eq!(python_word_estimate("a b c"), 3);
        assert_eq!(python_word_estimate("a b c d e f g h i j"), 13);
        // \x1c..\x1f and U+00A0 separate words for Python's str.split().
        assert_eq!(python_word_estimate("a\u{1c}b\u{1f}c\u{a0}d  e\tf\ng"), 9);
        // A zero-width space does not.
        assert_eq!(python_word_estimate("a\u{200b}b"), 1);
    }

    #[test]
    fn image_ids_and_prompts_follow_the_request_counter() {
        assert_eq!(image_ids(0, 2), 0..2);
        assert_eq!(image_ids(5, 3), 15..18);
        assert_eq!(uid_prompt(7, "text"), "7 text");
        assert_eq!(uid_prompt(7, ""), "7");
        // Appendix A: the image with id 0 starts with these pixels (2×2, row-major RGB).
        assert_eq!(
            image_pixels(0, 2, 2),
            [95, 130, 194, 217, 207, 235, 15, 163, 33, 215, 217, 130]
        );
    }
}
