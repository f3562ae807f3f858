//! Starting the child: posix_spawn (fork only when the child must take the terminal), a new
//! process group, clean signal state, exec.
//!
//! Owns: the child's pre-exec state (own process group, empty signal mask, default signal
//! dispositions) and the mapping of exec failures to 126/127 as coreutils `timeout` does.
//! Never: waits for the child. It returns a pid, not a waitable handle: only `reap` calls
//! `waitpid`.

use crate::command_line::CommandLine;
use crate::exit::status;
use nix::unistd::Pid;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
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
    /// Why `program` could not start, by the errno of the failure: not found (127),
    /// or found but not runnable (126).
    fn new(program: &OsStr, source: io::Error) -> SpawnError {
        let program = program.to_string_lossy().into_owned();
        match source.raw_os_error() {
            Some(libc::ENOENT) => SpawnError::NotFound { program },
            Some(libc::EACCES) => SpawnError::NotExecutable { program },
            _ => SpawnError::CannotRun { program, source },
        }
    }

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
    match setup {
        ChildSetup::OwnGroupCleanSignals {
            take_terminal: true,
        } => fork_taking_the_terminal(command),
        _ => spawn_without_fork(command, setup, Streams::Inherited),
    }
}

/// Starts a readiness probe's `command` as [`ChildSetup::OwnGroupCleanSignals`], with stdin
/// and stdout on /dev/null (stdout belongs to the child; a probe's chatter is not its
/// output) and stderr inherited, so its complaints reach the logs.
pub fn spawn_probe(command: &CommandLine) -> Result<Pid, SpawnError> {
    spawn_without_fork(
        command,
        ChildSetup::OwnGroupCleanSignals {
            take_terminal: false,
        },
        Streams::ProbeNull,
    )
}

/// The child's stdin and stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Streams {
    Inherited,
    /// Both on /dev/null.
    ProbeNull,
}

unsafe extern "C" {
    /// The process's environment, as execve(2) takes it.
    static environ: *const *mut libc::c_char;
}

/// posix_spawnp(3): the C library clones guillotine without copying its address space
/// (musl and glibc both use CLONE_VM|CLONE_VFORK) and applies `setup` in the child before
/// exec; it returns once the exec has succeeded or failed. Measured against fork with a
/// pre-exec closure: 0.15 ms less per start (BENCHMARKS.md).
fn spawn_without_fork(
    command: &CommandLine,
    setup: ChildSetup,
    streams: Streams,
) -> Result<Pid, SpawnError> {
    let program = command.program();
    let words: Vec<CString> = command
        .words()
        .map(|word| CString::new(word.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            SpawnError::new(
                program,
                io::Error::new(io::ErrorKind::InvalidInput, "an argument holds a NUL byte"),
            )
        })?;
    let mut argv: Vec<*mut libc::c_char> =
        words.iter().map(|word| word.as_ptr().cast_mut()).collect();
    argv.push(std::ptr::null_mut());
    let (own_group, to_default) = match setup {
        ChildSetup::OwnGroupCleanSignals { .. } => (true, SignalSet::every()),
        ChildSetup::SameGroupInheritedSignals => {
            (false, SignalSet::of(&[libc::SIGTTIN, libc::SIGTTOU]))
        }
    };
    let attributes = SpawnAttributes::new(own_group, &to_default)
        .map_err(|source| SpawnError::new(program, source))?;
    let actions = FileActions::new(streams).map_err(|source| SpawnError::new(program, source))?;
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid for the call: `argv` is NULL-terminated and points
    // into `words`, which outlive it; `attributes` and `actions` were initialised by their
    // constructors and are destroyed only when dropped after the call; `environ` is the
    // process's environment, which guillotine never modifies after start-up (no set_var).
    let error = unsafe {
        libc::posix_spawnp(
            &mut pid,
            words[0].as_ptr(),
            actions.as_ptr(),
            &attributes.0,
            argv.as_ptr(),
            environ,
        )
    };
    if error != 0 {
        return Err(SpawnError::new(
            program,
            io::Error::from_raw_os_error(error),
        ));
    }
    Ok(Pid::from_raw(pid))
}

/// A sigset_t built by bits, not through sigaddset: glibc's refuses signals 32 and 33
/// (reserved for its threads), yet an ignored signal 32 is inherited all the same, and
/// the child must not inherit it.
struct SignalSet(libc::sigset_t);

impl SignalSet {
    /// Every signal, 1 to 64 (SIGKILL and SIGSTOP are skipped by the C library).
    fn every() -> SignalSet {
        SignalSet::of(&(1..=LAST_SIGNAL as libc::c_int).collect::<Vec<_>>())
    }

    fn of(signals: &[libc::c_int]) -> SignalSet {
        // SAFETY: sigset_t is a plain array of integers, for which all zeroes is valid.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: on the 64-bit targets guillotine builds for, a sigset_t (128 bytes with
        // glibc and musl) is an array of unsigned longs whose first holds signal N as bit
        // N - 1 for N in 1..=64; the write stays inside `set`, which is 8-byte aligned.
        unsafe {
            let first = std::ptr::from_mut(&mut set).cast::<u64>();
            for &signal in signals {
                *first |= 1u64 << (signal - 1);
            }
        }
        SignalSet(set)
    }
}

/// posix_spawnattr_t: the child's signal mask (empty), the signals reset to their default
/// disposition, and its process group (a new one led by itself, or guillotine's).
struct SpawnAttributes(libc::posix_spawnattr_t);

