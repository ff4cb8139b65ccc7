//! Tests of the scenario grammar (see the module docs of `crate::vocab::workload`).

use super::*;
use proptest::prelude::*;

#[test]
fn parses_every_form() {
    assert_eq!(
        parse("D(128,64)").unwrap(),
        Workload::Deterministic {
            input: 128,
            output: 64
        }
    );
    assert_eq!(
        parse(" n( 100 , 50.5 ) / ( 50,0 ) ").unwrap(),
        Workload::Normal {
            input_mean: 100.0,
            input_std: 50.5,
            output_mean: 50.0,
            output_std: 0.0
        }
    );
    assert_eq!(
        parse("U(10,20)/(5,5)").unwrap(),
        Workload::Uniform {
            input_min: 10,
            input_max: 20,
            output_min: 5,
            output_max: 5
        }
    );
    assert_eq!(
        parse("I(512,256)").unwrap(),
        Workload::Image {
            width: 512,
            height: 256,
            count: 1
        }
    );
    assert_eq!(
        parse("I(64, 32, 3)").unwrap(),
        Workload::Image {
            width: 64,
            height: 32,
            count: 3
        }
    );
    assert_eq!(
        parse("E(256)").unwrap(),
        Workload::Embedding { tokens: 256 }
    );
    assert_eq!(
        parse("E( long )").unwrap(),
        Workload::EmbeddingText {
            length: TextLength::Long
        }
    );
    assert_eq!(
        parse("E(200w)").unwrap(),
        Workload::EmbeddingText {
            length: TextLength::Words(200)
        }
    );
    assert_eq!(
        parse("R(100,20)").unwrap(),
        Workload::Rerank {
            doc_tokens: 100,
            query_tokens: 20,
            documents: 8
        }
    );
    assert_eq!(
        parse("R(100,20,3)").unwrap(),
        Workload::Rerank {
            doc_tokens: 100,
            query_tokens: 20,
            documents: 3
        }
    );
}

#[test]
fn errors_point_at_the_offending_character() {
    let e = parse("U(10,5)/(1,2)").unwrap_err();
    assert_eq!(e.position, Some(2));
    let shown = e.to_string();
    assert!(shown.contains("  U(10,5)/(1,2)\n    ^\n"), "{shown}");
    assert!(shown.contains("accepted forms: D(in,out)"), "{shown}");

    let e = parse("D(12,x)").unwrap_err();
    assert_eq!(e.position, Some(5));
    assert!(e.message.contains("found `x`"), "{}", e.message);

    let e = parse("Q(1,2)").unwrap_err();
    assert_eq!(e.position, Some(0));
    assert!(e.message.contains("unknown scenario type `Q`"));

    let e = parse("D(1,2) extra").unwrap_err();
    assert_eq!(e.position, Some(7));

    let e = parse("D(1.5,2)").unwrap_err();
    assert_eq!(e.position, Some(3));
    assert!(e.message.contains("whole number"));

    let e = parse("D(99999999999,2)").unwrap_err();
    assert!(e.message.contains("too large"));

    let e = parse("").unwrap_err();
    assert_eq!(e.position, Some(0));

    let e = parse("N(1,2)").unwrap_err();
    assert!(e.message.contains("expected `/`"), "{}", e.message);

    let e = parse("E(0)").unwrap_err();
    assert!(e.message.contains("at least 1"));

    let e = parse("I(1,2,3,4)").unwrap_err();
    assert!(e.message.contains("at most 3"));

    let e = parse("E(12x)").unwrap_err();
    assert_eq!(e.position, Some(4));
}

#[test]
fn table_form_round_trips_and_validates() {
    let w: Workload = toml::from_str(
        r#"kind = "uniform"
input_min = 10
input_max = 20
output_min = 5
output_max = 9"#,
    )
    .unwrap();
    assert_eq!(w, parse("U(10,20)/(5,9)").unwrap());
    let r: Workload =
        toml::from_str("kind = \"rerank\"\ndoc_tokens = 10\nquery_tokens = 4").unwrap();
    assert_eq!(
        r,
        Workload::Rerank {
            doc_tokens: 10,
            query_tokens: 4,
            documents: 8
        }
    );
    let e: Workload = toml::from_str("kind = \"embedding_text\"\nlength = { words = 30 }").unwrap();
    assert_eq!(e.to_spec_string(), "E(30w)");
    let bad =
        toml::from_str::<Workload>("kind = \"deterministic\"\ninput = 1\noutput = 2\nextra = 3");
    assert!(bad.is_err());
    let inverted = Workload::Uniform {
        input_min: 9,
        input_max: 3,
        output_min: 1,
        output_max: 1,
    };
    let err = inverted.validate().unwrap_err();
    assert!(err.message.contains("input_min (9)"), "{}", err.message);
    assert!(parse("U(3,9)/(1,1)").unwrap().validate().is_ok());
    let negative = Workload::Normal {
        input_mean: 1.0,
        input_std: -1.0,
        output_mean: 1.0,
        output_std: 1.0,
    };
    assert!(negative.validate().is_err());
}

