//! Numbers as text for the views, without core's float formatting: `f64`'s `Display` and its
//! `{:.N}` path are about 10 KB of wasm, and the views only ever need a few decimals. Digits
//! come from integer formatting of the value scaled and rounded half away from zero; `format!`
//! rounds the exact binary value instead, so a tie such as 0.125 to two places can differ in
//! its last digit (0.13 here, 0.12 there). Nothing is computed from these strings.

/// `x` with exactly `decimals` digits after the point (at most 6), like `format!("{x:.N}")`.
pub fn fixed(x: f64, decimals: u32) -> String {
    if !x.is_finite() {
        return match x {
            x if x.is_nan() => "NaN".to_string(),
            x if x > 0.0 => "inf".to_string(),
            _ => "-inf".to_string(),
        };
    }
    let decimals = decimals.min(6);
    let scale = 10u64.pow(decimals);
    // Half away from zero, decided on the fraction (adding ½ first could itself round up:
    // 0.49999999999999994 + 0.5 is 1.0). `trunc` is a wasm instruction; `f64::round` is a
    // library call. Saturates at u64::MAX for magnitudes no view shows.
    let scaled = x.abs() * scale as f64;
    let whole = scaled.trunc();
    let scaled = (if scaled - whole >= 0.5 { whole + 1.0 } else { whole }) as u64;
    let sign = if x < 0.0 && scaled != 0 { "-" } else { "" };
    let (whole, fraction) = (scaled / scale, scaled % scale);
    match decimals {
        0 => format!("{sign}{whole}"),
        _ => format!("{sign}{whole}.{fraction:0width$}", width = decimals as usize),
    }
}

/// `x` with at most `decimals` decimals and no trailing zeros (`120`, `12.5`).
pub fn trimmed(x: f64, decimals: u32) -> String {
    let text = fixed(x, decimals);
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

/// `x` with at most two decimals and no trailing zeros (`120`, `12.5`, `3.25`): SVG coordinates.
pub fn num(x: f64) -> String {
    trimmed(x, 2)
}

#[cfg(test)]
mod tests {
    use super::{fixed, num, trimmed};
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn fixed_matches_format_away_from_ties() {
        for x in [0.0, 1.0, -1.0, 0.04, 0.06, 2.5e-7, 12.345_678, -12.345_678, 999.96, 1e9 / 7.0, 123_456.789] {
            for d in 0..=3u32 {
                assert_eq!(fixed(x, d), format!("{x:.*}", d as usize), "{x} to {d} places");
            }
        }
        assert_eq!(fixed(-0.004, 2), "0.00", "no negative zero");
        assert_eq!(fixed(-0.0, 1), "0.0");
        assert_eq!(fixed(0.499_999_999_999_999_94, 0), "0", "just below a half stays down");
        assert_eq!(fixed(2.5, 0), "3", "a tie goes away from zero (format! gives 2)");
        assert_eq!(fixed(-2.5, 0), "-3");
        assert_eq!(fixed(1.25, 1), "1.3");
        assert_eq!(fixed(f64::NAN, 1), "NaN");
        assert_eq!(fixed(f64::INFINITY, 1), "inf");
    }

    #[test]
    fn num_is_display_for_two_decimals() {
        for x in [0.0, 120.0, -3.0, 12.5, 3.25, 0.05, 1000.75] {
            assert_eq!(num(x), x.to_string());
        }
        assert_eq!(num(1.0 / 3.0), "0.33");
        assert_eq!(trimmed(2.0 / 3.0, 6), "0.666667");
        assert_eq!(trimmed(-0.5, 6), "-0.5");
    }
}
