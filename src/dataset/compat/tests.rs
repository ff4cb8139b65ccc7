//! Tests of the original tool's random streams and prompt synthesis (see the module docs of `crate::dataset::compat`).

use super::rngs::smallest_mask;
use super::*;

// Reference values marked "Appendix A" are the original tool's published test vectors
// (its prompt choices and first image pixels for seed 42); values marked
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
