//! The command line as typed: clap derive, a `GUILLOTINE_INJECT_*` variable for every
//! option (so a Helm post-renderer, which Helm 3 starts without arguments unless given
//! `--post-renderer-args`, can be configured from the environment), and the help.
//! Never: validates values (that is [`crate::config`]) or reads manifests.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  # Wire a Job whose pod template has a cloud-sql-proxy sidecar, and apply it:
  kubectl guillotine inject --sidecar cloud-sql-proxy -f job.yaml | kubectl apply -f -

  # The proxy must be ready before the job starts; the image has no command in the manifest:
  kubectl guillotine inject --sidecar proxy --wait-for proxy=tcp://127.0.0.1:5432 \\
      --entrypoint proxy=/cloud-sql-proxy -f job.yaml

  # As a Helm 3 post-renderer (stdin to stdout; sidecars named by the pod templates'
  # guillotine/sidecars annotation or by GUILLOTINE_INJECT_SIDECARS):
  helm install my-release ./chart --post-renderer kubectl-guillotine

  # Undo: the original containers, init containers and volumes come back:
  kubectl guillotine uninject -f wired.yaml

Which containers are sidecars: the pod template's annotation guillotine/sidecars
(\"cloud-sql-proxy,envoy\") and every --sidecar. Job, CronJob and Pod documents (also
inside a List) are wired; every other document is written back as it was read. A document
already wired (annotation guillotine/injected) is left as it is.

Exit status: 0 when every document was written; 1 when a document or file cannot be
wired (one line per problem on stderr, nothing on stdout); 2 for usage errors.";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl-guillotine",
    version,
    about = "Wires guillotine into Job, CronJob and Pod manifests: sidecars stop when the job is done.",
    long_about = "Wires guillotine into Job, CronJob and Pod manifests: sidecars stop when the job is \
done. Without a subcommand it runs `inject` (reading standard input when no -f is given), \
which is how Helm runs a post-renderer.",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `inject`'s options when no subcommand is named.
    #[command(flatten)]
    pub inject: InjectArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Wire guillotine into the manifests (the default).
    #[command(after_help = AFTER_HELP)]
    Inject(Box<InjectArgs>),
    /// Undo `inject`: restore the original containers, init containers and volumes.
    Uninject(Files),
}

