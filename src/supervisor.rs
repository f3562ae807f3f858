//! The supervisor's state machine: what to do next, given what just happened.
//!
//! Owns: the phases of one supervision (running → quitting → stopping → killing →
//! finished), the cause of the stop, whom each signal of the stop reaches (through the pure
//! [`crate::reach`] rules, re-decided at every reap and at a backoff while a stop runs,
//! because processes are adopted after their parent dies), and the [`Verdict`] it ends with.
//! Time is an input and the output is a list of [`Action`]s; an empty list is the explicit
//! "nothing to do".
//! Never: makes a syscall, reads the clock, or knows about tokio (that is `event_loop`).
//! No arithmetic on instants here may panic: a duration too large to add means "never".

use crate::exit::{Cause, ChildEnd, Outcome};
use crate::exit_map::ExitMap;
use crate::reach::{Process, Reach, Roots, Signalled, Target, stop_targets};
use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

/// How the stop sequence runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopPolicy {
    /// Sent first to the child's group and adopted orphans, followed by SIGCONT so that a
    /// stopped process can act on it.
    pub stop_signal: Signal,
    /// How long they have to exit before SIGKILL.
    pub grace: Duration,
    /// How long after SIGKILL we wait for the last process to be reaped before giving up on
    /// it (a process stuck in uninterruptible sleep survives SIGKILL).
    pub kill_wait: Duration,
    /// Ask the child to quit through its HTTP endpoints first, and give it `grace` to do so,
    /// before the stop signal (and then `grace` again before SIGKILL).
    pub quit_first: bool,
    /// What SIGTERM to guillotine does.
    pub on_term: OnTerm,
}

/// What SIGTERM to guillotine does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTerm {
    /// Forward it to the child's group, as any other forwarded signal.
    Forward,
    /// Run guillotine's own stop sequence (cause [`Cause::Terminated`]), once the main side
    /// is done or `delay` has passed, whichever comes first (zero: at once).
    Stop { delay: Duration },
}

/// While a stop runs, the tree is scanned again this soon after each signal, then at twice
/// the previous interval, up to [`RESCAN_LONGEST`]: a process re-parented to us when a
/// parent that was not our child died brings no SIGCHLD, so only a scan finds it.
const RESCAN_FIRST: Duration = Duration::from_millis(10);
const RESCAN_LONGEST: Duration = Duration::from_secs(1);

/// Something that happened, as the event loop saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The reaper collected whatever had ended. `child` is the main child's end if it was
    /// among them; `anyone_left` says whether guillotine still has any child at all.
    Reaped {
        child: Option<ChildEnd>,
        anyone_left: bool,
    },
    /// A sentinel exists.
    SentinelAppeared,
    /// The main containers ended without writing their sentinel (their dead-man's lock was
    /// let go): stop as for a sentinel, with its own cause.
    Abandoned,
    /// guillotine itself received a signal that it forwards.
    SignalReceived(Signal),
    /// The instant returned by [`Supervisor::deadline`] has passed.
    DeadlineReached,
    /// Every quit URL has failed (refused, timed out or answered with an error): nothing
    /// will make the child quit by itself, so waiting the grace period out is pointless.
    QuitUrlsFailed,
    /// guillotine's descendants, scanned at once in answer to [`Action::ScanTree`].
    Scanned(Vec<Process>),
}

/// What the event loop must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// POST to every quit URL.
    PostQuitUrls,
    /// Send the signal to the child's process group (a forwarded signal). Only while the
    /// child is unreaped: then its group id cannot name anyone else.
    Forward(Signal),
    /// A signal that goes nowhere: it arrived after the child was reaped (its group id may
    /// be reused, and what is left is being stopped already).
    NotForwarded(Signal),
    /// A SIGTERM under `--on-term stop` while a stop is under way (or scheduled): the
    /// stop goes on as it is.
    StopUnderWay,
    /// SIGTERM under `--on-term stop --term-delay`: the stop waits for the main side, this
    /// long at most.
    DelayStop(Duration),
    /// Scan guillotine's descendants and hand them back at once as [`Event::Scanned`].
    ScanTree,
    /// Send `signal` to each target.
    Signal {
        signal: Signal,
        targets: Vec<Target>,
        why: Why,
    },
    /// The child ended by itself but left these processes running; they get the stop
    /// sequence now.
    WarnLeftBehind(Vec<Process>),
    /// These were sent SIGKILL and are still there after `kill_wait`: we exit without them.
    AbandonSurvivors(Vec<Process>),
    /// Supervision is over.
    Exit(Verdict),
}

/// Why a signal is sent, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The stop sequence starts, for this cause.
    Stop(Cause),
    /// The grace period ran out with these processes still running.
    GraceRanOut(Vec<Process>),
    /// Processes adopted (or started) since the phase's signal went out.
    LateArrivals,
    /// SIGCONT after the stop signal, so that a stopped process can act on it.
    Continue,
}

/// How a supervision ended: everything the exit report needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// guillotine's exit status, `--exit-map` applied.
    pub status: u8,
    pub cause: Cause,
    /// None only when the child survived SIGKILL and we gave up on it.
    pub child: Option<ChildEnd>,
    /// The last signal of the stop sequence that reached something, if any.
    pub last_signal: Option<Signal>,
    /// SIGKILL had to be sent.
    pub killed: bool,
}

/// When the tree is scanned next while a stop runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rescan {
    at: Option<Instant>,
    every: Duration,
}

impl Rescan {
    fn starting(now: Instant) -> Self {
        Rescan {
            at: now.checked_add(RESCAN_FIRST),
            every: RESCAN_FIRST,
        }
    }

