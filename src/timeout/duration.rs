//! GNU `timeout`'s DURATION grammar: C `strtod` in the C locale, then one optional suffix.
//!
//! Owns: the longest-prefix floating-point scan `strtod` does (white space, sign, decimal with
//! exponent, hexadecimal with binary exponent, `inf`/`infinity`, `nan`), the `s`/`m`/`h`/`d`
//! suffix, and rounding a duration up to the nanosecond as coreutils does.
//! Never: reads the locale (GNU parses durations in the C locale too) or the clock.

use std::time::Duration;

/// Parses `timeout`'s DURATION into seconds, or None where GNU says "invalid time interval".
/// Overflow gives infinity and underflow 0, both accepted as GNU accepts ERANGE.
pub fn parse_seconds(text: &str) -> Option<f64> {
    let (value, used) = scan_double(text)?;
    // Negative numbers and NaN are invalid; -0 is 0.
    if value.is_nan() || value < 0.0 {
        return None;
    }
    let scale = match &text[used..] {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    Some(value * scale)
}

/// The timer for a duration in seconds: None for 0 (no timeout) and for durations beyond any
/// clock (they never fire); otherwise rounded up to the next nanosecond, so any positive
/// duration, however small, is a timeout.
pub fn timer(seconds: f64) -> Option<Duration> {
    if seconds <= 0.0 || seconds >= u64::MAX as f64 {
        return None;
    }
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9).ceil();
    Some(Duration::from_secs(whole as u64) + Duration::from_nanos(nanos as u64))
}

/// What `strtod` would return and how many bytes it would consume; None when it converts
/// nothing.
pub fn scan_double(text: &str) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        at += 1;
    }
    let negative = bytes.get(at) == Some(&b'-');
    if matches!(bytes.get(at), Some(b'+' | b'-')) {
        at += 1;
    }
    let (magnitude, end) = scan_special(bytes, at)
        .or_else(|| scan_hex(bytes, at))
        .or_else(|| scan_decimal(text, at))?;
    Some((if negative { -magnitude } else { magnitude }, end))
}

fn starts_with_ignoring_case(bytes: &[u8], at: usize, word: &str) -> bool {
    bytes
        .get(at..at + word.len())
        .is_some_and(|found| found.eq_ignore_ascii_case(word.as_bytes()))
}

