//! guillotine against the tools people use today, measured side by side in one run.
//!
//!     cargo bench --bench lifecycle            (prints one markdown table)
//!
//! - sentinel → the child receives the stop signal: the child (the test probe) takes a
//!   CLOCK_MONOTONIC timestamp when sigwait returns; the bench takes one just before it
//!   creates the sentinel. Beside guillotine (inotify, and `--poll 100ms`), the floor of the
//!   machine: a thread blocked on raw inotify that calls kill() at once, measured the same
//!   way.
//! - start overhead: wall time of `WRAPPER true` against plain `true`;
//! - idle cost of a wrapper around `sleep`: RSS (with its anonymous and file-backed parts)
//!   and PSS of the wrapper, and its voluntary context switches (all threads) over 10 s;
//! - the size of the release binary;
//! - last, the static build (the one pods get) against the targets of issue 16, each with
//!   its verdict, from the figures above.
//!
//! Peers (GNU timeout, tini-static, catatonit, dumb-init) are used when installed and
//! reported missing otherwise (Debian: `apt-get install tini catatonit dumb-init`).

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GUILLOTINE: &str = env!("CARGO_BIN_EXE_guillotine");
const PROBE: &str = env!("CARGO_BIN_EXE_guillotine-test-probe");
const LATENCY_ITERATIONS: usize = 500;
const START_ITERATIONS: usize = 300;
const IDLE_PERIOD: Duration = Duration::from_secs(10);
const ABANDONMENT_ITERATIONS: usize = 50;
/// The fully static build, when `.ci/build-static target/static` has made it.
const STATIC: &str = "target/static/guillotine";

fn monotonic_ns() -> i128 {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("clock");
    now.tv_sec() as i128 * 1_000_000_000 + now.tv_nsec() as i128
}

struct Stats {
    p50: f64,
    p99: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        p50: at(0.5),
        p99: at(0.99),
    }
}

/// Reads probe lines until one starts with `prefix`.
fn line_starting(reader: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "probe ended before {prefix}"
        );
        if line.starts_with(prefix) {
            return line.trim().to_owned();
        }
    }
}

fn field(line: &str, name: &str) -> i128 {
    line.split_whitespace()
        .find_map(|token| token.strip_prefix(name)?.strip_prefix('='))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
}

/// A pause before creating the sentinel that walks through every phase of a 100 ms polling
/// period, so that polling is measured at every offset and not just after start-up.
fn phase(iteration: usize) -> Duration {
    Duration::from_millis((iteration * 37 % 100) as u64)
}

/// Milliseconds from creating the sentinel to the child's sigwait returning.
fn guillotine_latency(program: &str, extra: &[&str]) -> Vec<f64> {
    (0..LATENCY_ITERATIONS)
        .map(|iteration| {
            let dir = tempfile::tempdir().unwrap();
            let done = dir.path().join("done");
            let mut child = Command::new(program)
                .args(["--watch", done.to_str().unwrap()])
                .args(extra)
                .args(["--", PROBE, "--timestamps"])
                .env("GUILLOTINE_LOG", "off")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = BufReader::new(child.stdout.take().unwrap());
            line_starting(&mut out, "ready");
            std::thread::sleep(phase(iteration));
            let before = monotonic_ns();
            fs::write(&done, b"").unwrap();
            let seen = field(&line_starting(&mut out, "signal"), "at");
            child.wait().unwrap();
            (seen - before) as f64 / 1e6
        })
        .collect()
}

/// Milliseconds from SIGKILL of a whole main container (`guillotine run --done` and its
/// command, as an OOM kill takes them) to its sidecar's child receiving the stop signal:
/// the dead-man's lock.
fn abandonment_latency() -> Vec<f64> {
    (0..ABANDONMENT_ITERATIONS)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let done = dir.path().join("done");
            let mut sidecar = Command::new(GUILLOTINE)
                .args([
                    "--watch",
                    done.to_str().unwrap(),
                    "--",
                    PROBE,
                    "--timestamps",
                ])
                .env("GUILLOTINE_LOG", "off")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut sidecar_out = BufReader::new(sidecar.stdout.take().unwrap());
            line_starting(&mut sidecar_out, "ready");
            let mut main = Command::new(GUILLOTINE)
                .args(["run", "--done", done.to_str().unwrap(), "--", PROBE])
                .env("GUILLOTINE_LOG", "off")
                .stdout(Stdio::piped())
                .process_group(0)
                .spawn()
                .unwrap();
            let mut main_out = BufReader::new(main.stdout.take().unwrap());
            let command_group = field(&line_starting(&mut main_out, "ready"), "pgid") as i32;
            let lock = dir.path().join(".done.guillotine-lock");
            while !lock.exists() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let before = monotonic_ns();
            for group in [main.id() as i32, command_group] {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(group),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let seen = field(&line_starting(&mut sidecar_out, "signal"), "at");
            let _ = main.wait();
            sidecar.wait().unwrap();
            (seen - before) as f64 / 1e6
        })
        .collect()
}

