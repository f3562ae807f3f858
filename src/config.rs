//! Validated, typed configuration.
//!
//! Owns: turning the raw [`Args`] into a [`Config`] with parsed durations and signals and
//! defaults applied, or a [`ConfigError`] (exit status 125) that names the option and shows
//! an accepted form. Never: touches the file system, the environment or any process; this is
//! a pure function of its input.

use crate::cli;
use crate::cli::{Args, OnWaitTimeout, QuitTimeoutArgs, RunArgs, StopArgs};
use crate::command_line::CommandLine;
use crate::duration::{DurationError, parse_duration};
use crate::exit_map::{ExitMap, ExitMapError};
use crate::probe::{Probe, ProbeError, parse_probe};
use crate::signal::{SignalError, parse_signal};
use crate::supervisor::{OnTerm, StopPolicy};
use crate::timestamp::{TimestampError, parse_timestamp};
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How long after SIGKILL guillotine waits for the last process to be reaped. Only a process
/// in uninterruptible sleep (D state) outlives SIGKILL that long.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// `--grace`'s default, also used by `guillotine run`.
const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// `--stop-signal`'s default, also used by `guillotine run`.
const DEFAULT_STOP_SIGNAL: Signal = Signal::SIGTERM;

/// The polling interval when inotify is unavailable and nothing else is said: aktsk/guillotine's.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// `--quit-timeout`'s default (`run --quit-url` and `quit`): long enough for a proxy that is
/// still starting to listen, short enough that a Job does not notice a dead endpoint.
const DEFAULT_QUIT_TIMEOUT: Duration = Duration::from_secs(5);

/// A usage error: guillotine exits 125 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("no command given; usage: guillotine [OPTIONS] [--] COMMAND [ARGS]...")]
    NoCommand,
    #[error("--grace: {0}")]
    Grace(DurationError),
    #[error("--poll: {0}")]
    Poll(DurationError),
    #[error("--poll: the interval must be more than 0; use e.g. 500ms, 2s")]
    ZeroPoll,
    #[error(
        "--interval (GUILLOTINE_INTERVAL): {0:?} is not a whole number of seconds above 0; use e.g. 1, 5"
    )]
    Interval(String),
    #[error("--stop-signal: {0}")]
    StopSignal(SignalError),
    #[error("--lifetime: {0}")]
    Lifetime(DurationError),
    #[error("--exit-map: {0}")]
    ExitMap(ExitMapError),
    #[error("--ready-when: {0}")]
    ReadyWhen(ProbeError),
    #[error("--ready-when needs --ready-file: the file to write once the probes hold")]
    ReadyWhenWithoutFile,
    #[error(
        "--quit-url: {0:?} is not an http:// URL; use e.g. http://127.0.0.1:15000/quitquitquit"
    )]
    QuitUrl(String),
    #[error("no command given; usage: guillotine run --done PATH [OPTIONS] [--] COMMAND [ARGS]...")]
    NoRunCommand,
    #[error("--term-delay needs --on-term stop: it delays guillotine's own stop sequence")]
    TermDelayWithoutStop,
    #[error("--term-delay: {0}")]
    TermDelay(DurationError),
    #[error("--deadline: {0}")]
    Deadline(TimestampError),
    #[error("--wait-for: {0}")]
    WaitFor(ProbeError),
    #[error("--wait-timeout: {0}")]
    WaitTimeout(DurationError),
    #[error(
        "{option}: {url:?} can never be called: {reason}; use e.g. http://127.0.0.1:15020/quitquitquit"
    )]
    QuitEndpoint {
        /// `--quit-url`, or `URL` for `guillotine quit`'s operands.
        option: &'static str,
        url: String,
        reason: &'static str,
    },
    #[error("--quit-timeout: {0}")]
    QuitTimeout(DurationError),
    #[error("--quit-timeout: the time must be more than 0; use e.g. 5s, 30s")]
    ZeroQuitTimeout,
}

