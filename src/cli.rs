//! The command line exactly as typed: clap derive, every option also read from a
//! `GUILLOTINE_*` environment variable.
//!
//! Owns: option names, help text, headings, examples. Never: validates values or touches the
//! system (that is `config`, then `event_loop`).

use clap::{CommandFactory, Parser, ValueEnum};
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

Subcommands (for a COMMAND of the same name, put -- first):
  guillotine run --done PATH -- COMMAND...   the main container: run, then write the sentinel
  guillotine done [--exit-code N] PATH...    write sentinels (no shell or touch needed)
  guillotine quit URL...                     POST a sidecar's quit endpoint (exit 1 if not 2xx)
  guillotine install DIR                     copy guillotine (and a timeout name) into DIR
  guillotine timeout [OPTION] DURATION COMMAND...   GNU timeout, exactly
  guillotine completions bash|zsh|fish|elvish|powershell   shell completions

Environment: GUILLOTINE_LOG sets the log filter (a level, or target=level,..., default info).";

/// `guillotine --version`: the package version and the git revision it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("GUILLOTINE_GIT_REVISION"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "guillotine",
    version = VERSION,
    override_usage = "guillotine [OPTIONS] [--] COMMAND [ARGS]...",
    allow_negative_numbers = true,
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

    /// Stop the child once every one of these files exists (repeatable). With --watch too,
    /// either is enough: any --watch, or every --watch-all together. A main container that
    /// ends without writing its sentinel counts too (its dead-man's lock says so).
    #[arg(
        long = "watch-all",
        value_name = "PATH",
        env = "GUILLOTINE_WATCH_ALL",
        help_heading = "Sentinel"
    )]
    pub watch_all: Vec<PathBuf>,

    /// When supervision ends, for any reason, write this file with guillotine's exit status
    /// once the child and its group are gone (repeatable): the sentinel of the next sidecar in
    /// a chain. Held as a dead-man's lock meanwhile, so a chain survives a killed link.
    #[arg(
        long = "done",
        value_name = "PATH",
        env = "GUILLOTINE_DONE",
        help_heading = "Sentinel"
    )]
    pub done: Vec<PathBuf>,

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

    #[command(flatten)]
    pub stop: StopArgs,

    /// Stop the child when this much time has passed since it started, e.g. 14d (exit 124,
    /// or 137 if SIGKILL was needed). 0 means no lifetime.
    #[arg(
        long,
        value_name = "DURATION",
        env = "GUILLOTINE_LIFETIME",
        help_heading = "Stop sequence"
    )]
    pub lifetime: Option<String>,

    /// Stop the child at this moment, an RFC 3339 timestamp (e.g. 2026-12-11T18:00:00Z):
    /// the same across restarts and replacement pods. As a lifetime ends (exit 124, or 137
    /// if SIGKILL was needed); already past at start: COMMAND is not run (124). With
    /// --lifetime, the earlier wins.
    #[arg(
        long,
        value_name = "TIMESTAMP",
        env = "GUILLOTINE_DEADLINE",
        help_heading = "Stop sequence"
    )]
    pub deadline: Option<String>,

    /// What SIGTERM to guillotine does (the kubelet's, when the pod is deleted or a native
    /// sidecar is stopped): forward it to the child's group, or stop: run guillotine's own
    /// stop sequence (quit URLs, --stop-signal, --grace, SIGKILL), exit 143 ('terminated' in
    /// --exit-map) [default: forward].
    #[arg(
        long,
        value_enum,
        value_name = "forward|stop",
        env = "GUILLOTINE_ON_TERM",
        help_heading = "Stop sequence"
    )]
    pub on_term: Option<OnTerm>,

    /// With --on-term stop: on SIGTERM, keep the child running until a sentinel says the
    /// main side is done, or this long at most, then stop (a proxy that outlives its main
    /// container's drain). terminationGracePeriodSeconds must cover it and --grace.
    #[arg(
        long,
        value_name = "DURATION",
        env = "GUILLOTINE_TERM_DELAY",
        help_heading = "Stop sequence"
    )]
    pub term_delay: Option<String>,

    /// Remap the exit status: FROM=TO rules, comma-separated or repeated, first match wins.
    /// FROM: a code (0), a range (1-255), a signal death (TERM), or a cause (sentinel,
    /// abandoned, terminated, lifetime, exited, signaled).
    #[arg(
        long,
        value_name = "RULES",
        env = "GUILLOTINE_EXIT_MAP",
        help_heading = "Exit status"
    )]
    pub exit_map: Vec<String>,

    /// POST to this URL when the stop sequence starts (repeatable), then give the child
    /// the grace period to exit by itself before the stop signal (envoy /quitquitquit).
    #[arg(
        long,
        value_name = "URL",
        env = "GUILLOTINE_QUIT_URL",
        help_heading = "Stop sequence"
    )]
    pub quit_url: Vec<String>,

    /// Write this file once the child is ready (see --ready-when), so a main container
    /// without a shell can wait for it.
    #[arg(
        long,
        value_name = "PATH",
        env = "GUILLOTINE_READY_FILE",
        help_heading = "Readiness"
    )]
    pub ready_file: Option<PathBuf>,

    /// When the child counts as ready (repeatable, all must hold): tcp://HOST:PORT,
    /// http://HOST:PORT/PATH (2xx), file:PATH or exec:PROGRAM ARGS (exit 0). Without it: as
    /// soon as it started.
    #[arg(
        long,
        value_name = "PROBE",
        env = "GUILLOTINE_READY_WHEN",
        help_heading = "Readiness"
    )]
    pub ready_when: Vec<String>,

    /// Where to add one line saying why guillotine stopped, after any message the child
    /// wrote there, if both fit in 1024 bytes; `none`: write nothing (keeps
    /// FallbackToLogsOnError working) [default: /dev/termination-log when it exists and is
    /// writable].
    #[arg(
        long,
        value_name = "PATH",
        env = "GUILLOTINE_TERMINATION_LOG",
        help_heading = "Logging"
    )]
    pub termination_log: Option<PathBuf>,

    #[command(flatten)]
    pub logging: LoggingArgs,

    /// The sidecar to run, with its arguments.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        num_args = 1..
    )]
    pub command: Vec<OsString>,
}

