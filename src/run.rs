//! The event loop: where the pure supervisor meets the system.
//!
//! Owns: the start-up order (signal handlers, subreaper, sentinel watch armed and checked,
//! then the child), the one `select!` over signals, sentinel changes and the supervisor's
//! deadline, and carrying out each [`Action`]. Errors before the child starts are
//! [`SetupError`]s; after it starts, errors are logged and supervision goes on.
//! Never: decides (that is `supervisor`), calls `waitpid` outside `sys::reap`, or blocks.

use crate::config::{Config, ConfigError};
use crate::exit::ChildEnd;
use crate::sentinel::{SentinelError, SentinelWatch};
use crate::signal::{raw_signal_name, signal_name};
use crate::supervisor::{Action, Event, Supervisor};
use crate::sys::{process, reap, signals, spawn};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::time::Instant;
use tokio::time::sleep_until;

/// Something went wrong before the child started: guillotine exits with [`Self::exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sentinel(#[from] SentinelError),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Spawn(#[from] spawn::SpawnError),
    #[error("cannot start the event loop: {0}")]
    Runtime(std::io::Error),
}

impl SetupError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SetupError::Spawn(error) => error.exit_code(),
            SetupError::Config(_)
            | SetupError::Sentinel(_)
            | SetupError::Signals(_)
            | SetupError::Runtime(_) => ConfigError::EXIT_CODE,
        }
    }
}

/// Runs one supervision on a single-threaded runtime and returns guillotine's exit status.
pub fn run_to_end(config: Config) -> Result<u8, SetupError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(SetupError::Runtime)?
        .block_on(supervise(config))
}

/// Runs one supervision to its end and returns guillotine's exit status.
async fn supervise(config: Config) -> Result<u8, SetupError> {
    let started = Instant::now();
    let forwarded = signals::FORWARDED.map(|signal| signal as i32);
    let mut signals = signals::SignalListener::register(&forwarded).map_err(SetupError::Signals)?;
    if process::is_pid1() {
        tracing::debug!("running as PID 1: reaping every process of the namespace");
    } else if let Err(errno) = process::become_subreaper() {
        tracing::warn!(%errno, "cannot become a child subreaper; orphans will go to init");
    }
    let mut sentinel = SentinelWatch::arm(&config.sentinels, config.poll)?;
    if let Some(path) = sentinel.find_existing() {
        tracing::info!(sentinel = %path.display(), "sentinel already exists; not starting the command (restart after completion)");
        return Ok(0);
    }
    let child = spawn::spawn(&config.command, spawn::ChildSetup::OwnGroupCleanSignals)?;
    tracing::info!(
        pid = child.as_raw(),
        pgid = child.as_raw(),
        command = ?config.command,
        "child started"
    );
    let mut supervisor = Supervisor::new(
        config.stop,
        config.exit_map,
        config.lifetime,
        Instant::now(),
    );
    loop {
        let deadline = supervisor.deadline();
        let event = tokio::select! {
            delivery = signals.next() => match delivery {
                signals::Delivery::ChildChanged => reaped(child),
                signals::Delivery::Signal(number) => match Signal::try_from(number) {
                    Ok(signal) => Event::SignalReceived(signal),
                    Err(_) => continue,
                },
            },
            () = sentinel.changed() => match sentinel.find_existing() {
                Some(path) => {
                    tracing::info!(sentinel = %path.display(), "sentinel appeared");
                    sentinel.disarm();
                    Event::SentinelAppeared
                }
                None => continue,
            },
            () = sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() => {
                Event::DeadlineReached
            }
        };
        for action in supervisor.on_event(event, Instant::now()) {
            if let Some(status) = carry_out(action, child, &supervisor, started) {
                return Ok(status);
            }
        }
    }
}

/// Runs the reaper and turns what it found into an event for the supervisor.
fn reaped(child: Pid) -> Event {
    let reaped = reap::reap();
    let mut child_end = None;
    for ended in reaped.ended {
        if ended.pid == child {
            log_child_end(child, ended.end);
            child_end = Some(ended.end);
        } else {
            tracing::debug!(pid = ended.pid.as_raw(), end = ?ended.end, "reaped an orphan");
        }
    }
    Event::Reaped {
        child: child_end,
        anyone_left: reaped.anyone_left,
    }
}

fn log_child_end(pid: Pid, end: ChildEnd) {
    match end {
        ChildEnd::Exited(code) => tracing::info!(pid = pid.as_raw(), code, "child exited"),
        ChildEnd::Signaled(signal) => tracing::info!(
            pid = pid.as_raw(),
            signal = raw_signal_name(signal),
            "child killed by signal"
        ),
    }
}

/// Carries out one action; returns the exit status when it is time to exit.
fn carry_out(action: Action, child: Pid, supervisor: &Supervisor, started: Instant) -> Option<u8> {
    match action {
        Action::Forward(signal) => {
            tracing::info!(
                signal = signal_name(signal),
                pgid = child.as_raw(),
                "forwarding signal"
            );
            if let Err(errno) = process::signal_group(child, signal) {
                tracing::warn!(%errno, signal = signal_name(signal), "cannot forward signal");
            }
        }
        Action::SignalAll(signal) => {
            if let Err(errno) = process::signal_group(child, signal) {
                tracing::warn!(%errno, signal = signal_name(signal), "cannot signal the child's group");
            }
            let orphans = process::signal_adopted(child, signal);
            tracing::info!(
                signal = signal_name(signal),
                pgid = child.as_raw(),
                orphans,
                cause = supervisor.cause().map(|cause| cause.as_str()),
                "stopping"
            );
        }
        Action::AbandonSurvivors => {
            for survivor in process::children() {
                tracing::error!(
                    pid = survivor.pid.as_raw(),
                    state = %survivor.state,
                    "process survived SIGKILL (uninterruptible sleep?); exiting without it"
                );
            }
        }
        Action::Exit(status) => {
            tracing::info!(
                status,
                cause = supervisor.cause().map(|cause| cause.as_str()),
                elapsed = ?started.elapsed(),
                "exiting"
            );
            return Some(status);
        }
    }
    None
}
