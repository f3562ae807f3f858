//! The `timeout` mode against the system's GNU coreutils `timeout`, the oracle: every case
//! runs through both, and the exit status (or signal death) their parent sees, the set of
//! signals the command saw and stderr (program name aside) must be the same.

use crate::harness::{Guillotine, PROBE, Track, clean_environment};
use nix::sys::signal::Signal;
use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

const GNU_TIMEOUT: &str = "/usr/bin/timeout";

/// One row of the matrix: `timeout` arguments (`@` stands for the probe) and, optionally,
/// a signal sent to `timeout` itself once the probe is ready.
struct Case {
    args: &'static str,
    poke: Option<Signal>,
}

const fn case(args: &'static str) -> Case {
    Case { args, poke: None }
}

const fn poked(args: &'static str, signal: Signal) -> Case {
    Case {
        args,
        poke: Some(signal),
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Observed {
    /// "exit N" or "signal N", as the parent's waitpid saw it.
    status: String,
    signals_seen: BTreeSet<String>,
    stderr: String,
}

/// How our side is invoked: a link named `timeout`, or `guillotine timeout`.
enum Ours<'a> {
    Multicall(&'a Path),
    Subcommand,
}

fn observe(program: &[&str], display_name: &str, case: &Case, locale: &str) -> Observed {
    let mut command = Command::new(program[0]);
    command.args(&program[1..]);
    for word in case.args.split(' ').filter(|word| !word.is_empty()) {
        command.arg(if word == "@" { PROBE } else { word });
    }
    clean_environment(&mut command);
    command.env("LC_ALL", locale);
    let mut run = Guillotine::spawn(command, Track::ProbePids);
    if let Some(signal) = case.poke {
        run.wait_ready();
        run.signal(signal);
    }
    let status = run.wait_exit_then_kill_group();
    let status = match status.signal() {
        Some(signal) => format!("signal {signal}"),
        None => format!("exit {}", status.code().unwrap()),
    };
    let signals_seen = run
        .stdout()
        .iter()
        .filter_map(|line| line.strip_prefix("signal "))
        .filter_map(|rest| rest.split("name=").nth(1))
        .map(str::to_owned)
        .collect();
    Observed {
        status,
        signals_seen,
        stderr: run.stderr().replace(display_name, "PROG"),
    }
}

/// GNU's answer to a case. Inside this harness (never in a plain loop of the same
/// sequence), GNU `timeout` poked with signal N right after its command started sometimes
/// (about one run of this test in eight) answers "exit 128+N" with the command's report of
/// the signal missing, where it otherwise forwards N, sees the command die of it and dies of
/// N itself. That answer is asked again, up to five times; any other answer is GNU's.
fn observe_gnu(case: &Case, locale: &str) -> Observed {
    let anomaly = |answer: &Observed| {
        case.poke.is_some_and(|signal| {
            answer.status == format!("exit {}", 128 + signal as i32)
                && answer.signals_seen.is_empty()
        })
    };
    let mut answer = observe(&[GNU_TIMEOUT], GNU_TIMEOUT, case, locale);
    for _ in 0..5 {
        if !anomaly(&answer) {
            break;
        }
        answer = observe(&[GNU_TIMEOUT], GNU_TIMEOUT, case, locale);
    }
    answer
}

fn compare(cases: &[Case], ours: Ours) {
    compare_in(cases, ours, "C");
}

/// Compares under `LC_ALL=locale`.
fn compare_in(cases: &[Case], ours: Ours, locale: &str) {
    let link_dir = crate::harness::scratch();
    let link;
    let (our_program, our_name): (Vec<&str>, String) = match ours {
        Ours::Multicall(target) => {
            link = link_dir.path().join("timeout");
            std::os::unix::fs::symlink(target, &link).unwrap();
            (
                vec![link.to_str().unwrap()],
                link.to_str().unwrap().to_owned(),
            )
        }
        Ours::Subcommand => (
            vec![crate::harness::GUILLOTINE, "timeout"],
            "guillotine timeout".to_owned(),
        ),
    };
    let mut mismatches = Vec::new();
    for case in cases {
        let expected = observe_gnu(case, locale);
        let actual = observe(&our_program, &our_name, case, locale);
        if expected != actual {
            mismatches.push(format!(
                "timeout {} (poke {:?})\n  GNU:  {expected:?}\n  ours: {actual:?}",
                case.args, case.poke
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ from GNU timeout:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

#[test]
fn exit_statuses_and_signal_deaths_match_gnu() {
    compare(
        &[
            case("5 @ --exit 0"),
            case("5 @ --exit 3"),
            case("5 @ --exit 255"),
            case("5 @ --die TERM"),
            case("5 @ --die SEGV"),
            case("5 @ --die KILL"),
            case("5 @ --die USR1"),
            case("--preserve-status 5 @ --die INT"),
            case("0 @ --exit 5"),
            case("1e1 @ --exit 0"),
            case("inf @ --exit 0"),
            case("1e999 @ --exit 0"),
            case("-v 5 @ --exit 4"),
        ],
        Ours::Multicall(Path::new(crate::harness::GUILLOTINE)),
    );
}

// The timeout cases each wait half a second in both binaries: split so nextest runs them
// side by side, far from its kill limit on a loaded machine.
#[test]
fn timeouts_in_every_duration_form_match_gnu() {
    compare(
        &[
            case("0.5 @"),
            case("0.5s @"),
            case(".5 @"),
            case("5e-1 @"),
            case("0x1p-1 @"),
            case("0.0083m @"),
        ],
        Ours::Subcommand,
    );
}

#[test]
fn timeouts_with_every_signal_form_match_gnu() {
    compare(
        &[
            case("-s INT 0.5 @"),
            case("-s KILL 0.5 @"),
            case("--signal=HUP 0.5 @"),
            case("-s 10 0.5 @"),
            case("-s 143 0.5 @"),
            case("-s SIGUSR2 0.5 @"),
        ],
        Ours::Subcommand,
    );
}

#[test]
fn timeouts_with_abbreviated_options_and_preserved_status_match_gnu() {
    compare(
        &[
            case("-s usr1 0.5 @"),
            case("-sQUIT 0.5 @"),
            case("--sig=ALRM 0.5 @"),
            case("--preserve-status 0.5 @"),
            case("--pres -s INT 0.5 @"),
        ],
        Ours::Subcommand,
    );
}

#[test]
fn kill_after_and_verbose_match_gnu() {
    compare(
        &[
            case("-k 0.3 0.5 @ --ignore TERM"),
            case("--kill-after=0.3 0.5 @ --ignore TERM"),
            case("-vk 0.3 0.5 @ --ignore TERM"),
            case("-v 0.5 @"),
            case("-v -s 0 -k 0.3 0.5 @"),
            case("-s CONT -k 0.3 0.5 @"),
        ],
        Ours::Subcommand,
    );
}

#[test]
fn foreground_and_kill_signals_match_gnu() {
    compare(
        &[
            case("-v -s RTMIN+1 0.5 @ --ignore-all --exit 0"),
            case("--foreground 0.5 @"),
            case("--foreground -k 0.3 0.5 @ --ignore TERM"),
            case("--foreground -s KILL 0.5 @"),
            case("--preserve-status -s KILL 0.5 @"),
        ],
        Ours::Subcommand,
    );
}

#[test]
fn usage_errors_match_gnu() {
    compare(
        &[
            case(""),
            case("5"),
            case("1x @"),
            case("-1 @"),
            case("-- -1 @"),
            case("nan @"),
            case("1ss @"),
            case("1D @"),
            case("-inf @"),
            case("-s FOO 1 @"),
            case("-s 65 1 @"),
            case("-s 32 1 @"),
            case("-s RTMAX+1 1 @"),
            case("--foo 1 @"),
            case("--foo=bar 1 @"),
            case("-z 1 @"),
            case("-s"),
            case("--signal"),
            case("--verbose=1 1 @"),
            case("--ver 1 @"),
            case("-k x 1 @"),
            case("-k -1 1 @"),
            case("1 no-such-command-xyz"),
            case("1 /etc/passwd"),
            case("1 /tmp"),
            case("1 -- @"),
        ],
        Ours::Multicall(Path::new(crate::harness::GUILLOTINE)),
    );
}

/// GNU quotes with ‘…’ in a UTF-8 locale, and shows printable characters as they are.
#[test]
fn messages_match_gnu_in_a_utf8_locale() {
    compare_in(
        &[
            case("1 /no-such-dir/it's-né"),
            case("1 /etc/passwd"),
            case("-s NOPE 1 @"),
            case("1x @"),
            case("-k é 1 @"),
        ],
        Ours::Subcommand,
        "C.UTF-8",
    );
}

#[test]
fn signals_sent_to_timeout_match_gnu() {
    compare(
        &[
            poked("5 @", Signal::SIGTERM),
            poked("5 @", Signal::SIGINT),
            poked("5 @", Signal::SIGHUP),
            poked("5 @", Signal::SIGQUIT),
            poked("5 @", Signal::SIGALRM),
            poked("5 @", Signal::SIGUSR1),
            poked("-s USR1 5 @", Signal::SIGUSR1),
            poked("-k 0.3 5 @ --ignore TERM", Signal::SIGTERM),
            poked("--foreground 5 @", Signal::SIGTERM),
            poked("-v 5 @", Signal::SIGINT),
        ],
        Ours::Subcommand,
    );
}

/// `-s CHLD`: after the timeout, SIGCHLD is ignored (GNU ignores the signal it sends its
/// group), so the kernel reaps the command and neither GNU nor we see it end. GNU notices on
/// the next signal: "error waiting for command", 124. We must not wait for SIGKILL.
#[test]
fn a_command_reaped_by_the_kernel_after_s_chld_ends_on_the_next_signal_as_with_gnu() {
    let observe = |program: &[&str], name: &str| {
        let mut command = Command::new(program[0]);
        command.args(&program[1..]).args([
            "-s",
            "CHLD",
            "0.1",
            "sh",
            "-c",
            "echo \"child pid=$$\"; sleep 0.3; echo finished",
        ]);
        clean_environment(&mut command);
        command.env("LC_ALL", "C");
        let mut run = Guillotine::spawn(command, Track::ProbePids);
        run.wait_line("finished", |line| line == "finished");
        crate::harness::eventually("the command is gone", crate::harness::DEADLINE, || {
            let left = run.left();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        });
        run.signal(Signal::SIGTERM);
        let status = run.wait_exit();
        (status.code(), run.stderr().replace(name, "PROG"))
    };
    let gnu = observe(&[GNU_TIMEOUT], GNU_TIMEOUT);
    let ours = observe(
        &[crate::harness::GUILLOTINE, "timeout"],
        "guillotine timeout",
    );
    assert_eq!(
        gnu,
        (
            Some(124),
            "PROG: error waiting for command: No child processes\n".to_owned()
        )
    );
    assert_eq!(ours, gnu);
}
