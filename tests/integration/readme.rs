//! The README documents every option and variable that `--help` shows, so they cannot drift.

use crate::harness::Guillotine;

#[test]
fn readme_lists_every_option_and_variable_of_help() {
    for help in [
        &["--help"][..],
        &["run", "--help"],
        &["done", "--help"],
        &["install", "--help"],
        &["completions", "--help"],
        &["quit", "--help"],
        &["timeout", "--help"],
    ] {
        readme_documents(help);
    }
}

fn readme_documents(help_argv: &[&str]) {
    let mut run = Guillotine::start(help_argv);
    run.expect_exit(0);
    let all = run.stdout().join("\n");
    // The options part: the examples below it mention the sidecars' own flags.
    let help = all.split("Examples:").next().unwrap();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let documented: Vec<&str> = help
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '=' | '(' | ')' | ';'))
        .filter(|word| {
            (word.starts_with("--") && word.len() > 2) || word.starts_with("GUILLOTINE_")
        })
        .collect();
    assert!(!documented.is_empty(), "help lists options: {documented:?}");
    let missing: Vec<&&str> = documented
        .iter()
        .filter(|word| !matches!(**word, "--help" | "--version"))
        .filter(|word| !readme.contains(**word))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document {missing:?}"
    );
}

/// The README and `--help` state the termination message's budget; both must be the
/// constant the code enforces.
#[test]
fn readme_and_help_state_the_termination_budget() {
    let budget = format!("{} bytes", guillotine::termination::BUDGET);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let row = readme
        .lines()
        .find(|line| line.starts_with("| `--termination-log"))
        .expect("README has a --termination-log row");
    assert!(row.contains(&budget), "README row lacks {budget:?}: {row}");
    let mut run = Guillotine::start(&["--help"]);
    run.expect_exit(0);
    let help = run.stdout().join(" ");
    let option = &help[help.find("--termination-log").expect("help lists it")..];
    let option = &option[..option
        .find("[env:")
        .expect("the option ends with its variable")];
    assert!(
        option
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&budget),
        "--help lacks {budget:?}: {option}"
    );
}
