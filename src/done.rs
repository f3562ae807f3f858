//! `guillotine done`: the main container's `touch $DONE`, without a shell.
//!
//! Owns: the sentinel's content (the exit code on one line), writing every sentinel named,
//! retrying a failed write briefly (a volume full or busy for a moment) and saying, when it
//! still fails, that the sidecar will not stop. Never: runs a command, or retries without
//! bound (a Job must end either way).

use crate::atomic_file;
use crate::cli::DoneArgs;
use crate::exit::status::SENTINEL_NOT_WRITTEN;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Sentinels are plain data for everyone in the pod.
const SENTINEL_MODE: u32 = 0o644;

/// The pauses between the attempts at writing one sentinel: five attempts within 1.5 s.
const RETRY_PAUSES: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
];

/// Writes each sentinel; 0, or [`SENTINEL_NOT_WRITTEN`] if any could not be written (each
/// failure is said).
pub fn run(args: &DoneArgs) -> u8 {
    let unwritten = write_all(&args.paths, args.exit_code);
    for sentinel in &unwritten {
        eprintln!("guillotine done: {sentinel}");
    }
    if unwritten.is_empty() {
        0
    } else {
        SENTINEL_NOT_WRITTEN
    }
}

/// A sentinel that could not be written, and the last reason.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write the sentinel {}: {error}; the sidecar will not stop: make the volume \
     writable (mounted, not read-only, not full, a directory) or stop the sidecar by hand",
    path.display()
)]
pub struct Unwritten {
    pub path: PathBuf,
    pub error: io::Error,
}

/// Writes `code` into every sentinel, each tried a few times over 1.5 s before it counts
/// as failed (a note on stderr says so at every retry); the ones never written.
///
/// Blocks while it pauses: call it outside the event loop.
pub fn write_all(paths: &[impl AsRef<Path>], code: u8) -> Vec<Unwritten> {
    let content = format!("{code}\n");
    let mut pending: Vec<PathBuf> = paths.iter().map(|path| path.as_ref().to_owned()).collect();
    let mut pauses = RETRY_PAUSES.iter();
    loop {
        let mut failed = Vec::new();
        for path in pending {
            if let Err(error) = atomic_file::write(&path, content.as_bytes(), SENTINEL_MODE) {
                failed.push(Unwritten { path, error });
            }
        }
        let Some(pause) = pauses.next().filter(|_| !failed.is_empty()) else {
            return failed;
        };
        for sentinel in &failed {
            eprintln!(
                "guillotine: cannot write the sentinel {}: {}; retrying in {}",
                sentinel.path.display(),
                sentinel.error,
                crate::duration::format_duration(*pause)
            );
        }
        std::thread::sleep(*pause);
        pending = failed.into_iter().map(|sentinel| sentinel.path).collect();
    }
}
