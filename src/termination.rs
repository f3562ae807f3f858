//! The termination message: one line saying why guillotine stopped, where Kubernetes shows
//! it (`kubectl describe pod`, `.status.containerStatuses[].state.terminated.message`).
//!
//! Owns: the line's wording and its [`BUDGET`]; choosing the file; adding the line to it.
//! Never: fails the exit because the file cannot be written; destroys what the child wrote;
//! writes to a path whose last component is a symlink; blocks on the file (a FIFO, a
//! terminal).
//!
//! ## How much, and why
//! The kubelet reads at most the *last* 4 KiB of a container's message file
//! (`kuberuntime_container.go`, `tail.ReadAtMost`), then its status manager cuts every
//! message of the pod to 12 KiB divided by the number of containers *and* init containers,
//! keeping the *first* bytes (`status_manager.go`, `normalizeStatus`,
//! `MaxPodTerminationMessageLogLength`). A guillotine pod has an init container that installs
//! guillotine, a sidecar, a main container, and often injected ones (istio-init,
//! istio-proxy): five containers leave about 2.4 KiB each. [`BUDGET`] is 1 KiB — enough for
//! the line with a long command name, and whole in any pod of up to twelve containers. The
//! file as guillotine leaves it never exceeds the budget because of guillotine: the line is
//! cut to fit it, and added after a message only if both fit together.
//!
//! ## What the child wrote comes first
//! The file may already hold the child's own message (the sidecar wrote why it failed). It
//! is the more useful of the two, so guillotine never truncates it: its line is appended
//! after it (on a line of its own) when the two together fit the budget, and otherwise the
//! file is left exactly as the child left it — appending would push the start of the
//! child's message out of what the status manager keeps. Note that writing anything at all
//! switches off `terminationMessagePolicy: FallbackToLogsOnError` (the kubelet falls back to
//! the log only when the file is empty); `--termination-log none` writes nothing for pods
//! that rely on it.
//!
//! ## Only plain files
//! The path is opened with `O_NOFOLLOW` (a symlink as the file itself is refused, so a root
//! guillotine cannot be made to append to or create a file elsewhere on a shared volume;
//! directories above it are the operator's choice and are followed) and `O_NONBLOCK` (a
//! FIFO without a reader cannot hang the exit), then `fstat` decides: only a regular file
//! or a character device (`/dev/null`) is written.

use crate::exit::{Cause, ChildEnd};
use crate::signal::raw_signal_name;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Kubernetes reads the message by default (terminationMessagePath).
const KUBERNETES_DEFAULT: &str = "/dev/termination-log";

/// The `--termination-log` value that turns the message off.
const NONE: &str = "none";

/// The most bytes the file holds after guillotine added its line (see the module docs).
pub const BUDGET: usize = 1024;

// Whole in a pod of twelve containers (status_manager.go: 12 KiB for the pod), and inside
// the 4 KiB tail the kubelet reads (kuberuntime_container.go).
const _: () = assert!(BUDGET * 12 <= 12 * 1024 && BUDGET <= 4 * 1024);

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

/// The line, at most [`BUDGET`] bytes, ending in a newline; a long command is cut at a
/// character boundary and marked with `...`.
pub fn message(summary: &Summary, command: &str) -> String {
    let why = match summary.cause {
        Cause::ChildEnded => "the child ended by itself",
        Cause::Sentinel => "stopped by the sentinel",
        Cause::Abandoned => "the main container ended without writing the sentinel",
        Cause::Terminated => "stopped on SIGTERM (--on-term stop)",
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
    .replace(|c: char| c.is_control(), " ");
    // Room for the newline; when cut, room for "..." too.
    if line.len() > BUDGET - 1 {
        let mut end = BUDGET - 1 - "...".len();
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str("...");
    }
    line.push('\n');
    line
}

/// The file to write: none for `none`; the one asked for; else Kubernetes' default when it
/// exists and can be written (inside a pod), else none.
pub fn destination(asked: Option<&Path>) -> Option<PathBuf> {
    match asked {
        Some(path) if path.as_os_str() == NONE => None,
        Some(path) => Some(path.to_owned()),
        None => {
            let default = Path::new(KUBERNETES_DEFAULT);
            open(default, false).ok().map(|_| default.to_owned())
        }
    }
}

/// Adds the message to the file as the module docs say; a failure is a warning.
pub fn write(path: &Path, message: &str) {
    match add(path, message) {
        Ok(Added::Line) => {}
        Ok(Added::Nothing { existing }) => tracing::info!(
            path = %path.display(),
            existing,
            "the termination message file already holds the child's message; left as it is"
        ),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot write the termination message")
        }
    }
}

