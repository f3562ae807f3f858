//! Signal names as GNU coreutils reads and writes them (`operand2sig`, `sig2str`).
//!
//! Owns: `-s/--signal` operands (`TERM`, `sigterm`, `SIGTERM`, `15`, `143` = 128+15,
//! `RTMIN+2`, `EXIT` = 0) and the names `--verbose` prints (`TERM`, `RTMAX-14`).
//! Never: sends a signal.

/// Names by number, first name first (the one `sig2str` prints), aliases after.
const NAMES: [(&str, i32); 35] = [
    ("EXIT", 0),
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
    ("IOT", 6),
    ("CLD", 17),
    ("IO", 29),
];

fn real_time_range() -> (i32, i32) {
    (libc::SIGRTMIN(), libc::SIGRTMAX())
}

/// The name `timeout --verbose` prints for a signal number, if it has one.
pub fn signal_name(number: i32) -> Option<String> {
    if let Some((name, _)) = NAMES.iter().find(|(_, n)| *n == number) {
        return Some((*name).to_owned());
    }
    let (min, max) = real_time_range();
    if !(min..=max).contains(&number) {
        return None;
    }
    // The lower half counts up from RTMIN, the upper half down from RTMAX.
    Some(if number == min {
        "RTMIN".to_owned()
    } else if number <= min + (max - min) / 2 {
        format!("RTMIN+{}", number - min)
    } else if number == max {
        "RTMAX".to_owned()
    } else {
        format!("RTMAX-{}", max - number)
    })
}

/// Reads a `-s` operand; None where GNU says "invalid signal".
pub fn parse_signal_operand(operand: &str) -> Option<i32> {
    let number = if operand.starts_with(|c: char| c.is_ascii_digit()) {
        if !operand.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: i32 = operand.parse().ok()?;
        // A shell's exit status for a signal death (128+n, or 256+n for ksh) names n.
        value & if value >= 0xFF { 0x1FF } else { 0x7F }
    } else {
        let upper = operand.to_ascii_uppercase();
        name_to_number(&upper).or_else(|| upper.strip_prefix("SIG").and_then(name_to_number))?
    };
    signal_name(number).map(|_| number)
}

fn name_to_number(name: &str) -> Option<i32> {
    if let Some((_, number)) = NAMES.iter().find(|(known, _)| *known == name) {
        return Some(*number);
    }
    let (min, max) = real_time_range();
    let offset = |text: &str| -> Option<i32> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    };
    let number = if let Some(rest) = name.strip_prefix("RTMIN") {
        match rest.strip_prefix('+') {
            None if rest.is_empty() => min,
            Some(n) => min + offset(n)?,
            None => return None,
        }
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        match rest.strip_prefix('-') {
            None if rest.is_empty() => max,
            Some(n) => max - offset(n)?,
            None => return None,
        }
    } else {
        return None;
    };
    (min..=max).contains(&number).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn operands_as_gnu_reads_them() {
        for (operand, number) in [
            ("TERM", 15),
            ("term", 15),
            ("SIGterm", 15),
            ("15", 15),
            ("015", 15),
            ("143", 15),
            ("0", 0),
            ("EXIT", 0),
            ("64", 64),
            ("IOT", 6),
            ("CLD", 17),
            ("IO", 29),
            ("RTMIN", 34),
            ("RTMIN+0", 34),
            ("rtmin+2", 36),
            ("SIGRTMIN+2", 36),
            ("RTMIN+30", 64),
            ("RTMAX-30", 34),
        ] {
            assert_eq!(parse_signal_operand(operand), Some(number), "{operand}");
        }
        for operand in [
            "", "32", "33", "65", "200", "+15", "1x", "UNUSED", "LOST", "RTMAX+1", "RTMIN+31",
            "RTMIN-1", "RTMAX-31", "RTMIN+", "SIG",
        ] {
            assert_eq!(parse_signal_operand(operand), None, "{operand:?}");
        }
    }

    #[test]
    fn names_as_gnu_prints_them() {
        for (number, name) in [
            (0, "EXIT"),
            (6, "ABRT"),
            (17, "CHLD"),
            (29, "POLL"),
            (34, "RTMIN"),
            (35, "RTMIN+1"),
            (49, "RTMIN+15"),
            (50, "RTMAX-14"),
            (64, "RTMAX"),
        ] {
            assert_eq!(signal_name(number).as_deref(), Some(name), "{number}");
        }
        assert_eq!(signal_name(32), None);
    }

    proptest! {
        #[test]
        fn never_panics(operand in ".*") {
            let _ = parse_signal_operand(&operand);
        }

        #[test]
        fn every_name_reads_back_as_its_number(number in 0i32..=64) {
            if let Some(name) = signal_name(number) {
                prop_assert_eq!(parse_signal_operand(&name), Some(number));
                prop_assert_eq!(parse_signal_operand(&format!("SIG{name}")), Some(number));
                prop_assert_eq!(parse_signal_operand(&number.to_string()), Some(number));
            }
        }
    }
}
