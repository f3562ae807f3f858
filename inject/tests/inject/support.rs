//! Runs the real kubectl-guillotine with a clean environment (no GUILLOTINE_INJECT_* from
//! the caller), and reads the repository's example files.

use guillotine_inject::value::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Ran {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str], stdin: &str) -> Ran {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-guillotine"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(repository())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl-guillotine starts");
    let mut input = child.stdin.take().expect("stdin");
    // A run that fails before reading its input closes the pipe: that is no test failure.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let out = child.wait_with_output().expect("kubectl-guillotine ends");
    let ran = Ran {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!(
        "argv: {args:?}\nstatus: {}\nstderr:\n{}",
        ran.status, ran.stderr
    );
    ran
}

pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn read(relative: &str) -> String {
    std::fs::read_to_string(repository().join(relative)).expect("example file")
}

/// The documents of a stream, parsed.
pub fn documents(text: &str) -> Vec<Value> {
    guillotine_inject::stream::parse(text)
        .expect("YAML")
        .into_iter()
        .filter_map(|d| d.value)
        .collect()
}

pub fn only_document(text: &str) -> Value {
    let mut docs = documents(text);
    assert_eq!(docs.len(), 1, "one document in {text}");
    docs.remove(0)
}

/// The arguments a plain example names on its `# inject-args:` lines (joined).
pub fn inject_args(plain: &str) -> Vec<String> {
    let args: Vec<String> = plain
        .lines()
        .filter_map(|l| l.strip_prefix("# inject-args: "))
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect();
    assert!(!args.is_empty(), "an # inject-args: line");
    args
}

/// Mapping keys sorted, recursively: equal when the same fields hold the same values.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Map(map) => {
            let mut entries: Vec<(Value, Value)> = map
                .0
                .iter()
                .map(|(k, v)| (k.clone(), canonical(v)))
                .collect();
            entries.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
            Value::Map(Map(entries))
        }
        Value::Seq(items) => Value::Seq(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}
