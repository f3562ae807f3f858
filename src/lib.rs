//! # guillotine — a sidecar lifecycle supervisor for Kubernetes Jobs
//!
//! ## Theory of operation
//! guillotine runs one command, the *child*, as the leader of a new process *group*, and
//! supervises it until nothing of it is left:
//!
//! 1. Start-up ([`event_loop`]): register handlers for CHLD and every forwarded signal (as
//!    PID 1 the kernel drops signals that have no handler); become a child subreaper unless
//!    PID 1; arm the sentinel watch, *then* look ([`sentinel`]): a main side already done —
//!    a sentinel written, or its main containers gone without writing it ([`deadman`],
//!    [`coordination`]), or a `--deadline` already past — means the command is not run.
//!    Then spawn the child with an empty signal mask and default dispositions, handing it
//!    the terminal's foreground if guillotine held it.
//! 2. Running: one loop where every wake ([`wake`]: signals, the reaper's SIGCHLD, the
//!    sentinel watch, the one deadline) becomes an event for the pure [`supervisor`]
//!    machine, whose actions the loop carries out. Signals are forwarded to the group (TERM
//!    starts the stop instead under `--on-term stop`); the single reaper (`waitpid(-1,
//!    WNOHANG)`) also reaps *orphans* re-parented to us; readiness probes write the ready
//!    file; dead-man's-lock threads sleep in flock(2).
//! 3. Stopping, for a sentinel, an abandoned main side, a *lifetime* or deadline, a TERM
//!    under `--on-term stop`, or a child that ended leaving processes behind: quit URLs
//!    first if any; the stop signal (then CONT) to the group and to every adopted orphan;
//!    after the *grace* period SIGKILL to every descendant in any session. Whom each signal
//!    reaches is decided by [`reach`] from a scan of `/proc`, again at every reap and at a
//!    backoff, because processes are adopted after their parent dies, mid-stop.
//! 4. Exit: once the child is reaped and guillotine has no child left (waitpid says
//!    ECHILD), or 5 s after SIGKILL if something survives it in uninterruptible sleep; the
//!    [`supervisor::Verdict`] gives the status (`--exit-map` applied, [`exit_map`]), the log
//!    line and the termination message ([`termination`]); `--done` files are written.
//!
//! The other modes share the pieces: `guillotine run` ([`main_container`]: wait for
//! readiness, supervise COMMAND the same way, write the sentinels, POST quit URLs),
//! `done`, `install`, `quit`, and the GNU-compatible `timeout` ([`timeout`], its own machine
//! on the same wake layer).
//!
//! ## Exit status
//! The one table for users is the README's; every status guillotine chooses is a named
//! constant in [`exit::status`].
//!
//! ## Layout
//! Pure decisions at the top ([`duration`], [`timestamp`], [`signal`], [`probe`], [`url`],
//! [`exit`], [`exit_map`], [`config`], [`reach`], [`coordination`], [`supervisor`]);
//! syscalls in [`sys`]; one event loop in [`event_loop`] where they meet, on [`wake`].

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
