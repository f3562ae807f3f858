//! # guillotine — a sidecar lifecycle supervisor for Kubernetes Jobs
//!
//! ## Theory of operation
//! guillotine runs one command, the *child*, as the leader of a new process *group*, and
//! supervises it until nothing of it is left:
//!
//! 1. Start-up: register handlers for CHLD and every forwarded signal (as PID 1 the kernel
//!    drops signals that have no handler); become a child subreaper unless PID 1; arm the
//!    sentinel watch, *then* check whether a sentinel exists (a restarted sidecar whose job
//!    is done exits 0 without running the command); spawn the child with an empty signal
//!    mask and default dispositions.
//! 2. Running: signals guillotine receives are forwarded to the group. Every SIGCHLD runs the
//!    single reaper (`waitpid(-1, WNOHANG)` until nothing is left to collect), which also
//!    reaps *orphans* re-parented to us.
//! 3. Stopping: when a *sentinel* appears, the stop signal goes to the group and to every
//!    adopted orphan; after the *grace* period, SIGKILL. The same sequence cleans up
//!    processes a child left behind when it exited by itself.
//! 4. Exit: once the child is reaped and guillotine has no child left (waitpid says
//!    ECHILD), or 5 s after SIGKILL if something survives it in uninterruptible sleep.
//!
//! ## Exit status
//! | what happened | status |
//! |---|---|
//! | the child exited with N | N |
//! | the child died of signal S (forwarded signals included) | 128 + S |
//! | the sentinel stopped it | 0 |
//! | a sentinel existed at start | 0 (the command never ran) |
//! | usage or setup error | 125 |
//! | the command exists but cannot run | 126 |
//! | the command was not found | 127 |
//!
//! ## Layout
//! Pure decisions at the top ([`duration`], [`signal`], [`exit`], [`config`],
//! [`supervisor`]); syscalls in [`sys`]; one event loop in [`run`] where they meet.
//! The main container's side: [`main_container`] (`guillotine run`), [`done`], and [`quit`]
//! (POSTing the quit endpoint of a sidecar guillotine does not wrap).

pub mod atomic_file;
pub mod cli;
pub mod command_line;
pub mod config;
pub mod coordination;
pub mod deadman;
pub mod dispatch;
pub mod done;
pub mod duration;
pub mod event_loop;
pub mod exit;
pub mod exit_map;
pub mod http;
pub mod install;
pub mod logging;
pub mod main_container;
pub mod probe;
pub mod quit;
pub mod reach;
pub mod readiness;
pub mod sentinel;
pub mod signal;
pub mod supervisor;
#[allow(unsafe_code)]
pub mod sys;
pub mod termination;
pub mod timeout;
pub mod timestamp;
pub mod url;
pub mod wake;