impl SpawnAttributes {
    fn new(own_group: bool, to_default: &SignalSet) -> io::Result<SpawnAttributes> {
        // SAFETY: zeroed storage, handed to posix_spawnattr_init before any other use.
        let mut storage: libc::posix_spawnattr_t = unsafe { std::mem::zeroed() };
        // SAFETY: `storage` is valid storage for a posix_spawnattr_t.
        check(unsafe { libc::posix_spawnattr_init(&mut storage) })?;
        // Initialised: from here on, dropping destroys it.
        let mut attributes = SpawnAttributes(storage);
        let mut flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
        if own_group {
            flags |= libc::POSIX_SPAWN_SETPGROUP;
        }
        // SAFETY: an emptied sigset_t on the stack is valid for sigemptyset.
        let empty = unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            empty
        };
        // SAFETY: `attributes.0` was initialised above; the sets are valid sigset_t values
        // that the calls copy; a group id of 0 means the child's own pid.
        unsafe {
            check(libc::posix_spawnattr_setflags(
                &mut attributes.0,
                flags as libc::c_short,
            ))?;
            check(libc::posix_spawnattr_setsigmask(&mut attributes.0, &empty))?;
            check(libc::posix_spawnattr_setsigdefault(
                &mut attributes.0,
                &to_default.0,
            ))?;
            check(libc::posix_spawnattr_setpgroup(&mut attributes.0, 0))?;
        }
        Ok(attributes)
    }
}

impl Drop for SpawnAttributes {
    fn drop(&mut self) {
        // SAFETY: a SpawnAttributes exists only once posix_spawnattr_init succeeded.
        unsafe {
            libc::posix_spawnattr_destroy(&mut self.0);
        }
    }
}

/// posix_spawn_file_actions_t: /dev/null on stdin and stdout for a probe; none otherwise.
struct FileActions(Option<libc::posix_spawn_file_actions_t>);

impl FileActions {
    fn new(streams: Streams) -> io::Result<FileActions> {
        if streams == Streams::Inherited {
            return Ok(FileActions(None));
        }
        // SAFETY: zeroed storage, handed to posix_spawn_file_actions_init before any use.
        let mut storage: libc::posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
        // SAFETY: `storage` is valid storage for a posix_spawn_file_actions_t.
        check(unsafe { libc::posix_spawn_file_actions_init(&mut storage) })?;
        // Initialised: from here on, dropping destroys it.
        let mut actions = FileActions(Some(storage));
        let inner = actions.0.as_mut().expect("just set");
        let null = c"/dev/null";
        // SAFETY: `inner` was initialised above; the path is a C string the calls copy.
        unsafe {
            check(libc::posix_spawn_file_actions_addopen(
                inner,
                libc::STDIN_FILENO,
                null.as_ptr(),
                libc::O_RDONLY,
                0,
            ))?;
            check(libc::posix_spawn_file_actions_addopen(
                inner,
                libc::STDOUT_FILENO,
                null.as_ptr(),
                libc::O_WRONLY,
                0,
            ))?;
        }
        Ok(actions)
    }

    fn as_ptr(&self) -> *const libc::posix_spawn_file_actions_t {
        self.0.as_ref().map_or(std::ptr::null(), std::ptr::from_ref)
    }
}

impl Drop for FileActions {
    fn drop(&mut self) {
        if let Some(inner) = self.0.as_mut() {
            // SAFETY: Some only once posix_spawn_file_actions_init succeeded.
            unsafe {
                libc::posix_spawn_file_actions_destroy(inner);
            }
        }
    }
}

/// The posix_spawn family's way: 0, or the error number itself.
fn check(result: libc::c_int) -> io::Result<()> {
    match result {
        0 => Ok(()),
        error => Err(io::Error::from_raw_os_error(error)),
    }
}

/// With a terminal, fork with a pre-exec closure as std does it: the child must take the
/// terminal's foreground (tcsetpgrp) between its setpgid and its exec, which posix_spawn
/// cannot do on musl.
fn fork_taking_the_terminal(command: &CommandLine) -> Result<Pid, SpawnError> {
    let program = command.program();
    let mut builder = Command::new(program);
    builder.args(command.args()).process_group(0);
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed. It allocates nothing, takes no lock, and makes
    // only the tcsetpgrp, rt_sigaction and sigprocmask syscalls on stack values. std has
    // made the child a group leader before it runs.
    unsafe {
        builder.pre_exec(|| {
            super::terminal::take_foreground_in_child();
            reset_every_signal();
            Ok(())
        });
    }
    match builder.spawn() {
        // Dropping a std Child neither waits nor kills: the reaper will collect it.
        Ok(child) => Ok(Pid::from_raw(child.id() as i32)),
        Err(source) => Err(SpawnError::new(program, source)),
    }
}

/// The highest signal number on Linux (_NSIG - 1 on x86_64 and arm64).
const LAST_SIGNAL: libc::c_long = 64;

/// Gives every signal its default disposition and unblocks them all, so the child
/// does not inherit what guillotine ignores, handles or blocks. (Handled signals are reset by exec
/// anyway; ignored ones and the mask are not: see execve(2).)
///
/// The raw rt_sigaction syscall is used because glibc's sigaction refuses signals 32 and 33
/// (reserved for its threads), and an ignored signal 32 is inherited by the child all the
/// same.
fn reset_every_signal() {
    // The kernel's struct sigaction is handler, flags, restorer, mask (4 words on x86_64 and
    // arm64); all zero means SIG_DFL, no flags, empty mask, whatever the field order.
    let default_action = [0u64; 4];
    for signal in 1..=LAST_SIGNAL {
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
