//! `guillotine run`: the main container's side of the pod.
//!
//! Owns: waiting for the sidecar (`--wait-for`, bounded by `--wait-timeout`, ended early by
//! a terminating signal), the reaper during that wait (for `exec:` probes and, as PID 1,
//! orphans), running COMMAND under the same supervision as a sidecar (own group,
//! forwarding, reaping), and writing the sentinels with its status — in every case with
//! `--done-on always`, usage errors included, so the sidecar is never left running; a
//! sentinel that cannot be written ends in [`SENTINEL_NOT_WRITTEN`], never in silence.
//! Then, by the same `--done-on` rule, POSTing the `--quit-url`s of sidecars guillotine
//! does not wrap (through [`crate::quit`]), each failure a warning.
//! Never: exits without deciding about the sentinel, starts COMMAND after a signal, lets a
//! quit URL change the exit status, or POSTs before the sentinels are written.

use crate::cli::{DoneOn, OnWaitTimeout, RunArgs};
use crate::config::{RunConfig, run_quit_urls};
use crate::event_loop;
use crate::exit::ChildEnd;
use crate::exit::status::{SENTINEL_NOT_WRITTEN, TIMED_OUT, USAGE};
use crate::probe::Probe;
use crate::readiness::{self, ProbeEnds};
use crate::signal::raw_signal_name;
use crate::sys::{reap, signals};
use crate::{deadman, done};
use std::path::PathBuf;
use std::time::Duration;

/// Runs COMMAND and returns guillotine's status, after writing the sentinels as `--done-on`
/// says.
pub fn run(args: RunArgs) -> u8 {
    // Held for our whole life, let go only after the sentinels are written: if we die
    // first (SIGKILL, an OOM kill of the container), the kernel lets go for us, and the
    // sidecars learn that we ended without writing them.
    let policy = match args.done_on {
        DoneOn::Always => deadman::Policy::Always,
        DoneOn::Success => deadman::Policy::Success,
    };
    let holders = deadman::hold_all(&args.done, policy);
    let status = run_command(&args);
    let exit = finish(&args.done, args.done_on, status);
    // The sentinels are written: the lock may go before the quit URLs are called.
    drop(holders);
    quit_sidecars(&args, status);
    exit
}

/// The arguments were refused before they could be read (clap's usage errors), but they
/// name sentinels to write: writes them with 125, as any other usage error of `run` does.
pub fn refused(sentinels: &[PathBuf]) -> u8 {
    finish(sentinels, DoneOn::Always, USAGE)
}

/// Writes the sentinels with `status` if `done_on` says so; the status to exit with:
/// `status`, or [`SENTINEL_NOT_WRITTEN`] (each failure said) when one could not be written.
fn finish(sentinels: &[PathBuf], done_on: DoneOn, status: u8) -> u8 {
    if !due(done_on, status) {
        return status;
    }
    let unwritten = done::write_all(sentinels, status);
    if unwritten.is_empty() {
        tracing::info!(status, sentinels = ?sentinels, "sentinels written");
        return status;
    }
    for sentinel in &unwritten {
        eprintln!(
            "guillotine run: {sentinel}; exit status {SENTINEL_NOT_WRITTEN} instead of {status}"
        );
    }
    SENTINEL_NOT_WRITTEN
}

/// Whether COMMAND's `status` tells the sidecar to stop, as `done_on` says: the one rule for
/// the sentinels and the quit URLs.
fn due(done_on: DoneOn, status: u8) -> bool {
    match done_on {
        DoneOn::Always => true,
        DoneOn::Success => status == 0,
    }
}

/// POSTs `run`'s quit URLs (all at once, each bounded by `--quit-timeout`) when `--done-on`
/// says `status` is due; each failure is a warning naming the URL and why. Quit options that
/// do not check were said as a usage error already: nothing is POSTed then.
fn quit_sidecars(args: &RunArgs, status: u8) {
    if args.quit_url.is_empty() || !due(args.done_on, status) {
        return;
    }
    let Ok(quit) = run_quit_urls(args) else {
        return;
    };
    tracing::info!(urls = ?quit.urls, status, "asking the sidecars to quit");
    match crate::quit::post_all_blocking(&quit) {
        Ok(failures) => {
            for (url, failure) in failures {
                tracing::warn!(
                    url,
                    %failure,
                    "could not ask the sidecar to quit: it may keep the pod running"
                );
            }
        }
        Err(error) => tracing::warn!(
            %error,
            "cannot start the event loop for the quit URLs: the sidecars were not asked to quit"
        ),
    }
}

