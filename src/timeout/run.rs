//! The `timeout` mode's event loop: GNU's set-up order, then signals, the reaper and the
//! timers fed to [`TimeoutMachine`], and its actions carried out.
//!
//! Never: decides (that is `machine`) or calls `waitpid` outside `sys::reap`.

use super::args::{Quotes, TimeoutArgs, quote};
use super::duration::timer;
use super::machine::{Action, Event, KillAfter, TimeoutMachine, TimeoutPolicy};
use super::signal_names::signal_name;
use crate::exit::Ending;
use crate::sys::{process, reap, signals, spawn};
use crate::wake::{self, Wake, Wakes};
use std::collections::VecDeque;
use std::time::Instant;

/// Runs COMMAND under the timeout. `program` is the name messages start with.
pub fn run(args: TimeoutArgs, program: &str, quotes: Quotes) -> Ending {
    match wake::runtime() {
        Ok(runtime) => runtime.block_on(supervise(args, program, quotes)),
        Err(error) => {
            eprintln!("{program}: cannot start the event loop: {error}");
            Ending::Exit(crate::exit::status::USAGE)
        }
    }
}

async fn supervise(args: TimeoutArgs, program: &str, quotes: Quotes) -> Ending {
    if !args.options.foreground {
        process::lead_own_group();
    }
    let triggers = [
        libc::SIGALRM,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGHUP,
        libc::SIGTERM,
        args.options.signal,
    ];
    let mut wakes = match signals::SignalListener::register(&triggers) {
        Ok(signals) => Wakes::new(signals),
        Err(error) => {
            eprintln!("{program}: cannot install signal handlers: {error}");
            return Ending::Exit(crate::exit::status::USAGE);
        }
    };
    // Not stopped when a background job touches the terminal; the child gets them back.
    process::ignore(libc::SIGTTIN);
    process::ignore(libc::SIGTTOU);
    let command = quote(args.command.program(), quotes);
    let child = match spawn::spawn(&args.command, spawn::ChildSetup::SameGroupInheritedSignals) {
        Ok(child) => child,
        Err(error) => {
            eprintln!(
                "{program}: failed to run command {command}: {}",
                error.os_reason()
            );
            return Ending::Exit(error.exit_code());
        }
    };
    let policy = TimeoutPolicy {
        signal: args.options.signal,
        kill_after: if args.options.kill_after > 0.0 {
            KillAfter::After(timer(args.options.kill_after))
        } else {
            KillAfter::Disabled
        },
        foreground: args.options.foreground,
        preserve_status: args.options.preserve_status,
        verbose: args.options.verbose,
    };
    let mut machine = TimeoutMachine::new(policy, timer(args.options.seconds), Instant::now());
    loop {
        let deadline = machine.deadline();
        let event = match wakes.next(deadline).await {
            Wake::ChildChanged => {
                match reap::reap()
                    .ended
                    .into_iter()
                    .find(|ended| ended.pid == child)
                {
                    Some(ended) => Event::ChildEnded {
                        end: ended.end,
                        core_dumped: ended.core_dumped,
                    },
                    None => continue,
                }
            }
            Wake::Signal(number) => Event::SignalReceived(number),
            Wake::Deadline => Event::TimerFired,
            // No sentinel is watched in this mode.
            Wake::SentinelChanged => continue,
        };
        let mut events = VecDeque::from([event]);
        while let Some(event) = events.pop_front() {
            let woken_by_signal = matches!(event, Event::SignalReceived(_));
            for action in machine.on_event(event, Instant::now()) {
                match action {
                    Action::Announce(signal) => {
                        let name = signal_name(signal).unwrap_or_else(|| signal.to_string());
                        eprintln!("{program}: sending signal {name} to command {command}");
                    }
                    Action::SignalChild(signal) => process::send_to_child(child, signal),
                    Action::SignalOwnGroup(signal) => {
                        process::ignore(signal);
                        process::send_to_own_group(signal);
                    }
                    Action::ReportWaitError => {
                        eprintln!("{program}: error waiting for command: No child processes");
                    }
                    Action::ReportCoreDump => {
                        eprintln!("{program}: the monitored command dumped core");
                    }
                    Action::Exit(status) => return Ending::Exit(status),
                    Action::DieBy { signal, otherwise } => {
                        return Ending::DieBy { signal, otherwise };
                    }
                }
            }
            // Like GNU, look for the child after every signal too: with `-s CHLD` guillotine
            // ignores SIGCHLD, the kernel reaps the child, and only this notices it is gone.
            if woken_by_signal {
                let reaped = reap::reap();
                if let Some(ended) = reaped.ended.into_iter().find(|ended| ended.pid == child) {
                    events.push_back(Event::ChildEnded {
                        end: ended.end,
                        core_dumped: ended.core_dumped,
                    });
                } else if !reaped.anyone_left {
                    events.push_back(Event::ChildVanished);
                }
            }
        }
    }
}
