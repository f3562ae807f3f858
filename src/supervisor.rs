//! The supervisor's state machine: what to do next, given what just happened.
//!
//! Owns: the phases of one supervision (running → stopping → killing → finished), the cause
//! of the stop, and every decision to signal, wait or exit. Time is an input and the output is
//! a list of [`Action`]s; an empty list is the explicit "nothing to do".
//! Never: makes a syscall, reads the clock, or knows about tokio (that is `run`).

use crate::exit::{Cause, ChildEnd, Outcome, natural_status};
use crate::exit_map::ExitMap;
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// How the stop sequence runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopPolicy {
    /// Sent first to the child's group and adopted orphans.
    pub stop_signal: Signal,
    /// How long they have to exit before SIGKILL.
    pub grace: Duration,
    /// How long after SIGKILL we wait for the last process to be reaped before giving up on
    /// it (a process stuck in uninterruptible sleep survives SIGKILL).
    pub kill_wait: Duration,
    /// Ask the child to quit through its HTTP endpoints first, and give it `grace` to do so,
    /// before the stop signal (and then `grace` again before SIGKILL).
    pub quit_first: bool,
}

/// Something that happened, as the event loop saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The reaper collected whatever had ended. `child` is the main child's end if it was
    /// among them; `anyone_left` says whether guillotine still has any child at all.
    Reaped {
        child: Option<ChildEnd>,
        anyone_left: bool,
    },
    /// A sentinel exists.
    SentinelAppeared,
    /// guillotine itself received a signal that it forwards.
    SignalReceived(Signal),
    /// The instant returned by [`Supervisor::deadline`] has passed.
    DeadlineReached,
}

/// What the event loop must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// POST to every quit URL.
    PostQuitUrls,
    /// Send the signal to the child's process group (a forwarded signal).
    Forward(Signal),
    /// Send the signal to the child's process group and to every adopted orphan.
    SignalAll(Signal),
    /// Processes survived SIGKILL for `kill_wait`: report them; we exit without them.
    AbandonSurvivors,
    /// Exit with this status.
    Exit(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Quitting { signal_at: Instant },
    Stopping { kill_at: Instant },
    Killing { give_up_at: Instant },
    Finished,
}

/// One supervision, from the child's start to guillotine's exit.
#[derive(Debug)]
pub struct Supervisor {
    policy: StopPolicy,
    exit_map: ExitMap,
    /// When the lifetime runs out, if there is one.
    expires_at: Option<Instant>,
    phase: Phase,
    cause: Option<Cause>,
    child_end: Option<ChildEnd>,
    killed: bool,
}

impl Supervisor {
    /// A supervisor for a child that started at `started`.
    pub fn new(
        policy: StopPolicy,
        exit_map: ExitMap,
        lifetime: Option<Duration>,
        started: Instant,
    ) -> Self {
        Supervisor {
            policy,
            exit_map,
            expires_at: lifetime.map(|lifetime| started + lifetime),
            phase: Phase::Running,
            cause: None,
            child_end: None,
            killed: false,
        }
    }

