//! The event loop: where the pure supervisor meets the system.
//!
//! Owns: the start-up order (signal handlers, subreaper, sentinel watch armed and checked,
//! then the child), the one `select!` over signals, sentinel changes and the supervisor's
//! deadline, and carrying out each [`Action`]. Errors before the child starts are
//! [`SetupError`]s; after it starts, errors are logged and supervision goes on.
//! Never: decides (that is `supervisor`), calls `waitpid` outside `sys::reap`, or blocks.

use crate::config::{Config, ConfigError, ReadyFile};
use crate::exit::{Cause, ChildEnd};
use crate::sentinel::{SentinelError, SentinelWatch};
use crate::signal::{raw_signal_name, signal_name};
use crate::supervisor::{Action, Event, Supervisor};
use crate::sys::{process, reap, signals, spawn};
use crate::termination::{self, Summary};
use crate::{atomic_file, http, readiness};
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

/// A single-threaded runtime: guillotine's whole life is one event loop.
pub fn runtime() -> Result<tokio::runtime::Runtime, SetupError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(SetupError::Runtime)
}

/// Runs one supervision on its own runtime and returns guillotine's exit status.
pub fn run_to_end(config: Config) -> Result<u8, SetupError> {
    runtime()?.block_on(supervise(config))
}

/// Runs one supervision to its end and returns guillotine's exit status.
pub async fn supervise(config: Config) -> Result<u8, SetupError> {
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
        config.exit_map.clone(),
        config.lifetime,
        Instant::now(),
    );
    let readiness = ready_file(config.ready.clone());
    tokio::pin!(readiness);
    let mut ready_pending = config.ready.is_some();
    let mut last_stop_signal = None;
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
            () = &mut readiness, if ready_pending => {
                ready_pending = false;
                continue;
            }
            () = sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() => {
                Event::DeadlineReached
            }
        };
        for action in supervisor.on_event(event, Instant::now()) {
            if let Action::SignalAll(signal) = action {
                last_stop_signal = Some(signal as i32);
            }
            if let Some(status) = carry_out(action, child, &supervisor, &config) {
                let summary = Summary {
                    cause: supervisor.cause().unwrap_or(Cause::ChildEnded),
                    elapsed: started.elapsed(),
                    signal: last_stop_signal,
                    child: supervisor.child_end(),
                    status,
                };
                tracing::info!(
                    status,
                    cause = summary.cause.as_str(),
                    elapsed = ?summary.elapsed,
                    "exiting"
                );
                if let Some(path) = termination::destination(config.termination_log.as_deref()) {
                    let program = config.command[0].to_string_lossy();
                    termination::write(&path, &termination::message(&summary, &program));
                }
                return Ok(status);
            }
        }
    }
}

/// Waits until the child is ready, then writes the ready file; never returns without one.
async fn ready_file(ready: Option<ReadyFile>) {
    let Some(ready) = ready else {
        return std::future::pending().await;
    };
    readiness::wait_until_ready(&ready.probes).await;
    match atomic_file::write(&ready.path, b"ready\n", 0o644) {
        Ok(()) => tracing::info!(ready_file = %ready.path.display(), "child is ready"),
        Err(error) => {
            tracing::warn!(ready_file = %ready.path.display(), %error, "cannot write the ready file")
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
fn carry_out(action: Action, child: Pid, supervisor: &Supervisor, config: &Config) -> Option<u8> {
    match action {
        Action::PostQuitUrls => {
            for url in &config.quit_urls {
                tracing::info!(url, "asking the child to quit");
                let url = url.clone();
                tokio::spawn(async move {
                    match http::call(http::Method::Post, url.clone()).await {
                        Ok(status) => tracing::info!(url, status, "quit URL answered"),
                        Err(error) => tracing::warn!(url, %error, "quit URL failed"),
                    }
                });
            }
        }
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
        Action::Exit(status) => return Some(status),
    }
    None
}
