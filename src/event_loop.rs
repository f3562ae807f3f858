//! The event loop: where the pure supervisor meets the system.
//!
//! Owns: the start-up order (signal handlers, subreaper, sentinel watch armed and checked,
//! then the child), the loop (wakes from [`crate::wake`] and quit-URL answers become events
//! for the supervisor; its actions are carried out here) and the exit report. Errors before
//! the child starts are [`SetupError`]s; after it starts, errors are logged and supervision
//! goes on.
//! Never: decides (that is `supervisor`), calls `waitpid` outside `sys::reap`, or blocks.

use crate::config::{Config, ConfigError, ReadyFile, time_allowed};
use crate::coordination::{Coordination, Kind};
use crate::deadman;
use crate::exit::{Cause, ChildEnd, Outcome};
use crate::reach::{Roots, Target};
use crate::readiness::{self, ProbeEnds};
use crate::sentinel::{SentinelError, SentinelWatch};
use crate::signal::FORWARDED;
use crate::signal::{raw_signal_name, signal_name};
use crate::supervisor::{Action, Event, Supervisor, Verdict, Why};
use crate::sys::{process, reap, signals, spawn, terminal};
use crate::termination::{self, Summary};
use crate::timestamp::format_timestamp;
use crate::wake::{self, Wake, Wakes};
use crate::{atomic_file, http};
use nix::sys::signal::Signal;
use nix::unistd::{Pid, getpgrp, getpid};
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle, JoinSet};

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
            | SetupError::Runtime(_) => crate::exit::status::USAGE,
        }
    }
}

/// A single-threaded runtime for a supervision.
pub fn runtime() -> Result<tokio::runtime::Runtime, SetupError> {
    wake::runtime().map_err(SetupError::Runtime)
}

/// Runs one supervision on its own runtime and returns guillotine's exit status. Calls
/// still in flight at the end (a quit URL that does not answer) are abandoned, not awaited.
///
/// Each `--done` file is held as a dead-man's lock from the start and written with the exit
/// status at the end (a setup error's too), then let go: the next sidecar of a chain learns
/// of the end either way.
pub fn run_to_end(config: Config) -> Result<u8, SetupError> {
    let done = config.done.clone();
    let holders = deadman::hold_all(&done, deadman::Policy::Always);
    let outcome = runtime().and_then(|runtime| {
        let outcome = runtime.block_on(supervise(config));
        runtime.shutdown_background();
        outcome
    });
    if !done.is_empty() {
        let status = match &outcome {
            Ok(status) => *status,
            Err(error) => error.exit_code(),
        };
        let unwritten = crate::done::write_all(&done, status);
        for unwritten in &unwritten {
            tracing::warn!("{unwritten}");
        }
        if unwritten.is_empty() {
            tracing::info!(status, done = ?done, "--done written");
        }
    }
    drop(holders);
    outcome
}

/// Runs one supervision to its end and returns guillotine's exit status: start-up, the
/// loop, the report.
pub async fn supervise(config: Config) -> Result<u8, SetupError> {
    let signals = register_signals()?;
    supervise_with(config, signals).await
}

/// Registers the handlers a supervision needs: CHLD and every forwarded signal.
pub fn register_signals() -> Result<signals::SignalListener, SetupError> {
    let forwarded = FORWARDED.map(|signal| signal as i32);
    signals::SignalListener::register(&forwarded).map_err(SetupError::Signals)
}

/// [`supervise`] with handlers registered earlier by [`register_signals`] (`guillotine
/// run` registers them before its wait, and a signal pending in them is not lost).
pub async fn supervise_with(
    config: Config,
    signals: signals::SignalListener,
) -> Result<u8, SetupError> {
    let started = Instant::now();
    let supervision = match start(&config, signals)? {
        Start::Running(supervision) => supervision,
        Start::AlreadyDone(status) => return Ok(status),
    };
    let verdict = supervision.run(&config).await;
    report(&verdict, started.elapsed(), &config);
    Ok(verdict.status)
}

/// How start-up ended.
enum Start {
    /// The main side was done before the child could start (a sentinel written, or its
    /// main containers gone without writing it): the command is not run; exit with this.
    AlreadyDone(u8),
    Running(Box<Supervision>),
}