/// How the stop sequence runs. No clap defaults: `config` holds the one set of defaults
/// (which `guillotine run` uses too), and the help text states them (checked by a test).
#[derive(Debug, Default, clap::Args)]
pub struct StopArgs {
    /// First signal of the stop sequence, sent to the child's group and adopted orphans
    /// [default: TERM].
    #[arg(
        long,
        value_name = "SIGNAL",
        env = "GUILLOTINE_STOP_SIGNAL",
        help_heading = "Stop sequence"
    )]
    pub stop_signal: Option<String>,

    /// How long they have to exit after the stop signal before SIGKILL, e.g. 10s, 1m
    /// [default: 10s].
    #[arg(
        long,
        value_name = "DURATION",
        env = "GUILLOTINE_GRACE",
        help_heading = "Stop sequence"
    )]
    pub grace: Option<String>,
}

/// The log options every long-running mode shares.
#[derive(Debug, clap::Args)]
pub struct LoggingArgs {
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// What SIGTERM to the supervisor does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnTerm {
    Forward,
    Stop,
}

/// `guillotine run`: the main container's side.
#[derive(Debug, Parser)]
#[command(
    name = "guillotine run",
    version = VERSION,
    override_usage = "guillotine run --done PATH [OPTIONS] [--] COMMAND [ARGS]...",
    allow_negative_numbers = true,
    about = "Runs the main container's COMMAND (own process group, signals forwarded, zombies \
             reaped), then writes the sentinel(s) with its exit status and exits with it.",
    after_help = RUN_EXAMPLES
)]
pub struct RunArgs {
    /// Sentinel to write when COMMAND ends (repeatable); its content is the exit status.
    #[arg(
        long = "done",
        value_name = "PATH",
        required = true,
        env = "GUILLOTINE_DONE"
    )]
    pub done: Vec<PathBuf>,

    /// always: also when COMMAND fails, dies of a signal or cannot start (restartPolicy
    /// Never); success: only when it exits 0 (restartPolicy OnFailure restarts it in place).
    #[arg(long, value_enum, default_value = "always", env = "GUILLOTINE_DONE_ON")]
    pub done_on: DoneOn,

    /// Start COMMAND only once this holds (repeatable, all must hold): tcp://HOST:PORT,
    /// http://HOST:PORT/PATH (2xx), file:PATH or exec:PROGRAM ARGS (exits 0; split on
    /// whitespace, no shell; each try killed after 5s).
    #[arg(long, value_name = "PROBE", env = "GUILLOTINE_WAIT_FOR")]
    pub wait_for: Vec<String>,

    /// Give up waiting after this long: with --on-wait-timeout fail, the sentinel is
    /// written and guillotine exits 124.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60s",
        env = "GUILLOTINE_WAIT_TIMEOUT"
    )]
    pub wait_timeout: String,

    /// When --wait-timeout passes: fail (COMMAND is not started, exit 124) or start (say
    /// which probes did not hold and run COMMAND anyway).
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        default_value = "fail",
        env = "GUILLOTINE_ON_WAIT_TIMEOUT"
    )]
    pub on_wait_timeout: OnWaitTimeout,

    /// When COMMAND has ended, POST to this URL (repeatable) as --done-on says, after the
    /// sentinels: the quit endpoint of a sidecar guillotine does not wrap (Istio
    /// http://127.0.0.1:15020/quitquitquit). Also when the wait gives up or COMMAND cannot
    /// start. A failure is a warning; the exit status stays COMMAND's.
    #[arg(long, value_name = "URL", env = "GUILLOTINE_QUIT_URL")]
    pub quit_url: Vec<String>,

    #[command(flatten)]
    pub quit_timeout: QuitTimeoutArgs,

    #[command(flatten)]
    pub logging: LoggingArgs,

    /// The main container's command, with its arguments.
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        num_args = 1..
    )]
    pub command: Vec<OsString>,
}

