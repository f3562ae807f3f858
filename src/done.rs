//! `guillotine done`: the main container's `touch $DONE`, without a shell.
//!
//! Owns: the sentinel's content (the exit code on one line) and writing every sentinel
//! named. Never: runs a command.

use crate::atomic_file;
use crate::cli::DoneArgs;
use std::path::Path;

/// Sentinels are plain data for everyone in the pod.
const SENTINEL_MODE: u32 = 0o644;

/// Writes each sentinel; 0, or 125 if any could not be written (each failure is said).
pub fn run(args: &DoneArgs) -> u8 {
    if write_all(&args.paths, args.exit_code) {
        0
    } else {
        125
    }
}

/// Writes `code` into every sentinel, trying all of them even when one fails; true when
/// all were written.
pub fn write_all(paths: &[impl AsRef<Path>], code: u8) -> bool {
    let mut all_written = true;
    for path in paths {
        let path = path.as_ref();
        if let Err(error) = atomic_file::write(path, format!("{code}\n").as_bytes(), SENTINEL_MODE)
        {
            eprintln!(
                "guillotine: cannot write the sentinel {}: {error}",
                path.display()
            );
            all_written = false;
        }
    }
    all_written
}
