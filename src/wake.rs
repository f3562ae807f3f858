//! The wake layer both event loops share: everything that can wake guillotine, as one enum.
//!
//! Owns: building the single-threaded runtime ([`runtime`]) and [`Wakes`]: signal
//! deliveries (SIGCHLD means "reap"), the sentinel watch when there is one, and the one
//! deadline a machine asks for, merged into a [`Wake`]. Nothing here wakes guillotine
//! unless one of those happens: no timer runs without a deadline.
//! Never: decides what a wake means (the machines do), reaps (the loops call `sys::reap` on
//! [`Wake::ChildChanged`]) or knows which mode it serves.

use crate::sentinel::SentinelWatch;
use crate::sys::signals::{Delivery, SignalListener};
use std::time::{Duration, Instant};
use tokio::time::sleep_until;

/// A single-threaded runtime: guillotine's whole life is one event loop.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
}

/// Deadlines further away than this are treated as never: tokio's timer adds to the instant
/// it is given, and one within a millisecond of the largest `Instant` overflows inside it
/// (after the child started). Thirty years outlives any pod.
pub const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);

/// `deadline`, unless it is further than [`FAR_FUTURE`] from `now` (then never).
fn within_reach(deadline: Option<Instant>, now: Instant) -> Option<Instant> {
    deadline.filter(|at| {
        at.checked_duration_since(now)
            .is_none_or(|left| left <= FAR_FUTURE)
    })
}

/// What woke guillotine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// SIGCHLD: some child changed state; time to reap.
    ChildChanged,
    /// One of the registered signals, by number.
    Signal(i32),
    /// The sentinel watch saw something: look whether a sentinel exists.
    SentinelChanged,
    /// The deadline passed.
    Deadline,
}

/// The sources of wakes of one loop.
pub struct Wakes {
    signals: SignalListener,
    sentinel: Option<SentinelWatch>,
}

impl Wakes {
    /// Signals only (the `timeout` mode).
    pub fn new(signals: SignalListener) -> Self {
        Wakes {
            signals,
            sentinel: None,
        }
    }

    /// Signals and a sentinel watch (the supervisor).
    pub fn with_sentinel(signals: SignalListener, sentinel: SentinelWatch) -> Self {
        Wakes {
            signals,
            sentinel: Some(sentinel),
        }
    }

    /// The sentinel watch, to look after a [`Wake::SentinelChanged`].
    pub fn sentinel(&mut self) -> Option<&mut SentinelWatch> {
        self.sentinel.as_mut()
    }

    /// The next wake; `deadline` None means no timer at all. Cancel-safe: a signal not
    /// taken stays pending, an inotify event not read stays in the kernel.
    pub async fn next(&mut self, deadline: Option<Instant>) -> Wake {
        let deadline = within_reach(deadline, Instant::now());
        let sentinel = async {
            match &mut self.sentinel {
                Some(sentinel) => sentinel.changed().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            delivery = self.signals.next() => match delivery {
                Delivery::ChildChanged => Wake::ChildChanged,
                Delivery::Signal(number) => Wake::Signal(number),
            },
            () = sentinel => Wake::SentinelChanged,
            () = sleep_until(deadline.unwrap_or_else(Instant::now).into()), if deadline.is_some() => {
                Wake::Deadline
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_near_the_largest_instant_is_never() {
        let now = Instant::now();
        // The latest instant that can be represented, found by halving.
        let mut latest = now;
        let mut step = Duration::MAX;
        while step > Duration::ZERO {
            match latest.checked_add(step) {
                Some(later) => latest = later,
                None => step /= 2,
            }
        }
        assert_eq!(within_reach(Some(latest), now), None);
        assert_eq!(within_reach(None, now), None);
        let soon = now + Duration::from_secs(5);
        assert_eq!(within_reach(Some(soon), now), Some(soon));
        // A deadline already past fires at once.
        assert_eq!(within_reach(Some(now), soon), Some(now));
    }
}
