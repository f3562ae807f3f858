//! The probe grammar: `tcp://HOST:PORT`, `http://HOST:PORT/PATH` (any 2xx), `file:PATH` and
//! `exec:PROGRAM ARGS` (exit 0), as `--ready-when` and `run --wait-for` take them.
//!
//! Owns: [`Probe`], [`parse_probe`] and its one-line errors. Never: checks a probe (that is
//! `readiness`) or touches the system; a pure function of its input.

use crate::command_line::CommandLine;
use crate::url::check_url;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connection succeeds.
    Tcp { host: String, port: u16 },
    /// GET answers 2xx.
    Http { url: String },
    /// The file exists.
    File(PathBuf),
    /// The program exits 0: program and arguments, split on whitespace (no shell).
    Exec(CommandLine),
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Probe::Http { url } => f.write_str(url),
            Probe::File(path) => write!(f, "file:{}", path.display()),
            Probe::Exec(command) => {
                let words: Vec<_> = command.words().map(|word| word.to_string_lossy()).collect();
                write!(f, "exec:{}", words.join(" "))
            }
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
        check_url(input).map_err(error)?;
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
        return CommandLine::new(command.split_whitespace())
            .map(Probe::Exec)
            .ok_or_else(|| error("no program"));
    }
    Err(error("unknown scheme"))
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
                check_url(url).unwrap_err(),
                "{url}"
            );
        }
    }

    #[test]
    fn exec_probes_split_on_whitespace() {
        assert_eq!(
            parse_probe("exec:pg_isready  -h 127.0.0.1\t-p 5432"),
            Ok(Probe::Exec(
                CommandLine::new(["pg_isready", "-h", "127.0.0.1", "-p", "5432"]).unwrap()
            ))
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
            Ok(Probe::Exec(CommandLine::new(["true"]).unwrap()))
        );
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