fn run_command(args: &RunArgs) -> u8 {
    let config = match RunConfig::try_from(args) {
        Ok(config) => config,
        Err(error) => return usage_error(&error.to_string()),
    };
    let runtime = match event_loop::runtime() {
        Ok(runtime) => runtime,
        Err(error) => return usage_error(&error.to_string()),
    };
    let status = runtime.block_on(async {
        // Before the wait: without a handler, a TERM during it would kill us without a
        // sentinel (and as PID 1 the kernel would drop it). The same handlers go on to
        // COMMAND's supervision, so a signal pending when the wait ends is not lost: it is
        // forwarded to COMMAND.
        let mut signals = match event_loop::register_signals() {
            Ok(signals) => signals,
            Err(error) => return usage_error(&error.to_string()),
        };
        match wait_for(
            &config.wait_for,
            config.wait_timeout,
            config.on_wait_timeout,
            &mut signals,
        )
        .await
        {
            Waited::Ready => {}
            Waited::TimedOut => return TIMED_OUT,
            Waited::Signalled(signal) => return ChildEnd::Signaled(signal).shell_status(),
        }
        match event_loop::supervise_with(config.supervision, signals).await {
            Ok(status) => status,
            Err(error) => {
                eprintln!("guillotine run: {error}");
                error.exit_code()
            }
        }
    });
    // A probe's HTTP call still in flight is not waited for.
    runtime.shutdown_background();
    status
}

/// How the wait for readiness ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waited {
    Ready,
    TimedOut,
    /// A signal that would have killed COMMAND arrived: it is not started.
    Signalled(i32),
}

/// Waits until every probe holds, `timeout` passes or a terminating signal arrives (each
/// said on stderr, a timeout with the probes that did not hold), reaping meanwhile: an
/// `exec:` try's end goes to readiness, anything else is an orphan adopted as PID 1. A
/// timeout is [`Waited::Ready`] with `--on-wait-timeout start`.
async fn wait_for(
    probes: &[Probe],
    timeout: Duration,
    on_timeout: OnWaitTimeout,
    signals: &mut signals::SignalListener,
) -> Waited {
    if probes.is_empty() {
        return Waited::Ready;
    }
    let names: Vec<String> = probes.iter().map(Probe::to_string).collect();
    tracing::info!(probes = ?names, "waiting for readiness");
    let ends = ProbeEnds::default();
    let not_held = readiness::NotHeld::default();
    // Bounded like every deadline (see `wake::FAR_FUTURE`): a longer wait is a wait forever.
    let ready = tokio::time::timeout(
        timeout.min(crate::wake::FAR_FUTURE),
        readiness::wait_until_all_hold_noting(probes, &ends, &not_held),
    );
    tokio::pin!(ready);
    loop {
        tokio::select! {
            outcome = &mut ready => {
                if outcome.is_ok() {
                    return Waited::Ready;
                }
                let not_held: Vec<&str> = not_held
                    .indices()
                    .into_iter()
                    .filter_map(|index| names.get(index).map(String::as_str))
                    .collect();
                let (then, waited) = match on_timeout {
                    OnWaitTimeout::Fail => ("COMMAND was not started", Waited::TimedOut),
                    OnWaitTimeout::Start => (
                        "starting COMMAND anyway (--on-wait-timeout start)",
                        Waited::Ready,
                    ),
                };
                eprintln!(
                    "guillotine run: not ready after {}: {}; {then}",
                    crate::duration::format_duration(timeout),
                    not_held.join(", ")
                );
                return waited;
            }
            delivery = signals.next() => match delivery {
                signals::Delivery::ChildChanged => {
                    for ended in reap::reap().ended {
                        if !ends.report(ended.pid, ended.end) {
                            tracing::debug!(pid = ended.pid.as_raw(), end = ?ended.end, "reaped a process no probe waits for");
                        }
                    }
                }
                signals::Delivery::Signal(signal) if ends_the_wait(signal) => {
                    eprintln!(
                        "guillotine run: received {} while waiting for readiness; COMMAND was not started",
                        raw_signal_name(signal)
                    );
                    return Waited::Signalled(signal);
                }
                signals::Delivery::Signal(signal) => {
                    tracing::debug!(signal = raw_signal_name(signal), "ignored while waiting");
                }
            },
        }
    }
}

/// Whether `signal`, arriving during the wait, ends it: every signal whose default action
/// would have ended COMMAND, that is all but those ignored by default (signal(7)).
fn ends_the_wait(signal: i32) -> bool {
    ![libc::SIGCHLD, libc::SIGCONT, libc::SIGWINCH, libc::SIGURG].contains(&signal)
}

fn usage_error(message: &str) -> u8 {
    eprintln!("guillotine run: {message}");
    USAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signals_that_would_end_command_end_the_wait() {
        for signal in crate::signal::FORWARDED {
            let ends = !matches!(
                signal,
                nix::sys::signal::Signal::SIGCONT | nix::sys::signal::Signal::SIGWINCH
            );
            assert_eq!(ends_the_wait(signal as i32), ends, "{signal}");
        }
    }

    #[test]
    fn done_on_success_writes_only_for_zero() {
        let dir = tempfile::tempdir().unwrap();
        let sentinel = dir.path().join("done");
        let sentinels = std::slice::from_ref(&sentinel);
        assert_eq!(finish(sentinels, DoneOn::Success, 3), 3);
        assert!(!sentinel.exists());
        assert_eq!(finish(sentinels, DoneOn::Success, 0), 0);
        assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "0\n");
        assert_eq!(refused(sentinels), 125);
        assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "125\n");
    }
}
