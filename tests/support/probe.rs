//! The test probe: a child for guillotine's integration tests (never shipped).
//!
//! It reports, one line each on stdout, that it is ready, every signal it receives, and the
//! processes it forks, so tests synchronise on what it prints instead of sleeping.
//!
//! ```text
//! guillotine-test-probe [--ignore SIG]... [--ignore-all] [--grandchildren N]
//!                       [--orphan] [--orphan-workers N] [--orphan-exits] [--exit N] [--die SIG]
//!                       [--serve-quit PORT] [--flood N] [--timestamps] [--chain N]
//!                       [--tree SPEC]
//! ```
//! Lines: `ready pid=P pgid=G ppid=Q`,
//! `grandchild pid=P pgid=G`, `orphan pid=P pgid=G`, `worker pid=P pgid=G`,
//! `adopted pid=P ppid=Q`, `link pid=P pgid=G ppid=Q` (`--chain N`: N processes, each the
//! child of the one before and each in a session of its own, as PostgreSQL starts its
//! backends; they behave as the probe does for signals), `node pid=P pgid=G ppid=Q
//! path=I.J` (`--tree SPEC`: a process tree; SPEC is a comma-separated list of nodes, each
//! node a run of flags — `s` setsid, `g` setpgid into a group of its own, `i` ignore TERM,
//! `.` none —
//! followed by its own children in parentheses, e.g. `s(i,g(i)),i`), `signal pid=P name=TERM` (with `--timestamps`: ` at=NS`, the
//! CLOCK_MONOTONIC time it was taken, for latency measurements), `listening pid=P port=N`,
//! `quit pid=P request=POST /quitquitquit` (then it exits 0, as envoy does when POSTed to).
//! A signal that is not ignored then acts as it would by default (usually killing the probe).
//! (Its own signal state is not a witness of guillotine's: the Rust runtime ignores SIGPIPE
//! before main. Tests read a C program's /proc/self/status for that.)

use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, raise, sigaction, sigprocmask,
};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpgrp, getpid, getppid, setsid};

#[derive(Default, Clone)]
struct Options {
    ignored: Vec<Signal>,
    ignore_all: bool,
    grandchildren: u32,
    orphan: bool,
    orphan_workers: u32,
    orphan_exits: bool,
    exit: Option<i32>,
    die: Option<Signal>,
    serve_quit: Option<u16>,
    flood: u32,
    timestamps: bool,
    chain: u32,
    tree: Vec<Node>,
}

/// One process of a `--tree`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Node {
    setsid: bool,
    own_group: bool,
    ignores_term: bool,
    children: Vec<Node>,
}

fn main() {
    let options = parse(std::env::args().skip(1).collect());
    // A probe killed by QUIT must not write a core file into the test's directory.
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    // Block everything we can, so every signal is taken by sigwait below and reported.
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None).expect("block signals");
    say(&format!(
        "ready pid={} pgid={} ppid={}",
        getpid(),
        getpgrp(),
        getppid()
    ));
    for _ in 0..options.grandchildren {
        if in_new_child() {
            say(&format!("grandchild pid={} pgid={}", getpid(), getpgrp()));
            wait_for_signals(&options);
        }
    }
    if options.orphan {
        start_orphan(&options);
    }
    start_tree(&options.tree, "", &options);
    for _ in 0..options.chain {
        if !in_new_child() {
            break;
        }
        setsid().expect("setsid");
        say(&format!(
            "link pid={} pgid={} ppid={}",
            getpid(),
            getpgrp(),
            getppid()
        ));
    }
    // A flood of short-lived children: zombies for whoever ends up their parent.
    for _ in 0..options.flood {
        if in_new_child() {
            std::process::exit(0);
        }
    }
    if let Some(port) = options.serve_quit {
        serve_quit(port);
    }
    if let Some(code) = options.exit {
        std::process::exit(code);
    }
    if let Some(signal) = options.die {
        die_of(signal);
    }
    wait_for_signals(&options);
}

