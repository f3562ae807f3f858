//! `--exit-map`: the user's rules for which outcomes mean success.
//!
//! Owns: the rule grammar (`FROM=TO`, comma-separated) and applying the rules, first match
//! wins, to an [`Outcome`] and its natural status. Never: decides the natural status (that is
//! `exit`) or looks at a process.

use crate::exit::{Cause, ChildEnd, Outcome, natural_status};
use crate::signal::parse_signal;

/// What a rule's left side matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The natural status is this code.
    Code(u8),
    /// The natural status is within this inclusive range.
    Range(u8, u8),
    /// The child was killed by this signal number.
    SignalDeath(i32),
    /// The sentinel stopped it.
    Sentinel,
    Abandoned,
    Terminated,
    /// The lifetime ran out.
    Lifetime,
    /// The child exited by itself, any code.
    Exited,
    /// The child died of a signal that was not part of our own stop sequence.
    Signaled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub from: Match,
    pub to: u8,
}

/// The rules, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExitMap {
    rules: Vec<Rule>,
}

/// A rule that does not parse: guillotine exits 125 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{rule:?} is not an exit-map rule: {reason}; use FROM=TO with FROM a code (0), a range \
     (1-255), a signal death (TERM, SIGKILL) or a cause (sentinel, abandoned, terminated, lifetime, \
     exited, signaled) and TO a code 0-255, e.g. 0=1,TERM=0,lifetime=0"
)]
pub struct ExitMapError {
    pub rule: String,
    pub reason: &'static str,
}

impl ExitMap {
    /// Parses every value of `--exit-map` (each may hold several comma-separated rules).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, ExitMapError> {
        let rules = values
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(parse_rule)
            .collect::<Result<_, _>>()?;
        Ok(ExitMap { rules })
    }

    /// guillotine's exit status for `outcome`: its natural status, remapped by the first
    /// rule that matches.
    pub fn status(&self, outcome: Outcome) -> u8 {
        self.apply(outcome, natural_status(outcome))
    }

    /// The status after the first rule that matches, or `natural` when none does.
    pub fn apply(&self, outcome: Outcome, natural: u8) -> u8 {
        self.rules
            .iter()
            .find(|rule| matches(rule.from, outcome, natural))
            .map_or(natural, |rule| rule.to)
    }
}

fn matches(from: Match, outcome: Outcome, natural: u8) -> bool {
    let by_itself = outcome.cause == Cause::ChildEnded;
    match from {
        Match::Code(code) => natural == code,
        Match::Range(low, high) => (low..=high).contains(&natural),
        Match::SignalDeath(signal) => outcome.child == Some(ChildEnd::Signaled(signal)),
        Match::Sentinel => outcome.cause == Cause::Sentinel,
        Match::Abandoned => outcome.cause == Cause::Abandoned,
        Match::Terminated => outcome.cause == Cause::Terminated,
        Match::Lifetime => outcome.cause == Cause::Lifetime,
        Match::Exited => by_itself && matches!(outcome.child, Some(ChildEnd::Exited(_))),
        Match::Signaled => by_itself && matches!(outcome.child, Some(ChildEnd::Signaled(_))),
    }
}

fn parse_rule(text: &str) -> Result<Rule, ExitMapError> {
    let error = |reason| ExitMapError {
        rule: text.to_owned(),
        reason,
    };
    let (from, to) = text.split_once('=').ok_or_else(|| error("no '='"))?;
    let to = parse_code(to.trim()).ok_or_else(|| error("TO is not a code 0-255"))?;
    let from = from.trim();
    let from = match from.to_ascii_lowercase().as_str() {
        "sentinel" => Match::Sentinel,
        "abandoned" => Match::Abandoned,
        "terminated" => Match::Terminated,
        "lifetime" => Match::Lifetime,
        "exited" => Match::Exited,
        "signaled" | "signalled" => Match::Signaled,
        _ if from.starts_with(|c: char| c.is_ascii_digit()) => match from.split_once('-') {
            None => Match::Code(parse_code(from).ok_or_else(|| error("FROM is not a code 0-255"))?),
            Some((low, high)) => {
                let low = parse_code(low).ok_or_else(|| error("the range start is not 0-255"))?;
                let high = parse_code(high).ok_or_else(|| error("the range end is not 0-255"))?;
                if low > high {
                    return Err(error("the range is empty (start above end)"));
                }
                Match::Range(low, high)
            }
        },
        _ => Match::SignalDeath(
            parse_signal(from).map_err(|_| error("FROM is not a code, range, signal or cause"))?
                as i32,
        ),
    };
    Ok(Rule { from, to })
}

