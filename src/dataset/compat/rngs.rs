//! The random generators the original tool draws from, bit for bit: MT19937,
//! CPython's `random.Random`, NumPy's legacy `RandomState`, and NumPy's
//! `SeedSequence` + PCG64 (`default_rng`).

use super::CompatError;

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
    pub(super) mt: Mt19937,
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
    pub(super) fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.mt.next_u32());
        let low = u64::from(self.mt.next_u32());
        (high << 32) | low
    }
}

/// The smallest `2^k − 1` that is `≥ max`: every bit below the highest set bit of `max`.
pub(super) fn smallest_mask(max: u64) -> u64 {
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
