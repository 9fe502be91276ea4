//! Number, mass and time formatting shared by the renderers.

use jiff::Timestamp;

/// A number with as many decimals as its size needs (three significant digits at least), and
/// thousands separated by a thin space above 9 999.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    let a = v.abs();
    let s = if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".to_owned()
    } else if a >= 0.001 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    };
    group(&s)
}

/// Thousands grouping of the integer part (only past four digits, as style guides advise).
fn group(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, ""), |(i, f)| (i, f));
    if int.len() <= 4 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return s.to_owned();
    }
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if frac.is_empty() {
        format!("{sign}{out}")
    } else {
        format!("{sign}{out}.{frac}")
    }
}

/// Grams CO2e as kilograms (the unit of every table).
pub fn kg(g: f64) -> String {
    number(g / 1000.0)
}

/// Grams CO2e in the unit that reads best: g, kg or t.
pub fn mass(g: f64) -> String {
    let a = g.abs();
    if a >= 1e6 {
        format!("{} t", number(g / 1e6))
    } else if a >= 1e3 {
        format!("{} kg", number(g / 1e3))
    } else {
        format!("{} g", number(g))
    }
}

/// A percentage.
pub fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1} %")
    } else {
        "n/a".to_owned()
    }
}

/// A UTC time as `2026-10-01 00:00 UTC`.
pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// A UTC time as `2026-10-01`.
pub fn date(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well_at_every_size() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.01234), "0.012");
        assert_eq!(number(1.5), "1.50");
        assert_eq!(number(123.46), "123.5");
        assert_eq!(number(1234.4), "1234");
        assert_eq!(number(-1_234_567.0), "-1,234,567");
        assert_eq!(number(f64::NAN), "n/a");
        assert_eq!(mass(950.0), "950.0 g");
        assert_eq!(mass(28_500.0), "28.50 kg");
        assert_eq!(mass(3.2e6), "3.20 t");
        assert_eq!(kg(28_500.0), "28.50");
    }
}
