//! Sentinel detection: after start, before start, in a directory that does not exist yet,
//! with inotify and with polling.

use crate::harness::{
    DEADLINE, GUILLOTINE, Guillotine, PROBE, Sentinel, Track, clean_environment, eventually,
    guillotine, scratch, watching,
};
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
    let done = Sentinel::new();
    // A user namespace of its own whose inotify instance limit is 0 (user_namespaces(7),
    // /proc/sys/user/max_inotify_instances: per namespace, and its root may lower it), so
    // inotify_init fails with EMFILE as under a full fs.inotify.max_user_instances. (A low
    // RLIMIT_NOFILE no longer works: guillotine needs one descriptor for inotify and the
    // spawn needs two after it, so no limit stops the first and lets the others through.)
    let mut command = Command::new("unshare");
    command.args(["--user", "--map-root-user", "sh", "-c"]).arg(format!(
        "echo 0 > /proc/sys/user/max_inotify_instances && exec {GUILLOTINE} --watch '{}' -- {PROBE}",
        done.arg()
    ));
    clean_environment(&mut command);
    let mut run = Guillotine::spawn(command, Track::ProbePids);
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

/// Starts `guillotine --watch W... --interval 3600 -- PROBE`: a polling fallback would see
/// nothing within the test's deadline, so detection proves the watch itself saw the change
/// (inotify mode has no timer of its own).
fn watching_only_events(sentinels: &[&Path]) -> Guillotine {
    let mut args = Vec::new();
    for sentinel in sentinels {
        args.extend(["--watch", sentinel.to_str().expect("a UTF-8 path")]);
    }
    args.extend(["--interval", "3600", "--", PROBE]);
    Guillotine::start(&args)
}

/// Waits until guillotine has moved a sentinel's watch down to `directory` (its debug log
/// says so), so that the next step tests the watch and not a race with the move.
fn wait_watch_moved_to(run: &Guillotine, directory: &Path) {
    let wanted = format!("to={}", directory.display());
    eventually(
        &format!("guillotine watches {directory:?}"),
        DEADLINE,
        || {
            let stderr = run.stderr();
            let moved =
                |line: &str| line.contains("sentinel watch moved") && line.ends_with(&wanted);
            if stderr.lines().any(moved) {
                Ok(())
            } else {
                Err(stderr)
            }
        },
    );
}

fn stops_on_sentinel(mut run: Guillotine, ready: crate::harness::Ready) {
    run.wait_signal_seen(ready.pid, "TERM");
    run.expect_exit(0);
    run.assert_nothing_left();
}

/// Issue 10, defect 5: two sentinels share the directory `m`; when `m/x` appears the second
/// one's watch moves down, and that must not remove the watch the first one still needs.
#[test]
fn moving_one_sentinels_watch_keeps_the_directory_another_needs() {
    let dir = scratch();
    let m = dir.path().join("m");
    std::fs::create_dir(&m).unwrap();
    let mut run = watching_only_events(&[&m.join("done2"), &m.join("x/done")]);
    let ready = run.wait_ready();
    std::fs::create_dir(m.join("x")).unwrap();
    wait_watch_moved_to(&run, &m.join("x"));
    touch(&m.join("done2"));
    stops_on_sentinel(run, ready);
}

/// The watched directory is removed and created again (a new inode at the same path).
#[test]
fn sentinel_in_a_directory_removed_and_recreated() {
    let dir = scratch();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let mut run = watching_only_events(&[&shared.join("done")]);
    let ready = run.wait_ready();
    std::fs::remove_dir(&shared).unwrap();
    std::fs::create_dir(&shared).unwrap();
    touch(&shared.join("done"));
    stops_on_sentinel(run, ready);
}

/// An ancestor of the watched directory is renamed away (the watch follows the inode to its
/// new name) and a new one is made at the old path.
#[test]
fn sentinel_after_an_ancestor_is_renamed_away_and_replaced() {
    let dir = scratch();
    let shared = dir.path().join("a/b");
    std::fs::create_dir_all(&shared).unwrap();
    let mut run = watching_only_events(&[&shared.join("done")]);
    let ready = run.wait_ready();
    std::fs::rename(dir.path().join("a"), dir.path().join("old")).unwrap();
    std::fs::create_dir_all(&shared).unwrap();
    touch(&shared.join("done"));
    stops_on_sentinel(run, ready);
}

