//! Parser for scenario `spec` strings (`D(512,128)`, `N(100,50)/(50,25)`, ...).
//!
//! The grammar is strict, as in the original tool: the first character selects
//! the kind, arguments are non-negative decimal integers separated by commas,
//! and no whitespace or signs are allowed anywhere.
//!
//! | form | meaning |
//! |---|---|
//! | `D(in,out)` | fixed input and output lengths |
//! | `N(mi,si)/(mo,so)` | normal lengths (mean, std) for input, then output |
//! | `U(a,b)/(c,d)` | uniform lengths, inclusive bounds, `a ≤ b` and `c ≤ d` |
//! | `I(w,h[,n])` | `n` images (default 1) of `w`×`h` pixels |
//! | `E(t)` | embedding inputs of `t` tokens |
//! | `R(d,q)` | rerank: documents of `d` tokens against a query of `q` tokens (one document per request unless the table form sets `documents`) |

use crate::dataset::scenario::Workload;

/// Documents per rerank request when the string form `R(d,q)` is used.
pub const DEFAULT_RERANK_DOCUMENTS: u32 = 1;

/// The forms accepted, for error messages.
pub const SPEC_FORMS: &str =
    "D(in,out), N(mean_in,std_in)/(mean_out,std_out), U(min_in,max_in)/(min_out,max_out), I(width,height[,count]), E(tokens) or R(doc_tokens,query_tokens)";

