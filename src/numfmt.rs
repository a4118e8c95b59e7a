//! Numbers for people: the one place that decides how a value is written in
//! `summary` tables, event messages, chart labels and exported figures.
//!
//! Three widths, one rule for what is not a plain number: NaN and the
//! infinities are written as the log format spells them (`NaN`,
//! `Infinity`, `-Infinity`), and a negative zero as `0`.
//!
//! | function | digits | used by |
//! | --- | --- | --- |
//! | [`precise`] | 6 significant | `summary` tables, exported axes |
//! | [`short`] | 4 significant | event messages, verdicts, legends |
//! | [`compact`] | at most ~7 characters | terminal chart labels |

/// The format's spelling of a value that is not finite, `None` for a
/// finite one.
fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v.is_infinite() {
        Some(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        None
    }
}

/// `s` without trailing zeros after a decimal point (and without the point
/// when nothing is left after it); `-0` becomes `0`.
fn trim(s: String) -> String {
    let s = if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// A value for tables: 6 significant digits after the point (`1234.56789`,
/// `0.5`), exponent form below 10⁻⁴ or from 10⁶ (`1.0000e-9`).
pub fn precise(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s.into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e6).contains(&a) {
        return format!("{v:.4e}");
    }
    trim(format!("{v:.6}"))
}

/// A value for a one-line message: four significant digits (`30.37`,
/// `0.001632`), exponent form below 10⁻⁴ or from 10⁶ (`2.500e-7`).
/// Messages keep their exact numbers in the event's evidence.
pub fn short(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    trim(format!("{v:.decimals$}"))
}

/// A value in at most about seven characters, for chart labels
/// (`0.0123`, `123.5`, `2.0e-7`).
pub fn compact(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s.into();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.1e}");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 4) as usize;
    trim(format!("{v:.decimals$}"))
}

/// A share in 0..1 as a percentage with one decimal (`0.9993` → `99.9%`).
pub fn percent(share: f64) -> String {
    if let Some(s) = non_finite(share) {
        return s.into();
    }
    trim(format!("{:.1}", share * 100.0)) + "%"
}

/// A step count with thousands separators (`20000` → `20,000`), as the
/// papers and the docs write them.
pub fn steps(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precise_values_read_well() {
        assert_eq!(precise(0.5), "0.5");
        assert_eq!(precise(1234.56789), "1234.56789");
        assert_eq!(precise(1e-9), "1.0000e-9");
        assert_eq!(precise(-0.0), "0");
        assert_eq!(precise(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(precise(3.0), "3");
        assert_eq!(precise(2.5e6), "2.5000e6");
    }

    #[test]
    fn message_numbers_are_short() {
        assert_eq!(short(30.369949), "30.37");
        assert_eq!(short(0.001632), "0.001632");
        assert_eq!(short(1.2), "1.2");
        assert_eq!(short(123456.0), "123456");
        assert_eq!(short(2.5e-7), "2.500e-7");
        assert_eq!(short(f64::NAN), "NaN");
        assert_eq!(short(-0.0), "0");
        assert_eq!(short(-4.7274), "-4.727");
    }

    #[test]
    fn compact_numbers_fit_a_chart_label() {
        assert_eq!(compact(0.012345), "0.0123");
        assert_eq!(compact(123.456), "123.5");
        assert_eq!(compact(2e-7), "2.0e-7");
        assert_eq!(compact(f64::INFINITY), "Infinity");
        for v in [1e-12, 0.5, 99999.0, 1.5e5, -3.25e9, 7.0] {
            assert!(compact(v).len() <= 8, "{v}: {}", compact(v));
        }
    }

    #[test]
    fn percentages_and_steps() {
        assert_eq!(percent(0.9993), "99.9%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.29), "29%");
        assert_eq!(steps(20_000), "20,000");
        assert_eq!(steps(999), "999");
        assert_eq!(steps(1_234_567), "1,234,567");
        assert_eq!(steps(-1500), "-1,500");
    }
}
