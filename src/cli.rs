//! The command line exactly as typed: clap derive, every option also read from a
//! `GUILLOTINE_*` environment variable.
//!
//! Owns: option names, help text, headings, examples. Never: validates values or touches the
//! system (that is `config`, then `run`).

use clap::{Parser, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  # A sidecar that stops when the main container writes /shared/done:
  guillotine --watch /shared/done -- cloud-sql-proxy --port 5432 my-project:region:db

  # Give it 30s to exit on SIGINT before SIGKILL:
  guillotine --watch /shared/done --stop-signal INT --grace 30s -- envoy -c envoy.yaml

  # On NFS or FUSE, where inotify sees nothing, poll every 500ms:
  guillotine --watch /nfs/done --poll 500ms -- pgbouncer pgbouncer.ini

  # A review environment: expire after 14 days (success); an unexpected exit 0 is a failure:
  guillotine --lifetime 14d --exit-map 0=1,lifetime=0 -- /httpd/entrypoint.sh

Exit status (before --exit-map): the child's own status (128+N if signal N killed it); 0
when the sentinel stopped it; 124 when the lifetime ran out (137 if SIGKILL was needed); 125
for guillotine's usage errors; 126 when COMMAND cannot run; 127 when it is not found.

Environment: GUILLOTINE_LOG sets the log filter (tracing env-filter syntax, default info).";

#[derive(Debug, Parser)]
#[command(
    name = "guillotine",
    version,
    override_usage = "guillotine [OPTIONS] [--] COMMAND [ARGS]...",
    about = "Runs a sidecar as its child and stops its whole process group when a sentinel file appears.",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Stop the child when this file appears (repeatable: any of them triggers). If it exists
    /// at start, COMMAND is not run at all.
    #[arg(
        short,
        long = "watch",
        value_name = "PATH",
        env = "GUILLOTINE_WATCHED_FILE",
        help_heading = "Sentinel"
    )]
    pub watch: Vec<PathBuf>,

    /// Poll for the sentinel every INTERVAL instead of using inotify (NFS, FUSE), e.g. 500ms.
    #[arg(
        long,
        value_name = "INTERVAL",
        env = "GUILLOTINE_POLL",
        help_heading = "Sentinel"
    )]
    pub poll: Option<String>,

    /// Polling interval in whole seconds when inotify is unavailable; does not turn inotify
    /// off (aktsk/guillotine's variable) [default: 1].
    #[arg(
        long,
        value_name = "SECONDS",
        env = "GUILLOTINE_INTERVAL",
        help_heading = "Sentinel"
    )]
    pub interval: Option<String>,

    /// First signal of the stop sequence, sent to the child's group and adopted orphans.
    #[arg(
        long,
        value_name = "SIGNAL",
        default_value = "TERM",
        env = "GUILLOTINE_STOP_SIGNAL",
        help_heading = "Stop sequence"
    )]
    pub stop_signal: String,

    /// How long they have to exit after the stop signal before SIGKILL, e.g. 10s, 1m.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        env = "GUILLOTINE_GRACE",
        help_heading = "Stop sequence"
    )]
    pub grace: String,

    /// Stop the child when this much time has passed since it started, e.g. 14d (exit 124,
    /// or 137 if SIGKILL was needed). 0 means no lifetime.
    #[arg(
        long,
        value_name = "DURATION",
        env = "GUILLOTINE_LIFETIME",
        help_heading = "Stop sequence"
    )]
    pub lifetime: Option<String>,

    /// Remap the exit status: FROM=TO rules, comma-separated or repeated, first match wins.
    /// FROM: a code (0), a range (1-255), a signal death (TERM), or a cause (sentinel,
    /// lifetime, exited, signaled).
    #[arg(
        long,
        value_name = "RULES",
        env = "GUILLOTINE_EXIT_MAP",
        help_heading = "Exit status"
    )]
    pub exit_map: Vec<String>,

    /// Log line format on stderr.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "text",
        env = "GUILLOTINE_LOG_FORMAT",
        help_heading = "Logging"
    )]
    pub log_format: LogFormat,

    /// The sidecar to run, with its arguments.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        num_args = 1..
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Parses the command line; on `--help` or `--version` prints them and gives status 0, on a
/// usage error prints one line and gives 125.
pub fn parse(argv: Vec<OsString>) -> Result<Args, u8> {
    use clap::Parser;
    Args::try_parse_from(argv).map_err(|error| {
        if matches!(
            error.kind(),
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
        ) {
            let _ = error.print();
            0
        } else {
            eprintln!("guillotine: {}", one_line(&error));
            crate::config::ConfigError::EXIT_CODE
        }
    })
}

/// clap's message on one line, with the way to more help: `unexpected argument '--x' found;
/// see 'guillotine --help'`.
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("{first}; see 'guillotine --help'")
}
