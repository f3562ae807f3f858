//! Signal names and numbers as users type them.
//!
//! Owns: reading `TERM`, `SIGTERM`, `term` or `15` into a [`Signal`], the short name we
//! print (`TERM`), and which signals guillotine passes on to its child ([`FORWARDED`]). Never: sends, blocks or handles a signal (that is `sys::signals` and
//! `sys::process`).

use nix::sys::signal::Signal;
use std::str::FromStr;

/// The text was neither a signal name nor a signal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a signal; use a name or number such as TERM, SIGINT, 9")]
pub struct SignalError {
    pub input: String,
}

/// Parses a signal name (with or without `SIG`, any case) or number.
pub fn parse_signal(input: &str) -> Result<Signal, SignalError> {
    let error = || SignalError {
        input: input.to_owned(),
    };
    if !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit()) {
        let number: i32 = input.parse().map_err(|_| error())?;
        return Signal::try_from(number).map_err(|_| error());
    }
    let upper = input.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&full).map_err(|_| error())
}

/// The name without the `SIG` prefix, as `kill -l` prints it: `TERM`.
pub fn signal_name(signal: Signal) -> &'static str {
    let full = signal.as_str();
    full.strip_prefix("SIG").unwrap_or(full)
}

/// The name of a raw signal number, or the number itself for one nix has no name for
/// (real-time signals).
pub fn raw_signal_name(number: i32) -> String {
    Signal::try_from(number)
        .map(|signal| signal_name(signal).to_owned())
        .unwrap_or_else(|_| number.to_string())
}

/// Signals guillotine passes on to the child's process group. CHLD is ours (the reaper's
/// wake-up); KILL and STOP cannot be caught; the synchronous faults (SEGV, BUS, ILL, FPE)
/// are about guillotine itself.
pub const FORWARDED: [Signal; 10] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGCONT,
    Signal::SIGWINCH,
    Signal::SIGPWR,
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_names_and_numbers() {
        for (input, expected) in [
            ("TERM", Signal::SIGTERM),
            ("SIGTERM", Signal::SIGTERM),
            ("term", Signal::SIGTERM),
            ("sigint", Signal::SIGINT),
            ("15", Signal::SIGTERM),
            ("9", Signal::SIGKILL),
            ("KILL", Signal::SIGKILL),
            ("USR1", Signal::SIGUSR1),
            ("WINCH", Signal::SIGWINCH),
        ] {
            assert_eq!(parse_signal(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_signal() {
        for input in [
            "",
            "0",
            "65",
            "-15",
            "SIG",
            "TERMINATE",
            "15s",
            " 15",
            "SIGSIGTERM",
        ] {
            assert!(parse_signal(input).is_err(), "{input:?} must be rejected");
        }
        assert_eq!(
            parse_signal("TERMINATE").unwrap_err().to_string(),
            r#""TERMINATE" is not a signal; use a name or number such as TERM, SIGINT, 9"#
        );
    }

    #[test]
    fn short_names_drop_the_prefix() {
        assert_eq!(signal_name(Signal::SIGTERM), "TERM");
        assert_eq!(raw_signal_name(9), "KILL");
        assert_eq!(raw_signal_name(40), "40");
    }

    proptest! {
        #[test]
        fn never_panics(input in ".*") {
            let _ = parse_signal(&input);
        }

        #[test]
        fn every_signal_round_trips_by_name_and_number(index in 0usize..Signal::iterator().count()) {
            let signal = Signal::iterator().nth(index).unwrap();
            prop_assert_eq!(parse_signal(signal_name(signal)), Ok(signal));
            prop_assert_eq!(parse_signal(&(signal as i32).to_string()), Ok(signal));
        }
    }
}
