//! Writing sentinels and installing the binary when the world is not kind: several PID-1
//! writers racing on one file (every container's writer is PID 1 of its own namespace), the
//! leftovers of a writer killed mid-write, and a volume that is full, read-only or not a
//! directory at all.

use crate::harness::{
    DEADLINE, GUILLOTINE, Guillotine, Track, as_pid1, clean_environment, eventually, scratch,
};
use std::path::Path;
use std::process::Command;

/// `guillotine ARGS` in a mount namespace of its own, after `setup` (a shell script given
/// DIR as `$1`) has mounted something on DIR there: the host never sees the mount.
fn with_private_mount(dir: &Path, setup: &str, args: &[&str]) -> Guillotine {
    let mut command = Command::new("unshare");
    if !nix::unistd::geteuid().is_root() {
        command.arg("--map-root-user");
    }
    command
        .args(["--mount", "sh", "-c"])
        .arg(format!("{setup} && shift && exec \"$@\""))
        .arg("sh")
        .arg(dir)
        .arg(GUILLOTINE)
        .args(args);
    clean_environment(&mut command);
    Guillotine::spawn(command, Track::Nothing)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn pid1_writers_racing_on_one_sentinel_all_succeed() {
    const ROUNDS: usize = 25;
    for round in 0..ROUNDS {
        let dir = scratch();
        let sentinel = dir.path().join("done");
        let path = sentinel.to_str().unwrap();
        // Three `done` writers and a `run --done`, each PID 1 of its own namespace.
        let mut writers: Vec<(Guillotine, i32)> = (1..=3)
            .map(|code| {
                let code = code.to_string();
                (as_pid1(&["done", "--exit-code", &code, path]), 0)
            })
            .collect();
        writers.push((
            as_pid1(&["run", "--done", path, "--", "sh", "-c", "exit 4"]),
            4,
        ));
        for (writer, status) in &mut writers {
            writer.expect_exit(*status);
        }
        let content = std::fs::read_to_string(&sentinel)
            .unwrap_or_else(|error| panic!("round {round}: no sentinel: {error}"));
        assert!(
            ["1\n", "2\n", "3\n", "4\n"].contains(&content.as_str()),
            "round {round}: {content:?} is not one writer's complete content"
        );
        // `run` leaves its dead-man's lock file beside the sentinel, by design.
        assert_eq!(
            names_in(dir.path()),
            [".done.guillotine-lock", "done"],
            "round {round}: a temporary file was left"
        );
    }
}

#[test]
fn a_stale_temporary_file_of_a_killed_pid1_writer_is_no_obstacle() {
    let dir = scratch();
    let sentinel = dir.path().join("done");
    // What a PID-1 writer killed between open and rename leaves behind.
    let stale = dir.path().join(".done.guillotine-1");
    std::fs::write(&stale, b"half").unwrap();
    as_pid1(&["done", "--exit-code", "3", sentinel.to_str().unwrap()]).expect_exit(0);
    assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "3\n");
    as_pid1(&["run", "--done", sentinel.to_str().unwrap(), "--", "true"]).expect_exit(0);
    assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "0\n");
    assert_eq!(
        std::fs::read(&stale).unwrap(),
        b"half",
        "another writer's file is not ours to remove"
    );
}

fn assert_installed(dir: &Path) {
    assert_eq!(
        std::fs::read(dir.join("guillotine")).unwrap(),
        std::fs::read(GUILLOTINE).unwrap()
    );
    assert_eq!(
        std::fs::read_link(dir.join("timeout")).unwrap(),
        Path::new("guillotine")
    );
}

#[test]
fn pid1_installs_racing_into_one_volume_both_succeed() {
    const ROUNDS: usize = 3;
    for round in 0..ROUNDS {
        let dir = scratch();
        let target = dir.path().to_str().unwrap();
        let mut installs = [as_pid1(&["install", target]), as_pid1(&["install", target])];
        for install in &mut installs {
            install.expect_exit(0);
        }
        assert_installed(dir.path());
        assert_eq!(
            names_in(dir.path()),
            ["guillotine", "timeout"],
            "round {round}: a temporary file was left"
        );
    }
}

#[test]
fn a_retried_install_over_a_killed_ones_leftovers_succeeds() {
    let dir = scratch();
    std::fs::write(dir.path().join(".guillotine.guillotine-1"), b"half").unwrap();
    std::os::unix::fs::symlink("guillotine", dir.path().join(".timeout.guillotine-1")).unwrap();
    as_pid1(&["install", dir.path().to_str().unwrap()]).expect_exit(0);
    assert_installed(dir.path());
}

/// The status `run` and `done` exit with when a sentinel could not be written.
const NOT_WRITTEN: i32 = 123;

fn expect_not_written(mut writer: Guillotine, path: &Path) {
    writer.expect_exit(NOT_WRITTEN);
    let stderr = writer.stderr();
    for part in [
        format!("cannot write the sentinel {}", path.display()),
        "the sidecar will not stop".to_owned(),
    ] {
        assert!(stderr.contains(&part), "stderr {stderr:?} lacks {part:?}");
    }
}

#[test]
fn a_sentinel_under_a_file_is_reported_with_its_own_status() {
    let dir = scratch();
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let sentinel = file.join("done");
    let path = sentinel.to_str().unwrap();
    let run = Guillotine::start(&["run", "--done", path, "--", "true"]);
    expect_not_written(run, &sentinel);
    expect_not_written(Guillotine::start(&["done", path]), &sentinel);
}

#[test]
fn a_sentinel_on_a_read_only_or_full_volume_is_reported_with_its_own_status() {
    for setup in [
        r#"mount -t tmpfs -o ro tmpfs "$1""#,
        r#"mount -t tmpfs -o size=4k tmpfs "$1" && { head -c 4096 /dev/zero > "$1/fill" || true; }"#,
    ] {
        let dir = scratch();
        let sentinel = dir.path().join("done");
        let run = with_private_mount(
            dir.path(),
            setup,
            &["run", "--done", sentinel.to_str().unwrap(), "--", "true"],
        );
        expect_not_written(run, &sentinel);
    }
}

#[test]
fn a_sentinel_write_that_fails_for_a_moment_is_retried() {
    let dir = scratch();
    let blocker = dir.path().join("volume");
    std::fs::write(&blocker, b"").unwrap();
    let sentinel = blocker.join("done");
    let mut run = Guillotine::start(&["run", "--done", sentinel.to_str().unwrap(), "--", "true"]);
    eventually("the first attempt failed", DEADLINE, || {
        let stderr = run.stderr();
        stderr.contains("retrying").then_some(()).ok_or(stderr)
    });
    // The volume becomes usable while guillotine retries.
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir(&blocker).unwrap();
    run.expect_exit(0);
    assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "0\n");
}
