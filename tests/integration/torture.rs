//! Randomized lifecycles against a model written independently of the implementation.
//!
//! Each lifecycle picks, from a seed, what the child does (exit with a random code, die of a
//! random signal, ignore TERM, fork grandchildren in its group, an orphan that leaves it, a
//! flood of short-lived children) and what ends it (the child itself, a sentinel at a random
//! moment including during start-up, a lifetime, a signal sent to guillotine), sometimes
//! with guillotine as PID 1 of a PID namespace. After each run: the exit status is one the
//! model allows, and no process of the run is left, not even a zombie.
//!
//! The seed is printed; `TORTURE_SEED=N` replays it. `TORTURE_LIFECYCLES=N` sets the count
//! per test (4 tests; CI runs 4 × 50). The long run, 10,000 lifecycles:
//! `TORTURE_LIFECYCLES=2500 cargo nextest run --profile long torture --no-capture`.

use crate::harness::{
    GUILLOTINE, Guillotine, PROBE, Track, clean_environment, pause_for_random_moment, scratch,
};
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::time::Duration;

/// xorshift64*: small, seedable, good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone, Copy)]
enum End {
    ChildExits(u8),
    ChildDies(Signal),
    SentinelAfter(Duration),
    Lifetime(Duration),
    SignalToGuillotine(Signal),
}

#[derive(Debug, Clone)]
struct Lifecycle {
    ignores_term: bool,
    grandchildren: u64,
    orphan: bool,
    flood: u64,
    end: End,
    pid1: bool,
}

/// Below this, a lifetime may fire before the probe has set up its signal handling, so a
/// child meant to ignore TERM may still die of it.
const START_UP_MARGIN: Duration = Duration::from_millis(300);

fn random_lifecycle(rng: &mut Rng) -> Lifecycle {
    let lethal = [
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGTERM,
    ];
    let deaths = [
        Signal::SIGKILL,
        Signal::SIGTERM,
        Signal::SIGSEGV,
        Signal::SIGABRT,
        Signal::SIGUSR1,
    ];
    let ignores_term = rng.chance(30);
    let pid1 = rng.chance(15);
    let end = match rng.below(if pid1 { 4 } else { 5 }) {
        0 => End::ChildExits(rng.below(256) as u8),
        1 => End::ChildDies(deaths[rng.below(deaths.len() as u64) as usize]),
        2 => End::SentinelAfter(Duration::from_millis(rng.below(30))),
        3 => End::Lifetime(Duration::from_millis(10 + rng.below(400))),
        _ => {
            let signal = lethal[rng.below(lethal.len() as u64) as usize];
            End::SignalToGuillotine(if ignores_term && signal == Signal::SIGTERM {
                Signal::SIGINT
            } else {
                signal
            })
        }
    };
    Lifecycle {
        ignores_term,
        grandchildren: rng.below(3),
        orphan: rng.chance(30),
        flood: if rng.chance(20) { 30 } else { 0 },
        end,
        pid1,
    }
}

/// The statuses the model allows, worked out from the documented rules alone.
fn allowed(lifecycle: &Lifecycle) -> Vec<i32> {
    match lifecycle.end {
        End::ChildExits(code) => vec![i32::from(code)],
        End::ChildDies(signal) => vec![128 + signal as i32],
        End::SentinelAfter(_) => vec![0],
        // 124, or 137 when SIGKILL was needed: when something in the tree ignores TERM.
        End::Lifetime(after) if lifecycle.ignores_term && after < START_UP_MARGIN => vec![124, 137],
        End::Lifetime(_) if lifecycle.ignores_term => vec![137],
        End::Lifetime(_) => vec![124],
        End::SignalToGuillotine(signal) => vec![128 + signal as i32],
    }
}

fn run_one(lifecycle: &Lifecycle, label: &str) {
    let dir = scratch();
    let sentinel = dir.path().join("done");
    let mut args: Vec<String> = vec!["--grace".into(), "100ms".into()];
    args.extend(["--watch".into(), sentinel.to_str().unwrap().to_owned()]);
    if let End::Lifetime(after) = lifecycle.end {
        args.extend(["--lifetime".into(), format!("{}ms", after.as_millis())]);
    }
    args.extend(["--".into(), PROBE.into()]);
    if lifecycle.ignores_term {
        args.extend(["--ignore".into(), "TERM".into()]);
    }
    args.extend([
        "--grandchildren".into(),
        lifecycle.grandchildren.to_string(),
    ]);
    if lifecycle.orphan {
        args.push("--orphan".into());
    }
    if lifecycle.flood > 0 {
        args.extend(["--flood".into(), lifecycle.flood.to_string()]);
    }
    match lifecycle.end {
        End::ChildExits(code) => args.extend(["--exit".into(), code.to_string()]),
        End::ChildDies(signal) => args.extend([
            "--die".into(),
            signal.as_str().trim_start_matches("SIG").into(),
        ]),
        _ => {}
    }
    let mut command = if lifecycle.pid1 {
        let mut command = std::process::Command::new("unshare");
        command.args(["--pid", "--fork", "--mount-proc", GUILLOTINE]);
        command
    } else {
        std::process::Command::new(GUILLOTINE)
    };
    command.args(&args);
    clean_environment(&mut command);
    let track = if lifecycle.pid1 {
        Track::Nothing
    } else {
        Track::ProbePids
    };
    let mut run = Guillotine::spawn(command, track);
    match lifecycle.end {
        End::SentinelAfter(after) => {
            pause_for_random_moment(after);
            std::fs::write(&sentinel, b"").unwrap();
        }
        End::SignalToGuillotine(signal) => {
            run.wait_ready();
            run.signal(signal);
        }
        _ => {}
    }
    let status = run.wait_exit();
    let expected = allowed(lifecycle);
    let code = status.code().unwrap_or(-1);
    if !expected.contains(&code) {
        run.fail(&format!(
            "{label}: {lifecycle:?} exited {status}, the model allows {expected:?}"
        ));
    }
    run.assert_nothing_left();
}

fn torture(stream: u64) {
    let seed = std::env::var("TORTURE_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let count: u64 = std::env::var("TORTURE_LIFECYCLES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(50);
    eprintln!(
        "torture stream {stream}: seed {seed} (replay with TORTURE_SEED={seed}), {count} lifecycles"
    );
    let mut rng = Rng(seed.wrapping_add(stream.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for index in 0..count {
        let lifecycle = random_lifecycle(&mut rng);
        let label = format!("seed {seed} stream {stream} lifecycle {index}");
        run_one(&lifecycle, &label);
        let kind = format!("{:?}", lifecycle.end);
        let kind = kind.split('(').next().unwrap().to_owned();
        *counts.entry(kind).or_default() += 1;
        if lifecycle.pid1 {
            *counts.entry("as PID 1".into()).or_default() += 1;
        }
    }
    eprintln!("torture stream {stream}: {count} lifecycles passed: {counts:?}");
}

#[test]
fn torture_stream_1() {
    torture(1);
}

#[test]
fn torture_stream_2() {
    torture(2);
}

#[test]
fn torture_stream_3() {
    torture(3);
}

#[test]
fn torture_stream_4() {
    torture(4);
}
