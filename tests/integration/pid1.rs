//! guillotine as PID 1 of a PID namespace, as in a container: `unshare --pid --fork
//! --mount-proc`. Needs root, or unprivileged user namespaces (then `--map-root-user`).

use crate::harness::{DEADLINE, Guillotine, PROBE, as_pid1, eventually};
use nix::sys::signal::Signal;

/// guillotine's pid on the host: the one child of `unshare`.
fn host_pid_of_guillotine(run: &Guillotine) -> i32 {
    let mut found = None;
    eventually("unshare has forked guillotine", DEADLINE, || {
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", run.pid()))
            .map_err(|error| error.to_string())?;
        found = children
            .split_whitespace()
            .next()
            .and_then(|pid| pid.parse().ok());
        found.map(|_| ()).ok_or(children)
    });
    found.unwrap()
}

#[test]
fn term_to_pid1_reaches_the_child() {
    let mut run = as_pid1(&["--", PROBE]);
    let ready = run.wait_ready();
    assert_eq!(
        ready.pid, 2,
        "guillotine is PID 1 and the probe its first child"
    );
    let guillotine = host_pid_of_guillotine(&run);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(guillotine), Signal::SIGTERM).unwrap();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(143);
}

#[test]
fn orphans_are_reaped_as_pid1() {
    let mut run = as_pid1(&["--", PROBE, "--orphan", "--orphan-exits"]);
    run.wait_ready();
    let adopted = run.wait_line("adopted", |line| line.starts_with("adopted "));
    assert_eq!(
        crate::harness::field(&adopted, "ppid"),
        Some(1),
        "adopted by PID 1"
    );
    let guillotine = host_pid_of_guillotine(&run);
    // The orphan has exited; unless guillotine reaps it, it stays its zombie child.
    eventually("guillotine has no zombie child", DEADLINE, || {
        let zombies = crate::harness::children_in_state(guillotine, 'Z');
        if zombies.is_empty() {
            Ok(())
        } else {
            Err(format!("zombies {zombies:?}"))
        }
    });
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(guillotine), Signal::SIGTERM).unwrap();
    run.expect_exit(143);
}

#[test]
fn sentinel_stops_everything_as_pid1() {
    let dir = crate::harness::scratch();
    let done = dir.path().join("done");
    let mut run = as_pid1(&[
        "--watch",
        done.to_str().unwrap(),
        "--grace",
        "300ms",
        "--",
        PROBE,
        "--orphan",
        "--ignore",
        "TERM",
    ]);
    let ready = run.wait_ready();
    let orphan = run.wait_line("orphan", |line| line.starts_with("orphan "));
    std::fs::write(&done, b"").unwrap();
    run.wait_signal_seen(ready.pid, "TERM");
    run.wait_signal_seen(crate::harness::field(&orphan, "pid").unwrap(), "TERM");
    run.expect_exit(0);
}

/// guillotine as PID 1 of a namespace whose /proc is the host's: the stop must still reach
/// the child (or guillotine must refuse to start), not a tree read from the host's pid 1.
#[test]
fn pid1_with_a_foreign_proc_still_stops_its_child() {
    let mut command = std::process::Command::new("unshare");
    command.args([
        "--pid",
        "--fork",
        crate::harness::GUILLOTINE,
        "--lifetime",
        "300ms",
        "--grace",
        "1s",
        "--",
        crate::harness::PROBE,
    ]);
    crate::harness::clean_environment(&mut command);
    let mut run = crate::harness::Guillotine::spawn(command, crate::harness::Track::Nothing);
    run.wait_ready();
    let status = run.wait_exit();
    if status.code() != Some(124) {
        run.fail(&format!(
            "expected 124 (the child stopped by TERM); got {status:?}"
        ));
    }
}
