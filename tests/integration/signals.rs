//! Signal forwarding and the child's signal state.

use crate::harness::{Guillotine, PROBE, guillotine};
use nix::sys::signal::Signal;
use std::os::unix::process::CommandExt;

use guillotine::signal::FORWARDED;

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
#[allow(unsafe_code)]
fn child_starts_with_no_blocked_or_ignored_signal() {
    let mut command = guillotine(&["--", "cat", "/proc/self/status"]);
    // SAFETY: the closure runs in the forked test child before exec and only calls
    // async-signal-safe functions (sigprocmask, signal) on stack values.
    unsafe {
        command.pre_exec(|| {
            // Give guillotine a blocked and three ignored signals, as a careless parent might.
            let mut blocked: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut blocked);
            libc::sigaddset(&mut blocked, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &blocked, std::ptr::null_mut());
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::signal(libc::SIGUSR2, libc::SIG_IGN);
            // And a real-time one, which no handler of guillotine's ever covers.
            libc::signal(libc::SIGRTMAX() - 1, libc::SIG_IGN);
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

/// A signal guillotine receives after its child was reaped must not reach a process that
/// merely reuses the child's pid: `Forward` is a killpg(child pid) in every phase.
#[test]
fn a_signal_after_the_child_was_reaped_spares_a_process_reusing_its_pid() {
    // Inside a PID namespace of its own: ns_last_pid makes the reuse deterministic.
    let script = r#"
        set -u
        tmp=$(mktemp -d)
        "$0" --grace 2s -- sh -c "
            setsid sh -c \"trap '' TERM; : > $tmp/armed; exec sleep 3600\" &
            echo \$\$ > $tmp/child
            while [ ! -e $tmp/armed ]; do sleep 0.01; done
            exit 0" 2>$tmp/log &
        g=$!
        until grep -q stopping $tmp/log; do sleep 0.01; done
        child=$(cat $tmp/child)
        echo $((child - 1)) > /proc/sys/kernel/ns_last_pid
        setsid sleep 3600 &
        by=$!
        until [ "$(ps -o pgid= -p $by | tr -d ' ')" = "$child" ]; do sleep 0.01; done
        kill -TERM $g
        wait $g                       # the grace runs out; the forward came long before
        if kill -0 $by; then echo spared; else echo "killed bystander pid $by"; fi
        kill -KILL $by 2>/dev/null; rm -rf $tmp
    "#;
    let mut command = std::process::Command::new("unshare");
    command.args([
        "--pid",
        "--fork",
        "--mount-proc",
        "bash",
        "-c",
        script,
        crate::harness::GUILLOTINE,
    ]);
    crate::harness::clean_environment(&mut command);
    let mut run = crate::harness::Guillotine::spawn(command, crate::harness::Track::Nothing);
    run.wait_exit();
    if run.stdout().last().map(String::as_str) != Some("spared") {
        run.fail("the forwarded TERM reached a process that reused the child's pid");
    }
}
