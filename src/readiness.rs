//! Readiness probes: `tcp://HOST:PORT`, `http://HOST:PORT/PATH` (any 2xx) and `file:PATH`.
//!
//! Owns: the probe grammar, checking a probe once, and waiting with backoff until every
//! probe holds. Used by `run --wait-for` (the main container waits for its sidecar) and by
//! the supervisor's `--ready-when` (the sidecar says when it is ready).
//! Never: gives up by itself (callers bound the wait) or blocks the event loop.

use crate::http;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connection succeeds.
    Tcp { host: String, port: u16 },
    /// GET answers 2xx.
    Http { url: String },
    /// The file exists.
    File(PathBuf),
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Probe::Http { url } => f.write_str(url),
            Probe::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// A probe that does not parse (a usage error, 125).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a probe: {reason}; use tcp://HOST:PORT, http://HOST:PORT/PATH or file:PATH"
)]
pub struct ProbeError {
    pub input: String,
    pub reason: &'static str,
}

pub fn parse_probe(input: &str) -> Result<Probe, ProbeError> {
    let error = |reason| ProbeError {
        input: input.to_owned(),
        reason,
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
    Err(error("unknown scheme"))
}

/// Checks a probe once.
pub async fn holds(probe: &Probe) -> bool {
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
    }
}

/// The pause before attempt `attempt` (0-based) of a probe that did not hold: 50 ms,
/// doubling, at most 1 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(1))
}

/// Returns once every probe has held (each is checked until it holds, then no more).
pub async fn wait_until_ready(probes: &[Probe]) {
    let mut pending: Vec<&Probe> = probes.iter().collect();
    let mut attempt = 0;
    loop {
        let mut still = Vec::new();
        for probe in pending {
            if !holds(probe).await {
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
            assert!(
                error
                    .to_string()
                    .ends_with("use tcp://HOST:PORT, http://HOST:PORT/PATH or file:PATH")
            );
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
    fn backoff_doubles_up_to_a_second() {
        let pauses: Vec<u64> = (0..8).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(pauses, vec![50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(1));
    }

    proptest! {
        #[test]
        fn never_panics(input in ".*") {
            let _ = parse_probe(&input);
        }

        #[test]
        fn tcp_probes_round_trip(host in "[a-z][a-z0-9.-]{0,20}", port in 1u16..) {
            let text = format!("tcp://{host}:{port}");
            prop_assert_eq!(parse_probe(&text).unwrap().to_string(), text);
        }
    }
}
