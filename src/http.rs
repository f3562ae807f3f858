//! The two HTTP calls guillotine makes: GET for readiness probes, POST for quit URLs.
//!
//! Owns: the HTTP client (ureq, plain HTTP only: probes and quit endpoints listen on the
//! pod's loopback) and its timeouts: [`CALL_TIMEOUT`] for [`call`], the caller's for
//! [`call_within`]. Calls block, so they run on tokio's blocking pool.
//! URLs were checked when the command line was read (`url`).
//! Never: blocks the event loop, follows TLS, or retries on its own (callers decide, and
//! [`Failure`] tells them whether anything was listening).

use std::time::Duration;

/// How long one call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Why a call got no status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing listens there (yet): the connection was refused.
    Refused,
    /// The call's time ran out (connecting, sending or waiting for the answer).
    TimedOut,
    /// Anything else, in the client's words.
    Other(String),
}

/// Sends one request with an empty body, bounded by [`CALL_TIMEOUT`]; the status code, or
/// why there was none.
pub async fn call(method: Method, url: String) -> Result<u16, String> {
    run_blocking(method, url, CALL_TIMEOUT)
        .await
        .map_err(|error| error.to_string())
}

/// Sends one request with an empty body, bounded by `timeout` (connection included); the
/// status code, or why there was none.
pub async fn call_within(method: Method, url: String, timeout: Duration) -> Result<u16, Failure> {
    run_blocking(method, url, timeout)
        .await
        .map_err(|error| match error {
            Failed::Client(error) => classify(error),
            Failed::Task(error) => Failure::Other(error),
        })
}

enum Failed {
    Client(ureq::Error),
    /// The blocking task did not finish (it panicked).
    Task(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Client(error) => write!(f, "{error}"),
            Failed::Task(error) => write!(f, "{error}"),
        }
    }
}

async fn run_blocking(method: Method, url: String, timeout: Duration) -> Result<u16, Failed> {
    tokio::task::spawn_blocking(move || call_blocking(method, &url, timeout))
        .await
        .map_err(|error| Failed::Task(error.to_string()))?
        .map_err(Failed::Client)
}

fn classify(error: ureq::Error) -> Failure {
    match error {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Failure::Refused
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Failure::TimedOut,
        ureq::Error::Timeout(_) => Failure::TimedOut,
        other => Failure::Other(other.to_string()),
    }
}

fn call_blocking(method: Method, url: &str, timeout: Duration) -> Result<u16, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let response = match method {
        Method::Get => agent.get(url).call(),
        Method::Post => agent.post(url).send_empty(),
    };
    response.map(|response| response.status().as_u16())
}