/// `inf`, `infinity`, `nan` and `nan(chars)`.
fn scan_special(bytes: &[u8], at: usize) -> Option<(f64, usize)> {
    if starts_with_ignoring_case(bytes, at, "infinity") {
        return Some((f64::INFINITY, at + 8));
    }
    if starts_with_ignoring_case(bytes, at, "inf") {
        return Some((f64::INFINITY, at + 3));
    }
    if starts_with_ignoring_case(bytes, at, "nan") {
        let mut end = at + 3;
        if bytes.get(end) == Some(&b'(') {
            let chars = bytes[end + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if bytes.get(end + 1 + chars) == Some(&b')') {
                end += chars + 2;
            }
        }
        return Some((f64::NAN, end));
    }
    None
}

fn count(bytes: &[u8], at: usize, class: fn(&u8) -> bool) -> usize {
    bytes
        .get(at..)
        .map_or(0, |rest| rest.iter().take_while(|b| class(b)).count())
}

/// An exponent (`e5`, `p-3`) is part of the number only when digits follow.
fn scan_exponent(bytes: &[u8], at: usize, markers: [u8; 2]) -> Option<(i64, usize)> {
    if !bytes.get(at).is_some_and(|b| markers.contains(b)) {
        return None;
    }
    let mut digits_at = at + 1;
    let negative = bytes.get(digits_at) == Some(&b'-');
    if matches!(bytes.get(digits_at), Some(b'+' | b'-')) {
        digits_at += 1;
    }
    let digits = count(bytes, digits_at, u8::is_ascii_digit);
    if digits == 0 {
        return None;
    }
    let value = bytes[digits_at..digits_at + digits]
        .iter()
        .fold(0i64, |value, digit| {
            value
                .saturating_mul(10)
                .saturating_add(i64::from(digit - b'0'))
        });
    Some((if negative { -value } else { value }, digits_at + digits))
}

/// `0x1.8p3`: hexadecimal digits with an optional point, then an optional binary exponent.
fn scan_hex(bytes: &[u8], at: usize) -> Option<(f64, usize)> {
    if bytes.get(at) != Some(&b'0') || !matches!(bytes.get(at + 1), Some(b'x' | b'X')) {
        return None;
    }
    let mut end = at + 2;
    let whole = count(bytes, end, u8::is_ascii_hexdigit);
    let mut mantissa = 0f64;
    let mut scale = 0i64;
    for digit in &bytes[end..end + whole] {
        mantissa = mantissa * 16.0 + f64::from((*digit as char).to_digit(16)?);
    }
    end += whole;
    let mut fraction = 0;
    if bytes.get(end) == Some(&b'.') {
        fraction = count(bytes, end + 1, u8::is_ascii_hexdigit);
        for digit in &bytes[end + 1..end + 1 + fraction] {
            mantissa = mantissa * 16.0 + f64::from((*digit as char).to_digit(16)?);
            scale -= 4;
        }
        if whole + fraction > 0 {
            end += 1 + fraction;
        }
    }
    if whole + fraction == 0 {
        // "0x" alone: strtod reads the "0" and stops at the "x".
        return None;
    }
    if let Some((exponent, after)) = scan_exponent(bytes, end, [b'p', b'P']) {
        scale = scale.saturating_add(exponent);
        end = after;
    }
    let scale = scale.clamp(-2000, 2000) as i32;
    Some((mantissa * 2f64.powi(scale), end))
}

/// `12.5e-3`: digits with an optional point (at least one digit), then an optional exponent.
fn scan_decimal(text: &str, at: usize) -> Option<(f64, usize)> {
    let bytes = text.as_bytes();
    let whole = count(bytes, at, u8::is_ascii_digit);
    let mut end = at + whole;
    let mut fraction = 0;
    if bytes.get(end) == Some(&b'.') {
        fraction = count(bytes, end + 1, u8::is_ascii_digit);
        end += 1 + fraction;
    }
    if whole + fraction == 0 {
        return None;
    }
    let mantissa_end = end;
    let exponent = scan_exponent(bytes, end, [b'e', b'E']);
    if let Some((_, after)) = exponent {
        end = after;
    }
    // Rust's parser reads the same decimal forms ("1.", ".5", "1e5") with correct rounding;
    // only a huge exponent needs clamping to stay within what it accepts.
    let mantissa = &text[at..mantissa_end];
    let exponent = exponent.map_or(0, |(value, _)| value.clamp(-100_000, 100_000));
    let value: f64 = format!("{mantissa}e{exponent}").parse().ok()?;
    Some((value, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gnu_examples() {
        for (text, seconds) in [
            ("10", 10.0),
            (".5", 0.5),
            ("1e1", 10.0),
            ("0x10", 16.0),
            ("0x1p-3", 0.125),
            ("+1", 1.0),
            (" 1", 1.0),
            ("1.5m", 90.0),
            ("2h", 7200.0),
            ("1d", 86400.0),
            ("0", 0.0),
            ("-0", 0.0),
            ("1e-400", 0.0),
        ] {
            assert_eq!(parse_seconds(text), Some(seconds), "{text}");
        }
        assert_eq!(parse_seconds("inf"), Some(f64::INFINITY));
        assert_eq!(parse_seconds("INFINITY"), Some(f64::INFINITY));
        assert_eq!(parse_seconds("1e999"), Some(f64::INFINITY));
        for text in [
            "", "x", "1x", "-1", "nan", "1ss", "1 ", "1D", "1s2", "1.5.5", "0x", "e5", "-inf",
        ] {
            assert_eq!(parse_seconds(text), None, "{text:?}");
        }
    }

    #[test]
    fn timers_round_up_to_the_nanosecond() {
        assert_eq!(timer(0.0), None);
        assert_eq!(timer(f64::INFINITY), None);
        assert_eq!(timer(1e-12), Some(Duration::from_nanos(1)));
        assert_eq!(timer(0.5), Some(Duration::from_millis(500)));
        assert_eq!(timer(14.0 * 86400.0), Some(Duration::from_secs(14 * 86400)));
    }

    proptest! {
        #[test]
        fn never_panics(text in ".*") {
            let _ = parse_seconds(&text);
        }
    }
}