/// Parses a scenario string into a [`Workload`].
///
/// # Errors
/// A message saying what is wrong with `s` and which forms are accepted.
pub fn parse_workload(s: &str) -> Result<Workload, String> {
    let Some(kind) = s.chars().next() else {
        return Err(format!("empty scenario; expected {SPEC_FORMS}"));
    };
    if s.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{s}` contains whitespace; write it without spaces, e.g. `D(512,128)`"
        ));
    }
    let rest = &s[kind.len_utf8()..];
    match kind {
        'D' => {
            let g = single_group(s, rest, 2, 2)?;
            Ok(Workload::Deterministic {
                input: g[0],
                output: g[1],
            })
        }
        'N' => {
            let [i, o] = groups::<2>(s, rest, 2)?;
            Ok(Workload::Normal {
                input_mean: f64::from(i[0]),
                input_std: f64::from(i[1]),
                output_mean: f64::from(o[0]),
                output_std: f64::from(o[1]),
            })
        }
        'U' => {
            let [i, o] = groups::<2>(s, rest, 2)?;
            if i[0] > i[1] {
                return Err(format!(
                    "`{s}`: the input range {}..{} is empty (min > max)",
                    i[0], i[1]
                ));
            }
            if o[0] > o[1] {
                return Err(format!(
                    "`{s}`: the output range {}..{} is empty (min > max)",
                    o[0], o[1]
                ));
            }
            Ok(Workload::Uniform {
                input_min: i[0],
                input_max: i[1],
                output_min: o[0],
                output_max: o[1],
            })
        }
        'I' => {
            let g = single_group(s, rest, 2, 3)?;
            let count = g.get(2).copied().unwrap_or(1);
            if g[0] == 0 || g[1] == 0 || count == 0 {
                return Err(format!(
                    "`{s}`: image width, height and count must be at least 1"
                ));
            }
            Ok(Workload::Image {
                width: g[0],
                height: g[1],
                count,
            })
        }
        'E' => {
            let g = single_group(s, rest, 1, 1)?;
            if g[0] == 0 {
                return Err(format!("`{s}`: embedding inputs need at least 1 token"));
            }
            Ok(Workload::Embedding { tokens: g[0] })
        }
        'R' => {
            let g = single_group(s, rest, 2, 2)?;
            if g[0] == 0 || g[1] == 0 {
                return Err(format!(
                    "`{s}`: document and query lengths must be at least 1 token"
                ));
            }
            Ok(Workload::Rerank {
                doc_tokens: g[0],
                query_tokens: g[1],
                documents: DEFAULT_RERANK_DOCUMENTS,
            })
        }
        other => Err(format!(
            "unknown scenario kind `{other}` in `{s}`; expected {SPEC_FORMS}"
        )),
    }
}

/// Parses `(a,b)/(c,d)`-style input: `N` groups of exactly `width` numbers, joined by `/`.
fn groups<const N: usize>(s: &str, rest: &str, width: usize) -> Result<[Vec<u32>; N], String> {
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() != N {
        return Err(shape_error(s));
    }
    let mut out: [Vec<u32>; N] = std::array::from_fn(|_| Vec::new());
    for (slot, part) in out.iter_mut().zip(parts) {
        *slot = parse_group(s, part, width, width)?;
    }
    Ok(out)
}

/// Parses one `(a,b[,c])` group of `min..=max` numbers that must be the whole of `rest`.
fn single_group(s: &str, rest: &str, min: usize, max: usize) -> Result<Vec<u32>, String> {
    if rest.contains('/') {
        return Err(shape_error(s));
    }
    parse_group(s, rest, min, max)
}

fn parse_group(s: &str, group: &str, min: usize, max: usize) -> Result<Vec<u32>, String> {
    let inner = group
        .strip_prefix('(')
        .and_then(|g| g.strip_suffix(')'))
        .ok_or_else(|| shape_error(s))?;
    let items: Vec<&str> = inner.split(',').collect();
    if items.len() < min || items.len() > max {
        return Err(shape_error(s));
    }
    items
        .iter()
        .map(|item| {
            if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "`{s}`: `{item}` is not a non-negative integer (no signs, decimals or spaces)"
                ));
            }
            item.parse::<u32>()
                .map_err(|_| format!("`{s}`: `{item}` is too large (at most {})", u32::MAX))
        })
        .collect()
}

fn shape_error(s: &str) -> String {
    let expected = match s.chars().next() {
        Some('D') => "D(in,out), e.g. D(512,128)",
        Some('N') => "N(mean_in,std_in)/(mean_out,std_out), e.g. N(480,240)/(300,150)",
        Some('U') => "U(min_in,max_in)/(min_out,max_out), e.g. U(50,100)/(200,250)",
        Some('I') => "I(width,height[,count]), e.g. I(512,512,1)",
        Some('E') => "E(tokens), e.g. E(512)",
        Some('R') => "R(doc_tokens,query_tokens), e.g. R(512,32)",
        _ => SPEC_FORMS,
    };
    format!("`{s}` is malformed; expected {expected}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            parse_workload("D(512,128)"),
            Ok(Workload::Deterministic {
                input: 512,
                output: 128
            })
        );
        assert_eq!(
            parse_workload("N(100,50)/(50,25)"),
            Ok(Workload::Normal {
                input_mean: 100.0,
                input_std: 50.0,
                output_mean: 50.0,
                output_std: 25.0
            })
        );
        assert_eq!(
            parse_workload("U(1,10)/(0,5)"),
            Ok(Workload::Uniform {
                input_min: 1,
                input_max: 10,
                output_min: 0,
                output_max: 5
            })
        );
        assert_eq!(
            parse_workload("I(640,480)"),
            Ok(Workload::Image {
                width: 640,
                height: 480,
                count: 1
            })
        );
        assert_eq!(
            parse_workload("I(64,32,3)"),
            Ok(Workload::Image {
                width: 64,
                height: 32,
                count: 3
            })
        );
        assert_eq!(
            parse_workload("E(256)"),
            Ok(Workload::Embedding { tokens: 256 })
        );
        assert_eq!(
            parse_workload("R(400,20)"),
            Ok(Workload::Rerank {
                doc_tokens: 400,
                query_tokens: 20,
                documents: DEFAULT_RERANK_DOCUMENTS
            })
        );
        assert_eq!(
            parse_workload("D(0,64)"),
            Ok(Workload::Deterministic {
                input: 0,
                output: 64
            })
        );
    }

    #[test]
    fn rejects_malformed_strings() {
        for bad in [
            "",
            "D(512, 128)",
            "D(512,128",
            "D(512)",
            "D(1,2,3)",
            "D(-1,2)",
            "D(1.5,2)",
            "D(1,2)/(3,4)",
            "N(1,2)",
            "N(1,2)/(3)",
            "U(10,1)/(1,2)",
            "U(1,2)/(5,4)",
            "I(0,10)",
            "I(1,2,3,4)",
            "E()",
            "E(0)",
            "R(1)",
            "X(1,2)",
            "d(1,2)",
            "D(99999999999,1)",
            "D(,1)",
        ] {
            assert!(parse_workload(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn error_names_the_expected_form() {
        let err = parse_workload("N(1,2)").unwrap_err();
        assert!(
            err.contains("N(mean_in,std_in)/(mean_out,std_out)"),
            "{err}"
        );
        let err = parse_workload("Q(1)").unwrap_err();
        assert!(err.contains("unknown scenario kind `Q`"), "{err}");
    }

    #[test]
    fn round_trips_through_the_canonical_string() {
        for s in [
            "D(512,128)",
            "N(100,50)/(50,25)",
            "U(1,10)/(2,5)",
            "I(64,32,3)",
            "E(9)",
            "R(4,2)",
        ] {
            let w = parse_workload(s).unwrap();
            assert_eq!(w.to_spec_string(), s);
        }
    }
}