impl Start {
    /// The main side was done, for `cause`, before the command started: it never runs, and
    /// the status is that cause's, remapped like any other.
    fn never_started(config: &Config, cause: Cause) -> Start {
        Start::AlreadyDone(config.exit_map.status(Outcome {
            cause,
            child: None,
            killed: false,
        }))
    }
}

/// A supervision whose child runs.
struct Supervision {
    child: Pid,
    /// guillotine handed the terminal's foreground to the child.
    terminal: bool,
    wakes: Wakes,
    supervisor: Supervisor,
    probe_ends: ProbeEnds,
    readiness: Option<JoinHandle<()>>,
    quit_calls: QuitCalls,
    /// `/proc` could not be read for the process tree (said once).
    blind: bool,
    coordination: Coordination,
    locks: Locks,
    /// The main side's end was handed to the supervisor already.
    main_side_said: bool,
}

/// The start-up order: signal handlers (before any child can exist, so no SIGCHLD is
/// missed; as PID 1 the kernel drops signals without one), subreaper, the sentinel watch
/// armed *then* looked at, then the child. None: a sentinel already exists (a restarted
/// sidecar whose job is done), so the command is not started.
fn start(config: &Config, signals: signals::SignalListener) -> Result<Start, SetupError> {
    if process::is_pid1() {
        tracing::debug!("running as PID 1: reaping every process of the namespace");
    } else if let Err(errno) = process::become_subreaper() {
        tracing::warn!(%errno, "cannot become a child subreaper; orphans will go to init");
    }
    let watched: Vec<PathBuf> = config
        .sentinels
        .iter()
        .chain(&config.watch_all)
        .cloned()
        .collect();
    let mut sentinel = SentinelWatch::arm(&watched, config.poll)?;
    let mut coordination = Coordination::new(
        config
            .sentinels
            .iter()
            .map(|_| Kind::Any)
            .chain(config.watch_all.iter().map(|_| Kind::All)),
    );
    let mut locks = Locks::new(sentinel.paths().to_vec());
    for (index, present) in sentinel.present().into_iter().enumerate() {
        if present {
            coordination.written(index);
        } else if locks.released_already(index) {
            coordination.abandoned(index);
        }
    }
    match coordination.done() {
        Some(Cause::Abandoned) => {
            tracing::info!(
                "the main container ended without writing the sentinel before this sidecar started; not starting the command"
            );
            return Ok(Start::never_started(config, Cause::Abandoned));
        }
        Some(_) => {
            tracing::info!(sentinels = ?watched, "sentinel already exists; not starting the command (restart after completion)");
            return Ok(Start::AlreadyDone(0));
        }
        None => {}
    }
    // The deadline is wall-clock time (the same for every restart and replacement pod); the
    // supervisor counts in monotonic time from here on.
    let Ok(allowed) = time_allowed(config.lifetime, config.deadline, SystemTime::now()) else {
        tracing::info!(
            deadline = config.deadline.and_then(format_timestamp),
            "the deadline has passed; not starting the command"
        );
        return Ok(Start::never_started(config, Cause::Lifetime));
    };
    let terminal = terminal::holds_foreground();
    let child = spawn::spawn(
        &config.command,
        spawn::ChildSetup::OwnGroupCleanSignals {
            take_terminal: terminal,
        },
    )?;
    tracing::info!(
        pid = child.as_raw(),
        pgid = child.as_raw(),
        command = ?config.command.words().collect::<Vec<_>>(),
        "child started"
    );
    let roots = Roots {
        own_pid: getpid().as_raw(),
        own_group: getpgrp().as_raw(),
        child: child.as_raw(),
    };
    let supervisor = Supervisor::new(
        config.stop,
        config.exit_map.clone(),
        allowed,
        roots,
        Instant::now(),
    );
    let probe_ends = ProbeEnds::default();
    let readiness = config
        .ready
        .clone()
        .map(|ready| tokio::spawn(ready_file(ready, probe_ends.clone())));
    locks.watch_new();
    Ok(Start::Running(Box::new(Supervision {
        child,
        terminal,
        wakes: Wakes::with_sentinel(signals, sentinel),
        supervisor,
        probe_ends,
        readiness,
        quit_calls: QuitCalls::default(),
        blind: false,
        coordination,
        locks,
        main_side_said: false,
    })))
}

