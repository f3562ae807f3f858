//! GNU `timeout`'s command line, parsed as its `getopt_long("+k:s:v")` does.
//!
//! Owns: short option clusters (`-vs INT`, `-k1`), long options with unique-prefix
//! abbreviations (`--sig=INT`, `--pres`), `--` and the stop at the first operand, and the
//! exact wording of every usage error. Never: prints, exits or starts anything.

use super::duration::parse_seconds;
use super::signal_names::parse_signal_operand;
use crate::command_line::CommandLine;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// A checked `timeout` command line.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeoutArgs {
    pub options: TimeoutOptions,
    /// COMMAND and its arguments.
    pub command: CommandLine,
}

/// The options of a `timeout` command line, DURATION included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeoutOptions {
    /// DURATION in seconds (0: no timeout; may be infinite).
    pub seconds: f64,
    /// `-k`: seconds after the first signal before KILL (0: never).
    pub kill_after: f64,
    /// `-s`: the signal number sent on timeout (0 is accepted, as GNU does).
    pub signal: i32,
    pub foreground: bool,
    pub preserve_status: bool,
    pub verbose: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Run(TimeoutArgs),
    Help,
    Version,
    /// A usage error: exit 125 after this line (if any) and the "Try --help" line.
    Usage(Option<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    KillAfter,
    Signal,
    Verbose,
    Foreground,
    PreserveStatus,
    Help,
    Version,
}

impl Flag {
    fn takes_value(self) -> bool {
        matches!(self, Flag::KillAfter | Flag::Signal)
    }
}

const LONG: [(&str, Flag); 7] = [
    ("kill-after", Flag::KillAfter),
    ("signal", Flag::Signal),
    ("verbose", Flag::Verbose),
    ("foreground", Flag::Foreground),
    ("preserve-status", Flag::PreserveStatus),
    ("help", Flag::Help),
    ("version", Flag::Version),
];

/// Parses the arguments after the program name.
pub fn parse(args: &[OsString], quotes: Quotes) -> Parsed {
    let mut parsed = TimeoutOptions {
        seconds: 0.0,
        kill_after: 0.0,
        signal: libc::SIGTERM,
        foreground: false,
        preserve_status: false,
        verbose: false,
    };
    let mut index = 0;
    while let Some(arg) = args.get(index) {
        let bytes = arg.as_bytes();
        index += 1;
        if bytes == b"--" {
            break;
        }
        let (flag, value) = if let Some(long) = bytes.strip_prefix(b"--") {
            let (name, inline) = match long.iter().position(|b| *b == b'=') {
                Some(at) => (&long[..at], Some(&long[at + 1..])),
                None => (long, None),
            };
            let (full, flag) = match find_long(name) {
                Ok(found) => found,
                Err(Ambiguity::None) => {
                    return usage(format!("unrecognized option '{}'", lossy(bytes)));
                }
                Err(Ambiguity::Many(names)) => {
                    let list: Vec<String> = names.iter().map(|n| format!("'--{n}'")).collect();
                    return usage(format!(
                        "option '{}' is ambiguous; possibilities: {}",
                        lossy(&bytes[..2 + name.len()]),
                        list.join(" ")
                    ));
                }
            };
            let value = match (flag.takes_value(), inline) {
                (false, Some(_)) => {
                    return usage(format!("option '--{full}' doesn't allow an argument"));
                }
                (false, None) => None,
                (true, Some(value)) => Some(OsStr::from_bytes(value).to_owned()),
                (true, None) => match args.get(index) {
                    Some(value) => {
                        index += 1;
                        Some(value.clone())
                    }
                    None => return usage(format!("option '--{full}' requires an argument")),
                },
            };
            (flag, value)
        } else if bytes.len() > 1 && bytes[0] == b'-' {
            // A cluster of short options: -v, -k DURATION, -s SIGNAL, e.g. -vk1 or -vs INT.
            let mut at = 1;
            let mut result = None;
            while at < bytes.len() {
                let letter = bytes[at];
                at += 1;
                let flag = match letter {
                    b'k' => Flag::KillAfter,
                    b's' => Flag::Signal,
                    b'v' => Flag::Verbose,
                    _ => return usage(format!("invalid option -- '{}'", letter as char)),
                };
                if !flag.takes_value() {
                    if let Err(parsed) = apply(&mut parsed, flag, None, quotes) {
                        return parsed;
                    }
                    continue;
                }
                let value = if at < bytes.len() {
                    OsStr::from_bytes(&bytes[at..]).to_owned()
                } else if let Some(value) = args.get(index) {
                    index += 1;
                    value.clone()
                } else {
                    return usage(format!(
                        "option requires an argument -- '{}'",
                        letter as char
                    ));
                };
                result = Some((flag, Some(value)));
                break;
            }
            match result {
                Some(found) => found,
                None => continue,
            }
        } else {
            // The first operand ends the options ("+" in GNU's option string).
            index -= 1;
            break;
        };
        if let Err(parsed) = apply(&mut parsed, flag, value, quotes) {
            return parsed;
        }
    }
    let operands = &args[index.min(args.len())..];
    if operands.len() < 2 {
        return Parsed::Usage(None);
    }
    parsed.seconds = match duration(&operands[0], quotes) {
        Ok(seconds) => seconds,
        Err(error) => return error,
    };
    match CommandLine::new(operands[1..].iter().cloned()) {
        Some(command) => Parsed::Run(TimeoutArgs {
            options: parsed,
            command,
        }),
        None => Parsed::Usage(None),
    }
}

