//! `--lifetime` and `--exit-map` on the supervisor.

use crate::harness::{Guillotine, PROBE};
use nix::sys::signal::Signal;

#[test]
fn lifetime_expiry_stops_the_child_and_exits_124() {
    let mut run = Guillotine::start(&["--lifetime", "300ms", "--", PROBE, "--grandchildren", "1"]);
    let ready = run.wait_ready();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(124);
    run.assert_nothing_left();
}

#[test]
fn lifetime_expiry_that_needs_sigkill_exits_137() {
    let mut run = Guillotine::start(&[
        "--lifetime",
        "200ms",
        "--grace",
        "200ms",
        "--",
        PROBE,
        "--ignore",
        "TERM",
    ]);
    let ready = run.wait_ready();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(137);
    run.assert_nothing_left();
}

#[test]
fn review_environment_completes_at_expiry_and_fails_on_exit_zero() {
    let rules = "0=1,lifetime=0";
    let mut expired = Guillotine::start(&["--lifetime", "200ms", "--exit-map", rules, "--", PROBE]);
    expired.expect_exit(0);
    let mut exited_zero = Guillotine::start(&["--exit-map", rules, "--", PROBE, "--exit", "0"]);
    exited_zero.expect_exit(1);
    let mut crashed = Guillotine::start(&["--exit-map", rules, "--", PROBE, "--exit", "3"]);
    crashed.expect_exit(3);
}

#[test]
fn proxy_killed_by_forwarded_term_can_count_as_success() {
    let mut run = Guillotine::start(&["--exit-map", "TERM=0", "--", PROBE]);
    let ready = run.wait_ready();
    run.signal(Signal::SIGTERM);
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(0);
}

#[test]
fn exit_map_from_the_environment() {
    let mut command = crate::harness::guillotine(&["--", PROBE, "--exit", "143"]);
    command.env("GUILLOTINE_EXIT_MAP", "143=0");
    let mut run = Guillotine::spawn(command, crate::harness::Track::ProbePids);
    run.expect_exit(0);
}

#[test]
fn the_longest_lifetime_and_grace_never_overflow_after_the_child_started() {
    // u64::MAX seconds: adding them to the clock overflowed and aborted guillotine (134),
    // leaving the child running. Too long to ever end means never.
    let done = crate::harness::Sentinel::new();
    let longest = "18446744073709551615s";
    let mut run =
        crate::harness::watching(&done, &["--lifetime", longest, "--grace", longest], &[]);
    let ready = run.wait_ready();
    done.touch();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(0);
    run.assert_nothing_left();
}
