//! Readiness: checking the probes of `probe` until they hold.
//!
//! Owns: checking a probe once (an `exec:` try bounded by
//! [`EXEC_TRY_TIMEOUT`], its process group killed if it overruns or the wait is given up),
//! and waiting with backoff until every probe holds. Used by `run --wait-for` (the main
//! container waits for its sidecar) and by the supervisor's `--ready-when` (the sidecar says
//! when it is ready).
//! Never: gives up by itself (callers bound the wait), blocks the event loop, or waits for
//! a process: guillotine has one reaper, and an `exec:` try learns its end from whoever
//! runs it, through [`ProbeEnds`].

use crate::command_line::CommandLine;
use crate::exit::ChildEnd;
use crate::http;
use crate::probe::Probe;
use crate::sys::{process, spawn};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long one `exec:` try may run before its process group is killed and the try counts
/// as not ready: longer than `pg_isready`'s own 3 s connection timeout.
pub const EXEC_TRY_TIMEOUT: Duration = Duration::from_secs(5);

/// The ends of `exec:` tries' processes, handed over by whoever runs the reaper.
///
/// A try's process is guillotine's child, and guillotine has one reaper (`sys::reap`,
/// `waitpid(-1)`) — a second waiter would steal statuses from it or have its own stolen
/// (a pidfd does not prevent that). So a try never waits: it registers its pid here when it
/// starts, and the owner of the reaper passes every pid it collects to [`Self::report`].
///
/// The contract, for an owner: report every pid the reaper collects, on the thread that
/// polls the probes, right after reaping. A try's process that is registered and not yet
/// reported is then known to be unreaped, so its pid (its group's id) cannot have been
/// reused, and killing its group is safe.
#[derive(Debug, Clone, Default)]
pub struct ProbeEnds(Arc<Mutex<HashMap<Pid, oneshot::Sender<ChildEnd>>>>);

impl ProbeEnds {
    /// Hands the end of a process the reaper collected to the try that started it; false
    /// when no try did (an orphan, say).
    pub fn report(&self, pid: Pid, end: ChildEnd) -> bool {
        match self.pending().remove(&pid) {
            Some(try_end) => {
                // The try may have been given up meanwhile; then nobody needs the end.
                let _ = try_end.send(end);
                true
            }
            None => false,
        }
    }

    /// The registered tries. A poisoned lock (a panic elsewhere, which aborts in release
    /// builds anyway) still holds a consistent map: every operation on it is one call.
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<Pid, oneshot::Sender<ChildEnd>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn register(&self, pid: Pid) -> oneshot::Receiver<ChildEnd> {
        let (sender, receiver) = oneshot::channel();
        self.pending().insert(pid, sender);
        receiver
    }

    /// Whether `pid` is a try still running (a try's process leads its own group, so this
    /// also tells whether a group is a try's).
    pub fn runs(&self, pid: Pid) -> bool {
        self.pending().contains_key(&pid)
    }

    /// Stops waiting for `pid`; true if it had not been reported, that is, it is unreaped.
    fn forget(&self, pid: Pid) -> bool {
        self.pending().remove(&pid).is_some()
    }
}

/// One running `exec:` try. Dropped before its process ended (it overran, or the wait was
/// given up), it kills the process's group: no try outlives its turn.
struct ExecTry<'a> {
    pid: Pid,
    end: oneshot::Receiver<ChildEnd>,
    ends: &'a ProbeEnds,
}

impl Drop for ExecTry<'_> {
    fn drop(&mut self) {
        // Reported means reaped: its pid may already name another process.
        if !self.ends.forget(self.pid) {
            return;
        }
        // Registered and not reported: unreaped, so the group id is still this try's.
        if let Err(errno) = process::signal_group(self.pid, Signal::SIGKILL) {
            tracing::warn!(pid = self.pid.as_raw(), %errno, "cannot kill the exec probe");
        }
    }
}

/// Runs `command` once, in its own process group, for at most [`EXEC_TRY_TIMEOUT`]: true when
/// it exits 0.
async fn exec_holds(command: &CommandLine, ends: &ProbeEnds) -> bool {
    let pid = match spawn::spawn_probe(command) {
        Ok(pid) => pid,
        Err(error) => {
            tracing::warn!(%error, "exec probe: not ready");
            return false;
        }
    };
    let mut attempt = ExecTry {
        pid,
        end: ends.register(pid),
        ends,
    };
    match tokio::time::timeout(EXEC_TRY_TIMEOUT, &mut attempt.end).await {
        Ok(Ok(ChildEnd::Exited(0))) => true,
        Ok(Ok(ChildEnd::Exited(code))) => {
            tracing::debug!(command = ?command, code, "exec probe: not ready: exited with {code}");
            false
        }
        Ok(Ok(ChildEnd::Signaled(signal))) => {
            tracing::debug!(command = ?command, signal, "exec probe: not ready: killed by a signal");
            false
        }
        // The sender is dropped only after it sent, or by our own drop.
        Ok(Err(_)) => false,
        Err(_) => {
            tracing::warn!(
                command = ?command,
                "exec probe: not ready: still running after {}; killing it",
                crate::duration::format_duration(EXEC_TRY_TIMEOUT)
            );
            false
        }
    }
}

/// Checks a probe once; `ends` delivers the ends of `exec:` tries.
pub async fn holds(probe: &Probe, ends: &ProbeEnds) -> bool {
    match probe {
        Probe::Tcp { host, port } => {
            let connect = tokio::net::TcpStream::connect((host.as_str(), *port));
            matches!(
                tokio::time::timeout(Duration::from_secs(1), connect).await,
                Ok(Ok(_))
            )
        }
        Probe::Http { url } => matches!(
            http::call(http::Method::Get, url.clone()).await,
            Ok(200..=299)
        ),
        Probe::File(path) => path.symlink_metadata().is_ok(),
        Probe::Exec(command) => exec_holds(command, ends).await,
    }
}

/// The pause before attempt `attempt` (0-based) of a probe that did not hold: 50 ms,
/// doubling, at most 1 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(1))
}

/// Returns once every probe has held (each is checked until it holds, then no more);
/// `ends` must receive every pid the caller's reaper collects (see [`ProbeEnds`]).
pub async fn wait_until_all_hold(probes: &[Probe], ends: &ProbeEnds) {
    wait_until_all_hold_noting(probes, ends, &NotHeld::default()).await;
}

/// The probes of a wait that have not held yet (their indices), for whoever gives up on the
/// wait to say which.
#[derive(Debug, Default)]
pub struct NotHeld(Mutex<Vec<usize>>);

impl NotHeld {
    /// The indices, in the order the probes were given.
    pub fn indices(&self) -> Vec<usize> {
        self.lock().clone()
    }

    /// A poisoned lock (a panic elsewhere, which aborts in release builds anyway) still holds
    /// a consistent list: every operation on it is one call.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// [`wait_until_all_hold`], keeping in `not_held` the probes that have not held yet.
pub async fn wait_until_all_hold_noting(probes: &[Probe], ends: &ProbeEnds, not_held: &NotHeld) {
    *not_held.lock() = (0..probes.len()).collect();
    let mut attempt = 0;
    loop {
        for index in not_held.indices() {
            let Some(probe) = probes.get(index) else {
                continue;
            };
            if holds(probe, ends).await {
                not_held.lock().retain(|&other| other != index);
            }
        }
        if not_held.lock().is_empty() {
            return;
        }
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_second() {
        let pauses: Vec<u64> = (0..8).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(pauses, vec![50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(1));
    }
}
