//! Usage and setup errors: a clear one-line message and the documented status.

use crate::harness::{Guillotine, scratch};

fn expect_error(args: &[&str], code: i32, message: &str) {
    let mut run = Guillotine::start(args);
    run.expect_exit(code);
    let stderr = run.stderr();
    assert!(
        stderr.contains(message),
        "stderr {stderr:?} lacks {message:?}"
    );
    let own: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("guillotine: "))
        .collect();
    assert_eq!(own.len(), 1, "one line of error: {stderr:?}");
}

#[test]
fn no_command_is_a_usage_error() {
    expect_error(
        &[],
        125,
        "no command given; usage: guillotine [OPTIONS] [--] COMMAND",
    );
}

#[test]
fn unknown_option_is_a_usage_error() {
    expect_error(
        &["--frobnicate", "true"],
        125,
        "unexpected argument '--frobnicate' found",
    );
}

#[test]
fn command_not_found_is_127() {
    expect_error(&["--", "no-such-command-xyz"], 127, "command not found");
}

#[test]
fn command_not_executable_is_126() {
    let dir = scratch();
    let script = dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    expect_error(&["--", script.to_str().unwrap()], 126, "permission denied");
}

#[test]
fn watch_pointing_at_a_directory_is_a_usage_error() {
    let dir = scratch();
    expect_error(
        &["--watch", dir.path().to_str().unwrap(), "--", "true"],
        125,
        "is a directory; name the file the main container will create",
    );
}

#[test]
fn bad_grace_is_a_usage_error() {
    expect_error(
        &["--grace", "14x", "--", "true"],
        125,
        r#"--grace: "14x" is not a duration; use e.g. 90s, 15m, 14d"#,
    );
}

#[test]
fn help_shows_examples_and_exits_zero() {
    let mut run = Guillotine::start(&["--help"]);
    run.expect_exit(0);
    let help = run.stdout().join("\n");
    assert!(
        help.contains("Examples:") && help.contains("GUILLOTINE_GRACE"),
        "{help}"
    );
}

#[test]
fn bad_exit_map_rule_shows_the_accepted_forms() {
    expect_error(
        &["--exit-map", "0=1,always=0", "--", "true"],
        125,
        r#""always=0" is not an exit-map rule: FROM is not a code, range, signal or cause; use FROM=TO"#,
    );
}

#[test]
fn a_missing_required_argument_is_named() {
    expect_error(
        &["run"],
        125,
        "the following required arguments were not provided: --done <PATH>, <COMMAND>...; see 'guillotine run --help'",
    );
}

#[test]
fn negative_values_are_bad_values_not_unknown_options() {
    expect_error(
        &["--grace", "-5", "true"],
        125,
        r#"--grace: "-5" is not a duration"#,
    );
    expect_error(
        &["done", "--exit-code", "-1", "/nowhere/done"],
        125,
        "invalid value '-1' for '--exit-code <N>'",
    );
}

#[test]
fn an_empty_variable_is_named_not_the_option_it_stands_for() {
    let mut command = crate::harness::guillotine(&["--", "true"]);
    command.env("GUILLOTINE_WATCHED_FILE", "");
    let mut run = Guillotine::spawn(command, crate::harness::Track::Nothing);
    run.expect_exit(125);
    assert!(
        run.stderr().contains(
            "the environment variable GUILLOTINE_WATCHED_FILE (--watch) is set but empty"
        ),
        "{}",
        run.stderr()
    );
}