/// The floor: a thread blocked on raw inotify that kills the probe at once.
fn floor_latency() -> Vec<f64> {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    (0..LATENCY_ITERATIONS)
        .map(|iteration| {
            let dir = tempfile::tempdir().unwrap();
            let done = dir.path().join("done");
            let mut child = Command::new(PROBE)
                .arg("--timestamps")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = BufReader::new(child.stdout.take().unwrap());
            line_starting(&mut out, "ready");
            let inotify = Inotify::init(InitFlags::IN_CLOEXEC).unwrap();
            inotify
                .add_watch(dir.path(), AddWatchFlags::IN_CREATE)
                .unwrap();
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let watcher = std::thread::spawn(move || {
                inotify.read_events().unwrap();
                nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
            });
            std::thread::sleep(phase(iteration));
            let before = monotonic_ns();
            fs::write(&done, b"").unwrap();
            let seen = field(&line_starting(&mut out, "signal"), "at");
            watcher.join().unwrap();
            child.wait().unwrap();
            (seen - before) as f64 / 1e6
        })
        .collect()
}

/// A wrapper and the arguments that put it in front of a command.
struct Peer {
    name: &'static str,
    argv: Vec<String>,
}

fn peers() -> (Vec<Peer>, Vec<&'static str>) {
    let candidates: [(&str, &str, &[&str]); 4] = [
        ("GNU timeout 10", "/usr/bin/timeout", &["10"]),
        ("tini-static", "/usr/bin/tini-static", &["-s", "--"]),
        ("catatonit", "/usr/bin/catatonit", &["--"]),
        ("dumb-init", "/usr/bin/dumb-init", &["--"]),
    ];
    let mut found = vec![Peer {
        name: "guillotine",
        argv: vec![GUILLOTINE.into(), "--".into()],
    }];
    if Path::new(STATIC).exists() {
        found.push(Peer {
            name: "guillotine static musl",
            argv: vec![STATIC.into(), "--".into()],
        });
    }
    let mut missing = vec![];
    for (name, path, args) in candidates {
        if Path::new(path).exists() {
            let mut argv = vec![path.to_owned()];
            argv.extend(args.iter().map(|arg| (*arg).to_owned()));
            found.push(Peer { name, argv });
        } else {
            missing.push(name);
        }
    }
    (found, missing)
}

fn true_command(prefix: &[String]) -> Command {
    let mut argv: Vec<String> = prefix.to_vec();
    argv.push("true".into());
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).env("GUILLOTINE_LOG", "off");
    command
}

