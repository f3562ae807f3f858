//! Starting the child: fork, a new process group, clean signal state, exec.
//!
//! Owns: the child's pre-exec state (own process group, empty signal mask, default signal
//! dispositions) and the mapping of exec failures to 126/127 as coreutils `timeout` does.
//! Never: waits for the child. It returns a pid, not a waitable handle: only `reap` calls
//! `waitpid`.

use nix::unistd::Pid;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

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
    /// 127 when the command does not exist, 126 when it exists but cannot run (as coreutils
    /// `timeout`, `env` and `nohup` do).
    pub fn exit_code(&self) -> u8 {
        match self {
            SpawnError::NotFound { .. } => 127,
            SpawnError::NotExecutable { .. } | SpawnError::CannotRun { .. } => 126,
        }
    }
}

/// Starts `command` (program and arguments, `PATH` searched) as the leader of a new process
/// group, with stdio inherited.
pub fn spawn(command: &[OsString]) -> Result<Pid, SpawnError> {
    let (program, args) = command
        .split_first()
        .expect("config guarantees a non-empty command");
    let mut builder = Command::new(program);
    builder.args(args).process_group(0);
    let last_signal = libc::SIGRTMAX();
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // calls are allowed. It allocates nothing, takes no lock, and calls only sigaction and
    // sigprocmask (both async-signal-safe per signal-safety(7)) on stack values.
    unsafe {
        builder.pre_exec(move || {
            reset_signal_state(last_signal);
            Ok(())
        });
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

/// Gives every signal its default disposition and unblocks them all, so the child does not
/// inherit what guillotine ignores, handles or blocks. (Handled signals are reset by exec
/// anyway; ignored ones and the mask are not: see execve(2).)
fn reset_signal_state(last_signal: libc::c_int) {
    for signal in 1..=last_signal {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a zeroed sigaction with sa_sigaction = SIG_DFL is a valid argument;
        // sigaction is async-signal-safe; failures (signals glibc reserves) are harmless.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &action, std::ptr::null_mut());
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
