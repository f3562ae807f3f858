//! The stop sequence: stop signal, grace, SIGKILL; orphans; what a child leaves behind.

use crate::harness::{Guillotine, PROBE, Sentinel, field, watching};
use std::time::{Duration, Instant};

#[test]
fn child_ignoring_term_is_killed_after_grace() {
    let done = Sentinel::new();
    let mut run = watching(&done, &["--grace", "500ms"], &["--ignore", "TERM"]);
    let ready = run.wait_ready();
    let touched = Instant::now();
    done.touch();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(0);
    let took = touched.elapsed();
    assert!(
        took >= Duration::from_millis(500),
        "SIGKILL came before the grace ended: {took:?}"
    );
    assert!(
        took < Duration::from_millis(500) + Duration::from_secs(3),
        "too slow: {took:?}"
    );
    run.assert_nothing_left();
    // The escalation is a warning naming what was still running, and "stopping" is said
    // before the signal goes out, not after.
    let stderr = run.stderr();
    let escalation = stderr
        .lines()
        .find(|line| line.contains("the grace period ran out"))
        .unwrap_or_else(|| run.fail("no line about the grace running out"));
    assert!(
        escalation.contains("WARN") && escalation.contains(&format!("[{}]", ready.pid)),
        "{escalation}"
    );
    let stopping = stderr.find("stopping").expect("a stopping line");
    let signalled = stderr.find("sent signal").expect("a sent-signal line");
    assert!(stopping < signalled, "{stderr}");
}

#[test]
fn stop_signal_option_is_used() {
    let done = Sentinel::new();
    let mut run = watching(&done, &["--stop-signal", "SIGUSR2"], &[]);
    let ready = run.wait_ready();
    done.touch();
    run.wait_signal_seen(ready.pid, "USR2");
    run.expect_exit(0);
}

#[test]
fn orphans_that_left_the_group_get_the_stop_sequence() {
    let done = Sentinel::new();
    let mut run = watching(
        &done,
        &["--grace", "500ms"],
        &["--orphan", "--orphan-workers", "2", "--ignore", "TERM"],
    );
    let ready = run.wait_ready();
    let orphan = run.wait_line("orphan", |line| line.starts_with("orphan "));
    let orphan_pid = field(&orphan, "pid").unwrap();
    assert_ne!(
        field(&orphan, "pgid"),
        Some(ready.pgid),
        "the orphan left the group"
    );
    let worker = run.wait_line("a worker", |line| line.starts_with("worker "));
    let second_worker = run.wait_line("a second worker", |line| {
        line.starts_with("worker ") && line != worker
    });
    done.touch();
    // Everyone (here: ignoring TERM) sees the stop signal, then dies of SIGKILL.
    run.wait_signal_seen(orphan_pid, "TERM");
    for worker in [&worker, &second_worker] {
        run.wait_signal_seen(field(worker, "pid").unwrap(), "TERM");
    }
    run.expect_exit(0);
    assert_eq!(run.processes_seen(), 4);
    run.assert_nothing_left();
}

#[test]
fn child_exit_stops_what_it_left_behind_and_keeps_its_status() {
    // A daemonizing server: the command forks a process into a session of its own and
    // exits. guillotine says so, naming what was left, and stops it.
    let mut run = Guillotine::start(&["--grace", "5s", "--", PROBE, "--orphan", "--exit", "3"]);
    let orphan = run.wait_line("orphan", |line| line.starts_with("orphan "));
    let orphan = field(&orphan, "pid").unwrap();
    run.wait_signal_seen(orphan, "TERM");
    run.expect_exit(3);
    run.assert_nothing_left();
    let stderr = run.stderr();
    let warning = stderr
        .lines()
        .find(|line| line.contains("WARN") && line.contains("left processes running"))
        .unwrap_or_else(|| run.fail("no warning about the processes left behind"));
    assert!(
        warning.contains(&format!("[{orphan}]")) && warning.contains("foreground"),
        "the warning names the process and the fix: {warning}"
    );
}

