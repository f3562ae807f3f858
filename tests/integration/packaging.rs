//! What ships with the binary: its version and shell completions.

use crate::harness::Guillotine;

#[test]
fn version_names_the_git_revision() {
    let mut run = Guillotine::start(&["--version"]);
    run.expect_exit(0);
    let line = &run.stdout()[0];
    assert!(
        line.starts_with(concat!("guillotine ", env!("CARGO_PKG_VERSION"), " (git ")),
        "{line}"
    );
}

#[test]
fn completions_cover_options_and_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let mut run = Guillotine::start(&["completions", shell]);
        run.expect_exit(0);
        let script = run.stdout().join("\n");
        for word in ["watch", "lifetime", "exit-map", "wait-for", "done-on"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let mut bad = Guillotine::start(&["completions", "tcsh"]);
    bad.expect_exit(125);
}
