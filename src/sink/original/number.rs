//! The numbers of the original's files: floats rounded to 4 significant
//! digits as Python's `round` does, and JSON text as Python's
//! `json.dump(indent=2)` writes it.

use std::io;
use std::path::Path;

use serde_json::ser::{Formatter, PrettyFormatter};
use serde_json::Value;

use crate::sink::writer::SinkError;

/// Rounds `x` to 4 significant digits: `round(x, −floor(log10|x|) + 3)`, 0 stays 0.
///
/// Formatting with 3 decimals in scientific notation rounds the exact binary
/// value half-to-even, as Python's `round` does; parsing gives the nearest double.
#[must_use]
pub fn round_sig4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.3e}").parse().unwrap_or(x)
}

/// Rounds every float in `v` with [`round_sig4`]; integers are left alone.
pub fn round_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64() {
                *v = serde_json::Number::from_f64(round_sig4(x)).map_or(Value::Null, Value::Number);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_floats),
        Value::Object(map) => map.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// A float in Python's `repr` form: shortest round-trip digits, fixed notation
/// for decimal exponents −4..16 (always with a fraction, `16660.0`), otherwise
/// scientific with a signed, at least two-digit exponent (`1e-05`, `1.5e+16`).
#[must_use]
pub fn python_float_repr(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    let sci = format!("{x:e}"); // shortest digits: "-1.666e4", "1e-5"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa
        .strip_prefix('-')
        .map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp + 1;
            if k <= int_len {
                format!(
                    "{digits}{}.0",
                    "0".repeat((int_len - k).unsigned_abs() as usize)
                )
            } else {
                let (a, b) = digits.split_at(int_len.unsigned_abs() as usize);
                format!("{a}.{b}")
            }
        } else {
            format!(
                "0.{}{digits}",
                "0".repeat((-exp - 1).unsigned_abs() as usize)
            )
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{esign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// serde_json formatter producing Python's `json.dump(indent=2)` text (module docs).
struct PythonFormatter {
    pretty: PrettyFormatter<'static>,
}

impl Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(python_float_repr(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // ensure_ascii: every non-ASCII character as \uXXXX (UTF-16, surrogate pairs beyond the BMP).
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// Serialises `doc` as Python's `json.dump(doc, f, indent=2)` would (module docs).
///
/// # Errors
/// When serialization fails (the error names `path`).
pub fn to_python_json(doc: &Value, path: &Path) -> Result<Vec<u8>, SinkError> {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        PythonFormatter {
            pretty: PrettyFormatter::with_indent(b"  "),
        },
    );
    doc.serialize(&mut ser).map_err(|e| SinkError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(out)
}