/// Everything a supervision needs, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub command: CommandLine,
    /// `--watch`: any one of them ends supervision.
    pub sentinels: Vec<PathBuf>,
    /// `--watch-all`: all of them together end it.
    pub watch_all: Vec<PathBuf>,
    /// Written with guillotine's exit status when supervision ends.
    pub done: Vec<PathBuf>,
    pub poll: PollSettings,
    pub stop: StopPolicy,
    /// None: no lifetime (also for `--lifetime 0`, as `timeout 0` disables the timeout).
    pub lifetime: Option<Duration>,
    /// `--deadline`: the moment supervision ends as a lifetime does, whatever the restarts.
    pub deadline: Option<SystemTime>,
    pub exit_map: ExitMap,
    /// POSTed, in order, when the stop sequence starts.
    pub quit_urls: Vec<String>,
    pub ready: Option<ReadyFile>,
    /// Where the termination message goes (None: Kubernetes' default if present).
    pub termination_log: Option<PathBuf>,
}

/// `--deadline` has passed already: the command must not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePassed;

/// How long supervision may last from `now`: the lifetime, or the time left before the
/// deadline, whichever is shorter.
pub fn time_allowed(
    lifetime: Option<Duration>,
    deadline: Option<SystemTime>,
    now: SystemTime,
) -> Result<Option<Duration>, DeadlinePassed> {
    let Some(deadline) = deadline else {
        return Ok(lifetime);
    };
    match deadline.duration_since(now) {
        Ok(left) if !left.is_zero() => {
            Ok(Some(lifetime.map_or(left, |lifetime| lifetime.min(left))))
        }
        _ => Err(DeadlinePassed),
    }
}

/// `guillotine run`'s configuration, checked. (Its sentinels and `--done-on` stay with the
/// raw arguments: they are honoured even when the rest does not check.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    /// Must all hold before COMMAND starts.
    pub wait_for: Vec<Probe>,
    pub wait_timeout: Duration,
    /// What a wait that timed out does: fail, or start COMMAND anyway.
    pub on_wait_timeout: OnWaitTimeout,
    /// POSTed once COMMAND has ended (as `--done-on` says), after the sentinels.
    pub quit: QuitUrls,
    /// COMMAND's supervision: the supervisor's defaults.
    pub supervision: Config,
}

/// Quit endpoints of sidecars guillotine does not wrap, checked, and how long each may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuitUrls {
    pub urls: Vec<String>,
    /// Bounds each URL's whole attempt, retries included; never zero.
    pub timeout: Duration,
}

/// The quit URLs (`option` names them in errors) and `--quit-timeout`, checked.
pub fn quit_urls(
    option: &'static str,
    urls: &[String],
    timeout: &QuitTimeoutArgs,
) -> Result<QuitUrls, ConfigError> {
    for url in urls {
        crate::url::check_url(url).map_err(|reason| ConfigError::QuitEndpoint {
            option,
            url: url.clone(),
            reason,
        })?;
    }
    let timeout = match &timeout.quit_timeout {
        Some(text) => parse_duration(text).map_err(ConfigError::QuitTimeout)?,
        None => DEFAULT_QUIT_TIMEOUT,
    };
    if timeout.is_zero() {
        return Err(ConfigError::ZeroQuitTimeout);
    }
    Ok(QuitUrls {
        urls: urls.to_vec(),
        timeout,
    })
}

/// `run`'s `--quit-url` and `--quit-timeout`, checked on their own: a usage error elsewhere
/// still lets `run` ask the sidecars to quit.
pub fn run_quit_urls(args: &RunArgs) -> Result<QuitUrls, ConfigError> {
    quit_urls("--quit-url", &args.quit_url, &args.quit_timeout)
}

impl TryFrom<&RunArgs> for RunConfig {
    type Error = ConfigError;