fn start_times(prefix: &[String]) -> Vec<f64> {
    (0..START_ITERATIONS)
        .map(|_| {
            let began = Instant::now();
            assert!(true_command(prefix).status().unwrap().success());
            began.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

/// Sum of a numeric field over every thread of `pid`.
fn voluntary_switches(pid: u32) -> u64 {
    fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|task| {
            let status = fs::read_to_string(task.unwrap().path().join("status")).unwrap();
            status
                .lines()
                .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|value| value.trim().parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

fn kilobytes(file: &str, pid: u32, field: &str) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// An idle wrapper around `sleep 3600`, in a process group of its own. Dropped, it is
/// stopped the way its users stop it (TERM, which every wrapper here passes on to `sleep`),
/// then its group is killed: the bench ends only what it started.
struct Idle {
    name: String,
    child: Child,
}

impl Drop for Idle {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

fn main() {
    let dir_for_idle = tempfile::tempdir().unwrap();
    let (peers, missing) = peers();
    let mut table = String::new();
    let machine = machine();
    table.push_str(&format!("Measured {} on {machine}.\n\n", date()));

    table.push_str("### Sentinel → the child receives the stop signal (ms)\n\n");
    table.push_str(&format!("{LATENCY_ITERATIONS} iterations each.\n\n| watcher | p50 | p99 | p50 / floor |\n|---|---|---|---|\n"));
    let floor = stats(floor_latency());
    let inotify = stats(guillotine_latency(GUILLOTINE, &[]));
    let poll = stats(guillotine_latency(GUILLOTINE, &["--poll", "100ms"]));
    let mut rows = vec![
        (
            "floor: raw inotify + kill() in one thread",
            floor.p50,
            floor.p99,
        ),
        ("guillotine (inotify)", inotify.p50, inotify.p99),
        ("guillotine --poll 100ms", poll.p50, poll.p99),
    ];
    let mut targets = Targets::default();
    if Path::new(STATIC).exists() {
        let fully_static = stats(guillotine_latency(STATIC, &[]));
        targets.latency = Some((fully_static.p50, fully_static.p99, floor.p50, floor.p99));
        rows.insert(
            2,
            (
                "guillotine static musl (inotify)",
                fully_static.p50,
                fully_static.p99,
            ),
        );
    }
    for (name, p50, p99) in rows {
        table.push_str(&format!(
            "| {name} | {p50:.3} | {p99:.3} | {:.1}× |\n",
            p50 / floor.p50
        ));
    }

    let abandoned = stats(abandonment_latency());
    table.push_str(&format!(
        "\n### A main container killed whole → its sidecar's child receives the stop signal (ms)\n\n{ABANDONMENT_ITERATIONS} iterations; the dead-man's lock (a thread asleep in flock(2)).\n\n| | p50 | p99 |\n|---|---|---|\n| guillotine, `run --done` SIGKILLed with its command | {:.3} | {:.3} |\n",
        abandoned.p50, abandoned.p99
    ));

    table.push_str(&format!(
        "\n### Start overhead: `WRAPPER true` (ms, {START_ITERATIONS} runs each)\n\n| wrapper | p50 | p99 | p50 over plain `true` |\n|---|---|---|---|\n"
    ));
    let plain = stats(start_times(&[]));
    table.push_str(&format!(
        "| plain `true` | {:.3} | {:.3} | |\n",
        plain.p50, plain.p99
    ));
    for peer in &peers {
        let row = stats(start_times(&peer.argv));
        let overhead = row.p50 - plain.p50;
        match peer.name {
            "guillotine static musl" => targets.start = Some(overhead),
            "catatonit" => targets.catatonit_start = Some(overhead),
            _ => {}
        }
        table.push_str(&format!(
            "| {} | {:.3} | {:.3} | {overhead:+.3} |\n",
            peer.name, row.p50, row.p99
        ));
    }

    table.push_str(&format!(
        "\n### Idle wrapper around `sleep` ({} s)\n\n| wrapper | RSS kB | of which anonymous | of which file-backed | PSS kB | voluntary context switches |\n|---|---|---|---|---|---|\n",
        IDLE_PERIOD.as_secs()
    ));
    let sentinel = dir_for_idle.path().join("never");
    let mut idle: Vec<Idle> = Vec::new();
    for peer in &peers {
        // `timeout 10` would end within the idle period: give it the same hour as `sleep`.
        let argv: Vec<String> = peer
            .argv
            .iter()
            .map(|arg| {
                if arg == "10" {
                    "3600".to_owned()
                } else {
                    arg.clone()
                }
            })
            .collect();
        let name = peer.name.replace("timeout 10", "timeout 3600");
        idle.push(start_idle(name, &argv));
    }
    let never = sentinel.to_string_lossy().into_owned();
    let variants: [(&str, Vec<&str>); 3] = [
        ("guillotine --lifetime 1h", vec!["--lifetime", "1h"]),
        ("guillotine --watch (inotify)", vec!["--watch", &never]),
        (
            "guillotine --watch --poll 100ms",
            vec!["--watch", &never, "--poll", "100ms"],
        ),
    ];
    for (name, options) in variants {
        let mut argv: Vec<String> = vec![GUILLOTINE.into()];
        argv.extend(options.iter().map(|option| (*option).to_owned()));
        argv.push("--".into());
        idle.push(start_idle(name.into(), &argv));
    }
    // A sidecar whose main container is attached: it waits on the dead-man's lock in a
    // thread of its own. The main container (`run --done … -- sleep`) is not measured.
    let attached = dir_for_idle.path().join("attached");
    let attached_arg = attached.to_string_lossy().into_owned();
    let main_container = start_idle(
        "main container".into(),
        &[
            GUILLOTINE.into(),
            "run".into(),
            "--done".into(),
            attached_arg.clone(),
            "--".into(),
        ],
    );
    while !dir_for_idle
        .path()
        .join(".attached.guillotine-lock")
        .exists()
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    idle.push(start_idle(
        "guillotine --watch, a main container attached (dead-man's lock)".into(),
        &[
            GUILLOTINE.into(),
            "--watch".into(),
            attached_arg,
            "--".into(),
        ],
    ));
    // Let start-up settle, then count over the idle period.
    std::thread::sleep(Duration::from_secs(1));
    let before: Vec<u64> = idle
        .iter()
        .map(|w| voluntary_switches(w.child.id()))
        .collect();
    std::thread::sleep(IDLE_PERIOD);
    for (wrapper, before) in idle.iter_mut().zip(before) {
        let pid = wrapper.child.id();
        let switches = voluntary_switches(pid) - before;
        let rss = kilobytes("status", pid, "VmRSS:");
        let anonymous = kilobytes("status", pid, "RssAnon:");
        let file_backed = kilobytes("status", pid, "RssFile:");
        let pss = kilobytes("smaps_rollup", pid, "Pss:");
        if wrapper.name == "guillotine static musl" {
            targets.idle = Some((rss, anonymous, switches));
        }
        table.push_str(&format!(
            "| {} | {rss} | {anonymous} | {file_backed} | {pss} | {switches} |\n",
            wrapper.name
        ));
    }
    drop(idle);
    drop(main_container);

    table.push_str("\n### Binary size (bytes)\n\n| build | size |\n|---|---|\n");
    for (name, path) in [
        ("release (glibc, dynamic)", PathBuf::from(GUILLOTINE)),
        (
            "static musl (`.ci/build-static`)",
            PathBuf::from("target/static/guillotine"),
        ),
        // The inject tool, built beside it and shipped in the image, never copied into a
        // pod: its size is shown so that the row above is seen not to grow with it.
        (
            "kubectl-guillotine, static musl (not in pods)",
            PathBuf::from("target/static/kubectl-guillotine"),
        ),
    ] {
        match fs::metadata(&path) {
            Ok(metadata) => {
                if path == Path::new(STATIC) {
                    targets.size = Some(metadata.len());
                }
                table.push_str(&format!("| {name} | {} |\n", metadata.len()));
            }
            Err(_) => table.push_str(&format!("| {name} | not built |\n")),
        }
    }
    if !missing.is_empty() {
        table.push_str(&format!(
            "\nNot installed, so not measured: {}.\n",
            missing.join(", ")
        ));
    }
    table.push_str(&targets.table());
    println!("{table}");
}

/// The static build's figures of this run, for the targets of issue 16 (None: not
/// measured, because the static build or catatonit is missing).
#[derive(Default)]
struct Targets {
    size: Option<u64>,
    /// RSS kB, of which anonymous kB, voluntary context switches over the idle period.
    idle: Option<(u64, u64, u64)>,
    /// p50 over plain `true`, ms.
    start: Option<f64>,
    catatonit_start: Option<f64>,
    /// p50, p99, floor p50, floor p99, ms.
    latency: Option<(f64, f64, f64, f64)>,
}

impl Targets {
    fn table(&self) -> String {
        let mut rows = String::from(
            "\n### Against the targets of issue 16 (static musl, the build pods get)\n\n| target | this run | verdict |\n|---|---|---|\n",
        );
        let mut row = |target: &str, measured: Option<(String, bool, String)>| {
            let (value, verdict) = match measured {
                Some((value, true, _)) => (value, "met".to_owned()),
                Some((value, false, gap)) => (value, format!("missed by {gap}")),
                None => ("not measured".to_owned(), "—".to_owned()),
            };
            rows.push_str(&format!("| {target} | {value} | {verdict} |\n"));
        };
        const MB: u64 = 1_000_000;
        row(
            "binary size ≤ 1.2 MB",
            self.size.map(|size| {
                let gap = size.saturating_sub(12 * MB / 10);
                (format!("{size} B"), gap == 0, format!("{gap} B"))
            }),
        );
        row(
            "idle RSS ≤ 1 MB (1,000 kB)",
            self.idle.map(|(rss, anonymous, _)| {
                let gap = rss.saturating_sub(1000);
                (
                    format!("{rss} kB ({anonymous} kB anonymous)"),
                    gap == 0,
                    format!("{gap} kB"),
                )
            }),
        );
        row(
            "start overhead ≤ catatonit's",
            self.start
                .zip(self.catatonit_start)
                .map(|(own, catatonit)| {
                    (
                        format!("{own:+.3} ms (catatonit {catatonit:+.3} ms)"),
                        own <= catatonit,
                        format!("{:.3} ms", own - catatonit),
                    )
                }),
        );
        let within = |value: f64, floor: f64, factor: f64| {
            (
                format!("{value:.3} ms, floor {floor:.3} ms ({:.1}×)", value / floor),
                value <= factor * floor,
                format!("{:.3} ms", value - factor * floor),
            )
        };
        row(
            "sentinel → stop signal p50 ≤ 1.5× floor p50",
            self.latency
                .map(|(p50, _, floor, _)| within(p50, floor, 1.5)),
        );
        row(
            "sentinel → stop signal p99 ≤ 2× floor p99",
            self.latency
                .map(|(_, p99, _, floor)| within(p99, floor, 2.0)),
        );
        row(
            "idle wake-ups: 0",
            self.idle.map(|(_, _, switches)| {
                (
                    format!("{switches} in {} s", IDLE_PERIOD.as_secs()),
                    switches == 0,
                    format!("{switches}"),
                )
            }),
        );
        rows
    }
}

fn start_idle(name: String, prefix: &[String]) -> Idle {
    let mut argv = prefix.to_vec();
    argv.extend(["sleep".into(), "3600".into()]);
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .env("GUILLOTINE_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    Idle { name, child }
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpu}, {} cores, Linux {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        kernel.trim()
    )
}

fn date() -> String {
    Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}