const RUN_EXAMPLES: &str = "\
Examples:
  # Wait for the proxy, migrate, then stop the sidecar whatever happened:
  guillotine run --wait-for tcp://127.0.0.1:5432 --done /shared/done -- ./migrate.sh

  # restartPolicy OnFailure: only a success ends the sidecar:
  guillotine run --done /shared/done --done-on success -- ./batch

  # Wait until PostgreSQL accepts queries, not merely connections:
  guillotine run --wait-for 'exec:pg_isready -h 127.0.0.1' --done /shared/done -- ./report

  # An injected proxy you cannot wrap (Istio): POST its quit endpoint when COMMAND ends:
  guillotine run --done /shared/done --quit-url http://127.0.0.1:15020/quitquitquit -- ./job

Exit status: COMMAND's (128+N if signal N killed it; a failed --quit-url changes
nothing); 124 when --wait-for did not hold within --wait-timeout (COMMAND never ran); 128+N when signal N arrived during the wait
(COMMAND never ran); 125 usage errors; 126/127 COMMAND cannot run or was not found. The
sentinel is written in every one of these cases with --done-on always; if it cannot be
written (after retrying for 1.5s), the status is 123 and a message says the sidecar will
not stop.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DoneOn {
    Always,
    Success,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnWaitTimeout {
    Fail,
    Start,
}

/// How long one quit URL may take, shared by `run --quit-url` and `quit`. No clap default:
/// `config` holds it, and the help states it (checked by a test).
#[derive(Debug, Default, clap::Args)]
pub struct QuitTimeoutArgs {
    /// How long each quit URL may take as a whole: retried while it refuses connections (a
    /// sidecar still starting), then a 2xx within this time or it failed [default: 5s].
    #[arg(long, value_name = "DURATION", env = "GUILLOTINE_QUIT_TIMEOUT")]
    pub quit_timeout: Option<String>,
}

/// `guillotine quit`: ask sidecars to quit, from a script or a preStop hook.
#[derive(Debug, Parser)]
#[command(
    name = "guillotine quit",
    bin_name = "guillotine quit",
    version = VERSION,
    about = "POSTs to each URL at once (the quit endpoint of a sidecar guillotine does not \
             wrap) and exits 0 when every one answered 2xx within --quit-timeout; otherwise \
             one line per failure and exit 1 (125 for a URL that can never work).",
    after_help = QUIT_EXAMPLES
)]
pub struct QuitArgs {
    #[command(flatten)]
    pub quit_timeout: QuitTimeoutArgs,

