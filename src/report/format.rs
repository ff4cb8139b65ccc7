//! Number formatting shared by the report and the comparison: table numbers with thousands separators and three significant decimals,
//! counts, `mean ± std`, percentages and load values.

use crate::metrics::Stat;

/// Formats a number for tables: thousands separators above 1,000, three
/// significant decimals below; `–` for non-finite values.
#[must_use]
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if a >= 1000.0 {
        return group_thousands(&format!("{v:.0}"));
    }
    let decimals: usize = if a >= 100.0 {
        1
    } else if a >= 10.0 {
        2
    } else if a >= 1.0 {
        3
    } else {
        // Three significant digits: 0.0123 → 0.0123, 0.5 → 0.5.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let d = (2.0 - a.log10().floor()).clamp(0.0, 12.0) as usize;
        d
    };
    let s = format!("{v:.decimals$}");
    if a < 1.0 && s.contains('.') {
        let t = s.trim_end_matches('0');
        t.trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Formats an integer count with thousands separators.
#[must_use]
pub fn fmt_count(n: u64) -> String {
    group_thousands(&n.to_string())
}

fn group_thousands(s: &str) -> String {
    let (sign, digits) = s.strip_prefix('-').map_or(("", s), |d| ("-", d));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// `mean ± std` (std left out when 0).
#[must_use]
pub fn fmt_mean_std(mean: f64, std: f64) -> String {
    if std > 0.0 && std.is_finite() {
        format!("{} ± {}", fmt_num(mean), fmt_num(std))
    } else {
        fmt_num(mean)
    }
}

/// A percentage: `12.5 %` (`0 %` for zero).
#[must_use]
pub fn fmt_pct(v: f64) -> String {
    if v == 0.0 {
        "0 %".into()
    } else {
        format!("{} %", fmt_num(v))
    }
}

/// One statistic of `stat` for a table cell; `–` when it has no values.
#[must_use]
pub fn fmt_stat_cell(stat: &Stat, f: impl Fn(&Stat) -> f64) -> String {
    if stat.n == 0 {
        "–".into()
    } else {
        fmt_num(f(stat))
    }
}

/// Formats a load value for an axis or a table: integers without decimals.
#[must_use]
pub fn format_load(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `s` cut to `max` characters, with `…` when it was longer.
#[must_use]
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_num(16657.4), "16,657");
        assert_eq!(fmt_num(-1234567.0), "-1,234,567");
        assert_eq!(fmt_num(599.43), "599.4");
        assert_eq!(fmt_num(12.345), "12.35");
        assert_eq!(fmt_num(1.5), "1.500");
        assert_eq!(fmt_num(0.0086), "0.0086");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(f64::NAN), "–");
        assert_eq!(fmt_count(1_000_000), "1,000,000");
        assert_eq!(fmt_mean_std(10.0, 0.0), "10.00");
        assert_eq!(fmt_mean_std(10.0, 1.0), "10.00 ± 1.000");
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(format_load(64.0), "64");
        assert_eq!(format_load(2.5), "2.5");
    }
}
