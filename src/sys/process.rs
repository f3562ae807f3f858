//! Signalling processes and reading who they are: kill, killpg, the subreaper flag and
//! `/proc`.
//!
//! Owns: sending a signal to a [`Target`] (a group, a child, or a descendant through a
//! pidfd), treating ESRCH as "already gone"; PR_SET_CHILD_SUBREAPER; scanning guillotine's
//! descendants from `/proc`.
//! Never: reaps (that is `reap`), decides whom to signal (that is `reach`), or signals a pid
//! that might have been reused.

use crate::reach::{Process, ProcessId, Target};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, getpid};
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

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

/// Sends a signal by number (real-time ones and 0 included) to the `timeout` mode's
/// child, unreaped (the mode's reaper has not collected it). Gone is not an error.
pub fn send_to_child(child: Pid, signal: i32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let _ = unsafe { libc::kill(child.as_raw(), signal) };
}

/// Sends a signal by number to guillotine's own process group, guillotine included (GNU
/// `timeout` signals its whole group so that the command's children get it too).
pub fn send_to_own_group(signal: i32) {
    // SAFETY: kill(2) with pid 0 means the caller's process group; plain integers.
    let _ = unsafe { libc::kill(0, signal) };
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

/// Sends `signal` to `target`. A target that has gone (ESRCH, or a descendant whose pid now
/// names another process) is not an error.
///
/// A [`Target::Group`] or [`Target::Child`] is safe by construction (see [`Target`]). A
/// [`Target::Descendant`] may be reaped by its own parent at any moment, so it is opened as
/// a pidfd first, its start time checked, and the signal sent through the pidfd: a reused
/// pid is never signalled.
pub fn send(target: Target, signal: Signal) -> nix::Result<()> {
    match target {
        Target::Group(group) => signal_group(Pid::from_raw(group), signal),
        Target::Child(pid) => gone_is_done(kill(Pid::from_raw(pid), signal)),
        Target::Descendant(process) => gone_is_done(signal_descendant(process, signal)),
    }
}

fn signal_descendant(process: ProcessId, signal: Signal) -> nix::Result<()> {
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, process.pid, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `fd` is a descriptor we just opened and own; nothing else closes it.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    // The pidfd pins whatever process the pid named when it was opened: if that is still
    // the one we scanned, the signal cannot reach anything else.
    let same = read_stat(process.pid).is_some_and(|stat| stat.start_time == process.start_time);
    if !same {
        return Err(Errno::ESRCH);
    }
    // SAFETY: pidfd_send_signal(2) with a valid pidfd, a signal number, no siginfo (NULL)
    // and no flags.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if sent < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// guillotine's descendants, at any depth, running or zombie, as `/proc` shows them now.
/// An error when `/proc` cannot tell: not mounted (a bare chroot), or another PID
/// namespace's (`unshare --pid` without remounting it), where every pid would name some
/// other process.
pub fn descendants() -> std::io::Result<Vec<Process>> {
    let own = getpid().as_raw();
    let seen_as: Option<i32> = fs::read_link("/proc/self")
        .ok()
        .and_then(|link| link.to_str()?.parse().ok());
    if seen_as != Some(own) {
        return Err(std::io::Error::other(format!(
            "/proc is not this PID namespace's (it says we are {seen_as:?}, we are {own})"
        )));
    }
    let entries = fs::read_dir("/proc")?;
    let all: Vec<Process> = entries
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = read_stat(pid)?;
            Some(Process {
                pid,
                parent: stat.parent,
                group: stat.group,
                start_time: stat.start_time,
                state: stat.state,
                name: stat.name,
            })
        })
        .collect();
    Ok(crate::reach::descendants(&all, own))
}

fn read_stat(pid: i32) -> Option<StatFields> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The fields of `/proc/<pid>/stat` that we use.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatFields {
    name: String,
    state: char,
    parent: i32,
    group: i32,
    start_time: u64,
}

/// Reads `pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
/// cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime …`.
/// The command name may hold spaces and parentheses, so the fields start after the last
/// `)` (proc(5)).
fn parse_stat(stat: &str) -> Option<StatFields> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat[close + 1..].split_ascii_whitespace().collect();
    Some(StatFields {
        name,
        state: fields.first()?.chars().next()?,
        parent: fields.get(1)?.parse().ok()?,
        group: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let stat = "4242 (a) b (c)) S 17 4242 17 0 -1 4194560 107 0 0 0 1 2 3 4 20 0 1 0 987654 0";
        assert_eq!(
            parse_stat(stat),
            Some(StatFields {
                name: "a) b (c)".into(),
                state: 'S',
                parent: 17,
                group: 4242,
                start_time: 987654,
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) Z"), None);
    }

    #[test]
    fn guillotine_s_own_children_are_its_descendants() {
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        let found = descendants()
            .unwrap()
            .into_iter()
            .find(|process| process.pid == child.id() as i32);
        let _ = child.kill();
        let _ = child.wait();
        let found = found.expect("the child is listed");
        assert_eq!(found.parent, getpid().as_raw());
        assert!(found.start_time > 0);
    }

    #[test]
    fn a_descendant_whose_pid_names_another_process_is_not_signalled() {
        let own = read_stat(getpid().as_raw()).unwrap();
        let impostor = ProcessId {
            pid: getpid().as_raw(),
            start_time: own.start_time + 1,
        };
        // Were it sent, SIGKILL would end this test process.
        assert_eq!(send(Target::Descendant(impostor), Signal::SIGKILL), Ok(()));
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