fn parse_code(text: &str) -> Option<u8> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outcome(cause: Cause, child: ChildEnd) -> Outcome {
        Outcome {
            cause,
            child: Some(child),
            killed: false,
        }
    }

    #[test]
    fn parses_every_form() {
        let map = ExitMap::parse(["0=1,1-255=3", "TERM=0", "SIGKILL=4", "sentinel=5"]).unwrap();
        assert_eq!(
            map.rules,
            vec![
                Rule {
                    from: Match::Code(0),
                    to: 1
                },
                Rule {
                    from: Match::Range(1, 255),
                    to: 3
                },
                Rule {
                    from: Match::SignalDeath(15),
                    to: 0
                },
                Rule {
                    from: Match::SignalDeath(9),
                    to: 4
                },
                Rule {
                    from: Match::Sentinel,
                    to: 5
                },
            ]
        );
        let causes = ExitMap::parse(["lifetime=0,exited=2,signaled=3"]).unwrap();
        assert_eq!(
            causes
                .rules
                .iter()
                .map(|rule| rule.from)
                .collect::<Vec<_>>(),
            vec![Match::Lifetime, Match::Exited, Match::Signaled]
        );
    }

    #[test]
    fn rejects_bad_rules_with_the_accepted_forms() {
        for (rule, reason) in [
            ("0", "no '='"),
            ("0=256", "TO is not a code 0-255"),
            ("0=-1", "TO is not a code 0-255"),
            ("0=", "TO is not a code 0-255"),
            ("256=0", "FROM is not a code 0-255"),
            ("5-2=0", "the range is empty (start above end)"),
            ("1-300=0", "the range end is not 0-255"),
            ("TERMINATE=0", "FROM is not a code, range, signal or cause"),
            ("=0", "FROM is not a code, range, signal or cause"),
        ] {
            let error = ExitMap::parse([rule]).unwrap_err();
            assert_eq!(error.reason, reason, "{rule}");
            assert!(error.to_string().contains("e.g. 0=1,TERM=0,lifetime=0"));
        }
    }

    #[test]
    fn no_rule_keeps_every_status() {
        let map = ExitMap::default();
        for natural in 0..=255u8 {
            let end = outcome(Cause::ChildEnded, ChildEnd::Exited(natural));
            assert_eq!(map.apply(end, natural), natural);
        }
    }

    #[test]
    fn review_environment_rules_over_all_codes() {
        // A server that exits 0 must fail; expiry is success; other codes stay.
        let map = ExitMap::parse(["0=1,lifetime=0"]).unwrap();
        for natural in 0..=255u8 {
            let exited = outcome(Cause::ChildEnded, ChildEnd::Exited(natural));
            let expected = if natural == 0 { 1 } else { natural };
            assert_eq!(map.apply(exited, natural), expected);
        }
        let expired = outcome(Cause::Lifetime, ChildEnd::Signaled(15));
        assert_eq!(map.apply(expired, 124), 0);
        let expired_killed = Outcome {
            killed: true,
            ..expired
        };
        assert_eq!(map.apply(expired_killed, 137), 0);
    }

    #[test]
    fn first_matching_rule_wins() {
        let map = ExitMap::parse(["1-10=100", "5=50"]).unwrap();
        let five = outcome(Cause::ChildEnded, ChildEnd::Exited(5));
        assert_eq!(map.apply(five, 5), 100);
    }

    #[test]
    fn causes_match_only_their_own_outcomes() {
        let cases = [
            (
                outcome(Cause::ChildEnded, ChildEnd::Exited(3)),
                3,
                [false, false, true, false],
            ),
            (
                outcome(Cause::ChildEnded, ChildEnd::Signaled(15)),
                143,
                [false, false, false, true],
            ),
            (
                outcome(Cause::Sentinel, ChildEnd::Signaled(15)),
                0,
                [true, false, false, false],
            ),
            (
                outcome(Cause::Lifetime, ChildEnd::Exited(0)),
                124,
                [false, true, false, false],
            ),
        ];
        for (end, natural, expected) in cases {
            for (cause, hit) in ["sentinel", "lifetime", "exited", "signaled"]
                .iter()
                .zip(expected)
            {
                let map = ExitMap::parse([format!("{cause}=200").as_str()]).unwrap();
                assert_eq!(map.apply(end, natural) == 200, hit, "{cause} on {end:?}");
            }
        }
    }

    #[test]
    fn signal_death_matches_the_signal_not_the_code() {
        let map = ExitMap::parse(["TERM=0"]).unwrap();
        let killed = outcome(Cause::ChildEnded, ChildEnd::Signaled(15));
        assert_eq!(map.apply(killed, 143), 0);
        let exited_143 = outcome(Cause::ChildEnded, ChildEnd::Exited(143));
        assert_eq!(map.apply(exited_143, 143), 143);
        let by_143 = ExitMap::parse(["143=0"]).unwrap();
        assert_eq!(by_143.apply(exited_143, 143), 0);
        assert_eq!(by_143.apply(killed, 143), 0);
    }

    proptest! {
        #[test]
        fn never_panics(text in ".*") {
            let _ = ExitMap::parse([text.as_str()]);
        }

        #[test]
        fn code_rules_round_trip(from in 0u8..=255, to in 0u8..=255) {
            let map = ExitMap::parse([format!("{from}={to}").as_str()]).unwrap();
            prop_assert_eq!(map.rules, vec![Rule { from: Match::Code(from), to }]);
        }

        #[test]
        fn mapping_is_total(natural in 0u8..=255, code in 0u8..=255, signal in 1i32..=64) {
            let map = ExitMap::parse(["0=1,2-9=0,TERM=7,sentinel=0,lifetime=0,exited=3,signaled=4"]).unwrap();
            for cause in [
                Cause::ChildEnded,
                Cause::Sentinel,
                Cause::Abandoned,
                Cause::Terminated,
                Cause::Lifetime,
            ] {
                for child in [ChildEnd::Exited(code), ChildEnd::Signaled(signal)] {
                    let status = map.apply(outcome(cause, child), natural);
                    prop_assert!(status == natural || [1, 0, 7, 3, 4].contains(&status));
                }
            }
        }
    }
}
