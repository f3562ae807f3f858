//! Writing sentinels and installing the binary when the world is not kind: several PID-1
//! writers racing on one file (every container's writer is PID 1 of its own namespace) and
//! the leftovers of a writer killed mid-write.

use crate::harness::{GUILLOTINE, Guillotine, Track, clean_environment, scratch};
use std::path::Path;
use std::process::Command;

/// `guillotine ARGS` as PID 1 of a new PID namespace, as in a container.
fn as_pid1(args: &[&str]) -> Guillotine {
    let mut command = Command::new("unshare");
    if !nix::unistd::geteuid().is_root() {
        command.arg("--map-root-user");
    }
    command
        .args(["--pid", "--fork", "--mount-proc", GUILLOTINE])
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
        assert_eq!(
            names_in(dir.path()),
            ["done"],
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