    fn try_from(args: &RunArgs) -> Result<Self, ConfigError> {
        let command =
            CommandLine::new(args.command.iter().cloned()).ok_or(ConfigError::NoRunCommand)?;
        Ok(RunConfig {
            wait_for: probes(&args.wait_for).map_err(ConfigError::WaitFor)?,
            wait_timeout: parse_duration(&args.wait_timeout).map_err(ConfigError::WaitTimeout)?,
            on_wait_timeout: args.on_wait_timeout,
            quit: run_quit_urls(args)?,
            supervision: Config::for_command(command),
        })
    }
}

/// Every probe of a repeated option, or the first that does not parse.
fn probes(texts: &[String]) -> Result<Vec<Probe>, ProbeError> {
    texts.iter().map(|text| parse_probe(text)).collect()
}

/// `--ready-file` and the probes that must hold before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyFile {
    pub path: PathBuf,
    pub probes: Vec<Probe>,
}

/// How sentinels are detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    /// Poll even when inotify works (`--poll`).
    pub forced: bool,
    /// The interval whenever polling is in effect, forced or as a fallback.
    pub interval: Duration,
}

/// The stop sequence `--stop-signal` and `--grace` ask for, defaults applied: the one place
/// the defaults live.
fn stop_policy(args: &StopArgs, quit_first: bool) -> Result<StopPolicy, ConfigError> {
    let stop_signal = match &args.stop_signal {
        Some(text) => parse_signal(text).map_err(ConfigError::StopSignal)?,
        None => DEFAULT_STOP_SIGNAL,
    };
    let grace = match &args.grace {
        Some(text) => parse_duration(text).map_err(ConfigError::Grace)?,
        None => DEFAULT_GRACE,
    };
    Ok(StopPolicy {
        stop_signal,
        grace,
        kill_wait: KILL_WAIT,
        quit_first,
        on_term: OnTerm::Forward,
    })
}

impl Config {
    /// The supervisor's defaults for one command: no sentinel, lifetime, remapping or
    /// readiness (what `guillotine run` needs).
    pub fn for_command(command: CommandLine) -> Self {
        Config {
            command,
            sentinels: vec![],
            watch_all: vec![],
            done: vec![],
            poll: PollSettings {
                forced: false,
                interval: DEFAULT_POLL_INTERVAL,
            },
            stop: StopPolicy {
                stop_signal: DEFAULT_STOP_SIGNAL,
                grace: DEFAULT_GRACE,
                kill_wait: KILL_WAIT,
                quit_first: false,
                on_term: OnTerm::Forward,
            },
            deadline: None,
            lifetime: None,
            exit_map: ExitMap::default(),
            quit_urls: vec![],
            ready: None,
            termination_log: None,
        }
    }
}

impl TryFrom<Args> for Config {
    type Error = ConfigError;