impl Supervision {
    /// The loop: each wake becomes an event for the supervisor, whose actions are carried
    /// out, until it hands back its verdict.
    async fn run(mut self, config: &Config) -> Verdict {
        loop {
            let deadline = self.supervisor.deadline();
            let event = tokio::select! {
                wake = self.wakes.next(deadline) => match self.event(wake) {
                    Some(event) => event,
                    None => continue,
                },
                Some(answer) = self.quit_calls.calls.join_next(), if !self.quit_calls.calls.is_empty() => {
                    match self.quit_calls.answered(answer) {
                        Some(event) => event,
                        None => continue,
                    }
                }
                Some((index, released)) = self.locks.released.recv() => {
                    match self.lock_released(index, released) {
                        Some(event) => event,
                        None => continue,
                    }
                }
            };
            // A scan asked for by the supervisor is answered at once, before anything else.
            let mut events = VecDeque::from([event]);
            while let Some(event) = events.pop_front() {
                for action in self.supervisor.on_event(event, Instant::now()) {
                    match action {
                        Action::ScanTree => events.push_back(Event::Scanned(self.scan())),
                        Action::Exit(verdict) => {
                            stop_readiness(&mut self.readiness);
                            self.quit_calls.abandon();
                            return verdict;
                        }
                        action => {
                            // Once the stop begins, no new probe try may start.
                            if matches!(action, Action::PostQuitUrls | Action::Signal { .. }) {
                                stop_readiness(&mut self.readiness);
                            }
                            carry_out(action, self.child, config, &mut self.quit_calls)
                        }
                    }
                }
            }
        }
    }

    /// guillotine's descendants for the supervisor, but for readiness tries (readiness ends
    /// them itself, and they are nobody's leftovers). When `/proc` cannot tell, none: the
    /// stop then reaches the child's group alone, said once.
    fn scan(&mut self) -> Vec<crate::reach::Process> {
        match process::descendants() {
            Ok(mut tree) => {
                tree.retain(|process| !self.probe_ends.runs(Pid::from_raw(process.group)));
                tree
            }
            Err(error) => {
                if !std::mem::replace(&mut self.blind, true) {
                    tracing::warn!(%error, "cannot see the process tree; the stop reaches the child's group only");
                }
                vec![]
            }
        }
    }

    /// Every holder of sentinel `index`'s dead-man's lock has let go: written (the main
    /// container wrote it, then exited) or abandoned (it died without writing it).
    fn lock_released(&mut self, index: usize, released: io::Result<()>) -> Option<Event> {
        if let Err(error) = released {
            tracing::warn!(%error, sentinel = %self.locks.sentinels[index].display(), "cannot wait on the dead-man's lock; only the sentinel will stop the child");
            return None;
        }
        let sentinel = self.wakes.sentinel()?;
        if sentinel.present().get(index) == Some(&true) {
            self.coordination.written(index);
        } else {
            tracing::warn!(sentinel = %self.locks.sentinels[index].display(), "the main container ended without writing the sentinel");
            self.coordination.abandoned(index);
        }
        self.main_side_done()
    }

    /// Whether the sentinels now say the main side is done: the event, once (the sentinel
    /// and the lock let go right after it both say so).
    fn main_side_done(&mut self) -> Option<Event> {
        if self.main_side_said {
            return None;
        }
        let cause = self.coordination.done()?;
        self.main_side_said = true;
        let sentinel = self.wakes.sentinel()?;
        tracing::info!(cause = cause.as_str(), "the main side is done");
        sentinel.disarm();
        Some(match cause {
            Cause::Abandoned => Event::Abandoned,
            _ => Event::SentinelAppeared,
        })
    }

    /// What a wake means for the supervisor, if anything.
    fn event(&mut self, wake: Wake) -> Option<Event> {
        match wake {
            Wake::ChildChanged => Some(reaped(self.child, self.terminal, &self.probe_ends)),
            Wake::Signal(number) => Signal::try_from(number).ok().map(Event::SignalReceived),
            Wake::SentinelChanged => {
                let sentinel = self.wakes.sentinel()?;
                for (index, present) in sentinel.present().into_iter().enumerate() {
                    if present {
                        self.coordination.written(index);
                    }
                }
                // A main container may have published its lock file meanwhile.
                self.locks.watch_new();
                self.main_side_done()
            }
            Wake::Deadline => Some(Event::DeadlineReached),
        }
    }
}

