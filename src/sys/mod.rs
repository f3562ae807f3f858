//! Every syscall guillotine makes on processes and signals, one small module each.
//!
//! Owns: fork/exec ([`spawn`]), `waitpid` ([`reap`]), signal registration ([`signals`]),
//! kill/killpg/pidfd/prctl plus `/proc` reads ([`process`]), and the controlling
//! terminal's foreground ([`terminal`]). This is the only place where
//! `unsafe` is allowed; every block states the invariant it relies on.
//! Never: decides what to do (that is `supervisor`) or waits on the async runtime.

pub mod locale;
pub mod process;
pub mod reap;
pub mod signals;
pub mod spawn;
pub mod terminal;
