//! Every syscall guillotine makes on processes, signals and file-system notifications, one
//! small module each.
//!
//! Owns: fork/exec ([`spawn`]), `waitpid` ([`reap`]), signal registration ([`signals`]),
//! kill/killpg/pidfd/prctl plus `/proc` reads ([`process`]), the controlling terminal's
//! foreground ([`terminal`]), the locale's character set ([`locale`]), the inotify
//! descriptor ([`inotify`]) and the mount table's change notification ([`mounts`]). This
//! is the only place where `unsafe` is allowed; every block states the invariant it relies
//! on.
//! Never: decides what to do (that is `supervisor`) or waits on the async runtime.

pub mod inotify;
pub mod locale;
pub mod mounts;
pub mod process;
pub mod reap;
pub mod signals;
pub mod spawn;
pub mod terminal;
