//! How the child ended, why guillotine stopped, and the exit status that follows.
//!
//! Owns: [`ChildEnd`] (what `waitpid` said about the child), [`Cause`] (why supervision
//! ended), [`Outcome`] (the two together, plus whether SIGKILL was needed) and
//! [`natural_status`], the one total function from an outcome to guillotine's exit status
//! before any `--exit-map` rule. Never: touches a process or reads a raw wait status (that is
//! `sys::reap`).

/// How the child ended, as its parent's `waitpid` saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    /// It called `exit(code)`.
    Exited(u8),
    /// It was killed by this signal number.
    Signaled(i32),
}

impl ChildEnd {
    /// The status a shell would report: the code, or 128 + the signal number.
    pub fn shell_status(self) -> u8 {
        match self {
            ChildEnd::Exited(code) => code,
            // Signal numbers on Linux are 1..=64, so 128 + n always fits.
            ChildEnd::Signaled(signal) => 128u8.saturating_add(signal as u8),
        }
    }
}

/// Why supervision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The child ended by itself (or from a signal somebody else chose, which we only
    /// forwarded).
    ChildEnded,
    /// A sentinel appeared and guillotine ran its stop sequence.
    Sentinel,
    /// The lifetime ran out and guillotine ran its stop sequence.
    Lifetime,
    /// guillotine received SIGTERM under `--on-term stop` and ran its stop sequence.
    Terminated,
    /// The main container ended without writing the sentinel (its dead-man's lock was
    /// released: killed, OOM-killed) and guillotine ran its stop sequence.
    Abandoned,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::ChildEnded => "child-ended",
            Cause::Sentinel => "sentinel",
            Cause::Lifetime => "lifetime",
            Cause::Abandoned => "abandoned",
            Cause::Terminated => "terminated",
        }
    }
}

/// How guillotine itself ends, whatever the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exit(u8),
    /// Die of this signal (as the `timeout` mode does when its command did); exit with
    /// `otherwise` if the signal turns out not to be fatal.
    DieBy {
        signal: i32,
        otherwise: u8,
    },
}

/// The exit statuses guillotine chooses itself; every other status is the child's. 124–127
/// and 137 are coreutils `timeout`'s, so scripts written for it read them the same way. The
/// README's exit-status table is the one list for users; these are the only literals.
pub mod status {
    /// `guillotine quit`: at least one URL did not answer 2xx in time. 1 is the "it did not
    /// work" of curl-like tools (`wget`, `curl --fail` in scripts are tested for non-zero),
    /// and it is free: `quit` runs no child whose status it could be mistaken for, and every
    /// other status guillotine chooses is 123 or above.
    pub const QUIT_FAILED: u8 = 1;
    /// `guillotine run` and `guillotine done`: a sentinel could not be written, even after
    /// retrying, so the sidecar will not stop. Apart from every other status guillotine gives
    /// (0, 124–127, 128 + N) and from GNU `timeout`'s.
    pub const SENTINEL_NOT_WRITTEN: u8 = 123;
    /// The lifetime ran out, `run --wait-for` did not hold in time, or (`timeout` mode) the
    /// command timed out.
    pub const TIMED_OUT: u8 = 124;
    /// A usage or set-up error of guillotine's own (GNU's EXIT_CANCELED).
    pub const USAGE: u8 = 125;
    /// COMMAND exists but cannot be run.
    pub const CANNOT_RUN: u8 = 126;
    /// COMMAND was not found.
    pub const NOT_FOUND: u8 = 127;
    /// The lifetime ran out and SIGKILL was needed (128 + 9).
    pub const KILLED: u8 = 137;
}

/// Everything the exit status depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub cause: Cause,
    /// None when the child survived SIGKILL and guillotine gave up on it.
    pub child: Option<ChildEnd>,
    /// The stop sequence had to send SIGKILL.
    pub killed: bool,
}

/// The exit status coreutils-style tools would give the outcome:
///
/// - the child ended by itself: its code, or 128 + signal (forwarded signals included: the
///   kubelet's TERM is the outside world's choice);
/// - the sentinel stopped it: 0, whatever the child reported after our signal;
/// - the lifetime ran out: 124, or 137 when SIGKILL was needed (as coreutils `timeout`).
pub fn natural_status(outcome: Outcome) -> u8 {
    match outcome.cause {
        // A child that ended by itself has always been reaped; the fallback is unreachable.
        Cause::ChildEnded => outcome.child.map_or(status::KILLED, ChildEnd::shell_status),
        Cause::Sentinel | Cause::Abandoned => 0,
        // What the kubelet sees of a container that SIGTERM ended, forwarded or not.
        Cause::Terminated => 128 + libc::SIGTERM as u8,
        Cause::Lifetime if outcome.killed => status::KILLED,
        Cause::Lifetime => status::TIMED_OUT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a child can end: all 256 codes and all 64 signals.
    fn every_child_end() -> impl Iterator<Item = ChildEnd> {
        (0..=255u8)
            .map(ChildEnd::Exited)
            .chain((1..=64).map(ChildEnd::Signaled))
    }

    fn status(cause: Cause, child: ChildEnd, killed: bool) -> u8 {
        natural_status(Outcome {
            cause,
            child: Some(child),
            killed,
        })
    }

    #[test]
    fn every_exit_code_passes_through() {
        for code in 0..=255u8 {
            assert_eq!(
                status(Cause::ChildEnded, ChildEnd::Exited(code), false),
                code
            );
        }
    }

    #[test]
    fn signal_deaths_become_128_plus_the_signal() {
        for signal in 1..=64 {
            assert_eq!(
                status(Cause::ChildEnded, ChildEnd::Signaled(signal), false),
                128 + signal as u8
            );
        }
    }

    #[test]
    fn a_sentinel_stop_is_success_whatever_the_child_said() {
        for child in every_child_end() {
            for killed in [false, true] {
                assert_eq!(status(Cause::Sentinel, child, killed), 0);
            }
        }
    }

    #[test]
    fn a_lifetime_stop_is_124_or_137_when_killed() {
        for child in every_child_end() {
            assert_eq!(status(Cause::Lifetime, child, false), 124);
            assert_eq!(status(Cause::Lifetime, child, true), 137);
        }
    }
}
