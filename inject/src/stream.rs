//! Multi-document YAML streams: split into documents, parse each, write the result back.
//!
//! Owns: where one document ends and the next begins (a line `---` or `...` at column 0:
//! YAML forbids such a line inside content, so splitting on it is exact), parsing one
//! document into a [`Value`] with Kubernetes' reading of scalars, and writing a document
//! back: a document that was not changed is written as the very text it was read from
//! (comments included, byte for byte); a changed one keeps its leading comment lines
//! (Helm's `# Source:`) and is serialised anew, with its other comments lost.
//! Never: decides what to change (that is [`crate::manifest`]) or touches files.

use crate::value::Value;
use serde_saphyr::{Options, SerializerOptions};

/// One document of the stream as read: its text (with its `---` line, if any) and its
/// value. `value` is `None` for a document with nothing but comments and blank lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub text: String,
    pub value: Option<Value>,
}

/// A document that is not YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based, counting documents as [`split`] finds them.
    pub index: usize,
    pub message: String,
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

/// Whether a chunk holds no node: only blank lines, comments, directives and markers.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let trimmed = line.trim();
        trimmed.is_empty()
            || trimmed.starts_with('#')
            || line.starts_with('%')
            || is_marker(line, "---")
            || is_marker(line, "...")
    })
}

/// Splits a stream into the texts of its documents, each starting at its `---` line (the
/// first may have none) and ending after its `...` line, if any. Directives and comments
/// before a `---` belong to the document that follows it. Concatenated, the texts are the
/// input.
pub fn split(input: &str) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in input.split_inclusive('\n') {
        let opened = current.lines().any(|l| is_marker(l, "---"));
        if is_marker(line, "---") && (opened || !is_blank(&current)) {
            chunks.push(std::mem::take(&mut current));
        }
        current.push_str(line);
        if is_marker(line, "...") {
            chunks.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// How Kubernetes (sigs.k8s.io/yaml, a YAML 1.1 reader) reads scalars: `0644` is octal,
/// `yes` is true. Reading the same way keeps a changed document's values what the API
/// server would have seen.
fn read_options() -> Options {
    serde_saphyr::options! {
        legacy_octal_numbers: true,
    }
}

/// Block style with sequences indented under their key (yamllint's default), and YAML 1.1
/// quoting (the default: `"on"`, `"0644"` stay strings for a YAML 1.1 reader).
fn write_options() -> SerializerOptions {
    serde_saphyr::ser_options! {
        compact_list_indent: false,
    }
}

/// Parses every document of the stream; the first document that is not YAML fails it.
pub fn parse(input: &str) -> Result<Vec<Document>, ParseError> {
    split(input)
        .into_iter()
        .enumerate()
        .map(|(at, text)| {
            let index = at + 1;
            let error = |message: String| ParseError { index, message };
            if is_blank(&text) {
                return Ok(Document { text, value: None });
            }
            let mut values: Vec<Value> =
                serde_saphyr::from_multiple_with_options(&text, read_options())
                    .map_err(|e| error(first_line(&e.to_string())))?;
            match values.len() {
                0 => Ok(Document { text, value: None }),
                1 => Ok(Document {
                    value: values.pop(),
                    text,
                }),
                n => Err(error(format!("{n} documents where one was expected"))),
            }
        })
        .collect()
}

fn first_line(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("not YAML").to_owned();
    // serde-saphyr puts the location on a line of its own; keep it.
    match lines.find(|l| l.contains("line")) {
        Some(location) if !first.contains("line") => format!("{first} ({location})"),
        _ => first,
    }
}

/// Parses one YAML document (inject's own record).
pub fn from_yaml(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str_with_options(text, read_options())
        .map_err(|e| first_line(&e.to_string()))
}

/// Serialises one value as a YAML document body (no `---`).
pub fn to_yaml(value: &Value) -> Result<String, String> {
    serde_saphyr::to_string_with_options(value, write_options()).map_err(|e| e.to_string())
}

/// The lines at the top of a document that are comments (or blank), after its `---` line.
fn leading_comments(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        if is_marker(line, "---") {
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push_str(line);
        } else {
            break;
        }
    }
    out
}

/// What to write for one document.
pub enum Output<'a> {
    /// The text as read.
    Unchanged(&'a Document),
    /// A new value for the document.
    Changed(&'a Document, Value),
}

/// Writes the documents back as one stream. Every document after the first starts with a
/// `---` line.
pub fn write(outputs: &[Output<'_>]) -> Result<String, String> {
    let mut out = String::new();
    for output in outputs {
        let needs_separator = !out.is_empty();
        if needs_separator && !out.ends_with('\n') {
            out.push('\n');
        }
        match output {
            Output::Unchanged(document) => {
                let starts_with_marker = document
                    .text
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.starts_with('%'))
                    .is_some_and(|l| is_marker(l, "---"));
                if needs_separator && !starts_with_marker {
                    out.push_str("---\n");
                }
                out.push_str(&document.text);
            }
            Output::Changed(document, value) => {
                if needs_separator || document.text.lines().any(|l| is_marker(l, "---")) {
                    out.push_str("---\n");
                }
                out.push_str(&leading_comments(&document.text));
                out.push_str(&to_yaml(value)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_every_byte_and_cuts_at_markers_only() {
        let input = "a: 1\n---\n# Source: x\nb: |\n  --- not a marker\n...\n---\nc: 3";
        let chunks = split(input);
        assert_eq!(chunks.concat(), input);
        assert_eq!(
            chunks,
            [
                "a: 1\n",
                "---\n# Source: x\nb: |\n  --- not a marker\n...\n",
                "---\nc: 3"
            ]
        );
    }

    #[test]
    fn comments_before_a_marker_belong_to_the_next_document() {
        let chunks = split("# header\n---\na: 1\n---\n---\nb: 2\n");
        assert_eq!(chunks, ["# header\n---\na: 1\n", "---\n", "---\nb: 2\n"]);
    }

    #[test]
    fn scalars_read_as_kubernetes_reads_them() {
        let docs = parse("mode: 0644\nflag: yes\nport: \"8080\"\nbig: 18446744073709551615\n")
            .unwrap_or_default();
        let value = docs[0].value.clone().unwrap_or(Value::Null);
        assert_eq!(value.get("mode"), Some(&Value::Int(0o644)));
        assert_eq!(value.get("flag"), Some(&Value::Bool(true)));
        assert_eq!(value.get("port"), Some(&Value::str("8080")));
        assert_eq!(value.get("big"), Some(&Value::UInt(u64::MAX)));
    }

    #[test]
    fn strings_a_yaml_1_1_reader_would_retype_are_quoted() {
        for text in [
            "on",
            "off",
            "yes",
            "no",
            "y",
            "0644",
            "1_000",
            "12:30",
            "2024-01-01",
            "null",
            "1e3",
        ] {
            let yaml = to_yaml(&Value::Seq(vec![Value::str(text)])).unwrap_or_default();
            let back = parse(&yaml).unwrap_or_default();
            assert_eq!(
                back[0].value,
                Some(Value::Seq(vec![Value::str(text)])),
                "{text:?} written as {yaml:?}"
            );
            assert!(
                yaml.contains('\'') || yaml.contains('"'),
                "{text:?} unquoted: {yaml}"
            );
        }
    }
}
