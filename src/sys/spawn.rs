//! Starting the child: fork, a new process group, clean signal state, exec.
//!
//! Owns: the child's pre-exec state (own process group, empty signal mask, default signal
//! dispositions) and the mapping of exec failures to 126/127 as coreutils `timeout` does.
//! Never: waits for the child. It returns a pid, not a waitable handle: only `reap` calls
//! `waitpid`.

use crate::command_line::CommandLine;
use crate::exit::status;
use nix::unistd::Pid;
use std::ffi::OsStr;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// The command could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot run {program:?}: command not found; check the name and PATH")]
    NotFound { program: String },
    #[error("cannot run {program:?}: permission denied; it must be an executable file")]
    NotExecutable { program: String },
    #[error("cannot run {program:?}: {source}")]
    CannotRun { program: String, source: io::Error },
}

impl SpawnError {
    /// The system's words for the failure, as strerror(3) gives them: "No such file or
    /// directory", "Permission denied".
    pub fn os_reason(&self) -> String {
        let errno = match self {
            SpawnError::NotFound { .. } => libc::ENOENT,
            SpawnError::NotExecutable { .. } => libc::EACCES,
            SpawnError::CannotRun { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
        };
        nix::errno::Errno::from_raw(errno).desc().to_owned()
    }

    /// 127 when the command does not exist, 126 when it exists but cannot run (as coreutils
    /// `timeout`, `env` and `nohup` do).
    pub fn exit_code(&self) -> u8 {
        match self {
            SpawnError::NotFound { .. } => status::NOT_FOUND,
            SpawnError::NotExecutable { .. } | SpawnError::CannotRun { .. } => status::CANNOT_RUN,
        }
    }
}

/// How the child starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildSetup {
    /// The supervisor's child: leader of a new process group, every signal at its default
    /// disposition and none blocked, whatever guillotine inherited; the foreground of the
    /// terminal when guillotine held it (see `terminal`).
    OwnGroupCleanSignals { take_terminal: bool },
    /// The `timeout` mode's child, as GNU starts it: in guillotine's own group, inherited
    /// dispositions kept (`nohup timeout …` must keep HUP ignored) except TTIN and TTOU,
    /// which guillotine ignores for itself. (std clears the signal mask in any case.)
    SameGroupInheritedSignals,
}

/// Starts `command` (program and arguments, `PATH` searched) with stdio inherited.
pub fn spawn(command: &CommandLine, setup: ChildSetup) -> Result<Pid, SpawnError> {
    launch(command, setup, |program| Command::new(program))
}

/// Starts a readiness probe's `command` as [`ChildSetup::OwnGroupCleanSignals`], with stdin
/// and stdout on /dev/null (stdout belongs to the child; a probe's chatter is not its
/// output) and stderr inherited, so its complaints reach the logs.
pub fn spawn_probe(command: &CommandLine) -> Result<Pid, SpawnError> {
    launch(
        command,
        ChildSetup::OwnGroupCleanSignals {
            take_terminal: false,
        },
        |program| {
            let mut builder = Command::new(program);
            builder.stdin(Stdio::null()).stdout(Stdio::null());
            builder
        },
    )
}

fn launch(
    command: &CommandLine,
    setup: ChildSetup,
    new: impl FnOnce(&OsStr) -> Command,
) -> Result<Pid, SpawnError> {
    let program = command.program();
    let mut builder = new(program);
    builder.args(command.args());
    match setup {
        ChildSetup::OwnGroupCleanSignals { take_terminal } => {
            builder.process_group(0);
            // SAFETY: the closure runs in the forked child before exec, where only
            // async-signal-safe calls are allowed. It allocates nothing, takes no lock, and
            // makes only the tcsetpgrp, rt_sigaction and sigprocmask syscalls on stack
            // values. std has made the child a group leader before it runs.
            unsafe {
                builder.pre_exec(move || {
                    if take_terminal {
                        super::terminal::take_foreground_in_child();
                    }
                    reset_signal_state(1..=LAST_SIGNAL);
                    Ok(())
                });
            }
        }
        ChildSetup::SameGroupInheritedSignals => {
            // SAFETY: as above; only rt_sigaction on two signals.
            unsafe {
                builder.pre_exec(|| {
                    reset_signal_state([libc::SIGTTIN, libc::SIGTTOU].map(libc::c_long::from));
                    Ok(())
                });
            }
        }
    }
    match builder.spawn() {
        // Dropping a std Child neither waits nor kills: the reaper will collect it.
        Ok(child) => Ok(Pid::from_raw(child.id() as i32)),
        Err(source) => {
            let program = program.to_string_lossy().into_owned();
            Err(match source.kind() {
                io::ErrorKind::NotFound => SpawnError::NotFound { program },
                io::ErrorKind::PermissionDenied => SpawnError::NotExecutable { program },
                _ => SpawnError::CannotRun { program, source },
            })
        }
    }
}

/// The highest signal number on Linux (_NSIG - 1 on x86_64 and arm64).
const LAST_SIGNAL: libc::c_long = 64;

/// Gives these signals their default disposition and unblocks every signal, so the child
/// does not inherit what guillotine ignores, handles or blocks. (Handled signals are reset by exec
/// anyway; ignored ones and the mask are not: see execve(2).)
///
/// The raw rt_sigaction syscall is used because glibc's sigaction refuses signals 32 and 33
/// (reserved for its threads), and an ignored signal 32 is inherited by the child all the
/// same.
fn reset_signal_state(signals: impl IntoIterator<Item = libc::c_long>) {
    // The kernel's struct sigaction is handler, flags, restorer, mask (4 words on x86_64 and
    // arm64); all zero means SIG_DFL, no flags, empty mask, whatever the field order.
    let default_action = [0u64; 4];
    for signal in signals {
        if signal == libc::SIGKILL as libc::c_long || signal == libc::SIGSTOP as libc::c_long {
            continue;
        }
        // SAFETY: `default_action` outlives the call and is at least as large as the
        // kernel's struct sigaction; old-action is NULL; the sigset size is the kernel's (8
        // bytes). rt_sigaction is a plain syscall, async-signal-safe.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                default_action.as_ptr(),
                std::ptr::null_mut::<libc::c_void>(),
                8 as libc::size_t,
            );
        }
    }
    // SAFETY: an emptied sigset_t on the stack is valid for sigprocmask, which is
    // async-signal-safe; we are the only thread in the forked child.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}