/// The dead-man's locks of the watched sentinels: one thread per lock whose holders run
/// under `--done-on always`, asleep in flock(2) until the last of them lets go.
struct Locks {
    sentinels: Vec<PathBuf>,
    waiting: Vec<bool>,
    sender: mpsc::UnboundedSender<(usize, io::Result<()>)>,
    released: mpsc::UnboundedReceiver<(usize, io::Result<()>)>,
}

impl Locks {
    fn new(sentinels: Vec<PathBuf>) -> Self {
        let (sender, released) = mpsc::unbounded_channel();
        Locks {
            waiting: vec![false; sentinels.len()],
            sentinels,
            sender,
            released,
        }
    }

    /// Whether sentinel `index` has a lock that its holders, running under `always`, have
    /// all let go already (they ended before this sidecar started).
    fn released_already(&self, index: usize) -> bool {
        let sentinel = &self.sentinels[index];
        deadman::policy(sentinel) == Some(deadman::Policy::Always)
            && deadman::released(sentinel).unwrap_or(false)
    }

    /// Starts a waiting thread for every lock that a holder under `always` has published
    /// since the last look. (Under `success` a holder gone without writing the sentinel
    /// failed and will be restarted in place: nothing to wait for.)
    fn watch_new(&mut self) {
        for (index, sentinel) in self.sentinels.iter().enumerate() {
            if self.waiting[index] || deadman::policy(sentinel) != Some(deadman::Policy::Always) {
                continue;
            }
            let (sentinel, sender) = (sentinel.clone(), self.sender.clone());
            let started = std::thread::Builder::new()
                .name("dead-man's lock".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    let _ = sender.send((index, deadman::wait_released(&sentinel)));
                });
            match started {
                Ok(_) => self.waiting[index] = true,
                Err(error) => {
                    tracing::warn!(%error, "cannot start waiting on a dead-man's lock")
                }
            }
        }
    }
}

/// The quit URL calls of one stop sequence, and whether any answered 2xx.
#[derive(Default)]
struct QuitCalls {
    calls: JoinSet<(String, Result<u16, String>)>,
    any_succeeded: bool,
}

impl QuitCalls {
    fn start(&mut self, url: &str) {
        tracing::info!(url, "asking the child to quit");
        let url = url.to_owned();
        self.calls.spawn(async move {
            let answer = http::call(http::Method::Post, url.clone()).await;
            (url, answer)
        });
    }

    /// Logs one answer; [`Event::QuitUrlsFailed`] once the last call is in and none succeeded.
    fn answered(
        &mut self,
        joined: Result<(String, Result<u16, String>), JoinError>,
    ) -> Option<Event> {
        match joined {
            Ok((url, Ok(status))) if (200..300).contains(&status) => {
                tracing::info!(url, status, "quit URL answered");
                self.any_succeeded = true;
            }
            Ok((url, Ok(status))) => tracing::warn!(url, status, "quit URL answered with an error"),
            Ok((url, Err(error))) => tracing::warn!(url, %error, "quit URL failed"),
            Err(error) => tracing::warn!(%error, "quit URL call failed"),
        }
        (self.calls.is_empty() && !self.any_succeeded).then(|| {
            tracing::warn!("every quit URL failed; sending the stop signal now");
            Event::QuitUrlsFailed
        })
    }

    /// Supervision is over: calls that have not answered are not waited for.
    fn abandon(&mut self) {
        if !self.calls.is_empty() {
            tracing::info!(
                calls = self.calls.len(),
                "exiting without waiting for quit URL calls still in flight"
            );
        }
        self.calls.abort_all();
    }
}

/// The exit report: a log line and the termination message.
fn report(verdict: &Verdict, elapsed: Duration, config: &Config) {
    tracing::info!(
        status = verdict.status,
        cause = verdict.cause.as_str(),
        ?elapsed,
        "exiting"
    );
    if let Some(path) = termination::destination(config.termination_log.as_deref()) {
        let summary = Summary {
            cause: verdict.cause,
            elapsed,
            signal: verdict.last_signal.map(|signal| signal as i32),
            child: verdict.child,
            status: verdict.status,
        };
        let program = config.command.program().to_string_lossy();
        termination::write(&path, &termination::message(&summary, &program));
    }
}