    fn is_due(&self, now: Instant) -> bool {
        self.at.is_some_and(|at| now >= at)
    }

    fn advance(&mut self, now: Instant) {
        self.every = (self.every * 2).min(RESCAN_LONGEST);
        self.at = now.checked_add(self.every);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// SIGTERM arrived under `--on-term stop --term-delay`: the child runs on until the main
    /// side is done or `until` (None: too far to represent).
    TermDelayed {
        until: Option<Instant>,
    },
    /// The quit URLs were POSTed; the stop signal follows at `signal_at` (None: the grace
    /// period is too long to ever end).
    Quitting {
        signal_at: Option<Instant>,
    },
    /// The stop signal went out; SIGKILL follows at `kill_at`.
    Stopping {
        kill_at: Option<Instant>,
        rescan: Rescan,
        first_scan: bool,
    },
    /// SIGKILL went out; we give up on survivors at `give_up_at`.
    Killing {
        give_up_at: Option<Instant>,
        rescan: Rescan,
        first_scan: bool,
        giving_up: bool,
    },
    Finished,
}

/// One supervision, from the child's start to guillotine's exit.
#[derive(Debug)]
pub struct Supervisor {
    policy: StopPolicy,
    exit_map: ExitMap,
    roots: Roots,
    /// When the lifetime runs out, if there is one (None also when too far to represent).
    expires_at: Option<Instant>,
    phase: Phase,
    cause: Option<Cause>,
    child_end: Option<ChildEnd>,
    /// What the current phase's signal has reached.
    signalled: Signalled,
    last_signal: Option<Signal>,
    killed: bool,
}

impl Supervisor {
    /// A supervisor for a child that started at `started`.
    pub fn new(
        policy: StopPolicy,
        exit_map: ExitMap,
        lifetime: Option<Duration>,
        roots: Roots,
        started: Instant,
    ) -> Self {
        Supervisor {
            policy,
            exit_map,
            roots,
            expires_at: lifetime.and_then(|lifetime| started.checked_add(lifetime)),
            phase: Phase::Running,
            cause: None,
            child_end: None,
            signalled: Signalled::default(),
            last_signal: None,
            killed: false,
        }
    }

    /// When the event loop must send [`Event::DeadlineReached`], if ever: one deadline at a
    /// time, so nothing wakes guillotine while it waits.
    pub fn deadline(&self) -> Option<Instant> {
        let earliest = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.phase {
            Phase::Running => self.expires_at,
            Phase::TermDelayed { until } => earliest(until, self.expires_at),
            Phase::Quitting { signal_at } => signal_at,
            Phase::Stopping {
                kill_at, rescan, ..
            } => earliest(kill_at, rescan.at),
            Phase::Killing {
                give_up_at, rescan, ..
            } => earliest(give_up_at, rescan.at),
            Phase::Finished => None,
        }
    }