fn arb_workload() -> impl Strategy<Value = Workload> {
    let f = 0.0f64..2.0e6;
    prop_oneof![
        (0..=MAX_TOKENS, 0..=MAX_TOKENS)
            .prop_map(|(input, output)| Workload::Deterministic { input, output }),
        (f.clone(), f.clone(), f.clone(), f).prop_map(|(a, b, c, d)| Workload::Normal {
            input_mean: a,
            input_std: b,
            output_mean: c,
            output_std: d
        }),
        (
            0..=MAX_TOKENS,
            0..=MAX_TOKENS,
            0..=MAX_TOKENS,
            0..=MAX_TOKENS
        )
            .prop_map(|(a, b, c, d)| {
                Workload::Uniform {
                    input_min: a.min(b),
                    input_max: a.max(b),
                    output_min: c.min(d),
                    output_max: c.max(d),
                }
            }),
        (1u32..=4096, 1u32..=4096, 1u32..=MAX_IMAGES).prop_map(|(width, height, count)| {
            Workload::Image {
                width,
                height,
                count,
            }
        }),
        (1u32..=MAX_TOKENS).prop_map(|tokens| Workload::Embedding { tokens }),
        (1u32..=1024, 1u32..=1024, 1u32..=1024).prop_map(|(d, q, n)| Workload::Rerank {
            doc_tokens: d,
            query_tokens: q,
            documents: n
        }),
        prop_oneof![
            Just(TextLength::Short),
            Just(TextLength::Medium),
            Just(TextLength::Long),
            Just(TextLength::Mixed),
            (1u32..=MAX_TOKENS).prop_map(TextLength::Words),
        ]
        .prop_map(|length| Workload::EmbeddingText { length }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,40}") {
        match parse(&s) {
            Ok(w) => prop_assert!(w.validate().is_ok()),
            Err(e) => {
                prop_assert!(e.position.is_some_and(|p| p <= s.chars().count()));
                let _ = e.to_string();
            }
        }
    }

    /// Any string at all, control characters and lone combining marks included.
    #[test]
    fn any_unicode_never_panics(s in any::<String>()) {
        if let Err(e) = parse(&s) {
            prop_assert!(e.position.is_some_and(|p| p <= s.chars().count()));
            prop_assert!(e.to_string().contains("accepted forms"));
        }
    }

    #[test]
    fn grammar_like_strings_never_panic(s in "[DNUIER ]?[( ]?[0-9., wshortlmixed]{0,12}[)/( ]{0,3}[0-9,.]{0,8}[) ]?") {
        if let Err(e) = parse(&s) {
            prop_assert!(e.to_string().contains("accepted forms"));
        }
    }

    /// Numbers beyond the limits (u32 and u64 maxima, huge floats) are
    /// rejected with a message naming the limit, never accepted.
    #[test]
    fn numbers_beyond_the_limits_are_rejected(
        big in (MAX_TOKENS + 1)..=u32::MAX,
        huge in prop_oneof![Just(4.0e9), Just(1.0e300), Just(f64::MAX)],
    ) {
        for spec in [
            format!("D({big},4)"),
            format!("D(4,{big})"),
            format!("U(1,{big})/(1,1)"),
            format!("E({big})"),
            format!("E({big}w)"),
            format!("R(1,1,{big})"),
            format!("R({big},1)"),
            format!("I({big},{big})"),
            format!("I(8,8,{big})"),
            format!("N({huge},1)/(4,1)"),
        ] {
            let e = parse(&spec).expect_err(&spec);
            prop_assert!(e.message.contains("limit"), "{spec}: {e}");
        }
    }

    #[test]
    fn spec_strings_round_trip(w in arb_workload()) {
        let spec = w.to_spec_string();
        prop_assert_eq!(parse(&spec).unwrap(), w);
    }
}