/// Forks each node of `nodes` (and, in it, its own children), then returns in the caller.
/// Each node reports itself, then waits for signals, ignoring TERM if it says so.
fn start_tree(nodes: &[Node], above: &str, options: &Options) {
    for (index, node) in nodes.iter().enumerate() {
        if !in_new_child() {
            continue;
        }
        if node.setsid {
            setsid().expect("setsid");
        } else if node.own_group {
            nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)).expect("setpgid");
        }
        let path = format!("{above}{index}.");
        say(&format!(
            "node pid={} pgid={} ppid={} path={}",
            getpid(),
            getpgrp(),
            getppid(),
            path.trim_end_matches('.')
        ));
        start_tree(&node.children, &path, options);
        let mut own = Options {
            ignored: vec![],
            ignore_all: false,
            ..options.clone()
        };
        if node.ignores_term {
            own.ignored.push(Signal::SIGTERM);
        }
        wait_for_signals(&own);
    }
}

/// Reads `flags(children),flags…` (see the module docs); panics on anything else.
fn parse_tree(spec: &str) -> Vec<Node> {
    fn nodes(spec: &[u8], at: &mut usize) -> Vec<Node> {
        let mut list = Vec::new();
        loop {
            let mut node = Node::default();
            while let Some(flag) = spec.get(*at) {
                match flag {
                    b's' => node.setsid = true,
                    b'g' => node.own_group = true,
                    b'i' => node.ignores_term = true,
                    b'.' => {}
                    _ => break,
                }
                *at += 1;
            }
            if spec.get(*at) == Some(&b'(') {
                *at += 1;
                node.children = nodes(spec, at);
                assert_eq!(spec.get(*at), Some(&b')'), "probe: --tree: ')' expected");
                *at += 1;
            }
            list.push(node);
            if spec.get(*at) != Some(&b',') {
                return list;
            }
            *at += 1;
        }
    }
    if spec.is_empty() {
        return vec![];
    }
    let mut at = 0;
    let tree = nodes(spec.as_bytes(), &mut at);
    assert_eq!(
        at,
        spec.len(),
        "probe: --tree: unexpected {:?}",
        &spec[at..]
    );
    tree
}

/// Double fork: the orphan starts its own session, so it leaves the probe's group, and is
/// re-parented to the nearest subreaper (or PID 1) once the middle process exits.
fn start_orphan(options: &Options) {
    let Some(middle) = fork_or_continue() else {
        // Taken before the fork: once the middle process exits, getppid() no longer names it.
        let middle = getpid();
        if in_new_child() {
            setsid().expect("setsid");
            say(&format!("orphan pid={} pgid={}", getpid(), getpgrp()));
            if options.orphan_exits {
                wait_for_adoption(middle);
                say(&format!("adopted pid={} ppid={}", getpid(), getppid()));
                std::process::exit(0);
            }
            for _ in 0..options.orphan_workers {
                if in_new_child() {
                    say(&format!("worker pid={} pgid={}", getpid(), getpgrp()));
                    wait_for_signals(options);
                }
            }
            wait_for_signals(options);
        }
        std::process::exit(0);
    };
    let _ = waitpid(middle, None);
}

/// An HTTP quit endpoint on 127.0.0.1:PORT, in a thread (which inherits the blocked signal
/// mask, so signals still reach the main thread's sigwait): the first request ends the
/// probe with status 0.
fn serve_quit(port: u16) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind the quit port");
    say(&format!("listening pid={} port={port}", getpid()));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let request: Vec<&str> = request.split_whitespace().take(2).collect();
            // Readiness checks (a bare TCP connection, a GET) do not ask it to quit.
            if request.first() != Some(&"POST") {
                continue;
            }
            say(&format!(
                "quit pid={} request={}",
                getpid(),
                request.join(" ")
            ));
            std::process::exit(0);
        }
    });
}

