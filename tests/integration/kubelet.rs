//! On the kubelet's terms: SIGTERM to guillotine (`--on-term stop`, `--term-delay`) and an
//! absolute `--deadline`.

use crate::harness::{
    DEADLINE, Guillotine, PROBE, Sentinel, eventually, field, free_port, scratch, watching,
};
use nix::sys::signal::Signal;
use std::time::{Duration, SystemTime};

/// Waits until guillotine's stderr holds `text`.
fn logged(run: &Guillotine, text: &str) {
    eventually(&format!("guillotine logs {text:?}"), DEADLINE, || {
        let stderr = run.stderr();
        if stderr.contains(text) {
            Ok(())
        } else {
            Err(stderr)
        }
    });
}

fn signals_seen(run: &Guillotine, pid: i32) -> Vec<String> {
    run.stdout()
        .iter()
        .filter(|line| line.starts_with("signal ") && field(line, "pid") == Some(pid))
        .filter_map(|line| line.split("name=").nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn on_term_stop_posts_the_quit_url_first_and_a_child_that_quits_is_never_signalled() {
    let dir = scratch();
    let message = dir.path().join("termination-log");
    std::fs::write(&message, b"").unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/quitquitquit");
    let mut run = Guillotine::start(&[
        "--on-term",
        "stop",
        "--quit-url",
        &url,
        "--termination-log",
        message.to_str().unwrap(),
        "--",
        PROBE,
        "--serve-quit",
        &port.to_string(),
    ]);
    let ready = run.wait_ready();
    run.wait_line("listening", |line| line.starts_with("listening "));
    run.signal(Signal::SIGTERM);
    run.wait_line("quit", |line| line.starts_with("quit "));
    run.expect_exit(143);
    assert_eq!(
        signals_seen(&run, ready.pid),
        Vec::<String>::new(),
        "never signalled"
    );
    let line = std::fs::read_to_string(&message).unwrap();
    assert!(line.contains("stopped on SIGTERM"), "{line}");
    run.assert_nothing_left();
}

#[test]
fn on_term_stop_sends_the_stop_signal_and_terminated_is_remappable() {
    let mut run = Guillotine::start(&[
        "--on-term",
        "stop",
        "--stop-signal",
        "USR1",
        "--exit-map",
        "terminated=0",
        "--",
        PROBE,
    ]);
    let ready = run.wait_ready();
    run.signal(Signal::SIGTERM);
    run.wait_signal_seen(ready.pid, "USR1");
    run.expect_exit(0);
    assert!(
        !signals_seen(&run, ready.pid).contains(&"TERM".to_owned()),
        "TERM itself is not forwarded"
    );
}

#[test]
fn a_second_term_during_the_stop_changes_nothing_and_other_signals_are_still_forwarded() {
    let mut run = Guillotine::start(&[
        "--on-term",
        "stop",
        "--stop-signal",
        "USR1",
        "--grace",
        "60s",
        "--",
        PROBE,
        "--ignore",
        "USR1",
    ]);
    let ready = run.wait_ready();
    run.signal(Signal::SIGTERM);
    run.wait_signal_seen(ready.pid, "USR1");
    run.signal(Signal::SIGTERM);
    // Signals are handled in order: had the second TERM been forwarded, the probe would
    // report it before the INT that follows.
    run.signal(Signal::SIGINT);
    run.wait_signal_seen(ready.pid, "INT");
    run.expect_exit(143);
    // The probe takes pending signals lowest number first, so CONT (after USR1) may come
    // after INT or not at all; what matters is that no TERM ever reached it.
    let seen = signals_seen(&run, ready.pid);
    assert!(
        seen.starts_with(&["USR1".to_owned()]) && seen.contains(&"INT".to_owned()),
        "{seen:?}"
    );
    assert!(
        !seen.contains(&"TERM".to_owned()),
        "TERM was forwarded: {seen:?}"
    );
}

#[test]
fn term_delay_keeps_the_child_running_until_the_main_side_is_done() {
    let done = Sentinel::new();
    let mut run = watching(&done, &["--on-term", "stop", "--term-delay", "60s"], &[]);
    let ready = run.wait_ready();
    run.signal(Signal::SIGTERM);
    logged(&run, "the child runs on until the main side is done");
    assert_eq!(signals_seen(&run, ready.pid), Vec::<String>::new());
    done.touch();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(143);
    run.assert_nothing_left();
}

#[test]
fn term_delay_without_the_main_side_ends_at_its_bound() {
    let done = Sentinel::new();
    let mut run = watching(&done, &["--on-term", "stop", "--term-delay", "300ms"], &[]);
    let ready = run.wait_ready();
    run.signal(Signal::SIGTERM);
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(143);
    let stderr = run.stderr();
    let delayed = stderr.find("the child runs on").expect("the delay is said");
    let stopping = stderr.find("stopping").expect("then the stop");
    assert!(delayed < stopping, "{stderr}");
}

#[test]
fn term_delay_needs_on_term_stop() {
    let mut run = Guillotine::start(&["--term-delay", "5s", "--", "true"]);
    run.expect_exit(125);
    assert!(run.stderr().contains("--term-delay needs --on-term stop"));
}

fn timestamp_in(offset: Duration) -> String {
    guillotine::timestamp::format_timestamp(SystemTime::now() + offset).unwrap()
}

#[test]
fn a_deadline_ends_supervision_as_a_lifetime_does() {
    let deadline = timestamp_in(Duration::from_secs(1));
    let mut run = Guillotine::start(&["--deadline", &deadline, "--", PROBE]);
    let ready = run.wait_ready();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(124);
    run.assert_nothing_left();
}

#[test]
fn a_deadline_already_past_means_the_command_never_runs() {
    let mut run = Guillotine::start(&[
        "--deadline",
        "2000-01-01T00:00:00Z",
        "--exit-map",
        "lifetime=0",
        "--",
        PROBE,
    ]);
    run.expect_exit(0);
    assert_eq!(run.processes_seen(), 0, "the command never ran");
    assert!(run.stderr().contains("the deadline has passed"));
}

#[test]
fn with_a_lifetime_the_earlier_of_the_two_wins() {
    let far = timestamp_in(Duration::from_secs(3600));
    let mut lifetime_first =
        Guillotine::start(&["--lifetime", "1s", "--deadline", &far, "--", PROBE]);
    let ready = lifetime_first.wait_ready();
    lifetime_first.wait_signal_seen(ready.pid, "TERM");
    lifetime_first.expect_exit(124);
    let near = timestamp_in(Duration::from_secs(1));
    let mut deadline_first =
        Guillotine::start(&["--lifetime", "1h", "--deadline", &near, "--", PROBE]);
    let ready = deadline_first.wait_ready();
    deadline_first.wait_signal_seen(ready.pid, "TERM");
    deadline_first.expect_exit(124);
}