/// Records one option; an `Err` is the final answer (help, version or a usage error).
fn apply(
    parsed: &mut TimeoutOptions,
    flag: Flag,
    value: Option<OsString>,
    quotes: Quotes,
) -> Result<(), Parsed> {
    match flag {
        Flag::KillAfter => parsed.kill_after = duration(&value.unwrap_or_default(), quotes)?,
        Flag::Signal => {
            let operand = value.unwrap_or_default();
            parsed.signal = parse_signal_operand(&lossy(operand.as_bytes()))
                .filter(|_| operand.to_str().is_some())
                .ok_or_else(|| {
                    Parsed::Usage(Some(format!("{}: invalid signal", quote(&operand, quotes))))
                })?;
        }
        Flag::Verbose => parsed.verbose = true,
        Flag::Foreground => parsed.foreground = true,
        Flag::PreserveStatus => parsed.preserve_status = true,
        Flag::Help => return Err(Parsed::Help),
        Flag::Version => return Err(Parsed::Version),
    }
    Ok(())
}

fn duration(text: &OsStr, quotes: Quotes) -> Result<f64, Parsed> {
    text.to_str().and_then(parse_seconds).ok_or_else(|| {
        Parsed::Usage(Some(format!(
            "invalid time interval {}",
            quote(text, quotes)
        )))
    })
}