    #[command(flatten)]
    pub logging: LoggingArgs,

    /// The quit endpoints, http:// only.
    #[arg(value_name = "URL", required = true)]
    pub urls: Vec<String>,
}

const QUIT_EXAMPLES: &str = "\
Examples:
  # Istio's injected proxy (pilot-agent and envoy):
  guillotine quit http://127.0.0.1:15020/quitquitquit

  # Linkerd (needs the proxy's shutdown endpoint enabled) and cloud-sql-proxy --quitquitquit:
  guillotine quit http://127.0.0.1:4191/shutdown http://127.0.0.1:9091/quitquitquit";

/// `guillotine done`: write sentinels without a shell.
#[derive(Debug, Parser)]
#[command(
    name = "guillotine done",
    bin_name = "guillotine done",
    version = VERSION,
    allow_negative_numbers = true,
    about = "Writes each sentinel atomically (a temporary file, then rename), its content the \
             exit code on one line. Missing directories are created."
)]
pub struct DoneArgs {
    /// The exit code to record.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        env = "GUILLOTINE_EXIT_CODE"
    )]
    pub exit_code: u8,

    /// Sentinel files to write.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// `guillotine install`: equip another image through a shared volume.
#[derive(Debug, Parser)]
#[command(
    name = "guillotine install",
    bin_name = "guillotine install",
    version = VERSION,
    about = "Copies this executable into DIR as `guillotine` (atomically, mode 0555) with a \
             `timeout` link beside it, for an init container to equip any sidecar image."
)]
pub struct InstallArgs {
    /// The directory (an emptyDir mounted by the sidecar too).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Remove this sentinel (and its dead-man's lock file) if a previous run of the pod left
    /// it (repeatable): an in-place restart of the whole pod keeps its emptyDirs and re-runs
    /// its init containers, and a stale sentinel would stop the new sidecar at once.
    #[arg(long, value_name = "PATH", env = "GUILLOTINE_RESET")]
    pub reset: Vec<PathBuf>,
}

/// `guillotine completions`: shell completion scripts.
#[derive(Debug, Parser)]
#[command(
    name = "guillotine completions",
    version = VERSION,
    about = "Prints a completion script for the supervisor's options, e.g. \
             `guillotine completions bash > /etc/bash_completion.d/guillotine`."
)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    Supervise(Box<Args>),
    Run(RunArgs),
    /// `run` with arguments clap refused (already said on stderr) that name these
    /// sentinels, due with any status (`--done-on always`).
    RunRefused(Vec<PathBuf>),
    Done(DoneArgs),
    Quit(QuitArgs),
    Install(InstallArgs),
    Completions(CompletionsArgs),
}

/// Writes the completion script for guillotine's options and subcommands to stdout.
pub fn print_completions(shell: clap_complete::Shell) {
    let mut command = Args::command()
        .subcommand(RunArgs::command().name("run"))
        .subcommand(DoneArgs::command().name("done"))
        .subcommand(QuitArgs::command().name("quit"))
        .subcommand(InstallArgs::command().name("install"))
        .subcommand(CompletionsArgs::command().name("completions"));
    clap_complete::generate(shell, &mut command, "guillotine", &mut std::io::stdout());
}

