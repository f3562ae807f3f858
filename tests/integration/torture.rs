//! Randomized lifecycles against a model written independently of the implementation.
//!
//! Each lifecycle picks, from a seed, what the child does (exit with a random code, die of a
//! random signal, ignore TERM, fork grandchildren in its group, an orphan that leaves it, a
//! flood of short-lived children, and a process tree up to four levels deep whose members
//! may `setsid`, `setpgid` into a group of their own and ignore TERM), how many sentinels
//! are watched (some in directories that do not exist yet), and what ends it: the child
//! itself, a sentinel at a random moment (including during start-up) written by several
//! concurrent `guillotine done` writers (some as PID 1 of their own namespace), a lifetime,
//! a signal sent to guillotine (forwarded, or under `--on-term stop` its own stop), a signal
//! sent to the main container's `guillotine run` while it waits for readiness, or the main
//! container killed whole (its dead-man's lock). Lifetimes are given as `--lifetime` or as a
//! wall-clock `--deadline`. Sometimes guillotine is PID 1 of a PID namespace. After
//! each run: every exit status and sentinel content is one the model allows, and no
//! process of the run is left, not even a zombie.
//!
//! The seed is printed; `TORTURE_SEED=N` replays it. `TORTURE_LIFECYCLES=N` sets the count
//! per test (4 tests; CI runs 4 × 50). The long run, 10,000 lifecycles:
//! `TORTURE_LIFECYCLES=2500 cargo nextest run --profile long torture --no-capture`.

use crate::harness::{
    DEADLINE, GUILLOTINE, Guillotine, PROBE, Track, clean_environment, eventually, free_port,
    pause_for_random_moment, scratch,
};
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy)]
enum End {
    ChildExits(u8),
    ChildDies(Signal),
    /// A sentinel (which one, of those watched) written after a random moment.
    SentinelAfter(Duration, usize),
    Lifetime(Duration),
    SignalToGuillotine(Signal),
    /// The main container's `guillotine run --done` is signalled while it waits.
    MainSignalledDuringWait(Signal),
    /// The main container is killed whole (an OOM kill) without writing the sentinel: its
    /// dead-man's lock goes, and the sidecar stops as abandoned (mapped to 3 here).
    MainKilled,
}

/// One process of the child's tree, as the probe's `--tree` builds it.
#[derive(Debug, Clone)]
struct Node {
    setsid: bool,
    own_group: bool,
    ignores_term: bool,
    children: Vec<Node>,
}

#[derive(Debug, Clone)]
struct Lifecycle {
    ignores_term: bool,
    grandchildren: u64,
    orphan: bool,
    flood: u64,
    tree: Vec<Node>,
    /// Sentinel paths relative to the run's directory.
    sentinels: Vec<&'static str>,
    writers: u64,
    end: End,
    pid1: bool,
    /// `--on-term stop`: a TERM to guillotine runs its stop sequence (cause `terminated`,
    /// mapped to [`TERMINATED`]) instead of being forwarded.
    stop_on_term: bool,
    /// The lifetime is given as `--deadline` (a wall-clock moment) instead of `--lifetime`.
    as_deadline: bool,
}

/// The status the sidecars of the torture map an abandonment to, so that its cause shows.
const ABANDONED: i32 = 3;

/// The status they map `terminated` (a TERM under `--on-term stop`) to.
const TERMINATED: i32 = 5;

/// Below this, a lifetime may fire before the probe and its tree have set up their signal
/// handling, so a process meant to ignore TERM may still die of it (or one meant to die of
/// it may not exist yet).
const START_UP_MARGIN: Duration = Duration::from_millis(300);

const SENTINELS: [&str; 3] = ["done", "more/done", "more/deeper/done"];

