//! # kubectl-guillotine — wires guillotine into Kubernetes manifests
//!
//! `kubectl guillotine inject` (a kubectl plugin by its name) and a Helm post-renderer (no
//! subcommand: standard input to standard output) in one executable, kept out of the
//! sidecar binary: it is this workspace member's own.
//!
//! ## Theory of operation
//! 1. The command line becomes validated [`config::Options`] (guillotine's own grammars
//!    check every value handed to it).
//! 2. Every input is split into documents ([`stream`]); each is read into an ordered
//!    [`value::Value`].
//! 3. [`manifest`] finds the pod template of each Job, CronJob and Pod (also inside a
//!    List); [`pod`] wires it — or unwires it from the record inject left in it.
//! 4. Only when every document succeeded is anything written: unchanged documents as the
//!    text they were read from, changed ones serialised anew. One failing document fails the
//!    run with nothing on standard output, so a Helm post-renderer never half-applies.
//!
//! ## Layout
//! `main.rs` is the table of contents and the only place that does I/O; everything here is
//! pure and tested without a process.

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod config;
pub mod manifest;
pub mod pod;
pub mod stream;
pub mod value;

use manifest::Action;
use stream::Output;

/// One input: its name for messages (`-` for standard input) and its text.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub text: String,
}

/// A successful run: the stream to write, and notes for standard error.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub output: String,
    pub notes: Vec<String>,
}

/// Wires (or unwires) every document of every input. Errors are one line each, naming the
/// input, the document and the object; any error means nothing may be written.
pub fn transform(inputs: &[Input], action: Action<'_>) -> Result<Written, Vec<String>> {
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        match stream::parse(&input.text) {
            Ok(parsed) => documents.extend(
                parsed
                    .into_iter()
                    .enumerate()
                    .map(|(at, d)| (&input.name, at + 1, d)),
            ),
            Err(e) => errors.push(format!(
                "{}: document {}: not YAML: {}; fix the YAML",
                input.name, e.index, e.message
            )),
        }
    }
    let mut notes = Vec::new();
    let mut changes = Vec::new();
    for (name, index, document) in &documents {
        let Some(value) = &document.value else {
            changes.push(None);
            continue;
        };
        match manifest::process(value, action) {
            Ok(report) => {
                notes.extend(
                    report
                        .notes
                        .into_iter()
                        .map(|n| format!("{name}: document {index}: {n}")),
                );
                changes.push(report.changed);
            }
            Err(lines) => {
                errors.extend(
                    lines
                        .into_iter()
                        .map(|l| format!("{name}: document {index}: {l}")),
                );
                changes.push(None);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let outputs: Vec<Output<'_>> = documents
        .iter()
        .zip(changes)
        .map(|((_, _, document), change)| match change {
            Some(value) => Output::Changed(document, value),
            None => Output::Unchanged(document),
        })
        .collect();
    let output = stream::write(&outputs)
        .map_err(|e| vec![format!("cannot write the result as YAML: {e}")])?;
    Ok(Written { output, notes })
}