    fn try_from(args: Args) -> Result<Self, ConfigError> {
        let command = CommandLine::new(args.command).ok_or(ConfigError::NoCommand)?;
        let on_term = match (args.on_term, &args.term_delay) {
            (None | Some(cli::OnTerm::Forward), None) => OnTerm::Forward,
            (None | Some(cli::OnTerm::Forward), Some(_)) => {
                return Err(ConfigError::TermDelayWithoutStop);
            }
            (Some(cli::OnTerm::Stop), delay) => OnTerm::Stop {
                delay: match delay {
                    Some(text) => parse_duration(text).map_err(ConfigError::TermDelay)?,
                    None => Duration::ZERO,
                },
            },
        };
        let stop = StopPolicy {
            on_term,
            ..stop_policy(&args.stop, !args.quit_url.is_empty())?
        };
        let deadline = match &args.deadline {
            Some(text) => Some(parse_timestamp(text).map_err(ConfigError::Deadline)?),
            None => None,
        };
        let fallback_interval = match &args.interval {
            None => DEFAULT_POLL_INTERVAL,
            Some(text) => match text.parse::<u64>() {
                Ok(seconds) if seconds > 0 => Duration::from_secs(seconds),
                _ => return Err(ConfigError::Interval(text.clone())),
            },
        };
        let poll = match &args.poll {
            None => PollSettings {
                forced: false,
                interval: fallback_interval,
            },
            Some(text) => {
                let interval = parse_duration(text).map_err(ConfigError::Poll)?;
                if interval.is_zero() {
                    return Err(ConfigError::ZeroPoll);
                }
                PollSettings {
                    forced: true,
                    interval,
                }
            }
        };
        let lifetime = match &args.lifetime {
            None => None,
            Some(text) => Some(parse_duration(text).map_err(ConfigError::Lifetime)?)
                .filter(|lifetime| !lifetime.is_zero()),
        };
        let exit_map = ExitMap::parse(args.exit_map.iter().map(String::as_str))
            .map_err(ConfigError::ExitMap)?;
        let probes = probes(&args.ready_when).map_err(ConfigError::ReadyWhen)?;
        let ready = match (args.ready_file, probes.is_empty()) {
            (Some(path), _) => Some(ReadyFile { path, probes }),
            (None, true) => None,
            (None, false) => return Err(ConfigError::ReadyWhenWithoutFile),
        };
        if let Some(bad) = args
            .quit_url
            .iter()
            .find(|url| crate::url::check_url(url).is_err())
        {
            return Err(ConfigError::QuitUrl(bad.clone()));
        }
        Ok(Config {
            lifetime,
            exit_map,
            ready,
            termination_log: args.termination_log,
            command,
            deadline,
            sentinels: args.watch,
            watch_all: args.watch_all,
            done: args.done,
            poll,
            stop,
            quit_urls: args.quit_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use nix::sys::signal::Signal;

    /// Parses as the binary does, with no GUILLOTINE_* variable in the way: clap reads the
    /// environment, so these tests give every option on the command line instead.
    fn config(argv: &[&str]) -> Result<Config, ConfigError> {
        let args = Args::try_parse_from(std::iter::once("guillotine").chain(argv.iter().copied()))
            .expect("clap accepts the arguments");
        Config::try_from(args)
    }

    #[test]
    fn defaults_are_term_and_ten_seconds() {
        let config = config(&["--", "sleep", "1"]).unwrap();
        assert_eq!(config.command, CommandLine::new(["sleep", "1"]).unwrap());
        assert_eq!(config.stop.stop_signal, Signal::SIGTERM);
        assert_eq!(config.stop.grace, Duration::from_secs(10));
        assert_eq!(
            config.stop.grace, DEFAULT_GRACE,
            "run's default is the supervisor's"
        );
        assert_eq!(
            config.poll,
            PollSettings {
                forced: false,
                interval: Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn the_stop_defaults_have_one_source_and_the_help_states_them() {
        use clap::CommandFactory;
        let supervisor = config(&["--", "true"]).unwrap();
        let run = Config::for_command(CommandLine::new(["true"]).unwrap());
        assert_eq!(supervisor.stop, run.stop);
        let help = Args::command().render_help().to_string().replace('\n', " ");
        let help: String = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for default in [
            format!(
                "[default: {}]",
                crate::signal::signal_name(DEFAULT_STOP_SIGNAL).trim_start_matches("SIG")
            ),
            format!(
                "[default: {}]",
                crate::duration::format_duration(DEFAULT_GRACE)
            ),
        ] {
            assert!(help.contains(&default), "the help lacks {default}: {help}");
        }
    }

    #[test]
    fn the_deadline_and_the_lifetime_the_earlier_wins() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        assert_eq!(time_allowed(Some(hour), None, now), Ok(Some(hour)));
        assert_eq!(time_allowed(None, Some(now + hour), now), Ok(Some(hour)));
        assert_eq!(
            time_allowed(Some(hour), Some(now + 2 * hour), now),
            Ok(Some(hour))
        );
        assert_eq!(
            time_allowed(Some(3 * hour), Some(now + 2 * hour), now),
            Ok(Some(2 * hour))
        );
        assert_eq!(
            time_allowed(Some(hour), Some(now), now),
            Err(DeadlinePassed)
        );
        assert_eq!(
            time_allowed(None, Some(now - hour), now),
            Err(DeadlinePassed)
        );
    }

    #[test]
    fn on_term_and_its_delay() {
        let stop = config(&["--on-term", "stop", "--term-delay", "30s", "true"]).unwrap();
        assert_eq!(
            stop.stop.on_term,
            OnTerm::Stop {
                delay: Duration::from_secs(30)
            }
        );
        assert_eq!(
            config(&["true"]).unwrap().stop.on_term,
            OnTerm::Forward,
            "forward by default"
        );
        assert_eq!(
            config(&["--term-delay", "30s", "true"]).unwrap_err(),
            ConfigError::TermDelayWithoutStop
        );
        assert_eq!(
            config(&["--deadline", "soon", "true"])
                .unwrap_err()
                .to_string(),
            r#"--deadline: "soon" is not an RFC 3339 timestamp: a digit is expected; use e.g. 2026-12-11T18:00:00Z"#
        );
    }

    #[test]
    fn options_are_typed() {
        let config = config(&[
            "--watch",
            "/a/done",
            "-w",
            "/b/done",
            "--stop-signal",
            "SIGINT",
            "--grace",
            "1m",
            "--poll",
            "250ms",
            "envoy",
            "-c",
            "x.yaml",
        ])
        .unwrap();
        assert_eq!(
            config.sentinels,
            vec![PathBuf::from("/a/done"), "/b/done".into()]
        );
        assert_eq!(config.stop.stop_signal, Signal::SIGINT);
        assert_eq!(config.stop.grace, Duration::from_secs(60));
        assert_eq!(
            config.poll,
            PollSettings {
                forced: true,
                interval: Duration::from_millis(250)
            }
        );
        assert_eq!(
            config.command,
            CommandLine::new(["envoy", "-c", "x.yaml"]).unwrap()
        );
    }

    #[test]
    fn lifetime_and_exit_map_are_typed() {
        let config = config(&[
            "--lifetime",
            "14d",
            "--exit-map",
            "0=1",
            "--exit-map",
            "lifetime=0",
            "srv",
        ])
        .unwrap();
        assert_eq!(config.lifetime, Some(Duration::from_secs(14 * 86400)));
        assert_eq!(
            config.exit_map,
            ExitMap::parse(["0=1", "lifetime=0"]).unwrap()
        );
        let none = super::tests::config(&["--lifetime", "0", "srv"]).unwrap();
        assert_eq!(none.lifetime, None);
    }

    #[test]
    fn legacy_interval_sets_the_fallback_without_forcing_polling() {
        let config = config(&["--interval", "5", "true"]).unwrap();
        assert_eq!(
            config.poll,
            PollSettings {
                forced: false,
                interval: Duration::from_secs(5)
            }
        );
        let forced = super::tests::config(&["--interval", "5", "--poll", "2s", "true"]).unwrap();
        assert_eq!(forced.poll.interval, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_name_the_option_and_a_valid_form() {
        let cases: [(&[&str], &str); 11] = [
            (
                &["--ready-when", "tcp://h:1", "true"],
                "--ready-when needs --ready-file: the file to write once the probes hold",
            ),
            (
                &["--ready-file", "/r", "--ready-when", "h:1", "true"],
                r#"--ready-when: "h:1" is not a probe: unknown scheme; use tcp://HOST:PORT, http://HOST:PORT/PATH, file:PATH or exec:PROGRAM ARGS"#,
            ),
            (
                &["--quit-url", "https://h/quit", "true"],
                r#"--quit-url: "https://h/quit" is not an http:// URL; use e.g. http://127.0.0.1:15000/quitquitquit"#,
            ),
            (
                &["--lifetime", "14x", "true"],
                r#"--lifetime: "14x" is not a duration; use e.g. 90s, 15m, 14d (units: ms, s, m, h, d)"#,
            ),
            (
                &["--exit-map", "0=1,zero=0", "true"],
                r#"--exit-map: "zero=0" is not an exit-map rule: FROM is not a code, range, signal or cause; use FROM=TO with FROM a code (0), a range (1-255), a signal death (TERM, SIGKILL) or a cause (sentinel, abandoned, terminated, lifetime, exited, signaled) and TO a code 0-255, e.g. 0=1,TERM=0,lifetime=0"#,
            ),
            (
                &[],
                "no command given; usage: guillotine [OPTIONS] [--] COMMAND [ARGS]...",
            ),
            (
                &["--grace", "14x", "true"],
                r#"--grace: "14x" is not a duration; use e.g. 90s, 15m, 14d (units: ms, s, m, h, d)"#,
            ),
            (
                &["--stop-signal", "NOPE", "true"],
                r#"--stop-signal: "NOPE" is not a signal; use a name or number such as TERM, SIGINT, 9"#,
            ),
            (
                &["--poll", "0", "true"],
                "--poll: the interval must be more than 0; use e.g. 500ms, 2s",
            ),
            (
                &["--interval", "1.5", "true"],
                r#"--interval (GUILLOTINE_INTERVAL): "1.5" is not a whole number of seconds above 0; use e.g. 1, 5"#,
            ),
            (
                &["--interval", "0", "true"],
                r#"--interval (GUILLOTINE_INTERVAL): "0" is not a whole number of seconds above 0; use e.g. 1, 5"#,
            ),
        ];
        for (argv, message) in cases {
            assert_eq!(config(argv).unwrap_err().to_string(), message, "{argv:?}");
        }
    }

    fn run_config(argv: &[&str]) -> Result<RunConfig, ConfigError> {
        let args = RunArgs::try_parse_from(
            ["guillotine run", "--done", "/d"]
                .into_iter()
                .chain(argv.iter().copied()),
        )
        .expect("clap accepts the arguments");
        RunConfig::try_from(&args)
    }

    #[test]
    fn run_quit_options_are_checked_and_typed() {
        let config = run_config(&[
            "--quit-url",
            "http://127.0.0.1:15020/quitquitquit",
            "--quit-url",
            "http://[::1]:4191/shutdown",
            "--quit-timeout",
            "1500ms",
            "--on-wait-timeout",
            "start",
            "--",
            "true",
        ])
        .unwrap();
        assert_eq!(
            config.quit,
            QuitUrls {
                urls: vec![
                    "http://127.0.0.1:15020/quitquitquit".into(),
                    "http://[::1]:4191/shutdown".into()
                ],
                timeout: Duration::from_millis(1500),
            }
        );
        assert_eq!(config.on_wait_timeout, OnWaitTimeout::Start);
        let defaults = run_config(&["--", "true"]).unwrap();
        assert_eq!(defaults.quit.urls, Vec::<String>::new());
        assert_eq!(defaults.quit.timeout, DEFAULT_QUIT_TIMEOUT);
        assert_eq!(defaults.on_wait_timeout, OnWaitTimeout::Fail);
    }

    #[test]
    fn bad_quit_options_name_the_option_and_a_valid_form() {
        for (argv, message) in [
            (
                &["--quit-url", "http://127.0.0.1:99999/quit", "true"][..],
                r#"--quit-url: "http://127.0.0.1:99999/quit" can never be called: the port is not 1-65535; use e.g. http://127.0.0.1:15020/quitquitquit"#,
            ),
            (
                &["--quit-url", "https://h/quit", "true"],
                r#"--quit-url: "https://h/quit" can never be called: not an http:// URL; use e.g. http://127.0.0.1:15020/quitquitquit"#,
            ),
            (
                &["--quit-timeout", "soon", "true"],
                r#"--quit-timeout: "soon" is not a duration; use e.g. 90s, 15m, 14d (units: ms, s, m, h, d)"#,
            ),
            (
                &["--quit-timeout", "0s", "true"],
                "--quit-timeout: the time must be more than 0; use e.g. 5s, 30s",
            ),
        ] {
            assert_eq!(
                run_config(argv).unwrap_err().to_string(),
                message,
                "{argv:?}"
            );
        }
        let operand = quit_urls(
            "URL",
            &["127.0.0.1:15020".into()],
            &QuitTimeoutArgs::default(),
        )
        .unwrap_err();
        assert!(
            operand
                .to_string()
                .starts_with(r#"URL: "127.0.0.1:15020" can never be called"#),
            "{operand}"
        );
    }

    #[test]
    fn the_quit_timeout_default_has_one_source_and_both_helps_state_it() {
        use crate::cli::QuitArgs;
        use clap::CommandFactory;
        let default = format!(
            "[default: {}]",
            crate::duration::format_duration(DEFAULT_QUIT_TIMEOUT)
        );
        for help in [
            RunArgs::command().render_help().to_string(),
            QuitArgs::command().render_help().to_string(),
        ] {
            let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(help.contains(&default), "the help lacks {default}: {help}");
        }
    }

    mod properties {
        use super::*;
        use crate::reach::{Process, Roots};
        use crate::supervisor::{Event, Supervisor};
        use proptest::prelude::*;
        use std::time::Instant;

        /// Durations near and past the limits, signal names and numbers, URLs, and noise.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<u64>().prop_map(|n| n.to_string()),
                (
                    any::<u64>(),
                    prop::sample::select(vec!["ms", "s", "m", "h", "d"])
                )
                    .prop_map(|(n, unit)| format!("{n}{unit}")),
                Just("18446744073709551615s".to_owned()),
                Just("18446744073709551615.999999999".to_owned()),
                "[A-Z]{1,8}",
                "SIG[A-Z]{2,6}",
                "http://[a-z0-9.:]{0,20}/[ -~]{0,10}",
                "tcp://[a-z0-9.:\\[\\]]{0,20}",
                "[ -~]{0,24}",
            ]
        }

        proptest! {
            /// Whatever the option values, parsing never panics, and a configuration that
            /// parses starts a supervision that never panics either, through a whole stop.
            #[test]
            fn any_option_values_parse_and_supervise_without_panicking(
                grace in value(),
                lifetime in value(),
                stop_signal in value(),
                poll in value(),
                interval in value(),
                exit_map in value(),
                quit_url in value(),
                ready_when in value(),
            ) {
                let argv = [
                    "guillotine", "--grace", &grace, "--lifetime", &lifetime,
                    "--stop-signal", &stop_signal, "--poll", &poll, "--interval", &interval,
                    "--exit-map", &exit_map, "--quit-url", &quit_url, "--ready-file", "/r",
                    "--ready-when", &ready_when, "--", "true",
                ];
                let Ok(args) = Args::try_parse_from(argv) else {
                    return Ok(());
                };
                let Ok(config) = Config::try_from(args) else {
                    return Ok(());
                };
                let start = Instant::now();
                let roots = Roots { own_pid: 1, own_group: 1, child: 2 };
                let mut supervisor =
                    Supervisor::new(config.stop, config.exit_map, config.lifetime, roots, start);
                let child = Process {
                    pid: 2, parent: 1, group: 2, start_time: 1, state: 'S', name: "true".into(),
                };
                let mut now = start;
                for event in [
                    Event::DeadlineReached,
                    Event::SentinelAppeared,
                    Event::QuitUrlsFailed,
                    Event::Scanned(vec![child.clone()]),
                    Event::DeadlineReached,
                    Event::Scanned(vec![child]),
                    Event::Reaped { child: None, anyone_left: false },
                ] {
                    if let Some(deadline) = supervisor.deadline() {
                        now = now.max(deadline);
                    }
                    let _ = supervisor.on_event(event, now);
                }
            }
        }
    }
}