/// A tree whose nodes sit at most `levels` below the probe.
fn random_tree(rng: &mut Rng, levels: u32) -> Vec<Node> {
    if levels == 0 {
        return vec![];
    }
    let count = if rng.chance(50) { 0 } else { 1 + rng.below(2) };
    (0..count)
        .map(|_| {
            let setsid = rng.chance(35);
            Node {
                setsid,
                own_group: !setsid && rng.chance(30),
                ignores_term: rng.chance(30),
                children: random_tree(rng, levels - 1),
            }
        })
        .collect()
}

fn spec(tree: &[Node]) -> String {
    tree.iter()
        .map(|node| {
            let mut text = String::from(".");
            for (flag, set) in [
                ('s', node.setsid),
                ('g', node.own_group),
                ('i', node.ignores_term),
            ] {
                if set {
                    text.push(flag);
                }
            }
            if !node.children.is_empty() {
                text.push_str(&format!("({})", spec(&node.children)));
            }
            text
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The `path=` of every node, as the probe reports them.
fn node_paths(tree: &[Node], above: &str, paths: &mut Vec<String>) {
    for (index, node) in tree.iter().enumerate() {
        let path = format!("{above}{index}");
        node_paths(&node.children, &format!("{path}."), paths);
        paths.push(path);
    }
}

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
    let sentinels = SENTINELS[..1 + rng.below(3) as usize].to_vec();
    let end = match rng.below(if pid1 { 6 } else { 7 }) {
        0 => End::ChildExits(rng.below(256) as u8),
        1 => End::ChildDies(rng.pick(&deaths)),
        2 => End::SentinelAfter(
            Duration::from_millis(rng.below(30)),
            rng.below(sentinels.len() as u64) as usize,
        ),
        3 => End::Lifetime(Duration::from_millis(10 + rng.below(400))),
        4 => End::MainSignalledDuringWait(rng.pick(&[
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
        ])),
        5 => End::MainKilled,
        _ => {
            let signal = rng.pick(&lethal);
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
        tree: random_tree(rng, 3),
        sentinels,
        writers: 1 + rng.below(3),
        end,
        pid1,
        stop_on_term: rng.chance(40),
        as_deadline: rng.chance(40),
    }
}

/// Whether the lifetime's stop signal leaves something alive until SIGKILL, by the
/// documented rule: the stop signal reaches the child's group and every process guillotine
/// has adopted (whose parent has died), an adopted group leader's whole group with it; a
/// process whose parent lives is that parent's to stop. Each death may adopt more.
fn lifetime_needs_sigkill(lifecycle: &Lifecycle) -> bool {
    // (parent index, group id, ignores TERM); index 0 is the child, group 0 its group.
    let mut processes: Vec<(Option<usize>, usize, bool)> = vec![(None, 0, lifecycle.ignores_term)];
    // Grandchildren share the child's group; the orphan leads a group of its own, adopted
    // from the start (its parent exits at once).
    for _ in 0..lifecycle.grandchildren {
        processes.push((Some(0), 0, lifecycle.ignores_term));
    }
    fn add(
        tree: &[Node],
        parent: usize,
        group: usize,
        processes: &mut Vec<(Option<usize>, usize, bool)>,
    ) {
        for node in tree {
            let index = processes.len();
            let own = if node.setsid || node.own_group {
                index
            } else {
                group
            };
            processes.push((Some(parent), own, node.ignores_term));
            add(&node.children, index, own, processes);
        }
    }
    add(&lifecycle.tree, 0, 0, &mut processes);
    let mut alive = vec![true; processes.len()];
    // The orphan and its workers: adopted at once, they ignore TERM as the child does.
    let orphan_ignores = lifecycle.orphan && lifecycle.ignores_term;
    loop {
        let adopted =
            |index: usize, alive: &[bool]| processes[index].0.is_some_and(|parent| !alive[parent]);
        let reached: Vec<bool> = (0..processes.len())
            .map(|index| {
                let (_, group, _) = processes[index];
                group == 0
                    || adopted(index, &alive)
                    || (alive[group] && processes[group].1 == group && adopted(group, &alive))
            })
            .collect();
        let mut changed = false;
        for index in 0..processes.len() {
            if alive[index] && reached[index] && !processes[index].2 {
                alive[index] = false;
                changed = true;
            }
        }
        if !changed {
            return orphan_ignores || alive.iter().any(|alive| *alive);
        }
    }
}

/// The statuses guillotine may exit with, worked out from the documented rules alone.
fn allowed(lifecycle: &Lifecycle) -> Vec<i32> {
    match lifecycle.end {
        End::ChildExits(code) => vec![i32::from(code)],
        End::ChildDies(signal) => vec![128 + signal as i32],
        End::SentinelAfter(..) | End::MainSignalledDuringWait(_) => vec![0],
        End::MainKilled => vec![ABANDONED],
        // 124, or 137 when SIGKILL was needed.
        End::Lifetime(after) if after < START_UP_MARGIN => vec![124, 137],
        End::Lifetime(_) if lifetime_needs_sigkill(lifecycle) => vec![137],
        End::Lifetime(_) => vec![124],
        End::SignalToGuillotine(Signal::SIGTERM) if lifecycle.stop_on_term => vec![TERMINATED],
        End::SignalToGuillotine(signal) => vec![128 + signal as i32],
    }
}

fn probe_args(lifecycle: &Lifecycle) -> Vec<String> {
    let mut args: Vec<String> = vec![PROBE.into()];
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
    if !lifecycle.tree.is_empty() {
        args.extend(["--tree".into(), spec(&lifecycle.tree)]);
    }
    match lifecycle.end {
        End::ChildExits(code) => args.extend(["--exit".into(), code.to_string()]),
        End::ChildDies(signal) => args.extend([
            "--die".into(),
            signal.as_str().trim_start_matches("SIG").into(),
        ]),
        _ => {}
    }
    args
}

/// `guillotine ARGS`, or as PID 1 of a new PID namespace.
fn command(args: &[String], pid1: bool) -> std::process::Command {
    let mut command = if pid1 {
        let mut command = std::process::Command::new("unshare");
        command.args(["--pid", "--fork", "--mount-proc", GUILLOTINE]);
        command
    } else {
        std::process::Command::new(GUILLOTINE)
    };
    command.args(args);
    clean_environment(&mut command);
    command
}

/// Several `guillotine done` racing on one sentinel, some as PID 1 of their own namespace
/// (where every writer has the same pid): each must succeed.
fn concurrent_writers(path: &Path, writers: u64, code: u8, label: &str) {
    let mut runs: Vec<Guillotine> = (0..writers)
        .map(|index| {
            let args = vec![
                "done".to_owned(),
                "--exit-code".to_owned(),
                code.to_string(),
                path.to_str().unwrap().to_owned(),
            ];
            Guillotine::spawn(command(&args, index % 2 == 1), Track::Nothing)
        })
        .collect();
    for run in &mut runs {
        let status = run.wait_exit();
        if status.code() != Some(0) {
            run.fail(&format!("{label}: a concurrent writer failed: {status}"));
        }
    }
}

fn contents(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| format!("<{error}>"))
}

fn run_one(lifecycle: &Lifecycle, label: &str) {
    let dir = scratch();
    let sentinels: Vec<PathBuf> = lifecycle
        .sentinels
        .iter()
        .map(|name| dir.path().join(name))
        .collect();
    let mut args: Vec<String> = vec![
        "--grace".into(),
        "100ms".into(),
        "--exit-map".into(),
        format!("abandoned={ABANDONED}"),
    ];
    for sentinel in &sentinels {
        args.extend(["--watch".into(), sentinel.to_str().unwrap().to_owned()]);
    }
    if lifecycle.stop_on_term {
        args.extend([
            "--on-term".into(),
            "stop".into(),
            "--exit-map".into(),
            format!("terminated={TERMINATED}"),
        ]);
    }
    if let End::Lifetime(after) = lifecycle.end
        && lifecycle.as_deadline
    {
        let at = std::time::SystemTime::now() + after;
        args.extend([
            "--deadline".into(),
            guillotine::timestamp::format_timestamp(at).unwrap(),
        ]);
    } else if let End::Lifetime(after) = lifecycle.end {
        args.extend(["--lifetime".into(), format!("{}ms", after.as_millis())]);
    }
    args.push("--".into());
    args.extend(probe_args(lifecycle));
    let track = if lifecycle.pid1 {
        Track::Nothing
    } else {
        Track::ProbePids
    };
    let mut run = Guillotine::spawn(command(&args, lifecycle.pid1), track);
    let mut paths = Vec::new();
    node_paths(&lifecycle.tree, "", &mut paths);
    let wait_for_tree = |run: &mut Guillotine| {
        run.wait_ready();
        for path in &paths {
            let tag = format!("path={path}");
            run.wait_line(&tag.clone(), |line| {
                line.starts_with("node ") && line.ends_with(&tag)
            });
        }
    };
    match lifecycle.end {
        End::SentinelAfter(after, which) => {
            pause_for_random_moment(after);
            concurrent_writers(&sentinels[which], lifecycle.writers, 0, label);
            if contents(&sentinels[which]) != "0\n" {
                run.fail(&format!(
                    "{label}: the sentinel holds {:?}",
                    contents(&sentinels[which])
                ));
            }
        }
        End::SignalToGuillotine(signal) => {
            wait_for_tree(&mut run);
            run.signal(signal);
        }
        End::MainSignalledDuringWait(signal) => {
            wait_for_tree(&mut run);
            let sentinel = &sentinels[sentinels.len() - 1];
            let probe = format!("tcp://127.0.0.1:{}", free_port());
            let mut main = Guillotine::start(&[
                "run",
                "--done",
                sentinel.to_str().unwrap(),
                "--wait-for",
                &probe,
                "--",
                "true",
            ]);
            eventually("run is waiting", DEADLINE, || {
                let stderr = main.stderr();
                if stderr.contains("waiting for readiness") {
                    Ok(())
                } else {
                    Err(stderr)
                }
            });
            main.signal(signal);
            let expected = 128 + signal as i32;
            main.expect_exit(expected);
            if contents(sentinel) != format!("{expected}\n") {
                main.fail(&format!(
                    "{label}: the sentinel holds {:?}",
                    contents(sentinel)
                ));
            }
        }
        End::MainKilled => {
            wait_for_tree(&mut run);
            let sentinel = &sentinels[0];
            let mut main =
                Guillotine::start(&["run", "--done", sentinel.to_str().unwrap(), "--", PROBE]);
            let child_group = main.wait_ready().pgid;
            let lock = guillotine::deadman::companion(sentinel);
            eventually("run holds its lock", DEADLINE, || {
                if lock.exists() {
                    Ok(())
                } else {
                    Err("no lock file".into())
                }
            });
            for group in [main.pid(), child_group] {
                let _ =
                    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(group), Signal::SIGKILL);
            }
            // Its processes are init's to reap now, as in a pod.
            main.wait_exit();
        }
        _ => {}
    }
    let status = run.wait_exit();
    let expected = allowed(lifecycle);
    let code = status.code().unwrap_or(-1);
    if !expected.contains(&code) {
        run.fail(&format!(
            "{label}: {lifecycle:?} (tree {}) exited {status}, the model allows {expected:?}",
            spec(&lifecycle.tree)
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
        if !lifecycle.tree.is_empty() {
            *counts.entry("with a tree".into()).or_default() += 1;
        }
        if lifecycle.sentinels.len() > 1 {
            *counts.entry("several sentinels".into()).or_default() += 1;
        }
        if lifecycle.stop_on_term {
            *counts.entry("--on-term stop".into()).or_default() += 1;
        }
        if lifecycle.as_deadline && matches!(lifecycle.end, End::Lifetime(_)) {
            *counts.entry("lifetime as --deadline".into()).or_default() += 1;
        }
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
