//! Kubernetes objects: which documents are wired and where their pod template is.
//!
//! Owns: the kinds inject touches (`Job`: `spec.template`, `CronJob`:
//! `spec.jobTemplate.spec.template`, `Pod`: the object itself, and those inside a `List`),
//! naming an object in messages (`Job/migrate`, `List item 2: Job/migrate`), and what is
//! said about objects left as they are.
//! Never: changes a document of any other kind (it is written back as it was read), or
//! decides how a pod is wired ([`crate::pod`]).

use crate::config::Options;
use crate::pod::{self, Outcome, Owner};
use crate::value::{Map, Value};

#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    Inject(&'a Options),
    Undo,
}

/// What became of one document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The new document, when it changed.
    pub changed: Option<Value>,
    /// What the user should know about objects left as they were (one line each).
    pub notes: Vec<String>,
}

/// `Kind/name` (or `Kind/generateName*`, or `Kind` alone).
pub fn object_name(value: &Value) -> String {
    let kind = value.get_str("kind").unwrap_or("(no kind)");
    let metadata = value.get("metadata");
    match (
        metadata.and_then(|m| m.get_str("name")),
        metadata.and_then(|m| m.get_str("generateName")),
    ) {
        (Some(name), _) => format!("{kind}/{name}"),
        (None, Some(prefix)) => format!("{kind}/{prefix}*"),
        (None, None) => kind.to_owned(),
    }
}

fn template_path(kind: &str) -> Option<(&'static [&'static str], Owner)> {
    match kind {
        "Pod" => Some((&[], Owner::Pod)),
        "Job" => Some((&["spec", "template"], Owner::Job)),
        "CronJob" => Some((&["spec", "jobTemplate", "spec", "template"], Owner::Job)),
        _ => None,
    }
}

fn is_wired_kind(value: &Value) -> bool {
    value.get_str("kind").and_then(template_path).is_some()
}

/// Wires (or unwires) one Job, CronJob or Pod in place. Errors name what to fix.
fn one(object: &mut Value, action: Action<'_>) -> Result<Option<String>, String> {
    let name = object_name(object);
    let Some((path, owner)) = object.get_str("kind").and_then(template_path) else {
        return Ok(None);
    };
    let mut template = &mut *object;
    for (at, key) in path.iter().enumerate() {
        template = template
            .get_mut(key)
            .ok_or_else(|| format!("{name}: has no {}", path[..=at].join(".")))?;
    }
    let template: &mut Map = template
        .as_map_mut()
        .ok_or_else(|| format!("{name}: {} is not a mapping", path.join(".")))?;
    let outcome = match action {
        Action::Inject(options) => pod::inject(template, owner, options),
        Action::Undo => pod::undo(template),
    }
    .map_err(|why| format!("{name}: {why}"))?;
    Ok(match outcome {
        Outcome::Injected | Outcome::Undone | Outcome::NotInjected => None,
        Outcome::NoSidecars => Some(format!(
            "{name}: no container is named a sidecar (annotation {} or --sidecar); left as it is",
            pod::SIDECARS_ANNOTATION
        )),
        Outcome::AlreadyInjected { version } => Some(format!(
            "{name}: already wired (guillotine/injected: {version}); left as it is (uninject, then inject, to wire it anew)"
        )),
    })
}

/// Wires (or unwires) a document: a Job, CronJob or Pod, or the ones in a List.
pub fn process(document: &Value, action: Action<'_>) -> Result<Report, Vec<String>> {
    let mut value = document.clone();
    let mut notes = Vec::new();
    let mut errors = Vec::new();
    if value.get_str("kind") == Some("List") {
        if let Some(items) = value.get_mut("items").and_then(Value::as_seq_mut) {
            for (at, item) in items.iter_mut().enumerate() {
                if !is_wired_kind(item) {
                    continue;
                }
                match one(item, action) {
                    Ok(note) => notes.extend(note.map(|n| format!("List item {}: {n}", at + 1))),
                    Err(error) => errors.push(format!("List item {}: {error}", at + 1)),
                }
            }
        }
    } else {
        match one(&mut value, action) {
            Ok(note) => notes.extend(note),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Report {
        changed: (value != *document).then_some(value),
        notes,
    })
}
