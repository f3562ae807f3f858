//! Readiness probes: `tcp://HOST:PORT`, `http://HOST:PORT/PATH` (any 2xx), `file:PATH` and
//! `exec:PROGRAM ARGS` (exit 0).
//!
//! Owns: the probe grammar, checking a probe once (an `exec:` try bounded by
//! [`EXEC_TRY_TIMEOUT`], its process group killed if it overruns or the wait is given up),
//! and waiting with backoff until every probe holds. Used by `run --wait-for` (the main
//! container waits for its sidecar) and by the supervisor's `--ready-when` (the sidecar says
//! when it is ready).
//! Never: gives up by itself (callers bound the wait), blocks the event loop, or waits for
//! a process: guillotine has one reaper, and an `exec:` try learns its end from whoever
//! runs it, through [`ProbeEnds`].

use crate::exit::ChildEnd;
use crate::http;
use crate::sys::{process, spawn};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long one `exec:` try may run before its process group is killed and the try counts
/// as not ready: longer than `pg_isready`'s own 3 s connection timeout.
pub const EXEC_TRY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connection succeeds.
    Tcp { host: String, port: u16 },
    /// GET answers 2xx.
    Http { url: String },
    /// The file exists.
    File(PathBuf),
    /// The program exits 0: program and arguments, split on whitespace (no shell).
    Exec { argv: Vec<String> },
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Probe::Http { url } => f.write_str(url),
            Probe::File(path) => write!(f, "file:{}", path.display()),
            Probe::Exec { argv } => write!(f, "exec:{}", argv.join(" ")),
        }
    }
}

/// The forms a probe takes.
const FORMS: &str = "tcp://HOST:PORT, http://HOST:PORT/PATH, file:PATH or exec:PROGRAM ARGS";

/// A probe that does not parse (a usage error, 125).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a probe: {reason}; use {forms}")]
pub struct ProbeError {
    pub input: String,
    pub reason: &'static str,
    forms: &'static str,
}

