//! The two HTTP calls guillotine makes: GET for readiness probes, POST for quit URLs.
//!
//! Owns: the HTTP client (ureq, plain HTTP only: probes and quit endpoints listen on the
//! pod's loopback) and its timeouts. Calls block, so they run on tokio's blocking pool.
//! URLs were checked when the command line was read (`url`).
//! Never: blocks the event loop, follows TLS, or retries on its own (callers decide).

use std::time::Duration;

/// How long one call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Sends one request with an empty body; the status code, or why there was none.
pub async fn call(method: Method, url: String) -> Result<u16, String> {
    tokio::task::spawn_blocking(move || call_blocking(method, &url))
        .await
        .map_err(|error| error.to_string())?
}

fn call_blocking(method: Method, url: &str) -> Result<u16, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(CALL_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let response = match method {
        Method::Get => agent.get(url).call(),
        Method::Post => agent.post(url).send_empty(),
    };
    response
        .map(|response| response.status().as_u16())
        .map_err(|error| error.to_string())
}