/// Parses the command line: a subcommand named by the first argument, else the supervisor.
/// On `--help` or `--version` prints them and gives status 0, on a usage error prints one
/// line and gives 125.
pub fn parse(argv: Vec<OsString>) -> Result<Invocation, u8> {
    // clap reads the first element as the program's name: here, the subcommand's.
    let rest = || argv[1..].to_vec();
    match argv.get(1).and_then(|first| first.to_str()) {
        Some("run") => parse_as::<RunArgs>(rest())
            .map(Invocation::Run)
            .or_else(|status| {
                let sentinels = due_sentinels(
                    &argv[2..],
                    std::env::var_os("GUILLOTINE_DONE"),
                    std::env::var_os("GUILLOTINE_DONE_ON"),
                );
                // Help and version (0) name no failure.
                match status {
                    0 => Err(status),
                    _ if sentinels.is_empty() => Err(status),
                    _ => Ok(Invocation::RunRefused(sentinels)),
                }
            }),
        Some("done") => parse_as::<DoneArgs>(rest()).map(Invocation::Done),
        Some("quit") => parse_as::<QuitArgs>(rest()).map(Invocation::Quit),
        Some("install") => parse_as::<InstallArgs>(rest()).map(Invocation::Install),
        Some("completions") => parse_as::<CompletionsArgs>(rest()).map(Invocation::Completions),
        _ => parse_as::<Args>(argv).map(|args| Invocation::Supervise(Box::new(args))),
    }
}

/// The sentinels `run`'s refused arguments name, as clap would have read them had the rest
/// been valid (`--done PATH`, `--done=PATH`, else `GUILLOTINE_DONE`), when a failure is due
/// one: none with `--done-on success` (or `GUILLOTINE_DONE_ON=success`). Options end at `--`
/// or at COMMAND, the first operand.
fn due_sentinels(
    args: &[OsString],
    done_variable: Option<OsString>,
    done_on_variable: Option<OsString>,
) -> Vec<PathBuf> {
    use clap::CommandFactory;
    // `run`'s options that take a value, as clap defines them: a refused argv is read
    // the same way.
    let with_value: Vec<String> = RunArgs::command()
        .get_arguments()
        .filter(|arg| arg.get_action().takes_values())
        .filter_map(|arg| arg.get_long().map(|long| format!("--{long}")))
        .collect();
    let mut sentinels = Vec::new();
    let mut done_on = done_on_variable;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" || !text.starts_with('-') {
            break;
        }
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) => (name, Some(OsString::from(value))),
            None => (text.as_ref(), None),
        };
        if !with_value.iter().any(|option| option == name) {
            continue;
        }
        let Some(value) = inline.or_else(|| args.next().cloned()) else {
            break;
        };
        match name {
            "--done" => sentinels.push(PathBuf::from(value)),
            "--done-on" => done_on = Some(value),
            _ => {}
        }
    }
    if done_on.is_some_and(|done_on| done_on == "success") {
        return vec![];
    }
    if sentinels.is_empty() {
        sentinels.extend(
            done_variable
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
        );
    }
    sentinels
}

fn parse_as<T: Parser>(argv: Vec<OsString>) -> Result<T, u8> {
    let command = T::command();
    let help = format!("see '{} --help'", command.get_name());
    if let Some(message) = empty_variable(&command) {
        eprintln!("guillotine: {message}; {help}");
        return Err(crate::exit::status::USAGE);
    }
    T::try_parse_from(argv).map_err(|error| {
        if matches!(
            error.kind(),
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
        ) {
            let _ = error.print();
            0
        } else {
            eprintln!(
                "guillotine: {}; {help}",
                one_line(&error.render().to_string())
            );
            crate::exit::status::USAGE
        }
    })
}

