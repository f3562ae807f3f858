//! The termination message: one line saying why guillotine stopped, where Kubernetes shows
//! it (`kubectl describe pod`, `.status.containerStatuses[].state.terminated.message`).
//!
//! Owns: the line's wording and its 4096-byte bound (the kubelet's limit per container);
//! choosing and writing the file. Never: fails the exit because the file cannot be written.

use crate::exit::{Cause, ChildEnd};
use crate::signal::raw_signal_name;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Kubernetes reads the message by default (terminationMessagePath).
const KUBERNETES_DEFAULT: &str = "/dev/termination-log";

/// The kubelet keeps at most this much of a termination message.
const MAX_BYTES: usize = 4096;

/// What the line tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub cause: Cause,
    pub elapsed: Duration,
    /// The last signal of the stop sequence that was sent, if any.
    pub signal: Option<i32>,
    pub child: Option<ChildEnd>,
    pub status: u8,
}

/// The line, at most 4096 bytes, ending in a newline.
pub fn message(summary: &Summary, command: &str) -> String {
    let why = match summary.cause {
        Cause::ChildEnded => "the child ended by itself",
        Cause::Sentinel => "stopped by the sentinel",
        Cause::Lifetime => "stopped at the end of its lifetime",
    };
    let signal = summary.signal.map_or_else(
        || "no stop signal sent".to_owned(),
        |s| format!("sent {}", raw_signal_name(s)),
    );
    let child = match summary.child {
        Some(ChildEnd::Exited(code)) => format!("child exited {code}"),
        Some(ChildEnd::Signaled(signal)) => format!("child killed by {}", raw_signal_name(signal)),
        None => "child not reaped".to_owned(),
    };
    let mut line = format!(
        "guillotine: {why} after {:.3}s; {signal}; {child}; exit status {}; command {command}",
        summary.elapsed.as_secs_f64(),
        summary.status
    )
    .replace(['\n', '\r'], " ");
    if line.len() >= MAX_BYTES {
        let mut end = MAX_BYTES - 4;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str("...");
    }
    line.push('\n');
    line
}

/// The file to write: the one asked for, else Kubernetes' default when it exists and can
/// be written (inside a pod), else none.
pub fn destination(asked: Option<&Path>) -> Option<PathBuf> {
    match asked {
        Some(path) => Some(path.to_owned()),
        None => {
            let default = Path::new(KUBERNETES_DEFAULT);
            std::fs::OpenOptions::new()
                .append(true)
                .open(default)
                .ok()
                .map(|_| default.to_owned())
        }
    }
}

/// Writes the message, replacing what was there; a failure is a warning.
pub fn write(path: &Path, message: &str) {
    let result =
        std::fs::File::create(path).and_then(|mut file| file.write_all(message.as_bytes()));
    if let Err(error) = result {
        tracing::warn!(path = %path.display(), %error, "cannot write the termination message");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_why_when_what_was_sent_and_how_it_ended() {
        let summary = Summary {
            cause: Cause::Sentinel,
            elapsed: Duration::from_millis(12_302),
            signal: Some(15),
            child: Some(ChildEnd::Signaled(15)),
            status: 0,
        };
        assert_eq!(
            message(&summary, "cloud-sql-proxy"),
            "guillotine: stopped by the sentinel after 12.302s; sent TERM; child killed by TERM; \
             exit status 0; command cloud-sql-proxy\n"
        );
        let ended = Summary {
            cause: Cause::ChildEnded,
            signal: None,
            child: Some(ChildEnd::Exited(3)),
            status: 3,
            ..summary
        };
        assert!(message(&ended, "x").contains("the child ended by itself after 12.302s; no stop signal sent; child exited 3; exit status 3"));
    }

    #[test]
    fn never_longer_than_the_kubelet_keeps() {
        let summary = Summary {
            cause: Cause::Lifetime,
            elapsed: Duration::ZERO,
            signal: Some(9),
            child: None,
            status: 137,
        };
        let line = message(&summary, &"é".repeat(5000));
        assert!(line.len() <= 4096, "{}", line.len());
        assert!(line.ends_with("...\n"));
        assert_eq!(line.lines().count(), 1);
    }
}