/// Ends the readiness checks (an `exec:` try still running is killed as its future drops).
fn stop_readiness(readiness: &mut Option<JoinHandle<()>>) {
    if let Some(task) = readiness.take() {
        task.abort();
    }
}

/// Waits until the child is ready, then writes the ready file. `ends` receives the ends of
/// `exec:` tries from the reaper.
async fn ready_file(ready: ReadyFile, ends: ProbeEnds) {
    readiness::wait_until_all_hold(&ready.probes, &ends).await;
    match atomic_file::write(&ready.path, b"ready\n", 0o644) {
        Ok(()) => tracing::info!(ready_file = %ready.path.display(), "child is ready"),
        Err(error) => {
            tracing::warn!(ready_file = %ready.path.display(), %error, "cannot write the ready file")
        }
    }
}

/// Runs the reaper and turns what it found into an event for the supervisor. Once the
/// child has ended, the terminal's foreground comes back to guillotine if it had it; the
/// end of an `exec:` readiness try goes to the try.
fn reaped(child: Pid, terminal: bool, probe_ends: &ProbeEnds) -> Event {
    let reaped = reap::reap();
    let mut child_end = None;
    for ended in reaped.ended {
        if ended.pid == child {
            log_child_end(child, ended.end);
            if terminal {
                terminal::take_back();
            }
            child_end = Some(ended.end);
        } else if !probe_ends.report(ended.pid, ended.end) {
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

/// Carries out one action (every one but a scan and the exit).
fn carry_out(action: Action, child: Pid, config: &Config, quit_calls: &mut QuitCalls) {
    match action {
        Action::PostQuitUrls => {
            for url in &config.quit_urls {
                quit_calls.start(url);
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
        Action::DelayStop(delay) => tracing::info!(
            ?delay,
            "SIGTERM: the child runs on until the main side is done, then stops (--term-delay)"
        ),
        Action::NotForwarded(signal) => tracing::info!(
            signal = signal_name(signal),
            "not forwarding: the child has ended and what it left is being stopped"
        ),
        Action::StopUnderWay => {
            tracing::info!("SIGTERM: a stop sequence is under way already; it goes on")
        }
        Action::Signal {
            signal,
            targets,
            why,
        } => {
            let name = signal_name(signal);
            let list = targets
                .iter()
                .map(Target::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            match why {
                Why::Stop(cause) => {
                    tracing::info!(
                        signal = name,
                        cause = cause.as_str(),
                        targets = list,
                        "stopping"
                    )
                }
                Why::GraceRanOut(running) => tracing::warn!(
                    grace = ?config.stop.grace,
                    still_running = named(&running),
                    "the grace period ran out; sending SIGKILL"
                ),
                Why::LateArrivals => tracing::info!(
                    signal = name,
                    targets = list,
                    "signalling processes adopted during the stop"
                ),
                Why::Continue => tracing::debug!(targets = list, "continuing stopped processes"),
            }
            for target in targets {
                match process::send(target, signal) {
                    Ok(()) => tracing::debug!(signal = name, %target, "sent signal"),
                    Err(errno) => tracing::warn!(%errno, signal = name, %target, "cannot signal"),
                }
            }
        }
        Action::WarnLeftBehind(left) => tracing::warn!(
            left = named(&left),
            "the child ended but left processes running; stopping them now. If the command \
             daemonizes, run it in the foreground instead (nginx: 'daemon off;', haproxy: -db, \
             most servers: --foreground or --no-daemon)"
        ),
        Action::AbandonSurvivors(survivors) => {
            for survivor in survivors {
                tracing::error!(
                    pid = survivor.pid,
                    name = survivor.name,
                    state = %survivor.state,
                    "process survived SIGKILL (uninterruptible sleep?); exiting without it"
                );
            }
        }
        Action::ScanTree | Action::Exit(_) => {}
    }
}

/// `nginx[12], nginx[13]`: processes as a log field.
fn named(processes: &[crate::reach::Process]) -> String {
    processes
        .iter()
        .map(|process| format!("{}[{}]", process.name, process.pid))
        .collect::<Vec<_>>()
        .join(", ")
}
