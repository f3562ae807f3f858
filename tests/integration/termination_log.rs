//! The termination message file: what the child wrote stays, `none` writes nothing, and a
//! path that is not a plain file (a symlink, a FIFO) is never written through or waited on.

use crate::harness::{Guillotine, Track, guillotine, scratch};
use guillotine::termination::BUDGET;
use std::path::Path;

fn contents(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn child_message_is_kept_and_guillotine_line_follows_it() {
    let dir = scratch();
    let log = dir.path().join("termination-log");
    let log_arg = log.to_str().unwrap();
    // The child writes its own message, without a final newline, as many programs do.
    let mut run = Guillotine::start(&[
        "--termination-log",
        log_arg,
        "--",
        "sh",
        "-c",
        "printf 'migration 42 failed' > \"$1\"; exit 3",
        "sh",
        log_arg,
    ]);
    run.expect_exit(3);
    let message = contents(&log);
    let (child, ours) = message
        .split_once('\n')
        .unwrap_or_else(|| panic!("two lines expected: {message:?}"));
    assert_eq!(child, "migration 42 failed");
    assert!(
        ours.starts_with("guillotine: the child ended by itself after ")
            && ours.ends_with("; exit status 3; command sh\n"),
        "{message:?}"
    );
    assert!(message.len() <= BUDGET, "{}", message.len());
}

#[test]
fn child_message_that_leaves_no_room_is_left_alone() {
    let dir = scratch();
    let log = dir.path().join("termination-log");
    let log_arg = log.to_str().unwrap();
    let theirs = format!("{}\n", "x".repeat(BUDGET - 20));
    std::fs::write(dir.path().join("theirs"), &theirs).unwrap();
    let mut run = Guillotine::start(&[
        "--termination-log",
        log_arg,
        "--",
        "sh",
        "-c",
        "cat \"$1/theirs\" > \"$1/termination-log\"",
        "sh",
        dir.path().to_str().unwrap(),
    ]);
    run.expect_exit(0);
    assert_eq!(contents(&log), theirs);
}

#[test]
fn none_writes_nothing() {
    let dir = scratch();
    let mut command = guillotine(&["--termination-log", "none", "--", "true"]);
    command.current_dir(dir.path());
    Guillotine::spawn(command, Track::Nothing).expect_exit(0);
    let mut command = guillotine(&["--", "true"]);
    command
        .current_dir(dir.path())
        .env("GUILLOTINE_TERMINATION_LOG", "none");
    Guillotine::spawn(command, Track::Nothing).expect_exit(0);
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[test]
fn symlink_at_the_path_is_not_followed() {
    let dir = scratch();
    let target = dir.path().join("precious");
    std::fs::write(&target, "someone else's data\n").unwrap();
    let link = dir.path().join("termination-log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let dangling = dir.path().join("dangling-log");
    std::os::unix::fs::symlink(dir.path().join("created-through-link"), &dangling).unwrap();
    for path in [&link, &dangling] {
        let mut run =
            Guillotine::start(&["--termination-log", path.to_str().unwrap(), "--", "true"]);
        run.expect_exit(0);
        assert!(
            run.stderr()
                .contains("cannot write the termination message"),
            "{}",
            run.stderr()
        );
    }
    assert_eq!(contents(&target), "someone else's data\n");
    assert_eq!(
        entries(dir.path()),
        ["dangling-log", "precious", "termination-log"]
    );
}

#[test]
fn fifo_at_the_path_does_not_hang_the_exit() {
    let dir = scratch();
    let fifo = dir.path().join("termination-log");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo: {made}");
    // Nobody reads the FIFO: a blocking open would wait forever. The harness's deadline
    // fails the test long before that.
    let mut run = Guillotine::start(&["--termination-log", fifo.to_str().unwrap(), "--", "true"]);
    run.expect_exit(0);
    assert!(
        run.stderr()
            .contains("cannot write the termination message"),
        "{}",
        run.stderr()
    );
}

#[test]
fn character_device_at_the_path_is_written() {
    let mut run = Guillotine::start(&["--termination-log", "/dev/null", "--", "true"]);
    run.expect_exit(0);
    assert!(
        !run.stderr()
            .contains("cannot write the termination message"),
        "{}",
        run.stderr()
    );
}
