//! Sentinel detection: after start, before start, in a directory that does not exist yet,
//! with inotify and with polling.

use crate::harness::{Guillotine, PROBE, Sentinel, guillotine, scratch, watching};
use std::path::Path;
use std::process::Command;

fn touch(path: &Path) {
    std::fs::write(path, b"").expect("write the sentinel");
}

#[test]
fn sentinel_after_start_stops_child_and_grandchildren() {
    let done = Sentinel::new();
    let mut run = watching(&done, &[], &["--grandchildren", "2"]);
    let ready = run.wait_ready();
    let first = run.wait_line("first grandchild", |line| line.starts_with("grandchild "));
    let second = run.wait_line("second grandchild", |line| {
        line.starts_with("grandchild ") && line != first
    });
    done.touch();
    run.wait_signal_seen(ready.pid, "TERM");
    for grandchild in [&first, &second] {
        let pid = crate::harness::field(grandchild, "pid").unwrap();
        assert_eq!(crate::harness::field(grandchild, "pgid"), Some(ready.pgid));
        run.wait_signal_seen(pid, "TERM");
    }
    run.expect_exit(0);
    assert_eq!(run.processes_seen(), 3);
    run.assert_nothing_left();
}

#[test]
fn sentinel_before_start_never_spawns() {
    let done = Sentinel::new();
    done.touch();
    let mut run = watching(&done, &[], &[]);
    run.expect_exit(0);
    assert!(
        run.stdout().is_empty(),
        "the command ran: {:?}",
        run.stdout()
    );
    assert!(
        run.stderr().contains("sentinel already exists"),
        "stderr says why: {}",
        run.stderr()
    );
}

/// The main container creates the shared directory only later: `mkdir -p a/b; touch a/b/done`.
fn directory_created_after_start(extra: &[&str]) {
    let dir = scratch();
    let done = dir.path().join("a/b/done");
    let mut args = vec!["--watch", done.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", PROBE]);
    let mut run = Guillotine::start(&args);
    let ready = run.wait_ready();
    std::fs::create_dir_all(done.parent().unwrap()).unwrap();
    touch(&done);
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(0);
    run.assert_nothing_left();
}

#[test]
fn sentinel_directory_created_after_start_inotify() {
    directory_created_after_start(&[]);
}

#[test]
fn sentinel_directory_created_after_start_polling() {
    directory_created_after_start(&["--poll", "50ms"]);
}

#[test]
fn any_of_several_sentinels_triggers() {
    let dir = scratch();
    let first = dir.path().join("first");
    let second = dir.path().join("other/second");
    let mut run = Guillotine::start(&[
        "--watch",
        first.to_str().unwrap(),
        "--watch",
        second.to_str().unwrap(),
        "--",
        PROBE,
    ]);
    let ready = run.wait_ready();
    std::fs::create_dir(dir.path().join("other")).unwrap();
    touch(&second);
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(0);
}

#[test]
fn aktsk_environment_variables_are_accepted_and_interval_keeps_inotify() {
    let done = Sentinel::new();
    let mut command: Command = guillotine(&["--", PROBE]);
    // An hour-long poll interval would never see the sentinel within the test's deadline:
    // detection here proves inotify stayed on.
    command
        .env("GUILLOTINE_WATCHED_FILE", &done.path)
        .env("GUILLOTINE_INTERVAL", "3600");
    let mut run = Guillotine::spawn(command, crate::harness::Track::ProbePids);
    let ready = run.wait_ready();
    done.touch();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(0);
}

#[test]
fn without_inotify_guillotine_falls_back_to_polling_and_says_so() {
    use std::os::unix::process::CommandExt;
    let done = Sentinel::new();
    let mut command = guillotine(&["--watch", done.arg(), "--", PROBE]);
    // SAFETY: runs in the forked test child before exec; close_range and setrlimit are
    // plain syscalls on integers and a stack value.
    unsafe {
        command.pre_exec(|| {
            // With only 10 descriptors, guillotine's signal pipe and event loop fit, but
            // the inotify watcher's own descriptors do not: inotify "cannot be set up".
            libc::close_range(3, u32::MAX, 0);
            let limit = libc::rlimit {
                rlim_cur: 10,
                rlim_max: 10,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            Ok(())
        });
    }
    let mut run = Guillotine::spawn(command, crate::harness::Track::ProbePids);
    let ready = run.wait_ready();
    done.touch();
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(0);
    assert!(
        run.stderr()
            .contains("inotify is not available; polling for sentinels instead"),
        "stderr: {}",
        run.stderr()
    );
}
