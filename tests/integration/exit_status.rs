//! Exit status passthrough: every code and signal deaths.

use crate::harness::{Guillotine, PROBE};

#[test]
fn every_exit_code_passes_through() {
    for code in 0..=255 {
        let mut run = Guillotine::start(&["--", PROBE, "--exit", &code.to_string()]);
        run.expect_exit(code);
    }
}

#[test]
fn signal_deaths_become_128_plus_n() {
    for (name, number) in [
        ("KILL", 9),
        ("SEGV", 11),
        ("ABRT", 6),
        ("TERM", 15),
        ("USR1", 10),
    ] {
        let mut run = Guillotine::start(&["--", PROBE, "--die", name]);
        run.expect_exit(128 + number);
    }
}

#[test]
fn a_real_time_signal_death_is_not_lost() {
    // SIGRTMIN+2 is 36 with glibc: 128 + 36.
    let mut run = Guillotine::start(&["--", "sh", "-c", "kill -s RTMIN+2 $$"]);
    let status = run.wait_exit();
    let expected = 128 + libc::SIGRTMIN() + 2;
    assert_eq!(status.code(), Some(expected), "stderr: {}", run.stderr());
}
