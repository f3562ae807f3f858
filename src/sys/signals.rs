//! Signal registration: every signal guillotine listens to is registered here, once, at
//! start, before the child exists.
//!
//! Owns: the handler that turns a delivery into a wake-up of the event loop (signal-hook's
//! self-pipe: the handler only writes one byte).
//! Never: does work in a signal handler, or decides what a signal means (which signals are
//! forwarded is `signal::FORWARDED`).

use futures_util::StreamExt;
use signal_hook_tokio::Signals;
use std::io;

/// A signal delivered to guillotine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// SIGCHLD: some child changed state; time to reap.
    ChildChanged,
    /// One of the signals registered, by number.
    Signal(i32),
}

/// The stream of signals delivered to guillotine.
pub struct SignalListener {
    signals: Signals,
}

impl SignalListener {
    /// Installs handlers for CHLD and each of `signals`, skipping those no handler can
    /// catch (KILL, STOP) or that signal-hook reserves (SEGV, ILL, FPE, BUS). Must run inside
    /// the tokio runtime, before the child is spawned, so that no SIGCHLD can be missed.
    /// Handlers also matter for PID 1, where the kernel drops any signal that has none.
    pub fn register(signals: &[i32]) -> io::Result<Self> {
        let numbers = signals
            .iter()
            .copied()
            .chain(std::iter::once(libc::SIGCHLD))
            .filter(|number| !signal_hook_registry::FORBIDDEN.contains(number) && *number > 0);
        Ok(SignalListener {
            signals: Signals::new(numbers)?,
        })
    }

    /// The next delivery. Cancel-safe: a signal not yet taken stays in the pipe.
    pub async fn next(&mut self) -> Delivery {
        let number = match self.signals.next().await {
            Some(number) => number,
            // The stream ends only when its handle is closed, which we never do.
            None => std::future::pending().await,
        };
        if number == libc::SIGCHLD {
            Delivery::ChildChanged
        } else {
            Delivery::Signal(number)
        }
    }
}