/// Parses a probe of `--ready-when` or `run --wait-for`.
pub fn parse_probe(input: &str) -> Result<Probe, ProbeError> {
    let forms = FORMS;
    let error = |reason| ProbeError {
        input: input.to_owned(),
        reason,
        forms,
    };
    if let Some(address) = input.strip_prefix("tcp://") {
        let (host, port) = address.rsplit_once(':').ok_or_else(|| error("no :PORT"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(error("no host"));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|port| *port > 0)
            .ok_or_else(|| error("the port is not 1-65535"))?;
        return Ok(Probe::Tcp {
            host: host.to_owned(),
            port,
        });
    }
    if input.starts_with("http://") {
        http::check_url(input).map_err(error)?;
        return Ok(Probe::Http {
            url: input.to_owned(),
        });
    }
    if input.starts_with("https://") {
        return Err(error(
            "https is not supported (probe the plain-HTTP port on loopback)",
        ));
    }
    if let Some(path) = input.strip_prefix("file:") {
        if path.is_empty() {
            return Err(error("no path"));
        }
        return Ok(Probe::File(PathBuf::from(path)));
    }
    if let Some(command) = input.strip_prefix("exec:") {
        let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if argv.is_empty() {
            return Err(error("no program"));
        }
        return Ok(Probe::Exec { argv });
    }
    Err(error("unknown scheme"))
}

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

/// Runs `argv` once, in its own process group, for at most [`EXEC_TRY_TIMEOUT`]: true when
/// it exits 0.
async fn exec_holds(argv: &[String], ends: &ProbeEnds) -> bool {
    let command: Vec<OsString> = argv.iter().map(OsString::from).collect();
    let pid = match spawn::spawn_probe(&command) {
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
            tracing::debug!(command = ?argv, code, "exec probe: not ready: exited with {code}");
            false
        }
        Ok(Ok(ChildEnd::Signaled(signal))) => {
            tracing::debug!(command = ?argv, signal, "exec probe: not ready: killed by a signal");
            false
        }
        // The sender is dropped only after it sent, or by our own drop.
        Ok(Err(_)) => false,
        Err(_) => {
            tracing::warn!(
                command = ?argv,
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
        Probe::Exec { argv } => exec_holds(argv, ends).await,
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
    let mut pending: Vec<&Probe> = probes.iter().collect();
    let mut attempt = 0;
    loop {
        let mut still = Vec::new();
        for probe in pending {
            if !holds(probe, ends).await {
                still.push(probe);
            }
        }
        if still.is_empty() {
            return;
        }
        pending = still;
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            parse_probe("tcp://127.0.0.1:5432"),
            Ok(Probe::Tcp {
                host: "127.0.0.1".into(),
                port: 5432
            })
        );
        assert_eq!(
            parse_probe("tcp://[::1]:15000"),
            Ok(Probe::Tcp {
                host: "::1".into(),
                port: 15000
            })
        );
        assert_eq!(
            parse_probe("http://localhost:15021/healthz/ready"),
            Ok(Probe::Http {
                url: "http://localhost:15021/healthz/ready".into()
            })
        );
        assert_eq!(
            parse_probe("file:/shared/ready"),
            Ok(Probe::File("/shared/ready".into()))
        );
    }

    #[test]
    fn rejects_with_the_accepted_forms() {
        for (input, reason) in [
            ("tcp://localhost", "no :PORT"),
            ("tcp://:80", "no host"),
            ("tcp://h:0", "the port is not 1-65535"),
            ("tcp://h:70000", "the port is not 1-65535"),
            ("http:///x", "no host"),
            (
                "https://h/",
                "https is not supported (probe the plain-HTTP port on loopback)",
            ),
            ("file:", "no path"),
            ("localhost:80", "unknown scheme"),
        ] {
            let error = parse_probe(input).unwrap_err();
            assert_eq!(error.reason, reason, "{input}");
            assert!(error.to_string().ends_with(
                "use tcp://HOST:PORT, http://HOST:PORT/PATH, file:PATH or exec:PROGRAM ARGS"
            ));
        }
    }

    #[test]
    fn http_probes_go_through_the_one_url_check() {
        for url in ["http://h:99999/", "http://:80/", "http://h/a b"] {
            assert_eq!(
                parse_probe(url).unwrap_err().reason,
                http::check_url(url).unwrap_err(),
                "{url}"
            );
        }
    }

    #[test]
    fn exec_probes_split_on_whitespace() {
        assert_eq!(
            parse_probe("exec:pg_isready  -h 127.0.0.1\t-p 5432"),
            Ok(Probe::Exec {
                argv: ["pg_isready", "-h", "127.0.0.1", "-p", "5432"]
                    .map(String::from)
                    .to_vec()
            })
        );
        assert_eq!(
            parse_probe("exec:pg_isready -h 127.0.0.1")
                .unwrap()
                .to_string(),
            "exec:pg_isready -h 127.0.0.1"
        );
        let error = parse_probe("exec: ").unwrap_err();
        assert_eq!(error.reason, "no program");
        assert!(
            error
                .to_string()
                .ends_with("file:PATH or exec:PROGRAM ARGS")
        );
        assert_eq!(
            parse_probe("exec:true"),
            Ok(Probe::Exec {
                argv: vec!["true".into()]
            })
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_second() {
        let pauses: Vec<u64> = (0..8).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(pauses, vec![50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(1));
    }

    proptest! {
        #[test]
        fn never_panics(input in ".*") {
            let _ = parse_probe(&input);
            let _ = parse_probe(&input);
        }

        #[test]
        fn tcp_probes_round_trip(host in "[a-z][a-z0-9.-]{0,20}", port in 1u16..) {
            let text = format!("tcp://{host}:{port}");
            prop_assert_eq!(parse_probe(&text).unwrap().to_string(), text);
        }
    }
}
