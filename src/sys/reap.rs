//! The reaper: the one place in guillotine that calls `waitpid`.
//!
//! Owns: collecting every ended child (the main child, its orphaned descendants adopted by
//! us as PID 1 or subreaper) and saying whether any child is left.
//! Never: blocks (always WNOHANG), or lets anything else wait; no tokio::process anywhere.

use crate::exit::ChildEnd;
use nix::errno::Errno;
use nix::unistd::Pid;

/// One child that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub pid: Pid,
    pub end: ChildEnd,
    /// It was killed by a signal and dumped core.
    pub core_dumped: bool,
}

/// What one pass of the reaper collected.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reaped {
    pub ended: Vec<Ended>,
    /// False once `waitpid` reports ECHILD: no child, running or zombie, remains.
    pub anyone_left: bool,
}

/// Reaps every child that has ended, without blocking.
pub fn reap() -> Reaped {
    let mut reaped = Reaped::default();
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a valid, writable c_int for the whole call. We call libc rather
        // than nix so that deaths by real-time signals (which nix's Signal cannot represent)
        // are not turned into errors and lost.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        match pid {
            0 => {
                reaped.anyone_left = true;
                return reaped;
            }
            -1 => match Errno::last() {
                Errno::EINTR => continue,
                Errno::ECHILD => return reaped,
                errno => {
                    tracing::warn!(%errno, "waitpid failed; will retry on the next SIGCHLD");
                    reaped.anyone_left = true;
                    return reaped;
                }
            },
            pid => {
                let end = if libc::WIFSIGNALED(status) {
                    ChildEnd::Signaled(libc::WTERMSIG(status))
                } else {
                    // Without WUNTRACED/WCONTINUED only exits and signal deaths are reported.
                    ChildEnd::Exited(libc::WEXITSTATUS(status) as u8)
                };
                reaped.ended.push(Ended {
                    pid: Pid::from_raw(pid),
                    end,
                    core_dumped: libc::WIFSIGNALED(status) && libc::WCOREDUMP(status),
                });
            }
        }
    }
}
