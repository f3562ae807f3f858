//! The controlling terminal: handing its foreground to the child and taking it back.
//!
//! Owns: deciding whether guillotine holds the foreground of a terminal on stdin (an
//! interactive `docker run -it`, `kubectl run -it`), the child's `tcsetpgrp` before exec,
//! and giving the foreground back to guillotine's group once the child has ended, as tini
//! does. Never: touches a terminal guillotine does not hold the foreground of (started in
//! the background, or with no terminal at all: the usual case in a pod).
//!
//! Why: the child runs in a process group of its own, so without this it is a background
//! job of the terminal, and its first read stops it with SIGTTIN, forever.

/// Whether stdin is a terminal whose foreground group is guillotine's own. If so, guillotine
/// ignores SIGTTOU from now on, so that it can take the foreground back later from the
/// background (tcsetpgrp(3)).
pub fn holds_foreground() -> bool {
    // SAFETY: isatty, tcgetpgrp and getpgrp take plain integers and touch no memory.
    let holds = unsafe {
        libc::isatty(libc::STDIN_FILENO) == 1
            && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp()
    };
    if holds {
        super::process::ignore(libc::SIGTTOU);
    }
    holds
}

/// In the forked child, before exec: makes the child's new group the terminal's foreground.
/// SIGTTOU is ignored at this point (inherited from [`holds_foreground`]), so a background
/// caller is not stopped. Async-signal-safe: one ioctl.
pub(super) fn take_foreground_in_child() {
    // SAFETY: tcsetpgrp and getpgrp take plain integers; both are async-signal-safe.
    unsafe {
        libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp());
    }
}

/// Gives the terminal's foreground back to guillotine's group (the child has ended).
pub fn take_back() {
    // SAFETY: as above; SIGTTOU is ignored by guillotine since `holds_foreground`.
    let result = unsafe { libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpgrp()) };
    if result != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot take the terminal back");
    }
}
