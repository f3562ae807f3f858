//! Signal forwarding and the child's signal state.

use crate::harness::{Guillotine, PROBE, guillotine};
use nix::sys::signal::Signal;
use std::os::unix::process::CommandExt;

use guillotine::sys::signals::FORWARDED;

#[test]
fn the_forwarded_set_covers_what_sidecars_need() {
    for required in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
        Signal::SIGCONT,
    ] {
        assert!(FORWARDED.contains(&required), "{required} is not forwarded");
    }
    assert!(
        !FORWARDED.contains(&Signal::SIGCHLD),
        "CHLD is guillotine's own"
    );
}

fn short(signal: Signal) -> &'static str {
    signal.as_str().trim_start_matches("SIG")
}

#[test]
fn every_forwarded_signal_reaches_the_child() {
    let mut run = Guillotine::start(&["--", PROBE, "--ignore-all"]);
    let ready = run.wait_ready();
    for signal in FORWARDED {
        run.signal(signal);
        run.wait_signal_seen(ready.pid, short(signal));
    }
    // The probe ignores everything it can; only KILL ends it.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(ready.pid), Signal::SIGKILL).unwrap();
    run.expect_exit(128 + 9);
    run.assert_nothing_left();
}

#[test]
fn child_killed_by_a_forwarded_signal_exits_128_plus_n() {
    let lethal = FORWARDED
        .into_iter()
        .filter(|signal| !matches!(signal, Signal::SIGCONT | Signal::SIGWINCH));
    for signal in lethal {
        let mut run = Guillotine::start(&["--", PROBE]);
        let ready = run.wait_ready();
        run.signal(signal);
        run.wait_signal_seen(ready.pid, short(signal));
        run.expect_exit(128 + signal as i32);
        run.assert_nothing_left();
    }
}

#[test]
fn child_starts_with_no_blocked_or_ignored_signal() {
    let mut command = guillotine(&["--", "cat", "/proc/self/status"]);
    // SAFETY: the closure runs in the forked test child before exec and only calls
    // async-signal-safe functions (sigprocmask, signal) on stack values.
    unsafe {
        command.pre_exec(|| {
            // Give guillotine a blocked and two ignored signals, as a careless parent might.
            let mut blocked: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut blocked);
            libc::sigaddset(&mut blocked, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &blocked, std::ptr::null_mut());
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::signal(libc::SIGUSR2, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut run = Guillotine::spawn(command, crate::harness::Track::Nothing);
    run.expect_exit(0);
    for field in ["SigBlk:", "SigIgn:"] {
        let line = run
            .stdout()
            .iter()
            .find(|line| line.starts_with(field))
            .unwrap_or_else(|| run.fail(&format!("no {field} line")))
            .clone();
        let mask = u64::from_str_radix(line[field.len()..].trim(), 16).unwrap();
        assert_eq!(mask, 0, "the child inherited {line}");
    }
}