    /// When the event loop must send [`Event::DeadlineReached`], if ever: one deadline at a
    /// time, so nothing wakes guillotine while it waits.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Running => self.expires_at,
            Phase::Quitting { signal_at } => Some(signal_at),
            Phase::Stopping { kill_at } => Some(kill_at),
            Phase::Killing { give_up_at } => Some(give_up_at),
            Phase::Finished => None,
        }
    }

    /// Why supervision is ending, once it is.
    pub fn cause(&self) -> Option<Cause> {
        self.cause
    }

    /// How the child ended, once it has.
    pub fn child_end(&self) -> Option<ChildEnd> {
        self.child_end
    }

    pub fn on_event(&mut self, event: Event, now: Instant) -> Vec<Action> {
        if self.phase == Phase::Finished {
            return vec![];
        }
        match event {
            Event::Reaped { child, anyone_left } => self.on_reaped(child, anyone_left, now),
            Event::SentinelAppeared => {
                if self.phase != Phase::Running {
                    return vec![];
                }
                self.cause = Some(Cause::Sentinel);
                self.ask_to_quit(now)
            }
            Event::SignalReceived(signal) => vec![Action::Forward(signal)],
            Event::DeadlineReached => self.on_deadline(now),
        }
    }

    fn on_reaped(
        &mut self,
        child: Option<ChildEnd>,
        anyone_left: bool,
        now: Instant,
    ) -> Vec<Action> {
        let child_just_ended = child.is_some();
        if let Some(end) = child {
            self.child_end = Some(end);
            self.cause.get_or_insert(Cause::ChildEnded);
        }
        if self.child_end.is_some() && !anyone_left {
            return self.finish(vec![]);
        }
        if child_just_ended && matches!(self.phase, Phase::Running | Phase::Quitting { .. }) {
            // The child ended by itself but left processes behind (its group or orphans):
            // nothing may outlive guillotine, so they get the stop sequence too.
            return self.begin_stop(now);
        }
        vec![]
    }

    fn on_deadline(&mut self, now: Instant) -> Vec<Action> {
        match self.phase {
            Phase::Running if self.expires_at.is_some_and(|expiry| now >= expiry) => {
                self.cause = Some(Cause::Lifetime);
                self.ask_to_quit(now)
            }
            Phase::Quitting { signal_at } if now >= signal_at => self.begin_stop(now),
            Phase::Stopping { kill_at } if now >= kill_at => self.kill(now, vec![]),
            Phase::Killing { give_up_at } if now >= give_up_at => {
                self.finish(vec![Action::AbandonSurvivors])
            }
            _ => vec![],
        }
    }

    /// The stop sequence for a sentinel or a lifetime: the quit URLs first if there are any.
    fn ask_to_quit(&mut self, now: Instant) -> Vec<Action> {
        if !self.policy.quit_first {
            return self.begin_stop(now);
        }
        if self.policy.grace.is_zero() {
            let mut actions = vec![Action::PostQuitUrls];
            actions.extend(self.begin_stop(now));
            return actions;
        }
        self.phase = Phase::Quitting {
            signal_at: now + self.policy.grace,
        };
        vec![Action::PostQuitUrls]
    }

    fn begin_stop(&mut self, now: Instant) -> Vec<Action> {
        let actions = vec![Action::SignalAll(self.policy.stop_signal)];
        if self.policy.grace.is_zero() {
            return self.kill(now, actions);
        }
        self.phase = Phase::Stopping {
            kill_at: now + self.policy.grace,
        };
        actions
    }

    fn kill(&mut self, now: Instant, mut actions: Vec<Action>) -> Vec<Action> {
        actions.push(Action::SignalAll(Signal::SIGKILL));
        self.killed = true;
        self.phase = Phase::Killing {
            give_up_at: now + self.policy.kill_wait,
        };
        actions
    }

    fn finish(&mut self, mut actions: Vec<Action>) -> Vec<Action> {
        self.phase = Phase::Finished;
        let outcome = Outcome {
            cause: self.cause.unwrap_or(Cause::ChildEnded),
            // A child we never reaped survived our SIGKILL: it counts as killed.
            child: self
                .child_end
                .unwrap_or(ChildEnd::Signaled(Signal::SIGKILL as i32)),
            killed: self.killed,
        };
        let status = self.exit_map.apply(outcome, natural_status(outcome));
        actions.push(Action::Exit(status));
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: StopPolicy = StopPolicy {
        stop_signal: Signal::SIGTERM,
        grace: Duration::from_secs(10),
        kill_wait: Duration::from_secs(5),
        quit_first: false,
    };

    fn supervisor(policy: StopPolicy) -> Supervisor {
        Supervisor::new(policy, ExitMap::default(), None, Instant::now())
    }

    fn reaped(child: Option<ChildEnd>, anyone_left: bool) -> Event {
        Event::Reaped { child, anyone_left }
    }

    #[test]
    fn child_exit_with_nothing_left_exits_with_its_code() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Exited(3)), false), start),
            vec![Action::Exit(3)]
        );
        assert_eq!(supervisor.cause(), Some(Cause::ChildEnded));
        assert_eq!(supervisor.deadline(), None);
    }

    #[test]
    fn forwarded_signal_death_is_128_plus_n() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        assert_eq!(
            supervisor.on_event(Event::SignalReceived(Signal::SIGINT), start),
            vec![Action::Forward(Signal::SIGINT)]
        );
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Signaled(2)), false), start),
            vec![Action::Exit(130)]
        );
    }

    #[test]
    fn sentinel_runs_the_stop_sequence_then_exits_zero() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        assert_eq!(
            supervisor.on_event(Event::SentinelAppeared, start),
            vec![Action::SignalAll(Signal::SIGTERM)]
        );
        assert_eq!(supervisor.deadline(), Some(start + POLICY.grace));
        // The child dies of our TERM: 143 from the child, 0 from us.
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Signaled(15)), false), start),
            vec![Action::Exit(0)]
        );
    }

    #[test]
    fn child_ignoring_the_stop_signal_is_killed_after_grace() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        supervisor.on_event(Event::SentinelAppeared, start);
        let early = start + Duration::from_secs(9);
        assert_eq!(supervisor.on_event(Event::DeadlineReached, early), vec![]);
        let kill_at = start + POLICY.grace;
        assert_eq!(
            supervisor.on_event(Event::DeadlineReached, kill_at),
            vec![Action::SignalAll(Signal::SIGKILL)]
        );
        assert_eq!(supervisor.deadline(), Some(kill_at + POLICY.kill_wait));
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Signaled(9)), false), kill_at),
            vec![Action::Exit(0)]
        );
    }

    #[test]
    fn zero_grace_kills_at_once() {
        let start = Instant::now();
        let mut supervisor = supervisor(StopPolicy {
            grace: Duration::ZERO,
            ..POLICY
        });
        assert_eq!(
            supervisor.on_event(Event::SentinelAppeared, start),
            vec![
                Action::SignalAll(Signal::SIGTERM),
                Action::SignalAll(Signal::SIGKILL)
            ]
        );
    }

    #[test]
    fn exit_waits_until_no_process_is_left() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        supervisor.on_event(Event::SentinelAppeared, start);
        // The child is gone but a grandchild still runs.
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Exited(0)), true), start),
            vec![]
        );
        assert_eq!(
            supervisor.on_event(reaped(None, false), start),
            vec![Action::Exit(0)]
        );
    }

    #[test]
    fn processes_left_by_a_child_that_exited_get_the_stop_sequence() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Exited(7)), true), start),
            vec![Action::SignalAll(Signal::SIGTERM)]
        );
        // A sentinel now changes nothing: the child already chose its status.
        assert_eq!(supervisor.on_event(Event::SentinelAppeared, start), vec![]);
        assert_eq!(
            supervisor.on_event(reaped(None, false), start),
            vec![Action::Exit(7)]
        );
    }

    #[test]
    fn survivors_of_sigkill_are_abandoned_after_the_bound() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        supervisor.on_event(Event::SentinelAppeared, start);
        let kill_at = start + POLICY.grace;
        supervisor.on_event(Event::DeadlineReached, kill_at);
        let give_up_at = kill_at + POLICY.kill_wait;
        assert_eq!(
            supervisor.on_event(Event::DeadlineReached, give_up_at),
            vec![Action::AbandonSurvivors, Action::Exit(0)]
        );
        assert_eq!(supervisor.deadline(), None);
    }

    #[test]
    fn a_second_sentinel_does_not_restart_the_grace_period() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        supervisor.on_event(Event::SentinelAppeared, start);
        let later = start + Duration::from_secs(5);
        assert_eq!(supervisor.on_event(Event::SentinelAppeared, later), vec![]);
        assert_eq!(supervisor.deadline(), Some(start + POLICY.grace));
    }

    #[test]
    fn signals_are_forwarded_during_the_stop_sequence_too() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        supervisor.on_event(Event::SentinelAppeared, start);
        assert_eq!(
            supervisor.on_event(Event::SignalReceived(Signal::SIGHUP), start),
            vec![Action::Forward(Signal::SIGHUP)]
        );
    }

    #[test]
    fn nothing_happens_after_exit() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        supervisor.on_event(reaped(Some(ChildEnd::Exited(0)), false), start);
        for event in [
            Event::SentinelAppeared,
            Event::SignalReceived(Signal::SIGTERM),
            Event::DeadlineReached,
            reaped(None, false),
        ] {
            assert_eq!(supervisor.on_event(event, start), vec![]);
        }
    }

    #[test]
    fn lifetime_is_the_only_deadline_while_running() {
        let start = Instant::now();
        let lifetime = Duration::from_secs(14 * 86400);
        let mut supervisor = Supervisor::new(POLICY, ExitMap::default(), Some(lifetime), start);
        assert_eq!(supervisor.deadline(), Some(start + lifetime));
        assert_eq!(supervisor.on_event(Event::DeadlineReached, start), vec![]);
        assert_eq!(
            supervisor.on_event(Event::DeadlineReached, start + lifetime),
            vec![Action::SignalAll(Signal::SIGTERM)]
        );
        assert_eq!(supervisor.cause(), Some(Cause::Lifetime));
        assert_eq!(
            supervisor.on_event(
                reaped(Some(ChildEnd::Signaled(15)), false),
                start + lifetime
            ),
            vec![Action::Exit(124)]
        );
    }

    #[test]
    fn lifetime_stop_that_needed_sigkill_exits_137() {
        let start = Instant::now();
        let lifetime = Duration::from_secs(60);
        let mut supervisor = Supervisor::new(POLICY, ExitMap::default(), Some(lifetime), start);
        let expiry = start + lifetime;
        supervisor.on_event(Event::DeadlineReached, expiry);
        assert_eq!(
            supervisor.on_event(Event::DeadlineReached, expiry + POLICY.grace),
            vec![Action::SignalAll(Signal::SIGKILL)]
        );
        assert_eq!(
            supervisor.on_event(
                reaped(Some(ChildEnd::Signaled(9)), false),
                expiry + POLICY.grace
            ),
            vec![Action::Exit(137)]
        );
    }

    #[test]
    fn exit_map_applies_last() {
        let start = Instant::now();
        let map = ExitMap::parse(["0=1,lifetime=0"]).unwrap();
        let mut early_exit = Supervisor::new(POLICY, map.clone(), None, start);
        assert_eq!(
            early_exit.on_event(reaped(Some(ChildEnd::Exited(0)), false), start),
            vec![Action::Exit(1)]
        );
        let lifetime = Duration::from_secs(1);
        let mut expired = Supervisor::new(POLICY, map, Some(lifetime), start);
        expired.on_event(Event::DeadlineReached, start + lifetime);
        assert_eq!(
            expired.on_event(
                reaped(Some(ChildEnd::Signaled(15)), false),
                start + lifetime
            ),
            vec![Action::Exit(0)]
        );
    }

    #[test]
    fn a_child_ending_before_its_lifetime_keeps_its_status() {
        let start = Instant::now();
        let lifetime = Duration::from_secs(60);
        let mut supervisor = Supervisor::new(POLICY, ExitMap::default(), Some(lifetime), start);
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Exited(2)), false), start),
            vec![Action::Exit(2)]
        );
    }

    #[test]
    fn quit_urls_come_first_and_a_child_that_quits_is_never_signalled() {
        let start = Instant::now();
        let policy = StopPolicy {
            quit_first: true,
            ..POLICY
        };
        let mut supervisor = supervisor(policy);
        assert_eq!(
            supervisor.on_event(Event::SentinelAppeared, start),
            vec![Action::PostQuitUrls]
        );
        assert_eq!(supervisor.deadline(), Some(start + POLICY.grace));
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Exited(0)), false), start),
            vec![Action::Exit(0)]
        );
    }

    #[test]
    fn a_child_deaf_to_its_quit_url_gets_the_signal_then_sigkill() {
        let start = Instant::now();
        let policy = StopPolicy {
            quit_first: true,
            ..POLICY
        };
        let mut supervisor = supervisor(policy);
        supervisor.on_event(Event::SentinelAppeared, start);
        let signal_at = start + POLICY.grace;
        assert_eq!(
            supervisor.on_event(Event::DeadlineReached, signal_at),
            vec![Action::SignalAll(Signal::SIGTERM)]
        );
        assert_eq!(
            supervisor.on_event(Event::DeadlineReached, signal_at + POLICY.grace),
            vec![Action::SignalAll(Signal::SIGKILL)]
        );
    }

    #[test]
    fn remnants_of_a_child_that_exited_are_not_asked_to_quit() {
        let start = Instant::now();
        let mut supervisor = supervisor(StopPolicy {
            quit_first: true,
            ..POLICY
        });
        assert_eq!(
            supervisor.on_event(reaped(Some(ChildEnd::Exited(1)), true), start),
            vec![Action::SignalAll(Signal::SIGTERM)]
        );
    }
}
