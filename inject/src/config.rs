//! Raw flags in, validated [`Options`] out: every value checked with guillotine's own
//! grammar (so inject refuses what the wrapped guillotine would refuse), the mode decided,
//! and the one place for every name and path inject writes into a manifest.
//! Never: reads manifests or does I/O.
//!
//! Adding an option guillotine learns is one line in [`sidecar_flags`] (or [`main_flags`])
//! plus its field in [`crate::cli`]: its place in the wrapped command line and what it
//! means for native sidecars are decided there.

use crate::cli::InjectArgs;
use std::fmt;

/// This release's image, named by the init container unless `--image` says otherwise.
/// The registry is a placeholder until the project has its public home (see Cargo.toml's
/// `repository`).
pub const DEFAULT_IMAGE: &str = concat!(
    "registry.example.com/guillotine:",
    env!("CARGO_PKG_VERSION")
);
/// The emptyDir the init container fills with guillotine.
pub const TOOLS_VOLUME: &str = "guillotine-tools";
/// The emptyDir holding the sentinel and the ready files.
pub const LIFECYCLE_VOLUME: &str = "guillotine-lifecycle";
/// The init container that copies guillotine.
pub const INSTALL_CONTAINER: &str = "install-guillotine";
pub const TOOLS_DIR: &str = "/tools";
pub const LIFECYCLE_DIR: &str = "/lifecycle";
/// guillotine in the image (its ENTRYPOINT; named explicitly, so a mirror or a rebuilt
/// image with another entrypoint still works).
pub const IMAGE_BINARY: &str = "/guillotine";
/// guillotine as the wrapped containers see it.
pub const WRAPPER: &str = "/tools/guillotine";
/// The sentinel the main containers write.
pub const SENTINEL: &str = "/lifecycle/done";
/// The first Kubernetes release with native sidecars on by default (KEP-753 beta).
pub const NATIVE_SINCE: (u32, u32) = (1, 29);

/// The ready file a gated sidecar writes.
pub fn ready_file(sidecar: &str) -> String {
    format!("{LIFECYCLE_DIR}/{sidecar}.ready")
}

/// The init container's arguments. When `install --reset` lands (it clears a stale
/// sentinel and ready files on a re-run of the init containers), it goes here, with the
/// lifecycle volume mounted into the install container.
/// `install /tools`, removing first what a previous run of the pod left on the lifecycle
/// volume (`resets`: the sentinel and the ready files; an in-place restart of the whole pod
/// keeps emptyDirs and re-runs init containers).
pub fn install_args(resets: &[String]) -> Vec<String> {
    let mut args = vec!["install".to_owned(), TOOLS_DIR.to_owned()];
    args.extend(resets.iter().map(|path| format!("--reset={path}")));
    args
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sidecars stay ordinary containers; a sentinel on the lifecycle volume stops them.
    Sentinel,
    /// Sidecars become init containers with `restartPolicy: Always`; the kubelet stops them.
    Native,
}

/// One option for a wrapped container's guillotine, written `--name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: &'static str,
    pub value: String,
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

/// What inject was asked to do, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    pub image: String,
    /// `--sidecar`: sidecars of every pod, besides the annotation's.
    pub sidecars: Vec<String>,
    /// `--entrypoint NAME=PATH`.
    pub entrypoints: Vec<(String, String)>,
    /// `--wait-for NAME=PROBE`, in the order given.
    pub ready: Vec<(String, String)>,
    /// Options for every sidecar's guillotine, after `--watch` and the readiness options.
    pub sidecar_flags: Vec<Flag>,
    /// Options for every main container's `guillotine run`, before `--done`.
    pub main_flags: Vec<Flag>,
    /// Native mode: wrap the sidecars in guillotine (an option needs it, or `--wrap`).
    pub wrap_native: bool,
}