#[derive(Debug, Clone, Default, Args)]
pub struct Files {
    /// A manifest to read (repeatable); `-` is standard input, which is also read when no
    /// file is named. The documents of every file are written to standard output, in order
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct InjectArgs {
    #[command(flatten)]
    pub files: Files,

    /// Undo instead: as `uninject`
    #[arg(long, env = "GUILLOTINE_INJECT_UNDO")]
    pub undo: bool,

    /// A sidecar container, in every pod (repeatable or comma-separated); added to the pod
    /// template's guillotine/sidecars annotation
    #[arg(
        long,
        value_name = "NAME",
        value_delimiter = ',',
        env = "GUILLOTINE_INJECT_SIDECARS",
        help_heading = "Which containers"
    )]
    pub sidecar: Vec<String>,

    /// The command of a container whose manifest has none (its image's ENTRYPOINT, which
    /// inject cannot see), e.g. proxy=/cloud-sql-proxy (repeatable)
    #[arg(
        long,
        value_name = "NAME=PATH",
        env = "GUILLOTINE_INJECT_ENTRYPOINT",
        help_heading = "Which containers"
    )]
    pub entrypoint: Vec<String>,

    /// The guillotine image the init container copies guillotine from
    #[arg(long, value_name = "IMAGE", env = "GUILLOTINE_INJECT_IMAGE", help_heading = "How", default_value = crate::config::DEFAULT_IMAGE)]
    pub image: String,

    /// Native sidecars (Kubernetes >= 1.29 on the API server and every node): each sidecar
    /// becomes an init container with restartPolicy Always; no sentinel
    #[arg(long, env = "GUILLOTINE_INJECT_NATIVE", help_heading = "How")]
    pub native: bool,

    /// The oldest Kubernetes version the manifests run on (API server and nodes), e.g.
    /// 1.30: 1.29 or later means --native
    #[arg(
        long,
        value_name = "VERSION",
        env = "GUILLOTINE_INJECT_KUBERNETES_VERSION",
        help_heading = "How"
    )]
    pub kubernetes_version: Option<String>,

    /// With --native: wrap every sidecar in guillotine even without --exit-map, for its PID-1
    /// duties (reaping zombies, forwarding signals)
    #[arg(long, env = "GUILLOTINE_INJECT_WRAP", help_heading = "How")]
    pub wrap: bool,

    /// Gate the main containers on a sidecar's readiness: NAME=PROBE (tcp://HOST:PORT,
    /// http://HOST:PORT/PATH, file:PATH or exec:PROGRAM ARGS) makes the sidecar write a
    /// ready file once PROBE holds and the main containers wait for it (repeatable)
    #[arg(
        long,
        value_name = "NAME=PROBE",
        env = "GUILLOTINE_INJECT_WAIT_FOR",
        help_heading = "Readiness"
    )]
    pub wait_for: Vec<String>,

    /// How long the main containers wait for --wait-for (guillotine run --wait-timeout)
    #[arg(
        long,
        value_name = "DURATION",
        env = "GUILLOTINE_INJECT_WAIT_TIMEOUT",
        help_heading = "Readiness"
    )]
    pub wait_timeout: Option<String>,

    /// The sidecars' stop signal (guillotine --stop-signal)
    #[arg(
        long,
        value_name = "SIGNAL",
        env = "GUILLOTINE_INJECT_STOP_SIGNAL",
        help_heading = "Passed to the sidecars' guillotine"
    )]
    pub stop_signal: Option<String>,

    /// The sidecars' grace period before SIGKILL (guillotine --grace)
    #[arg(
        long,
        value_name = "DURATION",
        env = "GUILLOTINE_INJECT_GRACE",
        help_heading = "Passed to the sidecars' guillotine"
    )]
    pub grace: Option<String>,

    /// Stop the sidecars after this long (guillotine --lifetime)
    #[arg(
        long,
        value_name = "DURATION",
        env = "GUILLOTINE_INJECT_LIFETIME",
        help_heading = "Passed to the sidecars' guillotine"
    )]
    pub lifetime: Option<String>,

    /// Stop the sidecars at this moment, RFC 3339 (guillotine --deadline)
    #[arg(
        long,
        value_name = "TIMESTAMP",
        env = "GUILLOTINE_INJECT_DEADLINE",
        help_heading = "Passed to the sidecars' guillotine"
    )]
    pub deadline: Option<String>,

    /// What the kubelet's SIGTERM does to the sidecars: forward or stop (guillotine --on-term)
    #[arg(
        long,
        value_name = "forward|stop",
        env = "GUILLOTINE_INJECT_ON_TERM",
        help_heading = "Passed to the sidecars' guillotine"
    )]
    pub on_term: Option<String>,

    /// POST this URL when a main container ends (guillotine run --quit-url), for a sidecar a
    /// mesh injects later, which inject cannot wrap (repeatable)
    #[arg(
        long,
        value_name = "URL",
        env = "GUILLOTINE_INJECT_MAIN_QUIT_URL",
        help_heading = "Passed to the main containers' guillotine run"
    )]
    pub main_quit_url: Vec<String>,

    /// Remap the sidecars' exit status (guillotine --exit-map), e.g. 143=0
    #[arg(
        long,
        value_name = "RULES",
        env = "GUILLOTINE_INJECT_EXIT_MAP",
        help_heading = "Passed to the sidecars' guillotine"
    )]
    pub exit_map: Vec<String>,

    /// POST here before signalling a sidecar (guillotine --quit-url; repeatable)
    #[arg(
        long,
        value_name = "URL",
        env = "GUILLOTINE_INJECT_QUIT_URL",
        help_heading = "Passed to the sidecars' guillotine"
    )]
    pub quit_url: Vec<String>,
}