#[test]
fn orphans_are_reaped_as_subreaper() {
    let mut run = Guillotine::start(&["--", PROBE, "--orphan", "--orphan-exits"]);
    run.wait_ready();
    let adopted = run.wait_line("adopted", |line| line.starts_with("adopted "));
    assert_eq!(
        field(&adopted, "ppid"),
        Some(run.pid()),
        "the orphan was re-parented to guillotine"
    );
    // It has exited: only guillotine reaping it makes it vanish from /proc.
    let orphan = field(&adopted, "pid").unwrap();
    crate::harness::eventually("the orphan is reaped", crate::harness::DEADLINE, || {
        match std::fs::read_to_string(format!("/proc/{orphan}/stat")) {
            Err(_) => Ok(()),
            Ok(stat) => Err(stat),
        }
    });
    run.signal(nix::sys::signal::Signal::SIGTERM);
    run.expect_exit(143);
}

/// The `link` lines of a `--chain` probe: (pid, ppid), in the order they started.
fn links(run: &mut Guillotine, count: usize) -> Vec<(i32, i32)> {
    let mut links = Vec::new();
    while links.len() < count {
        let line = run.wait_line("a chain link", |line| {
            line.starts_with("link ")
                && !links
                    .iter()
                    .any(|(pid, _)| field(line, "pid") == Some(*pid))
        });
        let pid = field(&line, "pid").unwrap();
        assert_eq!(field(&line, "pgid"), Some(pid), "each link leads a session");
        links.push((pid, field(&line, "ppid").unwrap()));
    }
    links
}

#[test]
fn processes_adopted_during_the_stop_get_the_stop_signal_too() {
    // child → link 1 → link 2 → link 3, each in a session of its own: the stop signal to
    // the child's group reaches none of the links; each is adopted only when its parent has
    // died of the stop signal, and must get it then, not SIGKILL after the grace period.
    let done = Sentinel::new();
    let mut run = watching(&done, &["--grace", "5s"], &["--chain", "3"]);
    let ready = run.wait_ready();
    let links = links(&mut run, 3);
    done.touch();
    run.wait_signal_seen(ready.pid, "TERM");
    for (pid, _) in &links {
        run.wait_signal_seen(*pid, "TERM");
    }
    run.expect_exit(0);
    assert!(
        !run.stdout().iter().any(|line| line.ends_with("name=KILL")),
        "nothing needed SIGKILL"
    );
    run.assert_nothing_left();
}

#[test]
fn sigkill_reaches_a_tree_three_sessions_deep() {
    // Every link ignores TERM. The old rule signalled adopted orphans once per phase, so
    // links adopted after SIGKILL went out (link 2 is adopted only once link 1 has died of
    // it) were left running.
    let done = Sentinel::new();
    let mut run = watching(
        &done,
        &["--grace", "300ms"],
        &["--ignore", "TERM", "--chain", "3"],
    );
    run.wait_ready();
    links(&mut run, 3);
    done.touch();
    run.expect_exit(0);
    assert!(
        !run.stderr().contains("survived SIGKILL"),
        "nothing survives SIGKILL: {}",
        run.stderr()
    );
    run.assert_nothing_left();
}

#[test]
fn a_lifetime_stop_that_reached_a_late_adoption_in_time_is_124() {
    let mut run = Guillotine::start(&[
        "--lifetime",
        "1s",
        "--grace",
        "5s",
        "--",
        PROBE,
        "--chain",
        "2",
    ]);
    run.wait_ready();
    let links = links(&mut run, 2);
    for (pid, _) in &links {
        run.wait_signal_seen(*pid, "TERM");
    }
    run.expect_exit(124);
    run.assert_nothing_left();
}

#[test]
fn a_stopped_child_is_continued_after_the_stop_signal() {
    // A SIGSTOPped child only acts on TERM once continued; without CONT it would take the
    // whole grace period and SIGKILL (137 where GNU timeout gives 124).
    let mut run = Guillotine::start(&["--lifetime", "1s", "--grace", "5s", "--", PROBE]);
    let ready = run.wait_ready();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ready.pid),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let probe = crate::harness::SeenProcess::find(ready.pid).unwrap();
    crate::harness::eventually(
        "the child is stopped",
        crate::harness::DEADLINE,
        || match probe.state() {
            Some('T') => Ok(()),
            state => Err(format!("{state:?}")),
        },
    );
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(124);
    run.assert_nothing_left();
}
