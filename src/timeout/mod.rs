//! `timeout` mode: a drop-in for GNU coreutils `timeout` (as Debian ships it, 9.x), reached
//! as `guillotine timeout …` or through a link or copy of the binary named `timeout`.
//!
//! Owns: everything GNU-shaped — the option grammar and messages ([`args`]), DURATION
//! ([`duration`]), signal operands and names ([`signal_names`]), the behaviour on timeout and
//! on signals ([`machine`]) and its event loop ([`run`]). Where GNU's behaviour and its
//! documentation disagree, this follows the behaviour. No `--exit-map` here: the exit
//! statuses are exactly GNU's.
//! Never: shares the supervisor's policies (own group for the child, clean signal state,
//! waiting for orphans): a drop-in must behave as the original does.

pub mod args;
pub mod duration;
pub mod machine;
pub mod run;
pub mod signal_names;

use std::ffi::OsString;
use std::path::Path;

use crate::exit::Ending;

/// How guillotine was asked to be `timeout`: the name for messages and the arguments after
/// it. None: this is not a `timeout` invocation.
pub fn invocation(mut argv: Vec<OsString>) -> Option<(String, Vec<OsString>)> {
    let zeroth = argv.first()?;
    let called_timeout = Path::new(zeroth)
        .file_name()
        .is_some_and(|name| name == "timeout");
    if called_timeout {
        // GNU names itself by argv[0] as given, path and all.
        let program = zeroth.to_string_lossy().into_owned();
        argv.remove(0);
        return Some((program, argv));
    }
    if argv.get(1).is_some_and(|first| first == "timeout") {
        return Some(("guillotine timeout".to_owned(), argv.split_off(2)));
    }
    None
}

/// Runs the `timeout` mode to its end, printing usage errors, help and version as GNU does.
pub fn main(program: &str, argv: &[OsString]) -> Ending {
    let quotes = if crate::sys::locale::is_utf8() {
        args::Quotes::Utf8
    } else {
        args::Quotes::Ascii
    };
    match args::parse(argv, quotes) {
        args::Parsed::Run(parsed) => run::run(parsed, program, quotes),
        args::Parsed::Help => {
            print!("{}", help(program));
            Ending::Exit(0)
        }
        args::Parsed::Version => {
            println!("timeout (guillotine) {}", env!("CARGO_PKG_VERSION"));
            Ending::Exit(0)
        }
        args::Parsed::Usage(message) => {
            if let Some(message) = message {
                eprintln!("{program}: {message}");
            }
            eprintln!("Try '{program} --help' for more information.");
            Ending::Exit(crate::exit::status::USAGE)
        }
    }
}

fn help(program: &str) -> String {
    format!(
        "\
Usage: {program} [OPTION] DURATION COMMAND [ARG]...
  or:  {program} [OPTION]
Run COMMAND; if it still runs after DURATION, send it a signal (guillotine's drop-in for
GNU coreutils timeout: same options, same exit statuses).

      --preserve-status  on timeout, exit with COMMAND's own status instead of 124
      --foreground       leave COMMAND in the caller's process group, so it can read
                           the terminal and get its signals; only COMMAND itself is
                           signalled, not the processes it starts
  -k, --kill-after=DURATION
                         send KILL if COMMAND still runs DURATION after the first signal
  -s, --signal=SIGNAL    the signal sent on timeout (default TERM): a name such as HUP
                           or a number (see kill -l)
  -v, --verbose          say on stderr which signal is sent on timeout
      --help             show this help and exit
      --version          show the version and exit

DURATION is a floating-point number with an optional unit: s (seconds, the default),
m (minutes), h (hours) or d (days). 0 disables the timeout.

Exit status:
  124  COMMAND timed out (and --preserve-status was not given)
  125  timeout itself failed (bad usage)
  126  COMMAND was found but could not be run
  127  COMMAND was not found
  137  COMMAND (or timeout itself) was killed by KILL (128+9)
  -    otherwise COMMAND's own status; if a signal killed it, timeout dies of the same signal
"
    )
}