enum Ambiguity {
    None,
    Many(Vec<&'static str>),
}

/// An exact name, or the one long option it abbreviates.
fn find_long(name: &[u8]) -> Result<(&'static str, Flag), Ambiguity> {
    if let Some(exact) = LONG.iter().find(|(long, _)| long.as_bytes() == name) {
        return Ok(*exact);
    }
    let matches: Vec<_> = LONG
        .iter()
        .filter(|(long, _)| !name.is_empty() && long.as_bytes().starts_with(name))
        .collect();
    match matches.as_slice() {
        [] => Err(Ambiguity::None),
        [only] => Ok(**only),
        many => Err(Ambiguity::Many(
            many.iter().map(|(long, _)| *long).collect(),
        )),
    }
}

fn usage(message: String) -> Parsed {
    Parsed::Usage(Some(message))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How GNU's `quote()` quotes: it depends on the locale's character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quotes {
    /// The C locale (or a locale that does not exist): 'text', every byte that is not
    /// printable ASCII escaped.
    Ascii,
    /// A UTF-8 locale: ‘text’, printable characters as they are, `'` left alone.
    Utf8,
}

/// Quotes as GNU's `quote()` does: C escapes for control characters, `\\` for a backslash,
/// octal for every other byte that cannot be shown (in ASCII quoting, `'` is escaped too).
pub fn quote(text: &OsStr, quotes: Quotes) -> String {
    let (open, close) = match quotes {
        Quotes::Ascii => ('\'', '\''),
        Quotes::Utf8 => ('\u{2018}', '\u{2019}'),
    };
    let mut quoted = String::from(open);
    for chunk in text.as_bytes().utf8_chunks() {
        for character in chunk.valid().chars() {
            match character {
                '\'' if quotes == Quotes::Ascii => quoted.push_str("\\'"),
                '\\' => quoted.push_str("\\\\"),
                '\u{07}' => quoted.push_str("\\a"),
                '\u{08}' => quoted.push_str("\\b"),
                '\u{0c}' => quoted.push_str("\\f"),
                '\n' => quoted.push_str("\\n"),
                '\r' => quoted.push_str("\\r"),
                '\t' => quoted.push_str("\\t"),
                '\u{0b}' => quoted.push_str("\\v"),
                ' '..='~' => quoted.push(character),
                printable if quotes == Quotes::Utf8 && !printable.is_control() => {
                    quoted.push(printable)
                }
                other => {
                    let mut buffer = [0u8; 4];
                    for byte in other.encode_utf8(&mut buffer).bytes() {
                        quoted.push_str(&format!("\\{byte:03o}"));
                    }
                }
            }
        }
        for byte in chunk.invalid() {
            quoted.push_str(&format!("\\{byte:03o}"));
        }
    }
    quoted.push(close);
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_str(args: &[&str]) -> Parsed {
        parse(
            &args.iter().map(OsString::from).collect::<Vec<_>>(),
            Quotes::Ascii,
        )
    }

    fn run(args: &[&str]) -> TimeoutArgs {
        match parse_str(args) {
            Parsed::Run(parsed) => parsed,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    fn error(args: &[&str]) -> Option<String> {
        match parse_str(args) {
            Parsed::Usage(message) => message,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn options_in_every_spelling() {
        let parsed = run(&[
            "-vs",
            "INT",
            "-k1",
            "--pres",
            "--foreground",
            "2m",
            "cmd",
            "-x",
        ]);
        assert_eq!(parsed.options.signal, 2);
        assert_eq!(parsed.options.kill_after, 1.0);
        assert!(
            parsed.options.verbose && parsed.options.preserve_status && parsed.options.foreground
        );
        assert_eq!(parsed.options.seconds, 120.0);
        assert_eq!(parsed.command, CommandLine::new(["cmd", "-x"]).unwrap());
        assert_eq!(run(&["--sig=HUP", "1", "x"]).options.signal, 1);
        assert_eq!(run(&["--signal", "USR1", "1", "x"]).options.signal, 10);
        assert_eq!(run(&["--kill-after=2", "1", "x"]).options.kill_after, 2.0);
        assert_eq!(run(&["-sKILL", "1", "x"]).options.signal, 9);
    }

    #[test]
    fn options_stop_at_the_first_operand_or_double_dash() {
        assert_eq!(
            run(&["1", "-v", "x"]).command,
            CommandLine::new(["-v", "x"]).unwrap()
        );
        assert!(!run(&["1", "-v", "x"]).options.verbose);
        assert_eq!(
            run(&["0.2", "--", "sleep"]).command,
            CommandLine::new(["--", "sleep"]).unwrap()
        );
        assert_eq!(run(&["--", "1", "x"]).options.seconds, 1.0);
        assert_eq!(
            error(&["--", "-1", "x"]).unwrap(),
            "invalid time interval '-1'"
        );
    }

    #[test]
    fn usage_errors_word_for_word() {
        for (args, message) in [
            (&["-1", "x"][..], "invalid option -- '1'"),
            (&["-z", "1", "x"], "invalid option -- 'z'"),
            (&["-s"], "option requires an argument -- 's'"),
            (&["--foo", "1", "x"], "unrecognized option '--foo'"),
            (&["--foo=3", "1", "x"], "unrecognized option '--foo=3'"),
            (&["--signal"], "option '--signal' requires an argument"),
            (
                &["--verbose=1", "1", "x"],
                "option '--verbose' doesn't allow an argument",
            ),
            (
                &["--ver", "1", "x"],
                "option '--ver' is ambiguous; possibilities: '--verbose' '--version'",
            ),
            (&["-s", "FOO", "1", "x"], "'FOO': invalid signal"),
            (&["-k", "x", "1", "x"], "invalid time interval 'x'"),
            (&["1x", "x"], "invalid time interval '1x'"),
            (&["a'b", "x"], r"invalid time interval 'a\'b'"),
        ] {
            assert_eq!(error(args).as_deref(), Some(message), "{args:?}");
        }
        assert_eq!(error(&[]), None);
        assert_eq!(error(&["5"]), None);
        assert_eq!(error(&["1m"]), None);
    }

    #[test]
    fn help_and_version_win_where_they_stand() {
        assert_eq!(parse_str(&["--help", "--bogus"]), Parsed::Help);
        assert_eq!(parse_str(&["--vers"]), Parsed::Version);
        assert!(matches!(
            parse_str(&["--bogus", "--help"]),
            Parsed::Usage(Some(_))
        ));
        assert!(matches!(parse_str(&["-h"]), Parsed::Usage(Some(_))));
    }

    #[test]
    fn quoting_matches_gnu_in_the_c_locale() {
        for (text, quoted) in [
            ("a b", "'a b'"),
            ("a\"b", "'a\"b'"),
            ("a\\b", r"'a\\b'"),
            ("a\tb\n", r"'a\tb\n'"),
            ("é", r"'\303\251'"),
            ("it's", r"'it\'s'"),
        ] {
            assert_eq!(quote(OsStr::new(text), Quotes::Ascii), quoted);
        }
    }

    /// Each case as GNU coreutils 9.1 printed it under LC_ALL=C.UTF-8.
    #[test]
    fn quoting_matches_gnu_in_a_utf8_locale() {
        use std::os::unix::ffi::OsStrExt;
        for (text, quoted) in [
            (&b"/no'pe"[..], "\u{2018}/no'pe\u{2019}"),
            (b"/no\\pe", "\u{2018}/no\\\\pe\u{2019}"),
            ("/né ü".as_bytes(), "\u{2018}/né ü\u{2019}"),
            (b"/a\tb", "\u{2018}/a\\tb\u{2019}"),
            (b"/x\xffy", "\u{2018}/x\\377y\u{2019}"),
            (
                "/a\u{2018}b\u{2019}c".as_bytes(),
                "\u{2018}/a\u{2018}b\u{2019}c\u{2019}",
            ),
            (b"/a\x01", "\u{2018}/a\\001\u{2019}"),
        ] {
            assert_eq!(
                quote(OsStr::from_bytes(text), Quotes::Utf8),
                quoted,
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(args in proptest::collection::vec(".*", 0..6)) {
            let _ = parse(
                &args.into_iter().map(OsString::from).collect::<Vec<_>>(),
                Quotes::Ascii,
            );
        }
    }
}
