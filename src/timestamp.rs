//! RFC 3339 timestamps, as `--deadline` takes them: `2026-12-11T18:00:00Z`,
//! `2026-12-11T19:00:00.5+01:00` (`t`, `z` and a space instead of `T` accepted, as RFC 3339
//! allows).
//!
//! Owns: reading one into a [`SystemTime`] and writing one back (UTC, for logs). Never:
//! reads the clock; a pure function of its input.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Not an RFC 3339 timestamp (a usage error, 125).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an RFC 3339 timestamp: {reason}; use e.g. 2026-12-11T18:00:00Z")]
pub struct TimestampError {
    pub input: String,
    pub reason: &'static str,
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
pub fn parse_timestamp(input: &str) -> Result<SystemTime, TimestampError> {
    let error = |reason| TimestampError {
        input: input.to_owned(),
        reason,
    };
    let bytes = input.as_bytes();
    let number = |from: usize, digits: usize| -> Result<u64, TimestampError> {
        let field = bytes
            .get(from..from + digits)
            .ok_or_else(|| error("it is too short"))?;
        if !field.iter().all(u8::is_ascii_digit) {
            return Err(error("a digit is expected"));
        }
        Ok(field
            .iter()
            .fold(0, |value, digit| value * 10 + u64::from(digit - b'0')))
    };
    let expect = |at: usize, allowed: &[u8], reason| {
        if bytes.get(at).is_some_and(|byte| allowed.contains(byte)) {
            Ok(())
        } else {
            Err(error(reason))
        }
    };
    let year = number(0, 4)?;
    expect(4, b"-", "'-' expected after the year")?;
    let month = number(5, 2)?;
    expect(7, b"-", "'-' expected after the month")?;
    let day = number(8, 2)?;
    expect(10, b"Tt ", "'T' expected after the date")?;
    let hour = number(11, 2)?;
    expect(13, b":", "':' expected after the hour")?;
    let minute = number(14, 2)?;
    expect(16, b":", "':' expected after the minutes")?;
    let second = number(17, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(error("no such date"));
    }
    // 60 is a leap second: it is read as the next second's start.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(error("no such time"));
    }
    let mut at = 19;
    let mut nanos = 0u64;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 9 {
                nanos = nanos * 10 + u64::from(bytes[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return Err(error("a digit is expected after '.'"));
        }
        for _ in (at - start).min(9)..9 {
            nanos *= 10;
        }
    }
    let offset: i64 = match bytes.get(at) {
        Some(b'Z' | b'z') if at + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == bytes.len() => {
            expect(at + 3, b":", "':' expected in the offset")?;
            let hours = number(at + 1, 2)?;
            let minutes = number(at + 4, 2)?;
            if hours > 23 || minutes > 59 {
                return Err(error("no such offset"));
            }
            let seconds = (hours * 3600 + minutes * 60) as i64;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => {
            return Err(error(
                "the time zone (Z or +HH:MM) is missing or followed by more",
            ));
        }
    };
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
    let utc = local - offset;
    let whole = Duration::from_secs(utc.unsigned_abs());
    let since_epoch = if utc >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    since_epoch
        .and_then(|time| time.checked_add(Duration::from_nanos(nanos)))
        .ok_or_else(|| error("it is out of range"))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, for logs; None before 1970.
pub fn format_timestamp(time: SystemTime) -> Option<String> {
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    let seconds = since.as_secs() as i64;
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let fraction = match since.subsec_nanos() {
        0 => String::new(),
        nanos => format!(".{nanos:09}").trim_end_matches('0').to_owned(),
    };
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{fraction}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    ))
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: u64, month: u64, day: u64) -> i64 {
    let year = year as i64 - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u64;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u64;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(seconds, nanos)
    }

    #[test]
    fn reads_every_form() {
        for (input, expected) in [
            ("1970-01-01T00:00:00Z", at(0, 0)),
            ("2026-12-11T18:00:00Z", at(1_797_012_000, 0)),
            ("2026-12-11t18:00:00z", at(1_797_012_000, 0)),
            ("2026-12-11 19:00:00+01:00", at(1_797_012_000, 0)),
            ("2026-12-11T12:30:00-05:30", at(1_797_012_000, 0)),
            ("2024-02-29T00:00:00.25Z", at(1_709_164_800, 250_000_000)),
            (
                "2000-01-01T00:00:00.123456789123Z",
                at(946_684_800, 123_456_789),
            ),
        ] {
            assert_eq!(parse_timestamp(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn refuses_with_a_reason() {
        for (input, reason) in [
            ("2026-12-11", "'T' expected after the date"),
            (
                "2026-12-11T18:00:00",
                "the time zone (Z or +HH:MM) is missing or followed by more",
            ),
            (
                "2026-12-11T18:00:00Zjunk",
                "the time zone (Z or +HH:MM) is missing or followed by more",
            ),
            ("2026-02-30T00:00:00Z", "no such date"),
            ("2025-02-29T00:00:00Z", "no such date"),
            ("2026-13-01T00:00:00Z", "no such date"),
            ("2026-12-11T24:00:00Z", "no such time"),
            ("2026-12-11T18:00:00+24:00", "no such offset"),
            ("2026-12-11T18:00:00.Z", "a digit is expected after '.'"),
            ("14d", "it is too short"),
            ("2026/12/11T18:00:00Z", "'-' expected after the year"),
        ] {
            assert_eq!(
                parse_timestamp(input).map_err(|e| e.reason),
                Err(reason),
                "{input}"
            );
        }
        assert_eq!(
            parse_timestamp("tomorrow").unwrap_err().to_string(),
            r#""tomorrow" is not an RFC 3339 timestamp: a digit is expected; use e.g. 2026-12-11T18:00:00Z"#
        );
    }

    proptest! {
        #[test]
        fn never_panics(input in ".*") {
            let _ = parse_timestamp(&input);
        }

        #[test]
        fn round_trips(seconds in 0u64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let time = at(seconds, nanos);
            let text = format_timestamp(time).unwrap();
            prop_assert_eq!(parse_timestamp(&text), Ok(time));
        }
    }
}
