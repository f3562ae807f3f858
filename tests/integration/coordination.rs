//! More than two containers, and main containers that cannot write their sentinel: the
//! dead-man's lock, `--watch-all`, the supervisor's own `--done` (chains) and
//! `install --reset`.

use crate::harness::{DEADLINE, Guillotine, PROBE, SeenProcess, eventually, scratch};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::path::Path;

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A sidecar watching `sentinel`; an abandonment exits 3, so the cause shows in the status.
fn sidecar(options: &[&str]) -> Guillotine {
    let mut args = vec!["--exit-map", "abandoned=3"];
    args.extend_from_slice(options);
    args.extend_from_slice(&["--", PROBE]);
    Guillotine::start(&args)
}

/// `guillotine run --done SENTINEL [OPTIONS] -- COMMAND...`.
fn main_container(sentinel: &Path, options: &[&str], command: &[&str]) -> Guillotine {
    let mut args = vec!["run", "--done", arg(sentinel)];
    args.extend_from_slice(options);
    args.push("--");
    args.extend_from_slice(command);
    Guillotine::start(&args)
}

/// An OOM kill on cgroup v2: every process of the container dies of SIGKILL at once —
/// guillotine's group and, when it runs one, its child's (`child_group`).
fn kill_container(run: &mut Guillotine, child_group: Option<i32>) {
    for group in std::iter::once(run.pid()).chain(child_group) {
        killpg(Pid::from_raw(group), Signal::SIGKILL).expect("kill the container");
    }
    let status = run.wait_exit();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
}

/// Waits until `run` holds its dead-man's lock (its lock file exists).
fn holds_lock(sentinel: &Path) {
    let lock = guillotine::deadman::companion(sentinel);
    eventually("the lock file is published", DEADLINE, || {
        if lock.exists() {
            Ok(())
        } else {
            Err(format!("no {}", lock.display()))
        }
    });
}

#[test]
fn a_main_container_killed_whole_stops_the_sidecar_as_abandoned() {
    let dir = scratch();
    let sentinel = dir.path().join("done");
    let message = dir.path().join("termination-log");
    std::fs::write(&message, b"").unwrap();
    let mut sidecar = sidecar(&[
        "--watch",
        arg(&sentinel),
        "--termination-log",
        arg(&message),
    ]);
    let ready = sidecar.wait_ready();
    let mut main = main_container(&sentinel, &[], &[PROBE]);
    let main_child = main.wait_ready().pgid;
    holds_lock(&sentinel);
    kill_container(&mut main, Some(main_child));
    sidecar.wait_signal_seen(ready.pid, "TERM");
    sidecar.expect_exit(3);
    sidecar.assert_nothing_left();
    assert!(!sentinel.exists(), "nobody wrote the sentinel");
    let line = std::fs::read_to_string(&message).unwrap();
    assert!(
        line.contains("the main container ended without writing the sentinel"),
        "{line}"
    );
}

#[test]
fn under_done_on_success_a_killed_main_container_leaves_the_sidecar_running() {
    // restartPolicy OnFailure: the kubelet restarts the main container in place, and it
    // needs the sidecar. Its successful restart then stops the sidecar by the sentinel.
    let dir = scratch();
    let sentinel = dir.path().join("done");
    let mut sidecar = sidecar(&["--watch", arg(&sentinel)]);
    sidecar.wait_ready();
    let mut first = main_container(&sentinel, &["--done-on", "success"], &[PROBE]);
    let first_child = first.wait_ready().pgid;
    holds_lock(&sentinel);
    kill_container(&mut first, Some(first_child));
    let mut restarted = main_container(&sentinel, &["--done-on", "success"], &["true"]);
    restarted.expect_exit(0);
    // 0, not 3: the sidecar was still running, and the sentinel stopped it.
    sidecar.expect_exit(0);
    sidecar.assert_nothing_left();
}

#[test]
fn a_main_container_gone_before_the_sidecar_starts_means_the_command_never_runs() {
    let dir = scratch();
    let sentinel = dir.path().join("done");
    let mut main = main_container(&sentinel, &[], &[PROBE]);
    let main_child = main.wait_ready().pgid;
    holds_lock(&sentinel);
    kill_container(&mut main, Some(main_child));
    let mut sidecar = sidecar(&["--watch", arg(&sentinel)]);
    sidecar.expect_exit(3);
    assert_eq!(sidecar.processes_seen(), 0, "the command never ran");
}

#[test]
fn a_sidecar_started_first_waits_for_a_main_container_that_has_not_started() {
    // No lock file yet: nothing is abandoned; the main container then starts and dies.
    let dir = scratch();
    let sentinel = dir.path().join("done");
    let mut sidecar = sidecar(&["--watch", arg(&sentinel)]);
    let ready = sidecar.wait_ready();
    let mut main = main_container(&sentinel, &[], &[PROBE]);
    let main_child = main.wait_ready().pgid;
    holds_lock(&sentinel);
    kill_container(&mut main, Some(main_child));
    sidecar.wait_signal_seen(ready.pid, "TERM");
    sidecar.expect_exit(3);
}

