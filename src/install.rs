//! `guillotine install DIR`: an init container from the guillotine image equips any sidecar
//! image through a shared emptyDir (the Tekton and Argo pattern).
//!
//! Owns: copying the running executable to DIR/guillotine (atomically, mode 0555) and the
//! `timeout` link beside it for the multicall mode, and `--reset`: removing the sentinels
//! (and their dead-man's lock files) that a previous run of the pod left on its volumes.
//! Never: changes anything outside DIR but the `--reset` paths.

use crate::cli::InstallArgs;
use crate::{atomic_file, deadman};
use std::path::Path;

/// Executable by all, writable by none: the volume is shared with other containers.
const BINARY_MODE: u32 = 0o555;

/// 0 on success, 125 with a message otherwise.
pub fn run(args: &InstallArgs) -> u8 {
    for sentinel in &args.reset {
        if let Err(error) = deadman::reset(sentinel) {
            eprintln!(
                "guillotine install: cannot remove the stale sentinel {}: {error}; the sidecar \
                 would stop at once: make the volume writable",
                sentinel.display()
            );
            return crate::exit::status::USAGE;
        }
        println!("reset {}", sentinel.display());
    }
    match install(&args.dir) {
        Ok(()) => {
            println!("installed {}", args.dir.join("guillotine").display());
            0
        }
        Err(error) => {
            eprintln!(
                "guillotine install: cannot install into {}: {error}",
                args.dir.display()
            );
            crate::exit::status::USAGE
        }
    }
}

fn install(dir: &Path) -> std::io::Result<()> {
    let itself = std::fs::read(std::env::current_exe()?)?;
    atomic_file::write(&dir.join("guillotine"), &itself, BINARY_MODE)?;
    // Relative, so it works wherever the volume is mounted.
    atomic_file::symlink(Path::new("guillotine"), &dir.join("timeout"))
}