    #[must_use]
    pub fn on_event(&mut self, event: Event, now: Instant) -> Vec<Action> {
        if self.phase == Phase::Finished {
            return vec![];
        }
        match event {
            Event::Reaped { child, anyone_left } => self.on_reaped(child, anyone_left, now),
            Event::SentinelAppeared | Event::Abandoned => match self.phase {
                Phase::Running => {
                    self.cause = Some(if event == Event::Abandoned {
                        Cause::Abandoned
                    } else {
                        Cause::Sentinel
                    });
                    self.ask_to_quit(now)
                }
                // The main side is done: the delay the kubelet's TERM granted is over.
                Phase::TermDelayed { .. } => {
                    self.cause = Some(Cause::Terminated);
                    self.ask_to_quit(now)
                }
                _ => vec![],
            },
            Event::SignalReceived(signal) if self.child_end.is_some() => {
                vec![Action::NotForwarded(signal)]
            }
            Event::SignalReceived(Signal::SIGTERM) if self.policy.on_term != OnTerm::Forward => {
                self.on_term(now)
            }
            Event::SignalReceived(signal) => vec![Action::Forward(signal)],
            Event::DeadlineReached => self.on_deadline(now),
            Event::QuitUrlsFailed => match self.phase {
                Phase::Quitting { .. } => self.begin_stop(now),
                _ => vec![],
            },
            Event::Scanned(tree) => self.on_scanned(&tree, now),
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
        match self.phase {
            // The child ended by itself but left processes behind (its group or orphans):
            // nothing may outlive guillotine, so they get the stop sequence too.
            Phase::Running | Phase::TermDelayed { .. } | Phase::Quitting { .. }
                if child_just_ended =>
            {
                self.begin_stop(now)
            }
            // A death mid-stop may have made orphans of its children: look for them.
            Phase::Stopping { .. } | Phase::Killing { .. } if anyone_left => {
                vec![Action::ScanTree]
            }
            _ => vec![],
        }
    }

    /// SIGTERM under `--on-term stop`: the stop sequence, at once or after the delay. Once a
    /// stop runs (or is scheduled), another TERM changes nothing.
    fn on_term(&mut self, now: Instant) -> Vec<Action> {
        let OnTerm::Stop { delay } = self.policy.on_term else {
            return vec![];
        };
        if self.phase != Phase::Running {
            return vec![Action::StopUnderWay];
        }
        if delay.is_zero() {
            self.cause = Some(Cause::Terminated);
            return self.ask_to_quit(now);
        }
        self.phase = Phase::TermDelayed {
            until: now.checked_add(delay),
        };
        vec![Action::DelayStop(delay)]
    }

    fn on_deadline(&mut self, now: Instant) -> Vec<Action> {
        let expired = self.expires_at.is_some_and(|expiry| now >= expiry);
        match &mut self.phase {
            Phase::Running | Phase::TermDelayed { .. } if expired => {
                self.cause = Some(Cause::Lifetime);
                self.ask_to_quit(now)
            }
            Phase::TermDelayed { until } if until.is_some_and(|at| now >= at) => {
                self.cause = Some(Cause::Terminated);
                self.ask_to_quit(now)
            }
            Phase::Quitting { signal_at } if signal_at.is_some_and(|at| now >= at) => {
                self.begin_stop(now)
            }
            Phase::Stopping { kill_at, .. } if kill_at.is_some_and(|at| now >= at) => {
                self.kill(now)
            }
            Phase::Killing {
                give_up_at,
                giving_up,
                ..
            } if give_up_at.is_some_and(|at| now >= at) => {
                *giving_up = true;
                vec![Action::ScanTree]
            }
            Phase::Stopping { rescan, .. } | Phase::Killing { rescan, .. }
                if rescan.is_due(now) =>
            {
                rescan.advance(now);
                vec![Action::ScanTree]
            }
            _ => vec![],
        }
    }

    /// The stop sequence for a sentinel or a lifetime: the quit URLs first if there are any.
    fn ask_to_quit(&mut self, now: Instant) -> Vec<Action> {
        if !self.policy.quit_first {
            return self.begin_stop(now);
        }
        let mut actions = vec![Action::PostQuitUrls];
        if self.policy.grace.is_zero() {
            actions.extend(self.begin_stop(now));
        } else {
            self.phase = Phase::Quitting {
                signal_at: now.checked_add(self.policy.grace),
            };
        }
        actions
    }

    fn begin_stop(&mut self, now: Instant) -> Vec<Action> {
        self.signalled = Signalled::default();
        self.phase = Phase::Stopping {
            kill_at: now.checked_add(self.policy.grace),
            rescan: Rescan::starting(now),
            first_scan: true,
        };
        let mut actions = self.signal_the_childs_group();
        actions.push(Action::ScanTree);
        actions
    }

    /// The stop signal to the child's group at once, before `/proc` is read: the scan, whose
    /// cost grows with every process the PID namespace shows (a few in a pod, hundreds on a
    /// node), then adds only what lives outside the group. Only while the child is unreaped,
    /// when the group's id is still the child's own.
    fn signal_the_childs_group(&mut self) -> Vec<Action> {
        if self.child_end.is_some() {
            return vec![];
        }
        let targets = stop_targets(
            &[],
            self.roots,
            Reach::GroupAndOrphans,
            &mut self.signalled,
            true,
        );
        let cause = self.cause.unwrap_or(Cause::ChildEnded);
        self.stop_signal(targets, Why::Stop(cause))
    }

    fn kill(&mut self, now: Instant) -> Vec<Action> {
        self.signalled = Signalled::default();
        self.phase = Phase::Killing {
            give_up_at: now.checked_add(self.policy.kill_wait),
            rescan: Rescan::starting(now),
            first_scan: true,
            giving_up: false,
        };
        vec![Action::ScanTree]
    }

    /// Signals what the current phase's signal has not reached yet in this scan.
    fn on_scanned(&mut self, tree: &[Process], now: Instant) -> Vec<Action> {
        let (killing, first, kill_now, giving_up) = match &mut self.phase {
            Phase::Stopping {
                kill_at,
                first_scan,
                ..
            } => (
                false,
                std::mem::replace(first_scan, false),
                kill_at.is_some_and(|at| now >= at),
                false,
            ),
            Phase::Killing {
                first_scan,
                giving_up,
                ..
            } => (
                true,
                std::mem::replace(first_scan, false),
                false,
                *giving_up,
            ),
            _ => return vec![],
        };
        if killing {
            self.on_scanned_killing(tree, first, giving_up)
        } else {
            let mut actions = self.on_scanned_stopping(tree, first);
            if kill_now {
                // No grace: SIGKILL follows at once, from the same scan.
                let _ = self.kill(now);
                actions.extend(self.on_scanned(tree, now));
            }
            actions
        }
    }

    fn on_scanned_stopping(&mut self, tree: &[Process], first: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        let cause = self.cause.unwrap_or(Cause::ChildEnded);
        if first && cause == Cause::ChildEnded {
            let left: Vec<Process> = live(tree).cloned().collect();
            if !left.is_empty() {
                actions.push(Action::WarnLeftBehind(left));
            }
        }
        let targets = stop_targets(
            tree,
            self.roots,
            Reach::GroupAndOrphans,
            &mut self.signalled,
            self.child_end.is_none(),
        );
        let why = if first {
            Why::Stop(cause)
        } else {
            Why::LateArrivals
        };
        actions.extend(self.stop_signal(targets, why));
        actions
    }

    /// The stop signal to `targets`, then SIGCONT so that a stopped process can act on it
    /// (none when the stop signal is SIGKILL or SIGCONT itself).
    fn stop_signal(&mut self, targets: Vec<Target>, why: Why) -> Vec<Action> {
        if targets.is_empty() {
            return vec![];
        }
        let signal = self.policy.stop_signal;
        self.record(signal);
        let mut actions = vec![Action::Signal {
            signal,
            targets: targets.clone(),
            why,
        }];
        if signal != Signal::SIGKILL && signal != Signal::SIGCONT {
            actions.push(Action::Signal {
                signal: Signal::SIGCONT,
                targets,
                why: Why::Continue,
            });
        }
        actions
    }

    fn on_scanned_killing(
        &mut self,
        tree: &[Process],
        first: bool,
        giving_up: bool,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let survivors: Vec<Process> = live(tree)
            .filter(|process| self.signalled.covers(process))
            .cloned()
            .collect();
        let targets = stop_targets(
            tree,
            self.roots,
            Reach::Everything,
            &mut self.signalled,
            self.child_end.is_none(),
        );
        if !targets.is_empty() {
            let why = if first {
                Why::GraceRanOut(live(tree).cloned().collect())
            } else {
                Why::LateArrivals
            };
            self.record(Signal::SIGKILL);
            actions.push(Action::Signal {
                signal: Signal::SIGKILL,
                targets,
                why,
            });
        }
        if giving_up {
            actions.push(Action::AbandonSurvivors(survivors));
            return self.finish(actions);
        }
        actions
    }

    fn record(&mut self, signal: Signal) {
        self.last_signal = Some(signal);
        self.killed |= signal == Signal::SIGKILL;
    }

    fn finish(&mut self, mut actions: Vec<Action>) -> Vec<Action> {
        self.phase = Phase::Finished;
        let outcome = Outcome {
            cause: self.cause.unwrap_or(Cause::ChildEnded),
            child: self.child_end,
            killed: self.killed,
        };
        actions.push(Action::Exit(Verdict {
            status: self.exit_map.status(outcome),
            cause: outcome.cause,
            child: self.child_end,
            last_signal: self.last_signal,
            killed: self.killed,
        }));
        actions
    }
}

/// The processes of a scan that have not ended.
fn live(tree: &[Process]) -> impl Iterator<Item = &Process> {
    tree.iter().filter(|process| !process.has_ended())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reach::ProcessId;
    use std::collections::VecDeque;

    const POLICY: StopPolicy = StopPolicy {
        stop_signal: Signal::SIGTERM,
        grace: Duration::from_secs(10),
        kill_wait: Duration::from_secs(5),
        quit_first: false,
        on_term: OnTerm::Forward,
    };
    const ME: i32 = 100;
    const CHILD: i32 = 200;
    const ROOTS: Roots = Roots {
        own_pid: ME,
        own_group: 50,
        child: CHILD,
    };
    const TERM: Signal = Signal::SIGTERM;
    const KILL: Signal = Signal::SIGKILL;

    fn process(pid: i32, parent: i32, group: i32) -> Process {
        Process {
            pid,
            parent,
            group,
            start_time: 7,
            state: 'S',
            name: format!("p{pid}"),
        }
    }

    /// The child alone, running.
    fn just_the_child() -> Vec<Process> {
        vec![process(CHILD, ME, CHILD)]
    }

    fn supervisor(policy: StopPolicy) -> Supervisor {
        Supervisor::new(policy, ExitMap::default(), None, ROOTS, Instant::now())
    }

    fn with_lifetime(lifetime: Duration, start: Instant) -> Supervisor {
        Supervisor::new(POLICY, ExitMap::default(), Some(lifetime), ROOTS, start)
    }

    fn reaped(child: Option<ChildEnd>, anyone_left: bool) -> Event {
        Event::Reaped { child, anyone_left }
    }

    /// Feeds `event` as the event loop does: every scan asked for is answered at once with
    /// `tree`. Returns every other action, in order.
    fn drive(
        supervisor: &mut Supervisor,
        event: Event,
        now: Instant,
        tree: &[Process],
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut events = VecDeque::from([event]);
        while let Some(event) = events.pop_front() {
            for action in supervisor.on_event(event, now) {
                match action {
                    Action::ScanTree => events.push_back(Event::Scanned(tree.to_vec())),
                    action => actions.push(action),
                }
            }
        }
        actions
    }

    /// The child ends and nothing is left: the actions that follow.
    fn child_ends(supervisor: &mut Supervisor, end: ChildEnd, now: Instant) -> Vec<Action> {
        drive(supervisor, reaped(Some(end), false), now, &[])
    }

    /// The signals sent (SIGCONT follow-ups left out) and to whom.
    fn sent(actions: &[Action]) -> Vec<(Signal, Vec<Target>)> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Signal {
                    signal,
                    targets,
                    why,
                } if *why != Why::Continue => Some((*signal, targets.clone())),
                _ => None,
            })
            .collect()
    }

    fn verdict(actions: &[Action]) -> Option<Verdict> {
        actions.iter().find_map(|action| match action {
            Action::Exit(verdict) => Some(*verdict),
            _ => None,
        })
    }

    fn status(actions: &[Action]) -> Option<u8> {
        verdict(actions).map(|verdict| verdict.status)
    }

    fn group() -> Vec<Target> {
        vec![Target::Group(CHILD)]
    }

    #[test]
    fn child_exit_with_nothing_left_exits_with_its_code() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        let actions = child_ends(&mut supervisor, ChildEnd::Exited(3), start);
        assert_eq!(
            verdict(&actions),
            Some(Verdict {
                status: 3,
                cause: Cause::ChildEnded,
                child: Some(ChildEnd::Exited(3)),
                last_signal: None,
                killed: false,
            })
        );
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
        let actions = child_ends(&mut supervisor, ChildEnd::Signaled(2), start);
        assert_eq!(status(&actions), Some(130));
    }

    #[test]
    fn sentinel_runs_the_stop_sequence_followed_by_cont_then_exits_zero() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        // The child's group gets the stop signal before /proc is read (the scan's cost
        // grows with every process in sight); the scan then finds nothing more to reach.
        assert_eq!(
            supervisor.on_event(Event::SentinelAppeared, start),
            vec![
                Action::Signal {
                    signal: TERM,
                    targets: group(),
                    why: Why::Stop(Cause::Sentinel)
                },
                Action::Signal {
                    signal: Signal::SIGCONT,
                    targets: group(),
                    why: Why::Continue
                },
                Action::ScanTree
            ]
        );
        assert_eq!(
            supervisor.on_event(Event::Scanned(just_the_child()), start),
            vec![]
        );
        // The child dies of our TERM: 143 from the child, 0 from us.
        let actions = child_ends(&mut supervisor, ChildEnd::Signaled(15), start);
        assert_eq!(
            verdict(&actions),
            Some(Verdict {
                status: 0,
                cause: Cause::Sentinel,
                child: Some(ChildEnd::Signaled(15)),
                last_signal: Some(TERM),
                killed: false,
            })
        );
    }

    #[test]
    fn child_ignoring_the_stop_signal_is_killed_after_grace() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        drive(
            &mut supervisor,
            Event::SentinelAppeared,
            start,
            &just_the_child(),
        );
        // Rescans before the grace ends find nothing new to signal.
        let early = start + Duration::from_secs(9);
        assert_eq!(
            drive(
                &mut supervisor,
                Event::DeadlineReached,
                early,
                &just_the_child()
            ),
            vec![]
        );
        let kill_at = start + POLICY.grace;
        let actions = drive(
            &mut supervisor,
            Event::DeadlineReached,
            kill_at,
            &just_the_child(),
        );
        assert_eq!(
            actions,
            vec![Action::Signal {
                signal: KILL,
                targets: group(),
                why: Why::GraceRanOut(just_the_child())
            }]
        );
        let actions = child_ends(&mut supervisor, ChildEnd::Signaled(9), kill_at);
        assert_eq!(
            verdict(&actions),
            Some(Verdict {
                status: 0,
                cause: Cause::Sentinel,
                child: Some(ChildEnd::Signaled(9)),
                last_signal: Some(KILL),
                killed: true,
            })
        );
    }

    #[test]
    fn zero_grace_kills_at_once() {
        let start = Instant::now();
        let mut supervisor = supervisor(StopPolicy {
            grace: Duration::ZERO,
            ..POLICY
        });
        let actions = drive(
            &mut supervisor,
            Event::SentinelAppeared,
            start,
            &just_the_child(),
        );
        assert_eq!(sent(&actions), vec![(TERM, group()), (KILL, group())]);
    }

    #[test]
    fn exit_waits_until_no_process_is_left() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        drive(
            &mut supervisor,
            Event::SentinelAppeared,
            start,
            &just_the_child(),
        );
        // The child is gone but a grandchild in its group still runs (already signalled).
        let grandchild = vec![process(201, ME, CHILD)];
        assert_eq!(
            drive(
                &mut supervisor,
                reaped(Some(ChildEnd::Exited(0)), true),
                start,
                &grandchild
            ),
            vec![]
        );
        let actions = drive(&mut supervisor, reaped(None, false), start, &[]);
        assert_eq!(status(&actions), Some(0));
    }

    #[test]
    fn processes_left_by_a_child_that_exited_get_the_stop_sequence_and_a_warning() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        let daemon = vec![process(300, ME, 300)];
        let actions = drive(
            &mut supervisor,
            reaped(Some(ChildEnd::Exited(7)), true),
            start,
            &daemon,
        );
        assert_eq!(actions[0], Action::WarnLeftBehind(daemon.clone()));
        assert_eq!(sent(&actions), vec![(TERM, vec![Target::Group(300)])]);
        // A sentinel now changes nothing: the child already chose its status.
        assert_eq!(
            drive(&mut supervisor, Event::SentinelAppeared, start, &daemon),
            vec![]
        );
        let actions = drive(&mut supervisor, reaped(None, false), start, &[]);
        assert_eq!(status(&actions), Some(7));
    }

    #[test]
    fn a_process_adopted_during_the_stop_gets_the_stop_signal_once() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        // The child and a backend in a session of its own, managed by the child.
        let mut tree = vec![process(CHILD, ME, CHILD), process(202, CHILD, 202)];
        let actions = drive(&mut supervisor, Event::SentinelAppeared, start, &tree);
        assert_eq!(sent(&actions), vec![(TERM, group())]);
        // The child exits; the backend is re-parented to us.
        tree.remove(0);
        tree[0].parent = ME;
        let actions = drive(
            &mut supervisor,
            reaped(Some(ChildEnd::Exited(0)), true),
            start,
            &tree,
        );
        assert_eq!(sent(&actions), vec![(TERM, vec![Target::Group(202)])]);
        assert_eq!(
            actions[0],
            Action::Signal {
                signal: TERM,
                targets: vec![Target::Group(202)],
                why: Why::LateArrivals
            }
        );
        // Further scans do not signal it again.
        assert_eq!(
            drive(&mut supervisor, reaped(None, true), start, &tree),
            vec![]
        );
    }

    #[test]
    fn a_silent_adoption_is_found_by_the_rescan_backoff() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        drive(
            &mut supervisor,
            Event::SentinelAppeared,
            start,
            &just_the_child(),
        );
        let mut now = start;
        let mut intervals = Vec::new();
        for _ in 0..9 {
            let next = supervisor.deadline().unwrap();
            intervals.push(next - now);
            now = next;
            drive(
                &mut supervisor,
                Event::DeadlineReached,
                now,
                &just_the_child(),
            );
        }
        let ms = Duration::from_millis;
        assert_eq!(
            intervals,
            vec![
                ms(10),
                ms(20),
                ms(40),
                ms(80),
                ms(160),
                ms(320),
                ms(640),
                ms(1000),
                ms(1000)
            ]
        );
        // A process re-parented to us without a SIGCHLD (its parent was not our child).
        let mut tree = just_the_child();
        tree.push(process(400, ME, 400));
        let at = supervisor.deadline().unwrap();
        let actions = drive(&mut supervisor, Event::DeadlineReached, at, &tree);
        assert_eq!(sent(&actions), vec![(TERM, vec![Target::Group(400)])]);
    }

    #[test]
    fn sigkill_reaches_every_descendant_and_late_arrivals_too() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        // A backend the child manages: not ours to TERM, but SIGKILL takes everything.
        let tree = vec![process(CHILD, ME, CHILD), process(202, CHILD, 202)];
        drive(&mut supervisor, Event::SentinelAppeared, start, &tree);
        let kill_at = start + POLICY.grace;
        let backend = Target::Descendant(ProcessId {
            pid: 202,
            start_time: 7,
        });
        let actions = drive(&mut supervisor, Event::DeadlineReached, kill_at, &tree);
        assert_eq!(
            sent(&actions),
            vec![(KILL, vec![Target::Group(CHILD), backend])]
        );
        // Something adopted while killing gets SIGKILL too, on the next reap.
        let late = vec![process(203, ME, 50)];
        let actions = drive(&mut supervisor, reaped(None, true), kill_at, &late);
        assert_eq!(
            actions,
            vec![Action::Signal {
                signal: KILL,
                targets: vec![Target::Child(203)],
                why: Why::LateArrivals
            }]
        );
    }

    #[test]
    fn only_processes_sent_sigkill_are_reported_as_survivors() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        drive(
            &mut supervisor,
            Event::SentinelAppeared,
            start,
            &just_the_child(),
        );
        let kill_at = start + POLICY.grace;
        drive(
            &mut supervisor,
            Event::DeadlineReached,
            kill_at,
            &just_the_child(),
        );
        let give_up_at = kill_at + POLICY.kill_wait;
        // The child is stuck in D state; a newcomer appears at the last moment.
        let mut stuck = process(CHILD, ME, CHILD);
        stuck.state = 'D';
        let newcomer = process(500, ME, 50);
        while let Some(next) = supervisor.deadline().filter(|at| *at < give_up_at) {
            drive(
                &mut supervisor,
                Event::DeadlineReached,
                next,
                &[stuck.clone()],
            );
        }
        let actions = drive(
            &mut supervisor,
            Event::DeadlineReached,
            give_up_at,
            &[stuck.clone(), newcomer.clone()],
        );
        assert_eq!(sent(&actions), vec![(KILL, vec![Target::Child(500)])]);
        assert!(actions.contains(&Action::AbandonSurvivors(vec![stuck.clone()])));
        let verdict = verdict(&actions).expect("exits after the bound");
        assert_eq!(verdict.child, None);
        assert_eq!(verdict.status, 0);
        assert_eq!(supervisor.deadline(), None);
    }

    #[test]
    fn a_second_sentinel_does_not_restart_the_grace_period() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        drive(
            &mut supervisor,
            Event::SentinelAppeared,
            start,
            &just_the_child(),
        );
        let later = start + Duration::from_secs(5);
        assert_eq!(
            drive(
                &mut supervisor,
                Event::SentinelAppeared,
                later,
                &just_the_child()
            ),
            vec![]
        );
        let kill_at = start + POLICY.grace;
        let actions = drive(
            &mut supervisor,
            Event::DeadlineReached,
            kill_at,
            &just_the_child(),
        );
        assert_eq!(sent(&actions), vec![(KILL, group())]);
    }

    #[test]
    fn a_signal_after_the_child_was_reaped_is_not_forwarded() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        let left = vec![process(300, ME, 300)];
        drive(
            &mut supervisor,
            reaped(Some(ChildEnd::Exited(0)), true),
            start,
            &left,
        );
        assert_eq!(
            supervisor.on_event(Event::SignalReceived(TERM), start),
            vec![Action::NotForwarded(TERM)]
        );
    }

    #[test]
    fn signals_are_forwarded_during_the_stop_sequence_too() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        drive(
            &mut supervisor,
            Event::SentinelAppeared,
            start,
            &just_the_child(),
        );
        assert_eq!(
            supervisor.on_event(Event::SignalReceived(Signal::SIGHUP), start),
            vec![Action::Forward(Signal::SIGHUP)]
        );
    }

    #[test]
    fn nothing_happens_after_exit() {
        let start = Instant::now();
        let mut supervisor = supervisor(POLICY);
        let _ = supervisor.on_event(reaped(Some(ChildEnd::Exited(0)), false), start);
        for event in [
            Event::SentinelAppeared,
            Event::SignalReceived(TERM),
            Event::DeadlineReached,
            Event::QuitUrlsFailed,
            Event::Scanned(just_the_child()),
            reaped(None, false),
        ] {
            assert_eq!(supervisor.on_event(event, start), vec![]);
        }
    }

    #[test]
    fn lifetime_is_the_only_deadline_while_running() {
        let start = Instant::now();
        let lifetime = Duration::from_secs(14 * 86400);
        let mut supervisor = with_lifetime(lifetime, start);
        assert_eq!(supervisor.deadline(), Some(start + lifetime));
        assert_eq!(supervisor.on_event(Event::DeadlineReached, start), vec![]);
        let actions = drive(
            &mut supervisor,
            Event::DeadlineReached,
            start + lifetime,
            &just_the_child(),
        );
        assert_eq!(sent(&actions), vec![(TERM, group())]);
        let actions = child_ends(&mut supervisor, ChildEnd::Signaled(15), start + lifetime);
        assert_eq!(
            verdict(&actions).map(|v| (v.status, v.cause)),
            Some((124, Cause::Lifetime))
        );
    }

    #[test]
    fn lifetime_stop_that_needed_sigkill_exits_137() {
        let start = Instant::now();
        let lifetime = Duration::from_secs(60);
        let mut supervisor = with_lifetime(lifetime, start);
        let expiry = start + lifetime;
        drive(
            &mut supervisor,
            Event::DeadlineReached,
            expiry,
            &just_the_child(),
        );
        let actions = drive(
            &mut supervisor,
            Event::DeadlineReached,
            expiry + POLICY.grace,
            &just_the_child(),
        );
        assert_eq!(sent(&actions), vec![(KILL, group())]);
        let actions = child_ends(
            &mut supervisor,
            ChildEnd::Signaled(9),
            expiry + POLICY.grace,
        );
        assert_eq!(status(&actions), Some(137));
    }

    #[test]
    fn sigkill_that_reached_nothing_does_not_count_as_killed() {
        // The child ended exactly as the grace ran out: only its zombie is left.
        let start = Instant::now();
        let lifetime = Duration::from_secs(60);
        let mut supervisor = with_lifetime(lifetime, start);
        let expiry = start + lifetime;
        drive(
            &mut supervisor,
            Event::DeadlineReached,
            expiry,
            &just_the_child(),
        );
        let mut zombie = process(CHILD, ME, CHILD);
        zombie.state = 'Z';
        let actions = drive(
            &mut supervisor,
            Event::DeadlineReached,
            expiry + POLICY.grace,
            &[zombie],
        );
        assert_eq!(sent(&actions), vec![]);
        let actions = child_ends(
            &mut supervisor,
            ChildEnd::Signaled(15),
            expiry + POLICY.grace,
        );
        assert_eq!(status(&actions), Some(124));
    }

    #[test]
    fn exit_map_applies_last() {
        let start = Instant::now();
        let map = ExitMap::parse(["0=1,lifetime=0"]).unwrap();
        let mut early_exit = Supervisor::new(POLICY, map.clone(), None, ROOTS, start);
        let actions = child_ends(&mut early_exit, ChildEnd::Exited(0), start);
        assert_eq!(status(&actions), Some(1));
        let lifetime = Duration::from_secs(1);
        let mut expired = Supervisor::new(POLICY, map, Some(lifetime), ROOTS, start);
        drive(
            &mut expired,
            Event::DeadlineReached,
            start + lifetime,
            &just_the_child(),
        );
        let actions = child_ends(&mut expired, ChildEnd::Signaled(15), start + lifetime);
        assert_eq!(status(&actions), Some(0));
    }

    #[test]
    fn a_child_ending_before_its_lifetime_keeps_its_status() {
        let start = Instant::now();
        let mut supervisor = with_lifetime(Duration::from_secs(60), start);
        let actions = child_ends(&mut supervisor, ChildEnd::Exited(2), start);
        assert_eq!(status(&actions), Some(2));
    }

    fn quitting() -> Supervisor {
        supervisor(StopPolicy {
            quit_first: true,
            ..POLICY
        })
    }

    #[test]
    fn quit_urls_come_first_and_a_child_that_quits_is_never_signalled() {
        let start = Instant::now();
        let mut supervisor = quitting();
        assert_eq!(
            supervisor.on_event(Event::SentinelAppeared, start),
            vec![Action::PostQuitUrls]
        );
        assert_eq!(supervisor.deadline(), Some(start + POLICY.grace));
        let actions = child_ends(&mut supervisor, ChildEnd::Exited(0), start);
        assert_eq!(sent(&actions), vec![]);
        assert_eq!(status(&actions), Some(0));
    }

    #[test]
    fn a_child_deaf_to_its_quit_url_gets_the_signal_then_sigkill() {
        let start = Instant::now();
        let mut supervisor = quitting();
        let _ = supervisor.on_event(Event::SentinelAppeared, start);
        let signal_at = start + POLICY.grace;
        let actions = drive(
            &mut supervisor,
            Event::DeadlineReached,
            signal_at,
            &just_the_child(),
        );
        assert_eq!(sent(&actions), vec![(TERM, group())]);
        let actions = drive(
            &mut supervisor,
            Event::DeadlineReached,
            signal_at + POLICY.grace,
            &just_the_child(),
        );
        assert_eq!(sent(&actions), vec![(KILL, group())]);
    }

    #[test]
    fn when_every_quit_url_failed_the_stop_signal_goes_at_once() {
        let start = Instant::now();
        let mut supervisor = quitting();
        let _ = supervisor.on_event(Event::SentinelAppeared, start);
        let soon = start + Duration::from_millis(3);
        let actions = drive(
            &mut supervisor,
            Event::QuitUrlsFailed,
            soon,
            &just_the_child(),
        );
        assert_eq!(sent(&actions), vec![(TERM, group())]);
        assert_eq!(supervisor.deadline(), Some(soon + RESCAN_FIRST));
        // Late failures change nothing once the stop runs.
        assert_eq!(
            drive(
                &mut supervisor,
                Event::QuitUrlsFailed,
                soon,
                &just_the_child()
            ),
            vec![]
        );
    }

    #[test]
    fn remnants_of_a_child_that_exited_are_not_asked_to_quit() {
        let start = Instant::now();
        let mut supervisor = quitting();
        let remnant = vec![process(201, ME, CHILD)];
        let actions = drive(
            &mut supervisor,
            reaped(Some(ChildEnd::Exited(1)), true),
            start,
            &remnant,
        );
        assert!(!actions.contains(&Action::PostQuitUrls));
        assert_eq!(sent(&actions), vec![(TERM, group())]);
    }

    fn stopping_on_term(delay: Duration) -> Supervisor {
        supervisor(StopPolicy {
            on_term: OnTerm::Stop { delay },
            quit_first: true,
            ..POLICY
        })
    }

    #[test]
    fn on_term_stop_runs_the_whole_sequence_quit_urls_first_and_exits_143() {
        let start = Instant::now();
        let mut supervisor = stopping_on_term(Duration::ZERO);
        assert_eq!(
            supervisor.on_event(Event::SignalReceived(TERM), start),
            vec![Action::PostQuitUrls],
            "TERM is not forwarded: the quit URLs come first"
        );
        // A second TERM changes nothing (and says so: the child still runs).
        assert_eq!(
            supervisor.on_event(Event::SignalReceived(TERM), start),
            vec![Action::StopUnderWay]
        );
        assert_eq!(supervisor.deadline(), Some(start + POLICY.grace));
        // Other signals are still forwarded.
        assert_eq!(
            supervisor.on_event(Event::SignalReceived(Signal::SIGINT), start),
            vec![Action::Forward(Signal::SIGINT)]
        );
        let actions = child_ends(&mut supervisor, ChildEnd::Exited(0), start);
        assert_eq!(
            verdict(&actions).map(|v| (v.status, v.cause)),
            Some((143, Cause::Terminated))
        );
    }

    #[test]
    fn term_delay_waits_for_the_main_side_then_stops() {
        let start = Instant::now();
        let delay = Duration::from_secs(30);
        let mut supervisor = stopping_on_term(delay);
        assert_eq!(
            supervisor.on_event(Event::SignalReceived(TERM), start),
            vec![Action::DelayStop(delay)]
        );
        assert_eq!(supervisor.deadline(), Some(start + delay));
        let soon = start + Duration::from_secs(2);
        assert_eq!(
            supervisor.on_event(Event::SentinelAppeared, soon),
            vec![Action::PostQuitUrls]
        );
        assert_eq!(supervisor.deadline(), Some(soon + POLICY.grace));
    }

    #[test]
    fn term_delay_ends_at_its_bound_without_a_sentinel() {
        let start = Instant::now();
        let delay = Duration::from_secs(30);
        let mut supervisor = stopping_on_term(delay);
        let _ = supervisor.on_event(Event::SignalReceived(TERM), start);
        assert_eq!(
            supervisor.on_event(Event::DeadlineReached, start + Duration::from_secs(29)),
            vec![]
        );
        assert_eq!(
            supervisor.on_event(Event::DeadlineReached, start + delay),
            vec![Action::PostQuitUrls]
        );
    }

    #[test]
    fn a_child_ending_during_the_term_delay_keeps_its_own_status() {
        let start = Instant::now();
        let mut supervisor = stopping_on_term(Duration::from_secs(30));
        let _ = supervisor.on_event(Event::SignalReceived(TERM), start);
        let actions = child_ends(&mut supervisor, ChildEnd::Exited(4), start);
        assert_eq!(
            verdict(&actions).map(|v| (v.status, v.cause)),
            Some((4, Cause::ChildEnded))
        );
    }

    #[test]
    fn durations_too_long_to_add_mean_never_and_never_panic() {
        let start = Instant::now();
        let forever = Duration::MAX;
        let policy = StopPolicy {
            grace: forever,
            kill_wait: forever,
            quit_first: true,
            ..POLICY
        };
        let mut supervisor =
            Supervisor::new(policy, ExitMap::default(), Some(forever), ROOTS, start);
        assert_eq!(supervisor.deadline(), None);
        assert_eq!(
            supervisor.on_event(Event::SentinelAppeared, start),
            vec![Action::PostQuitUrls]
        );
        assert_eq!(supervisor.deadline(), None);
        let actions = drive(
            &mut supervisor,
            Event::QuitUrlsFailed,
            start,
            &just_the_child(),
        );
        assert_eq!(sent(&actions), vec![(TERM, group())]);
        let actions = child_ends(&mut supervisor, ChildEnd::Signaled(15), start);
        assert_eq!(status(&actions), Some(0));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_event() -> impl Strategy<Value = Event> {
            prop_oneof![
                (any::<Option<u8>>(), any::<bool>()).prop_map(|(code, anyone_left)| {
                    reaped(code.map(ChildEnd::Exited), anyone_left)
                }),
                Just(Event::SentinelAppeared),
                Just(Event::SignalReceived(TERM)),
                Just(Event::DeadlineReached),
                Just(Event::QuitUrlsFailed),
                Just(Event::Scanned(just_the_child())),
            ]
        }

        proptest! {
            /// Whatever the durations (up to Duration::MAX) and the order of events, the
            /// machine never panics, and once it has exited it stays silent.
            #[test]
            fn any_durations_and_events_never_panic(
                grace in any::<u64>(),
                kill_wait in any::<u64>(),
                lifetime in any::<Option<u64>>(),
                quit_first in any::<bool>(),
                steps in proptest::collection::vec((any_event(), any::<u64>()), 0..40),
            ) {
                let start = Instant::now();
                let policy = StopPolicy {
                    stop_signal: TERM,
                    grace: Duration::from_secs(grace),
                    kill_wait: Duration::from_nanos(kill_wait),
                    quit_first,
                    on_term: OnTerm::Stop { delay: Duration::from_millis(grace % 10_000) },
                };
                let lifetime = lifetime.map(Duration::from_secs);
                let mut supervisor =
                    Supervisor::new(policy, ExitMap::default(), lifetime, ROOTS, start);
                let mut exited = false;
                for (event, offset) in steps {
                    let now = start.checked_add(Duration::from_nanos(offset)).unwrap_or(start);
                    let actions = drive(&mut supervisor, event, now, &just_the_child());
                    if exited {
                        prop_assert!(actions.is_empty());
                    }
                    exited |= verdict(&actions).is_some();
                    let _ = supervisor.deadline();
                }
            }
        }
    }
}
