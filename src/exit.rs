//! How the child ended, why guillotine stopped, and the exit status that follows.
//!
//! Owns: [`ChildEnd`] (what `waitpid` said about the child), [`Cause`] (why supervision
//! ended) and [`exit_status`], the one total function from the two to guillotine's own exit
//! status. Never: touches a process or reads a raw wait status (that is `sys::reap`).

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
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::ChildEnded => "child-ended",
            Cause::Sentinel => "sentinel",
        }
    }
}

/// guillotine's exit status.
///
/// - the child ended by itself: its code, or 128 + signal (forwarded signals included: the
///   kubelet's TERM is the outside world's choice);
/// - the sentinel stopped it: 0, whatever the child reported after our signal.
pub fn exit_status(cause: Cause, end: ChildEnd) -> u8 {
    match cause {
        Cause::ChildEnded => end.shell_status(),
        Cause::Sentinel => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_passes_through() {
        for code in 0..=255u8 {
            assert_eq!(exit_status(Cause::ChildEnded, ChildEnd::Exited(code)), code);
        }
    }

    #[test]
    fn signal_deaths_become_128_plus_the_signal() {
        for signal in 1..=64 {
            assert_eq!(
                exit_status(Cause::ChildEnded, ChildEnd::Signaled(signal)),
                128 + signal as u8
            );
        }
    }

    #[test]
    fn a_sentinel_stop_is_success_whatever_the_child_said() {
        for code in 0..=255u8 {
            assert_eq!(exit_status(Cause::Sentinel, ChildEnd::Exited(code)), 0);
        }
        for signal in 1..=64 {
            assert_eq!(exit_status(Cause::Sentinel, ChildEnd::Signaled(signal)), 0);
        }
    }
}