/// How Kubernetes updates ConfigMap, Secret and downward-API volumes: `done -> ..data/done`,
/// `..data -> ..2026_x`; an update writes a new timestamped directory, points a new symlink
/// at it and renames that over `..data`.
fn kubernetes_volume(dir: &Path) {
    std::fs::create_dir(dir.join("..2026_x")).unwrap();
    std::os::unix::fs::symlink("..2026_x", dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/done", dir.join("done")).unwrap();
}

fn kubernetes_update(dir: &Path) {
    std::fs::create_dir(dir.join("..2026_y")).unwrap();
    touch(&dir.join("..2026_y/done"));
    std::os::unix::fs::symlink("..2026_y", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
}

#[test]
fn sentinel_behind_a_kubernetes_atomic_symlink_swap() {
    let dir = scratch();
    kubernetes_volume(dir.path());
    let mut run = watching_only_events(&[&dir.path().join("done")]);
    let ready = run.wait_ready();
    kubernetes_update(dir.path());
    stops_on_sentinel(run, ready);
}

/// The same swap, with the sentinel named through the swapped symlink: the watched directory
/// (`..2026_x`) is not where the file appears.
#[test]
fn sentinel_through_a_swapped_directory_symlink() {
    let dir = scratch();
    kubernetes_volume(dir.path());
    let mut run = watching_only_events(&[&dir.path().join("..data/done")]);
    let ready = run.wait_ready();
    kubernetes_update(dir.path());
    stops_on_sentinel(run, ready);
}

/// guillotine in a private mount namespace of its own (`unshare --mount`), and a way to run a
/// command in it: mounts made there are invisible to the host and vanish with guillotine.
fn in_private_mount_namespace(args: &[&str]) -> Guillotine {
    let mut command = Command::new("unshare");
    if !nix::unistd::geteuid().is_root() {
        command.arg("--map-root-user");
    }
    // Without --fork, unshare execs guillotine: the pid we spawn is guillotine's.
    command
        .args(["--mount", "--propagation", "private", GUILLOTINE])
        .args(args);
    clean_environment(&mut command);
    Guillotine::spawn(command, Track::ProbePids)
}

fn in_namespace_of(run: &Guillotine, script: &str) {
    let mut command = Command::new("nsenter");
    command.args(["--target", &run.pid().to_string()]);
    if !nix::unistd::geteuid().is_root() {
        command.arg("--user");
    }
    let status = command
        .args(["--mount", "sh", "-c", script])
        .status()
        .expect("run nsenter");
    assert!(status.success(), "{script}: {status}");
}

/// A tmpfs mounted over the watched directory hides the watched inode: inotify says nothing,
/// the mount table does. Then the same after the unmount.
#[test]
fn sentinel_in_a_mount_over_the_watched_directory_and_after_its_unmount() {
    let dir = scratch();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let done = shared.join("done");
    let quoted = |path: &Path| format!("'{}'", path.display());
    for unmount_first in [false, true] {
        let mut run = in_private_mount_namespace(&[
            "--watch",
            done.to_str().unwrap(),
            "--interval",
            "3600",
            "--",
            PROBE,
        ]);
        let ready = run.wait_ready();
        in_namespace_of(&run, &format!("mount -t tmpfs tmpfs {}", quoted(&shared)));
        if unmount_first {
            // Wait until guillotine has followed the mount, so the unmount is what it must
            // notice next.
            wait_mount_seen(&run);
            in_namespace_of(&run, &format!("umount {}", quoted(&shared)));
        }
        in_namespace_of(&run, &format!("touch {}", quoted(&done)));
        stops_on_sentinel(run, ready);
        // Inside the mount it was written where the host does not see it; after the
        // unmount, into the directory the host shares.
        assert_eq!(
            done.exists(),
            unmount_first,
            "where the sentinel was written"
        );
    }
}

fn wait_mount_seen(run: &Guillotine) {
    eventually("guillotine re-arms after the mount", DEADLINE, || {
        let stderr = run.stderr();
        if stderr.contains("the mount table changed") {
            Ok(())
        } else {
            Err(stderr)
        }
    });
}

#[test]
fn a_sentinel_in_a_directory_guillotine_may_search_but_not_read_is_polled_for() {
    // inotify needs read permission on the directory; stat of the sentinel needs only
    // search permission. guillotine runs as nobody, the directory is root's, mode 0711.
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::harness::scratch();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o711)).unwrap();
    let sentinel = shared.join("done");
    let mut command = std::process::Command::new("setpriv");
    command.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        crate::harness::GUILLOTINE,
        "--watch",
        sentinel.to_str().unwrap(),
        "--",
        "sleep",
        "3600",
    ]);
    crate::harness::clean_environment(&mut command);
    let mut run = Guillotine::spawn(command, crate::harness::Track::Nothing);
    eventually("guillotine says it polls", DEADLINE, || {
        let stderr = run.stderr();
        if stderr.contains("child started") {
            Ok(())
        } else {
            Err(stderr)
        }
    });
    touch(&sentinel);
    run.expect_exit(0);
    assert!(
        run.stderr().contains("polling for sentinels instead"),
        "{}",
        run.stderr()
    );
}