/// What [`add`] did.
#[derive(Debug, PartialEq, Eq)]
enum Added {
    Line,
    /// The child's message (this many bytes) left no room.
    Nothing {
        existing: u64,
    },
}

fn add(path: &Path, message: &str) -> io::Result<Added> {
    let mut file = open(path, true)?;
    let metadata = file.metadata()?;
    let kind = metadata.file_type();
    if kind.is_char_device() {
        file.write_all(message.as_bytes())?;
        return Ok(Added::Line);
    }
    if !kind.is_file() {
        return Err(io::Error::other(
            "not a regular file or a character device; nothing written",
        ));
    }
    let existing = metadata.len();
    let last = match existing {
        0 => None,
        _ => {
            let mut byte = [0u8];
            file.read_exact_at(&mut byte, existing - 1)?;
            Some(byte[0])
        }
    };
    match addition(existing, last, message) {
        Some(bytes) => {
            file.write_all(bytes.as_bytes())?;
            Ok(Added::Line)
        }
        None => Ok(Added::Nothing { existing }),
    }
}

/// Opens for reading and appending, never through a symlink, never blocking.
fn open(path: &Path, create: bool) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// What to append to a file that holds `existing` bytes ending in `last`: the message (on a
/// line of its own) if the whole still fits [`BUDGET`], else nothing.
fn addition(existing: u64, last: Option<u8>, message: &str) -> Option<String> {
    let separator = match last {
        None | Some(b'\n') => "",
        Some(_) => "\n",
    };
    let total = existing.saturating_add((separator.len() + message.len()) as u64);
    (total <= BUDGET as u64).then(|| format!("{separator}{message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            cause: Cause::Lifetime,
            elapsed: Duration::ZERO,
            signal: Some(9),
            child: None,
            status: 137,
        }
    }

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
    fn a_line_that_fits_is_not_cut() {
        let prefix = message(&summary(), "").len();
        let exact = "c".repeat(BUDGET - prefix);
        let line = message(&summary(), &exact);
        assert_eq!(line.len(), BUDGET);
        assert!(line.ends_with(&format!("{exact}\n")));
        let over = message(&summary(), &format!("{exact}c"));
        assert_eq!(over.len(), BUDGET);
        assert!(over.ends_with("c...\n"), "{over:?}");
    }

    #[test]
    fn a_long_command_is_cut_at_a_character_boundary() {
        for piece in ["é", "€", "🦀", "a", "aé€🦀"] {
            for repeat in [1000, 1001, 1002, 1003, 5000] {
                let line = message(&summary(), &piece.repeat(repeat));
                assert!(line.len() <= BUDGET, "{piece} x{repeat}: {}", line.len());
                // The cut loses less than one character plus the marker.
                assert!(
                    line.len() > BUDGET - 4 - 4,
                    "{piece} x{repeat}: {}",
                    line.len()
                );
                assert!(line.ends_with("...\n"), "{line:?}");
                assert_eq!(line.lines().count(), 1);
            }
        }
    }

    #[test]
    fn control_characters_in_the_command_stay_on_one_line() {
        let line = message(&summary(), "a\nb\rc\td\u{1b}[31m");
        assert!(line.ends_with("command a b c d [31m\n"), "{line:?}");
        assert_eq!(line.lines().count(), 1);
    }

    #[test]
    fn an_empty_file_gets_the_line() {
        assert_eq!(addition(0, None, "ours\n").as_deref(), Some("ours\n"));
    }

    #[test]
    fn the_childs_message_is_kept_and_the_line_follows_on_its_own_line() {
        assert_eq!(
            addition(6, Some(b'\n'), "ours\n").as_deref(),
            Some("ours\n")
        );
        assert_eq!(
            addition(5, Some(b'd'), "ours\n").as_deref(),
            Some("\nours\n")
        );
    }

    #[test]
    fn the_line_is_added_only_if_the_whole_fits_the_budget() {
        let line = "x".repeat(99) + "\n";
        let room = (BUDGET - line.len()) as u64;
        assert!(addition(room, Some(b'\n'), &line).is_some());
        assert!(addition(room + 1, Some(b'\n'), &line).is_none());
        // The separator counts.
        assert!(addition(room - 1, Some(b'.'), &line).is_some());
        assert!(addition(room, Some(b'.'), &line).is_none());
        assert!(addition(u64::MAX, Some(b'.'), &line).is_none());
    }
}
