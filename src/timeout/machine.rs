//! The `timeout` mode's state machine, following what GNU coreutils `timeout` does.
//!
//! Owns: the timers (the timeout, then `--kill-after`), which signals go where on each
//! trigger, and the final status, including when guillotine must die of the child's signal
//! so that its own parent's `waitpid` sees that signal. Time is an input; actions are the
//! output. Never: makes a syscall.
//!
//! On a trigger (the timeout, or INT, QUIT, HUP, TERM, ALRM or the `-s` signal sent to
//! guillotine): if `-k` is set, arm a second timer after which the signal is KILL; send the
//! signal to the child; unless `--foreground`, also to guillotine's whole group (ignoring it
//! itself from then on) and follow with CONT, so a stopped job can act on it. ALRM, from the
//! timer or from outside, means "timed out".

use crate::exit::ChildEnd;
use std::time::{Duration, Instant};

const SIGALRM: i32 = libc::SIGALRM;
const SIGKILL: i32 = libc::SIGKILL;
const SIGCONT: i32 = libc::SIGCONT;

/// `-k`: what happens to the signal after the first trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillAfter {
    /// `-k 0` or no `-k`.
    Disabled,
    /// Later triggers send KILL; a timer fires after this long (None: too far to ever fire).
    After(Option<Duration>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutPolicy {
    pub signal: i32,
    pub kill_after: KillAfter,
    pub foreground: bool,
    pub preserve_status: bool,
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The earliest timer in [`TimeoutMachine::deadline`] has passed.
    TimerFired,
    /// guillotine received one of the trigger signals.
    SignalReceived(i32),
    /// The child was reaped.
    ChildEnded { end: ChildEnd, core_dumped: bool },
    /// The child is gone without a status: `-s CHLD` made guillotine ignore SIGCHLD, so the
    /// kernel reaped it. GNU notices only when the next signal wakes it.
    ChildVanished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `--verbose`: say "sending signal NAME to command 'COMMAND'".
    Announce(i32),
    /// kill(child, signal).
    SignalChild(i32),
    /// Ignore the signal from now on, then kill(0, signal): the whole group, guillotine too
    /// (which is how KILL ends guillotine itself, as it ends GNU timeout).
    SignalOwnGroup(i32),
    /// Say "error waiting for command: No child processes", as GNU does.
    ReportWaitError,
    /// Say "the monitored command dumped core".
    ReportCoreDump,
    /// Exit with this status.
    Exit(u8),
    /// Die of this signal; exit with `otherwise` if that is not fatal.
    DieBy { signal: i32, otherwise: u8 },
}

#[derive(Debug)]
pub struct TimeoutMachine {
    policy: TimeoutPolicy,
    /// The signal the next timer sends: `-s`, then KILL once `-k` is armed.
    timer_signal: i32,
    kill_after: KillAfter,
    /// Armed timers (GNU creates a new one for `-k` without cancelling the first).
    timers: Vec<Instant>,
    timed_out: bool,
}

impl TimeoutMachine {
    /// `timeout`: None when there is no timeout (DURATION 0, or too far to ever fire).
    pub fn new(policy: TimeoutPolicy, timeout: Option<Duration>, started: Instant) -> Self {
        TimeoutMachine {
            policy,
            timer_signal: policy.signal,
            kill_after: policy.kill_after,
            timers: timeout
                .and_then(|timeout| started.checked_add(timeout))
                .into_iter()
                .collect(),
            timed_out: false,
        }
    }

    /// The earliest armed timer.
    pub fn deadline(&self) -> Option<Instant> {
        self.timers.iter().min().copied()
    }

    pub fn on_event(&mut self, event: Event, now: Instant) -> Vec<Action> {
        match event {
            Event::TimerFired => {
                let Some(earliest) = self.deadline().filter(|at| *at <= now) else {
                    return vec![];
                };
                self.timers.retain(|at| *at != earliest);
                self.trigger(SIGALRM, now)
            }
            Event::SignalReceived(signal) => self.trigger(signal, now),
            Event::ChildEnded { end, core_dumped } => self.finish(end, core_dumped),
            // GNU: "error waiting for command", EXIT_CANCELED, unless it timed out.
            Event::ChildVanished => vec![
                Action::ReportWaitError,
                Action::Exit(if self.timed_out && !self.policy.preserve_status {
                    crate::exit::status::TIMED_OUT
                } else {
                    crate::exit::status::USAGE
                }),
            ],
        }
    }

    fn trigger(&mut self, received: i32, now: Instant) -> Vec<Action> {
        let mut signal = received;
        if received == SIGALRM {
            self.timed_out = true;
            signal = self.timer_signal;
        }
        if let KillAfter::After(delay) = self.kill_after {
            self.kill_after = KillAfter::Disabled;
            self.timer_signal = SIGKILL;
            self.timers
                .extend(delay.and_then(|delay| now.checked_add(delay)));
        }
        let mut actions = Vec::new();
        if self.policy.verbose {
            actions.push(Action::Announce(signal));
        }
        actions.push(Action::SignalChild(signal));
        if !self.policy.foreground {
            actions.push(Action::SignalOwnGroup(signal));
            if signal != SIGKILL && signal != SIGCONT {
                actions.push(Action::SignalChild(SIGCONT));
                actions.push(Action::SignalOwnGroup(SIGCONT));
            }
        }
        actions
    }

    fn finish(&mut self, end: ChildEnd, core_dumped: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut preserve_status = self.policy.preserve_status;
        let status = match end {
            ChildEnd::Exited(code) => code,
            ChildEnd::Signaled(signal) => {
                if core_dumped {
                    actions.push(Action::ReportCoreDump);
                }
                // With --foreground nothing killed guillotine itself: 137 says KILL was needed.
                if self.timed_out && signal == SIGKILL {
                    preserve_status = true;
                }
                end.shell_status()
            }
        };
        let status = if self.timed_out && !preserve_status {
            124
        } else {
            status
        };
        actions.push(match end {
            ChildEnd::Signaled(signal) if !self.timed_out => Action::DieBy {
                signal,
                otherwise: status,
            },
            _ => Action::Exit(status),
        });
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TERM: i32 = libc::SIGTERM;
    const POLICY: TimeoutPolicy = TimeoutPolicy {
        signal: TERM,
        kill_after: KillAfter::Disabled,
        foreground: false,
        preserve_status: false,
        verbose: false,
    };
    const SECOND: Duration = Duration::from_secs(1);

    fn ended(end: ChildEnd) -> Event {
        Event::ChildEnded {
            end,
            core_dumped: false,
        }
    }

    fn group_signal(signal: i32) -> Vec<Action> {
        vec![
            Action::SignalChild(signal),
            Action::SignalOwnGroup(signal),
            Action::SignalChild(SIGCONT),
            Action::SignalOwnGroup(SIGCONT),
        ]
    }

    #[test]
    fn a_child_that_ends_in_time_gives_its_status() {
        let start = Instant::now();
        let mut machine = TimeoutMachine::new(POLICY, Some(SECOND), start);
        assert_eq!(machine.deadline(), Some(start + SECOND));
        assert_eq!(
            machine.on_event(ended(ChildEnd::Exited(3)), start),
            vec![Action::Exit(3)]
        );
    }

    #[test]
    fn a_signal_death_is_passed_on_as_a_signal_death() {
        let start = Instant::now();
        let mut machine = TimeoutMachine::new(POLICY, Some(SECOND), start);
        assert_eq!(
            machine.on_event(ended(ChildEnd::Signaled(11)), start),
            vec![Action::DieBy {
                signal: 11,
                otherwise: 139
            }]
        );
    }

    #[test]
    fn timeout_signals_child_group_then_cont_and_exits_124() {
        let start = Instant::now();
        let mut machine = TimeoutMachine::new(POLICY, Some(SECOND), start);
        assert_eq!(machine.on_event(Event::TimerFired, start), vec![]);
        assert_eq!(
            machine.on_event(Event::TimerFired, start + SECOND),
            group_signal(TERM)
        );
        assert_eq!(machine.deadline(), None);
        assert_eq!(
            machine.on_event(ended(ChildEnd::Signaled(TERM)), start + SECOND),
            vec![Action::Exit(124)]
        );
    }

    #[test]
    fn preserve_status_keeps_the_childs_status_after_a_timeout() {
        let start = Instant::now();
        let policy = TimeoutPolicy {
            preserve_status: true,
            ..POLICY
        };
        let mut machine = TimeoutMachine::new(policy, Some(SECOND), start);
        machine.on_event(Event::TimerFired, start + SECOND);
        assert_eq!(
            machine.on_event(ended(ChildEnd::Signaled(TERM)), start + SECOND),
            vec![Action::Exit(143)]
        );
    }

    #[test]
    fn kill_after_arms_a_second_timer_that_sends_kill() {
        let start = Instant::now();
        let policy = TimeoutPolicy {
            kill_after: KillAfter::After(Some(SECOND)),
            ..POLICY
        };
        let mut machine = TimeoutMachine::new(policy, Some(SECOND), start);
        machine.on_event(Event::TimerFired, start + SECOND);
        assert_eq!(machine.deadline(), Some(start + 2 * SECOND));
        assert_eq!(
            machine.on_event(Event::TimerFired, start + 2 * SECOND),
            vec![
                Action::SignalChild(SIGKILL),
                Action::SignalOwnGroup(SIGKILL)
            ]
        );
    }

    #[test]
    fn foreground_signals_only_the_child_and_reports_kill_as_137() {
        let start = Instant::now();
        let policy = TimeoutPolicy {
            foreground: true,
            kill_after: KillAfter::After(Some(SECOND)),
            ..POLICY
        };
        let mut machine = TimeoutMachine::new(policy, Some(SECOND), start);
        assert_eq!(
            machine.on_event(Event::TimerFired, start + SECOND),
            vec![Action::SignalChild(TERM)]
        );
        assert_eq!(
            machine.on_event(Event::TimerFired, start + 2 * SECOND),
            vec![Action::SignalChild(SIGKILL)]
        );
        assert_eq!(
            machine.on_event(ended(ChildEnd::Signaled(SIGKILL)), start + 2 * SECOND),
            vec![Action::Exit(137)]
        );
    }

    #[test]
    fn a_signal_from_outside_is_passed_on_and_not_a_timeout() {
        let start = Instant::now();
        let policy = TimeoutPolicy {
            verbose: true,
            ..POLICY
        };
        let mut machine = TimeoutMachine::new(policy, Some(SECOND), start);
        let mut expected = vec![Action::Announce(libc::SIGINT)];
        expected.extend(group_signal(libc::SIGINT));
        assert_eq!(
            machine.on_event(Event::SignalReceived(libc::SIGINT), start),
            expected
        );
        assert_eq!(
            machine.on_event(ended(ChildEnd::Signaled(libc::SIGINT)), start),
            vec![Action::DieBy {
                signal: libc::SIGINT,
                otherwise: 130
            }]
        );
    }

    #[test]
    fn alrm_from_outside_counts_as_the_timeout() {
        let start = Instant::now();
        let mut machine = TimeoutMachine::new(POLICY, None, start);
        assert_eq!(
            machine.on_event(Event::SignalReceived(SIGALRM), start),
            group_signal(TERM)
        );
        assert_eq!(
            machine.on_event(ended(ChildEnd::Exited(0)), start),
            vec![Action::Exit(124)]
        );
    }

    #[test]
    fn kill_after_also_starts_on_a_signal_from_outside_and_keeps_the_first_timer() {
        let start = Instant::now();
        let policy = TimeoutPolicy {
            kill_after: KillAfter::After(Some(10 * SECOND)),
            ..POLICY
        };
        let mut machine = TimeoutMachine::new(policy, Some(SECOND), start);
        machine.on_event(Event::SignalReceived(TERM), start);
        // The first timer still fires first, and now sends KILL.
        assert_eq!(machine.deadline(), Some(start + SECOND));
        assert_eq!(
            machine.on_event(Event::TimerFired, start + SECOND),
            vec![
                Action::SignalChild(SIGKILL),
                Action::SignalOwnGroup(SIGKILL)
            ]
        );
        assert_eq!(machine.deadline(), Some(start + 10 * SECOND));
    }

    #[test]
    fn signal_zero_and_cont_are_not_followed_by_cont() {
        let start = Instant::now();
        for signal in [0, SIGCONT] {
            let mut machine =
                TimeoutMachine::new(TimeoutPolicy { signal, ..POLICY }, Some(SECOND), start);
            let actions = machine.on_event(Event::TimerFired, start + SECOND);
            let expected = if signal == 0 {
                group_signal(0)
            } else {
                vec![
                    Action::SignalChild(SIGCONT),
                    Action::SignalOwnGroup(SIGCONT),
                ]
            };
            assert_eq!(actions, expected);
        }
    }

    #[test]
    fn a_core_dump_is_reported() {
        let start = Instant::now();
        let mut machine = TimeoutMachine::new(POLICY, None, start);
        assert_eq!(
            machine.on_event(
                Event::ChildEnded {
                    end: ChildEnd::Signaled(6),
                    core_dumped: true
                },
                start
            ),
            vec![
                Action::ReportCoreDump,
                Action::DieBy {
                    signal: 6,
                    otherwise: 134
                }
            ]
        );
    }

    #[test]
    fn a_child_reaped_by_the_kernel_after_sigchld_was_ignored_ends_as_gnu_does() {
        let start = Instant::now();
        let policy = TimeoutPolicy {
            signal: libc::SIGCHLD,
            ..POLICY
        };
        let mut machine = TimeoutMachine::new(policy, Some(SECOND), start);
        machine.on_event(Event::TimerFired, start + SECOND);
        assert_eq!(
            machine.on_event(Event::ChildVanished, start + SECOND),
            vec![Action::ReportWaitError, Action::Exit(124)]
        );
        let mut untimed = TimeoutMachine::new(policy, Some(SECOND), start);
        assert_eq!(
            untimed.on_event(Event::ChildVanished, start),
            vec![Action::ReportWaitError, Action::Exit(125)]
        );
    }
}