/// Returns once `middle` is no longer the parent. PR_SET_PDEATHSIG makes the kernel send
/// USR2 (blocked, so sigwait takes it) when the parent dies, after re-parenting us; a parent
/// that died before the request shows in getppid() already.
fn wait_for_adoption(middle: Pid) {
    nix::sys::prctl::set_pdeathsig(Signal::SIGUSR2).expect("PR_SET_PDEATHSIG");
    if getppid() == middle {
        let mut parent_died = SigSet::empty();
        parent_died.add(Signal::SIGUSR2);
        parent_died.wait().expect("sigwait");
    }
}

fn wait_for_signals(options: &Options) -> ! {
    loop {
        let signal = SigSet::all().wait().expect("sigwait");
        if signal == Signal::SIGCHLD {
            while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                if status == nix::sys::wait::WaitStatus::StillAlive {
                    break;
                }
            }
            continue;
        }
        let at = if options.timestamps {
            let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("clock");
            format!(
                " at={}",
                i128::from(now.tv_sec()) * 1_000_000_000 + i128::from(now.tv_nsec())
            )
        } else {
            String::new()
        };
        say(&format!(
            "signal pid={} name={}{at}",
            getpid(),
            short_name(signal)
        ));
        if !(options.ignore_all || options.ignored.contains(&signal)) {
            die_of(signal);
        }
    }
}

/// Lets `signal` take its default action (death for most; CONT, WINCH and the like do
/// nothing and the probe goes back to waiting).
#[allow(unsafe_code)]
fn die_of(signal: Signal) {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_DFL installs no handler, so no code of ours runs in signal context.
    let _ = unsafe { sigaction(signal, &default) };
    let mut only = SigSet::empty();
    only.add(signal);
    let _ = raise(signal);
    // The signal is pending while blocked; unblocking delivers it now.
    let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&only), None);
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&only), None);
}

fn in_new_child() -> bool {
    fork_or_continue().is_none()
}

/// Forks; returns the child's pid in the parent, None in the child.
#[allow(unsafe_code)]
fn fork_or_continue() -> Option<Pid> {
    // SAFETY: the probe is single-threaded, so the child may run any code after fork.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Parent { child } => Some(child),
        ForkResult::Child => None,
    }
}

fn short_name(signal: Signal) -> &'static str {
    signal.as_str().trim_start_matches("SIG")
}

/// One line in one write(2), so lines from several processes sharing the pipe never mix.
fn say(line: &str) {
    let text = format!("{line}\n");
    let _ = nix::unistd::write(std::io::stdout(), text.as_bytes());
}

fn parse(args: Vec<String>) -> Options {
    let mut options = Options::default();
    let mut args = args.into_iter();
    let signal = |name: Option<String>| -> Signal {
        let name = name.expect("a signal name");
        format!("SIG{name}")
            .parse()
            .expect("a signal name such as TERM")
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ignore" => options.ignored.push(signal(args.next())),
            "--ignore-all" => options.ignore_all = true,
            "--grandchildren" => options.grandchildren = number(args.next()),
            "--orphan" => options.orphan = true,
            "--orphan-workers" => options.orphan_workers = number(args.next()),
            "--orphan-exits" => options.orphan_exits = true,
            "--exit" => options.exit = Some(number(args.next()) as i32),
            "--die" => options.die = Some(signal(args.next())),
            "--serve-quit" => options.serve_quit = Some(number(args.next()) as u16),
            "--flood" => options.flood = number(args.next()),
            "--timestamps" => options.timestamps = true,
            "--chain" => options.chain = number(args.next()),
            "--tree" => options.tree = parse_tree(&args.next().expect("a tree")),
            other => panic!("probe: unknown argument {other}"),
        }
    }
    options
}

fn number(text: Option<String>) -> u32 {
    text.expect("a number").parse().expect("a number")
}
