//! The dead-man's lock between a main container and the sidecars that watch its sentinel.
//!
//! Owns: the companion file beside each sentinel (`.NAME.guillotine-lock`: the sentinel's
//! name, hidden, guillotine's), what it says (the holder's `--done-on` policy), holding a
//! shared lock on it for a process's whole life (`run --done`, and the supervisor's own
//! `--done`), and waiting until no holder is left (the supervisor). The kernel releases a
//! flock(2) lock however its holder dies — SIGKILL, an OOM kill of the whole container — so
//! a main container that could not write its sentinel still says it is gone (Argo's
//! executor answered the same problem the same way).
//! Never: decides what a release means (a written sentinel wins; see `event_loop`), or
//! polls: the wait is a thread blocked in flock(2), woken by the kernel, at no cost before.
//!
//! The companion is published complete and already locked (a temporary file is locked and
//! written, then linked to its name), so a watcher that finds it and gets its exclusive lock
//! knows every holder has come and gone: there is no moment when it exists unlocked before
//! its first holder has it.

use crate::atomic_file;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// What a holder runs under, as `run --done-on` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The sentinel is written however the holder ends: a holder gone without writing it
    /// was killed, and the sidecars should stop (restartPolicy Never).
    Always,
    /// Written only on success: a holder gone without writing it failed and will be
    /// restarted in place (restartPolicy OnFailure); the sidecars keep running.
    Success,
}

impl Policy {
    fn as_str(self) -> &'static str {
        match self {
            Policy::Always => "always",
            Policy::Success => "success",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "always" => Some(Policy::Always),
            "success" => Some(Policy::Success),
            _ => None,
        }
    }
}

/// `.NAME.guillotine-lock` beside `sentinel`.
pub fn companion(sentinel: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(sentinel.file_name().unwrap_or(sentinel.as_os_str()));
    name.push(".guillotine-lock");
    sentinel.with_file_name(name)
}

/// A shared lock on a companion, held until dropped (or the process dies).
#[derive(Debug)]
pub struct Holder {
    _locked: File,
}

/// Takes a shared lock on the companion of `sentinel`, publishing it with `policy` first if
/// nobody has yet. Several holders (main containers sharing a sentinel, a container
/// restarted in place) share it; the first one's policy is the one it says.
pub fn hold(sentinel: &Path, policy: Policy) -> io::Result<Holder> {
    let path = companion(sentinel);
    loop {
        match File::open(&path) {
            Ok(file) => {
                file.lock_shared()?;
                return Ok(Holder { _locked: file });
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let published = atomic_file::publish_new(&path, 0o644, |file| {
                    file.lock_shared()?;
                    writeln!(file, "{}", policy.as_str())?;
                    file.sync_all()
                })?;
                if let Some(file) = published {
                    return Ok(Holder { _locked: file });
                }
                // Another holder published it first: share theirs.
            }
            Err(error) => return Err(error),
        }
    }
}

/// [`hold`] for each sentinel; one that cannot be held is said and skipped (without it, a
/// killed holder goes unnoticed, but the sentinel still works).
pub fn hold_all(sentinels: &[PathBuf], policy: Policy) -> Vec<Holder> {
    sentinels
        .iter()
        .filter_map(|sentinel| {
            hold(sentinel, policy)
                .inspect_err(|error| {
                    tracing::warn!(sentinel = %sentinel.display(), %error, "cannot hold the dead-man's lock; if this process is killed, the sidecars watching the sentinel will not know");
                })
                .ok()
        })
        .collect()
}

/// Removes a stale sentinel and its lock file (a previous run of the pod left them); what
/// is not there is fine.
pub fn reset(sentinel: &Path) -> io::Result<()> {
    for path in [sentinel.to_owned(), companion(sentinel)] {
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

/// The policy the companion of `sentinel` says, if a holder ever published one.
pub fn policy(sentinel: &Path) -> Option<Policy> {
    let mut text = String::new();
    File::open(companion(sentinel))
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    Policy::parse(&text)
}

/// Whether every holder of the companion of `sentinel` has let go, without waiting.
pub fn released(sentinel: &Path) -> io::Result<bool> {
    let file = File::open(companion(sentinel))?;
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

/// Blocks until every holder of the companion of `sentinel` has let go. For a thread of
/// its own: it sleeps in flock(2) and costs nothing until the kernel wakes it.
pub fn wait_released(sentinel: &Path) -> io::Result<()> {
    let file = File::open(companion(sentinel))?;
    // Taken only to learn that nobody holds it; dropped (released) at once, so a holder
    // restarted in place can take it again.
    file.lock()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_companion_sits_beside_the_sentinel_hidden() {
        assert_eq!(
            companion(Path::new("/lifecycle/done")),
            Path::new("/lifecycle/.done.guillotine-lock")
        );
    }

    #[test]
    fn a_held_companion_is_released_when_its_last_holder_goes() {
        let dir = tempfile::tempdir().unwrap();
        let sentinel = dir.path().join("done");
        assert!(released(&sentinel).is_err(), "no companion yet");
        let first = hold(&sentinel, Policy::Always).unwrap();
        let second = hold(&sentinel, Policy::Success).unwrap();
        assert_eq!(policy(&sentinel), Some(Policy::Always), "the first one's");
        assert!(!released(&sentinel).unwrap());
        drop(first);
        assert!(!released(&sentinel).unwrap(), "the second still holds it");
        drop(second);
        assert!(released(&sentinel).unwrap());
        wait_released(&sentinel).unwrap();
        // Taken again, as by a container restarted in place.
        let again = hold(&sentinel, Policy::Always).unwrap();
        assert!(!released(&sentinel).unwrap());
        drop(again);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }

    #[test]
    fn policies_round_trip() {
        for policy in [Policy::Always, Policy::Success] {
            assert_eq!(
                Policy::parse(&format!("{}\n", policy.as_str())),
                Some(policy)
            );
        }
        assert_eq!(Policy::parse("sometimes"), None);
    }
}
