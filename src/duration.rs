//! The duration grammar of guillotine's own options (`--grace`, `--poll`).
//!
//! Owns: turning `90s`, `15m`, `14d`, `100ms`, `1.5h` or a bare number of seconds into a
//! [`Duration`], and writing a duration back in the same grammar.
//! Never: reads the clock or the environment; GNU `timeout`'s own grammar lives elsewhere.

use std::time::Duration;

/// What the user typed was not a duration guillotine can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{input:?} is not a duration; use e.g. 90s, 15m, 14d (units: ms, s, m, h, d)")]
    Invalid { input: String },
    #[error(
        "{input:?} is too long: the most is 18446744073709551615s (about 584 billion years); use e.g. 90s, 15m, 14d"
    )]
    TooLong { input: String },
}

/// Unit suffixes and their length in nanoseconds.
const UNITS: [(&str, u128); 5] = [
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Parses `<number>[unit]`: a non-negative decimal number (`10`, `1.5`, `.5`) followed by one
/// of `ms`, `s`, `m`, `h`, `d`; no unit means seconds. Exact to the nanosecond (no floating
/// point): `6404615.509s` is 6404615 s and 509 ms.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let error = || DurationError::Invalid {
        input: input.to_owned(),
    };
    let too_long = || DurationError::TooLong {
        input: input.to_owned(),
    };
    let number_end = input
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(input.len());
    let (number, unit) = input.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(error());
    }
    let unit_nanos = if unit.is_empty() {
        NANOS_PER_SECOND
    } else {
        UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, nanos)| *nanos)
            .ok_or_else(error)?
    };
    let whole_nanos = digits_value(whole)
        .and_then(|value| value.checked_mul(unit_nanos))
        .ok_or_else(too_long)?;
    // Digits past the 18th are below a nanosecond even for days: drop them.
    let fraction = &fraction[..fraction.len().min(18)];
    let fraction_nanos =
        digits_value(fraction).ok_or_else(error)? * unit_nanos / 10u128.pow(fraction.len() as u32);
    let nanos = whole_nanos + fraction_nanos;
    let seconds = u64::try_from(nanos / NANOS_PER_SECOND).map_err(|_| too_long())?;
    Ok(Duration::new(seconds, (nanos % NANOS_PER_SECOND) as u32))
}

/// The value of a run of ASCII digits (empty is 0), or None when it overflows.
fn digits_value(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |value, digit| {
        value.checked_mul(10)?.checked_add(u128::from(digit - b'0'))
    })
}

/// Writes a duration in the grammar [`parse_duration`] reads, with the largest unit that
/// represents it exactly (finer than a millisecond: seconds with nine decimals).
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    match UNITS
        .iter()
        .rev()
        .find(|(_, unit)| nanos.is_multiple_of(*unit))
    {
        Some((name, unit)) => format!("{}{name}", nanos / unit),
        None => format!("{}.{:09}s", duration.as_secs(), duration.subsec_nanos()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_forms() {
        let cases = [
            ("0", Duration::ZERO),
            ("10", Duration::from_secs(10)),
            ("90s", Duration::from_secs(90)),
            ("1.5s", Duration::from_millis(1500)),
            (".5", Duration::from_millis(500)),
            ("100ms", Duration::from_millis(100)),
            ("15m", Duration::from_secs(900)),
            ("2h", Duration::from_secs(7200)),
            ("14d", Duration::from_secs(14 * 86400)),
            ("3.", Duration::from_secs(3)),
            ("6404615.509s", Duration::new(6_404_615, 509_000_000)),
            ("0.1ms", Duration::from_micros(100)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for input in [
            "", "14x", "-1", "-1s", "s", ".", "1..2", "1.2.3", "1 s", " 1", "1e3", "inf", "NaN",
            "1S", "10sec", "1h30m",
        ] {
            assert_eq!(
                parse_duration(input),
                Err(DurationError::Invalid {
                    input: input.to_owned()
                }),
                "{input:?} must be rejected"
            );
        }
    }

    #[test]
    fn durations_past_u64_seconds_are_too_long_and_the_longest_is_accepted() {
        for input in [
            "99999999999999999999999d",
            "18446744073709551616s",
            "213503982334602d",
        ] {
            assert_eq!(
                parse_duration(input),
                Err(DurationError::TooLong {
                    input: input.to_owned()
                }),
                "{input:?}"
            );
        }
        assert_eq!(
            parse_duration("18446744073709551615"),
            Ok(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn error_message_says_what_to_type() {
        let message = parse_duration("14x").unwrap_err().to_string();
        assert_eq!(
            message,
            r#""14x" is not a duration; use e.g. 90s, 15m, 14d (units: ms, s, m, h, d)"#
        );
    }

    #[test]
    fn formats_with_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(14 * 86400)), "14d");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    proptest! {
        #[test]
        fn never_panics(input in ".*") {
            let _ = parse_duration(&input);
        }

        #[test]
        fn format_then_parse_round_trips(nanos in 0u64..u64::MAX) {
            let duration = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }

        #[test]
        fn number_with_unit_scales(value in 0u32..1_000_000, unit in 0usize..5) {
            let (name, unit_nanos) = UNITS[unit];
            let parsed = parse_duration(&format!("{value}{name}")).unwrap();
            prop_assert_eq!(parsed.as_nanos(), u128::from(value) * unit_nanos);
        }
    }
}