/// A `GUILLOTINE_*` variable of this command that is set but empty: clap would blame the
/// option it stands for, and the user would look at the command line in vain.
fn empty_variable(command: &clap::Command) -> Option<String> {
    command.get_arguments().find_map(|argument| {
        let variable = argument.get_env()?;
        let empty = std::env::var_os(variable).is_some_and(|value| value.is_empty());
        empty.then(|| {
            let option = argument.get_long().unwrap_or_else(|| argument.get_id().as_str());
            format!(
                "the environment variable {} (--{option}) is set but empty; unset it or give it a value",
                variable.to_string_lossy()
            )
        })
    })
}

/// clap's message on one line: its first paragraph, continuation lines joined with
/// commas, so that the missing arguments are named: `the following required arguments were
/// not provided: --done <PATH>, <COMMAND>...`.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        first.to_owned()
    } else {
        format!("{} {}", first, rest.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_errors_keep_what_they_name() {
        let rendered = "error: the following required arguments were not provided:\n  --done <PATH>\n  <COMMAND>...\n\nUsage: guillotine run --done PATH\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "the following required arguments were not provided: --done <PATH>, <COMMAND>..."
        );
        assert_eq!(
            one_line("error: unexpected argument '--x' found\n\n  tip: use '-- --x'\n"),
            "unexpected argument '--x' found"
        );
    }

    fn due(args: &[&str], done: Option<&str>, done_on: Option<&str>) -> Vec<PathBuf> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        due_sentinels(&args, done.map(OsString::from), done_on.map(OsString::from))
    }

    #[test]
    fn refused_run_arguments_still_name_their_sentinels() {
        let paths = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        for (args, done, done_on, expected) in [
            (
                &["--done", "/a", "--bogus", "--", "true"][..],
                None,
                None,
                paths(&["/a"]),
            ),
            (
                &["--done=/a", "--done", "/b", "-x"],
                None,
                None,
                paths(&["/a", "/b"]),
            ),
            (
                &["--wait-for", "--done", "--done", "/b", "-x"],
                None,
                None,
                paths(&["/b"]),
            ),
            (&["--bogus", "--", "--done", "/a"], None, None, vec![]),
            (&["--bogus", "cmd", "--done", "/a"], None, None, vec![]),
            (
                &["--bogus", "--", "true"],
                Some("/env"),
                None,
                paths(&["/env"]),
            ),
            (
                &["--done", "/a", "--bogus"],
                Some("/env"),
                None,
                paths(&["/a"]),
            ),
            (&["--bogus"], Some(""), None, vec![]),
            (
                &["--done", "/a", "--done-on", "success", "-x"],
                None,
                None,
                vec![],
            ),
            (
                &["--done", "/a", "--done-on=success", "-x"],
                None,
                None,
                vec![],
            ),
            (&["--done", "/a", "-x"], None, Some("success"), vec![]),
            (
                &["--done", "/a", "--done-on", "always", "-x"],
                None,
                Some("success"),
                paths(&["/a"]),
            ),
            (
                &["--done", "/a", "--done-on", "nonsense"],
                None,
                None,
                paths(&["/a"]),
            ),
            (&["--done"], None, None, vec![]),
        ] {
            assert_eq!(
                due(args, done, done_on),
                expected,
                "{args:?} {done:?} {done_on:?}"
            );
        }
    }

    #[test]
    fn help_and_valid_runs_are_not_refusals() {
        let argv = |args: &[&str]| -> Vec<OsString> {
            ["guillotine", "run"]
                .iter()
                .chain(args)
                .map(OsString::from)
                .collect()
        };
        assert!(matches!(parse(argv(&["--done", "/a", "--help"])), Err(0)));
        assert!(matches!(
            parse(argv(&["--done", "/a", "--", "true"])),
            Ok(Invocation::Run(_))
        ));
        assert!(matches!(
            parse(argv(&["--done", "/nonexistent/a", "--bogus", "--", "true"])),
            Ok(Invocation::RunRefused(sentinels)) if sentinels == [PathBuf::from("/nonexistent/a")]
        ));
    }
}
