//! Signalling processes and reading who they are: kill, killpg, the subreaper flag and
//! `/proc`.
//!
//! Owns: sending a signal to the child's group and to adopted orphans, treating ESRCH as
//! "already gone"; PR_SET_CHILD_SUBREAPER; listing guillotine's own children from `/proc`.
//! Never: reaps (that is `reap`), or signals a pid that is not guillotine's unreaped child
//! or a process group that still has the child or one of our children in it.

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, getpgrp, getpid};
use std::fs;

/// Makes orphaned descendants re-parent to guillotine instead of init, so it can reap them
/// and signal them (prctl(2), PR_SET_CHILD_SUBREAPER).
pub fn become_subreaper() -> nix::Result<()> {
    nix::sys::prctl::set_child_subreaper(true)
}

/// Makes guillotine the leader of a new process group, so that a signal to the group reaches
/// the child and everything it starts (GNU `timeout` does this unless `--foreground`). It
/// fails harmlessly for a session leader, which keeps its group.
pub fn lead_own_group() {
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
}

/// Sends a signal by number (real-time ones and 0 included) to `pid`, or to guillotine's own
/// process group, guillotine included, when `pid` is 0. Gone targets are not an error.
pub fn send_raw(pid: i32, signal: i32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let _ = unsafe { libc::kill(pid, signal) };
}

/// Sets `signal` to be ignored by guillotine from now on (fails harmlessly for KILL, STOP
/// and 0, which cannot be ignored).
pub fn ignore(signal: i32) {
    set_disposition(signal, libc::SIG_IGN);
}

/// Sets `signal` to SIG_IGN or SIG_DFL (never a handler of ours), ignoring failures for
/// signals whose disposition cannot change.
fn set_disposition(signal: i32, disposition: libc::sighandler_t) {
    debug_assert!(disposition == libc::SIG_IGN || disposition == libc::SIG_DFL);
    // SAFETY: SIG_IGN and SIG_DFL install no handler, so no code of ours can run in signal
    // context; a zeroed sigaction with an empty mask is otherwise valid.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = disposition;
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}

/// Ends guillotine by `signal`, so its parent's waitpid sees that death as it saw the child's:
/// core dumps off (the child already dumped core if it was going to), the signal's default
/// action back and unblocked, then raised. Returns only if that did not kill us (the
/// signal's default is to be ignored, or core dumps could not be disabled).
pub fn die_by(signal: i32) {
    if nix::sys::prctl::set_dumpable(false).is_err() {
        return;
    }
    set_disposition(signal, libc::SIG_DFL);
    // SAFETY: the sigset is a stack value emptied before use; raise(3) is an ordinary call.
    // We are on the main thread at the end of main.
    unsafe {
        let mut only: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut only);
        libc::sigaddset(&mut only, signal);
        libc::sigprocmask(libc::SIG_UNBLOCK, &only, std::ptr::null_mut());
        libc::raise(signal);
    }
}

/// True when guillotine is the init of its PID namespace (a container entrypoint).
pub fn is_pid1() -> bool {
    getpid() == Pid::from_raw(1)
}

/// Sends `signal` to the process group `group`. A group with no member left is not an error.
pub fn signal_group(group: Pid, signal: Signal) -> nix::Result<()> {
    gone_is_done(killpg(group, signal))
}

/// ESRCH means the target has already gone: for a signal meant to end it, that is success.
fn gone_is_done(result: nix::Result<()>) -> nix::Result<()> {
    match result {
        Err(Errno::ESRCH) => Ok(()),
        result => result,
    }
}

/// Sends `signal` to every child of guillotine outside `child_group`: orphans that left the
/// child's group (setsid, a double fork) and were re-parented to us. An orphan that leads its
/// own group gets the signal for the whole group, so the workers it forked get it too.
/// Returns how many were signalled.
///
/// Every pid listed is our child and not yet reaped (we are the only reaper and run on the
/// same thread), so it cannot have been reused.
pub fn signal_adopted(child_group: Pid, signal: Signal) -> usize {
    let own_group = getpgrp();
    let mut signalled = 0;
    for orphan in children() {
        if orphan.group == child_group {
            continue;
        }
        let result = if orphan.group == orphan.pid && orphan.group != own_group {
            signal_group(orphan.group, signal)
        } else {
            gone_is_done(kill(orphan.pid, signal))
        };
        match result {
            Ok(()) => signalled += 1,
            Err(errno) => {
                tracing::warn!(pid = orphan.pid.as_raw(), %errno, "cannot signal adopted orphan")
            }
        }
    }
    signalled
}

/// One of guillotine's children, as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildProcess {
    pub pid: Pid,
    pub group: Pid,
    /// The one-letter state: R, S, D (uninterruptible: survives SIGKILL for now), Z, …
    pub state: char,
}

/// guillotine's children (running or zombie), read from `/proc`.
pub fn children() -> Vec<ChildProcess> {
    let own = getpid().as_raw();
    let Ok(entries) = fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            let fields = parse_stat(&stat)?;
            (fields.parent == own).then_some(ChildProcess {
                pid: Pid::from_raw(pid),
                group: Pid::from_raw(fields.group),
                state: fields.state,
            })
        })
        .collect()
}

/// The fields of `/proc/<pid>/stat` that we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatFields {
    state: char,
    parent: i32,
    group: i32,
}

/// Reads `pid (comm) state ppid pgrp …`. The command name may hold spaces and parentheses,
/// so the fields start after the last `)` (proc(5)).
fn parse_stat(stat: &str) -> Option<StatFields> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    Some(StatFields {
        state,
        parent,
        group,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let stat = "4242 (a) b (c)) S 17 4242 17 0 -1 4194560 107 0 0 0";
        assert_eq!(
            parse_stat(stat),
            Some(StatFields {
                state: 'S',
                parent: 17,
                group: 4242
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) Z"), None);
    }

    #[test]
    fn a_group_with_no_member_is_not_an_error() {
        // Pid numbers are far below i32::MAX - 1 (pid_max is at most 2^22).
        assert_eq!(
            signal_group(Pid::from_raw(i32::MAX - 1), Signal::SIGTERM),
            Ok(())
        );
    }
}