#[test]
fn two_main_containers_sharing_a_sentinel_both_must_be_gone() {
    let dir = scratch();
    let sentinel = dir.path().join("done");
    let mut sidecar = sidecar(&["--watch", arg(&sentinel)]);
    sidecar.wait_ready();
    let mut killed = main_container(&sentinel, &[], &[PROBE]);
    let killed_child = killed.wait_ready().pgid;
    let mut survivor = main_container(&sentinel, &[], &[PROBE, "--ignore", "USR1"]);
    let survivor_ready = survivor.wait_ready();
    holds_lock(&sentinel);
    kill_container(&mut killed, Some(killed_child));
    // The survivor still holds the lock; it now ends well and writes the sentinel.
    nix::sys::signal::kill(Pid::from_raw(survivor_ready.pid), Signal::SIGUSR2).unwrap();
    survivor.expect_exit(140);
    sidecar.expect_exit(0);
    sidecar.assert_nothing_left();
}

#[test]
fn watch_all_waits_for_every_main_container() {
    let dir = scratch();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let mut sidecar = sidecar(&["--watch-all", arg(&first), "--watch-all", arg(&second)]);
    let ready = sidecar.wait_ready();
    main_container(&first, &[], &["true"]).expect_exit(0);
    let mut slow = main_container(&second, &[], &[PROBE]);
    let slow_ready = slow.wait_ready();
    // One of two is done: the sidecar runs on.
    assert!(first.exists());
    nix::sys::signal::kill(Pid::from_raw(slow_ready.pid), Signal::SIGTERM).unwrap();
    slow.expect_exit(143);
    sidecar.wait_signal_seen(ready.pid, "TERM");
    sidecar.expect_exit(0);
    sidecar.assert_nothing_left();
}

#[test]
fn watch_all_counts_a_killed_main_container_as_done() {
    let dir = scratch();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let mut sidecar = sidecar(&["--watch-all", arg(&first), "--watch-all", arg(&second)]);
    sidecar.wait_ready();
    let mut killed = main_container(&second, &[], &[PROBE]);
    let killed_child = killed.wait_ready().pgid;
    holds_lock(&second);
    kill_container(&mut killed, Some(killed_child));
    main_container(&first, &[], &["true"]).expect_exit(0);
    sidecar.expect_exit(3);
}

/// app (main) → shipper (`--watch app --done shipper`) → proxy (`--watch shipper`).
struct Chain {
    app: std::path::PathBuf,
    shipper_done: std::path::PathBuf,
    shipper: Guillotine,
    shipper_pid: i32,
    proxy: Guillotine,
    proxy_pid: i32,
    _dir: tempfile::TempDir,
}

fn chain() -> Chain {
    let dir = scratch();
    let app = dir.path().join("app");
    let shipper_done = dir.path().join("shipper");
    let mut proxy = sidecar(&["--watch", arg(&shipper_done)]);
    let proxy_pid = proxy.wait_ready().pid;
    let mut shipper = sidecar(&["--watch", arg(&app), "--done", arg(&shipper_done)]);
    let shipper_pid = shipper.wait_ready().pid;
    holds_lock(&shipper_done);
    Chain {
        app,
        shipper_done,
        shipper,
        shipper_pid,
        proxy,
        proxy_pid,
        _dir: dir,
    }
}

#[test]
fn a_chain_of_three_stops_in_order() {
    let mut chain = chain();
    let shipper_child = SeenProcess::find(chain.shipper_pid).unwrap();
    main_container(&chain.app, &[], &["true"]).expect_exit(0);
    chain.shipper.wait_signal_seen(chain.shipper_pid, "TERM");
    chain.proxy.wait_signal_seen(chain.proxy_pid, "TERM");
    // The proxy is asked to stop only once the shipper's child is gone.
    assert_eq!(shipper_child.state(), None, "the shipper still ran");
    chain.shipper.expect_exit(0);
    assert_eq!(
        std::fs::read_to_string(&chain.shipper_done).unwrap(),
        "0\n",
        "the shipper's status"
    );
    chain.proxy.expect_exit(0);
    chain.proxy.assert_nothing_left();
}

#[test]
fn a_chain_survives_a_killed_middle_link() {
    let mut chain = chain();
    let shipper_child = chain.shipper_pid;
    kill_container(&mut chain.shipper, Some(shipper_child));
    chain.proxy.wait_signal_seen(chain.proxy_pid, "TERM");
    chain.proxy.expect_exit(3);
    chain.proxy.assert_nothing_left();
    assert!(!chain.app.exists());
}

#[test]
fn install_reset_removes_a_stale_sentinel_and_its_lock() {
    let dir = scratch();
    let sentinel = dir.path().join("lifecycle/done");
    // What a previous run of the pod left: a written sentinel and the lock of a main
    // container that is gone.
    main_container(&sentinel, &[], &["true"]).expect_exit(0);
    let lock = guillotine::deadman::companion(&sentinel);
    assert!(sentinel.exists() && lock.exists());
    let tools = dir.path().join("tools");
    let mut install = Guillotine::start(&["install", arg(&tools), "--reset", arg(&sentinel)]);
    install.expect_exit(0);
    assert!(!sentinel.exists() && !lock.exists());
    // The restarted pod's sidecar runs its command again.
    let mut sidecar = sidecar(&["--watch", arg(&sentinel)]);
    sidecar.wait_ready();
    main_container(&sentinel, &[], &["true"]).expect_exit(0);
    sidecar.expect_exit(0);
    // Nothing there is not an error.
    Guillotine::start(&[
        "install",
        arg(&tools),
        "--reset",
        arg(&sentinel),
        "--reset",
        "/nowhere/x",
    ])
    .expect_exit(0);
}