/// A usage error: one line saying what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// What a sidecar option means when the sidecar is native.
enum InNative {
    /// It needs guillotine around the sidecar: wrap it.
    Wraps,
    /// It cannot work there; the reason says why.
    Refused(&'static str),
}

type Check = fn(&str) -> Result<(), String>;

fn duration(value: &str) -> Result<(), String> {
    guillotine::duration::parse_duration(value)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn timestamp(value: &str) -> Result<(), String> {
    guillotine::timestamp::parse_timestamp(value)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn on_term(value: &str) -> Result<(), String> {
    match value {
        "forward" | "stop" => Ok(()),
        _ => Err(format!("{value:?} is neither forward nor stop")),
    }
}

fn signal(value: &str) -> Result<(), String> {
    guillotine::signal::parse_signal(value)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn exit_map(value: &str) -> Result<(), String> {
    guillotine::exit_map::ExitMap::parse([value])
        .map(drop)
        .map_err(|e| e.to_string())
}

fn quit_url(value: &str) -> Result<(), String> {
    guillotine::url::check_url(value)
        .map_err(|reason| format!("{value:?} is not a quit URL: {reason}"))
}

fn probe(value: &str) -> Result<(), String> {
    guillotine::probe::parse_probe(value)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The sidecars' options, in the order they are written. One line per option.
fn sidecar_flags(args: &InjectArgs) -> Vec<(&'static str, Vec<String>, Check, InNative)> {
    const KUBELET_STOPS: &str = "the kubelet stops a native sidecar itself, with a signal, once the main containers have ended";
    vec![
        (
            "--quit-url",
            args.quit_url.clone(),
            quit_url,
            InNative::Refused(KUBELET_STOPS),
        ),
        (
            "--stop-signal",
            args.stop_signal.iter().cloned().collect(),
            signal,
            InNative::Refused(KUBELET_STOPS),
        ),
        (
            "--grace",
            args.grace.iter().cloned().collect(),
            duration,
            InNative::Refused(KUBELET_STOPS),
        ),
        (
            "--lifetime",
            args.lifetime.iter().cloned().collect(),
            duration,
            InNative::Refused(
                "the kubelet restarts a native sidecar that exits: a lifetime there is a restart loop",
            ),
        ),
        (
            "--deadline",
            args.deadline.iter().cloned().collect(),
            timestamp,
            InNative::Refused(
                "the kubelet restarts a native sidecar that exits: a deadline there is a restart loop",
            ),
        ),
        (
            "--exit-map",
            args.exit_map.clone(),
            exit_map,
            InNative::Wraps,
        ),
        (
            "--on-term",
            args.on_term.iter().cloned().collect(),
            on_term,
            InNative::Wraps,
        ),
    ]
}

/// The main containers' options for `guillotine run`, in the order they are written.
fn main_flags(args: &InjectArgs) -> Vec<(&'static str, Vec<String>, Check)> {
    vec![
        (
            "--wait-timeout",
            args.wait_timeout.iter().cloned().collect(),
            duration,
        ),
        ("--quit-url", args.main_quit_url.clone(), quit_url),
    ]
}

fn name_value(option: &str, form: &str, value: &str) -> Result<(String, String), UsageError> {
    match value.split_once('=') {
        Some((name, rest)) if !name.is_empty() && !rest.is_empty() => {
            Ok((name.to_owned(), rest.to_owned()))
        }
        _ => Err(usage(format!("{option}: {value:?} is not {form}"))),
    }
}

/// `1.29`, `v1.30.2`, `1.31+` (as some providers print it) -> (major, minor).
pub fn parse_kubernetes_version(text: &str) -> Result<(u32, u32), UsageError> {
    let bad = || {
        usage(format!(
            "--kubernetes-version: {text:?} is not a version; use e.g. 1.29 or v1.30.2"
        ))
    };
    let trimmed = text.trim().trim_start_matches('v');
    let mut parts = trimmed.split('.');
    let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let minor = parts
        .next()
        .map(|p| p.trim_end_matches('+'))
        .and_then(|p| p.parse().ok())
        .ok_or_else(bad)?;
    Ok((major, minor))
}

impl Options {
    pub fn from_args(args: &InjectArgs) -> Result<Options, UsageError> {
        let version = args
            .kubernetes_version
            .as_deref()
            .map(parse_kubernetes_version)
            .transpose()?;
        let mode = match (args.native, version) {
            (true, Some(v)) if v < NATIVE_SINCE => {
                return Err(usage(format!(
                    "--native needs Kubernetes {}.{} or later on the API server and every node, and --kubernetes-version says {}.{}",
                    NATIVE_SINCE.0, NATIVE_SINCE.1, v.0, v.1
                )));
            }
            (true, _) => Mode::Native,
            (false, Some(v)) if v >= NATIVE_SINCE => Mode::Native,
            _ => Mode::Sentinel,
        };
        if args.wrap && mode == Mode::Sentinel {
            return Err(usage(
                "--wrap is for native sidecars (--native); in sentinel mode every sidecar is wrapped",
            ));
        }
        if args.image.trim().is_empty() {
            return Err(usage(
                "--image: empty; name the guillotine image, e.g. registry.example.com/guillotine:0.1.0",
            ));
        }
        let mut sidecars: Vec<String> = Vec::new();
        for name in args.sidecar.iter().map(|s| s.trim()) {
            if name.is_empty() {
                return Err(usage("--sidecar: an empty name"));
            }
            if !sidecars.iter().any(|s| s == name) {
                sidecars.push(name.to_owned());
            }
        }
        let entrypoints = args
            .entrypoint
            .iter()
            .map(|e| name_value("--entrypoint", "NAME=PATH (e.g. proxy=/cloud-sql-proxy)", e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ready = Vec::new();
        for value in &args.wait_for {
            let (name, text) = name_value(
                "--wait-for",
                "NAME=PROBE (e.g. proxy=tcp://127.0.0.1:5432)",
                value,
            )?;
            probe(&text).map_err(|e| usage(format!("--wait-for {name}: {e}")))?;
            ready.push((name, text));
        }
        if mode == Mode::Native && !ready.is_empty() {
            return Err(usage(
                "--wait-for with native sidecars: give the sidecar a startupProbe instead (the kubelet starts the main containers once it succeeds); inject writes no probes",
            ));
        }
        if mode == Mode::Native && !args.main_quit_url.is_empty() {
            return Err(usage(
                "--main-quit-url wraps the main containers, which native mode leaves alone: use sentinel mode",
            ));
        }
        if args.wait_timeout.is_some() && ready.is_empty() {
            return Err(usage(
                "--wait-timeout without --wait-for: there is nothing to wait for",
            ));
        }

        let mut wrap_native = args.wrap;
        let mut sidecar = Vec::new();
        for (name, values, check, in_native) in sidecar_flags(args) {
            for value in values {
                check(&value).map_err(|e| usage(format!("{name}: {e}")))?;
                if mode == Mode::Native {
                    match in_native {
                        InNative::Wraps => wrap_native = true,
                        InNative::Refused(why) => {
                            return Err(usage(format!(
                                "{name} does not apply to native sidecars: {why}"
                            )));
                        }
                    }
                }
                sidecar.push(Flag { name, value });
            }
        }
        let mut main = Vec::new();
        for (name, values, check) in main_flags(args) {
            for value in values {
                check(&value).map_err(|e| usage(format!("{name}: {e}")))?;
                main.push(Flag { name, value });
            }
        }
        Ok(Options {
            mode,
            image: args.image.trim().to_owned(),
            sidecars,
            entrypoints,
            ready,
            sidecar_flags: sidecar,
            main_flags: main,
            wrap_native,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> InjectArgs {
        InjectArgs {
            image: DEFAULT_IMAGE.to_owned(),
            ..InjectArgs::default()
        }
    }

    #[test]
    fn kubernetes_version_picks_the_mode() {
        for (version, mode) in [
            ("1.28", Mode::Sentinel),
            ("v1.29.0", Mode::Native),
            ("1.33+", Mode::Native),
        ] {
            let options = Options::from_args(&InjectArgs {
                kubernetes_version: Some(version.to_owned()),
                ..args()
            });
            assert_eq!(options.map(|o| o.mode), Ok(mode), "{version}");
        }
        assert!(parse_kubernetes_version("latest").is_err());
    }

    #[test]
    fn values_are_checked_with_guillotines_grammar() {
        let bad = Options::from_args(&InjectArgs {
            grace: Some("14x".to_owned()),
            ..args()
        });
        assert!(matches!(bad, Err(UsageError(m)) if m.starts_with("--grace: ")));
        let bad = Options::from_args(&InjectArgs {
            wait_for: vec!["proxy=ftp://x".to_owned()],
            ..args()
        });
        assert!(matches!(bad, Err(UsageError(m)) if m.starts_with("--wait-for proxy: ")));
    }

    #[test]
    fn native_refuses_what_cannot_work_there_and_wraps_for_what_needs_guillotine() {
        let native = |extra: InjectArgs| {
            Options::from_args(&InjectArgs {
                native: true,
                ..extra
            })
        };
        assert!(
            native(InjectArgs {
                lifetime: Some("1h".into()),
                ..args()
            })
            .is_err()
        );
        assert!(
            native(InjectArgs {
                grace: Some("1s".into()),
                ..args()
            })
            .is_err()
        );
        assert_eq!(native(args()).map(|o| o.wrap_native), Ok(false));
        assert_eq!(
            native(InjectArgs {
                exit_map: vec!["143=0".into()],
                ..args()
            })
            .map(|o| o.wrap_native),
            Ok(true)
        );
    }

    #[test]
    fn the_default_image_is_this_release() {
        // Both packages share one version, so the image the init container pulls is the
        // release this inject came with.
        let root = include_str!("../../Cargo.toml");
        let version = root
            .lines()
            .find_map(|l| l.strip_prefix("version = \""))
            .map(|v| v.trim_end_matches('"'));
        assert_eq!(version, Some(env!("CARGO_PKG_VERSION")));
        assert!(DEFAULT_IMAGE.ends_with(env!("CARGO_PKG_VERSION")));
    }
}
