//! The one test harness: runs the real guillotine binary against real processes.
//!
//! Every wait has a deadline and polls (or blocks on a channel) instead of sleeping; every
//! failure dumps argv, exit status, stdout and stderr; dropping a [`Guillotine`] kills its
//! process group and every process the probe reported, so a failing test leaks nothing.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub const GUILLOTINE: &str = env!("CARGO_BIN_EXE_guillotine");
pub const PROBE: &str = env!("CARGO_BIN_EXE_guillotine-test-probe");

/// The default bound on any single wait. Generous: CI machines are slow, and a passing test
/// never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `condition` every 10 ms until it holds; fails with the last state it reported.
#[track_caller]
pub fn eventually(
    what: &str,
    deadline: Duration,
    mut condition: impl FnMut() -> Result<(), String>,
) {
    let end = Instant::now() + deadline;
    loop {
        match condition() {
            Ok(()) => return,
            Err(state) if Instant::now() >= end => {
                panic!("{what}: not true after {deadline:?}; last seen: {state}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// A process as the test saw it: its pid and its start time, so that a reused pid is never
/// mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenProcess {
    pub pid: i32,
    start_time: u64,
}

impl SeenProcess {
    pub fn find(pid: i32) -> Option<Self> {
        let (_, start_time) = read_stat(pid)?;
        Some(SeenProcess { pid, start_time })
    }

    /// Its state letter (R, S, Z, …) while it exists, running or zombie.
    pub fn state(&self) -> Option<char> {
        read_stat(self.pid)
            .filter(|(_, start_time)| *start_time == self.start_time)
            .map(|(state, _)| state)
    }
}

/// State and start time from /proc/<pid>/stat (fields 3 and 22).
fn read_stat(pid: i32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some((
        fields.first()?.chars().next()?,
        fields.get(19)?.parse().ok()?,
    ))
}

/// The children of `parent` in state `state`, from the host's /proc.
pub fn children_in_state(parent: i32, state: char) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            fields.first().and_then(|s| s.chars().next()) == Some(state)
                && fields.get(1).and_then(|p| p.parse::<i32>().ok()) == Some(parent)
        })
        .collect()
}

/// Whether to record the pids the probe prints (not inside a PID namespace, where they mean
/// nothing to the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    ProbePids,
    Nothing,
}

/// What the probe said when it started.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    pub pid: i32,
    pub pgid: i32,
}

/// A guillotine process under test (or a wrapper around one, such as `unshare`).
pub struct Guillotine {
    argv: String,
    process: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Arc<Mutex<String>>,
    /// Disconnects when the stderr reader has seen EOF.
    stderr_done: mpsc::Receiver<()>,
    seen: Arc<Mutex<Vec<SeenProcess>>>,
    status: Option<ExitStatus>,
}

/// `guillotine ARGS` as PID 1 of a new PID namespace, as in a container (pids it prints
/// are the namespace's, so they are not tracked).
pub fn as_pid1(args: &[&str]) -> Guillotine {
    let mut command = Command::new("unshare");
    if !nix::unistd::geteuid().is_root() {
        command.arg("--map-root-user");
    }
    command
        .args(["--pid", "--fork", "--mount-proc", GUILLOTINE])
        .args(args);
    clean_environment(&mut command);
    Guillotine::spawn(command, Track::Nothing)
}

/// `guillotine run --wait-for PROBE --done SENTINEL -- sh -c 'echo started'`: a main
/// container whose COMMAND says when it starts.
pub fn run_waiting_for(probe: &str, done: &Sentinel) -> Guillotine {
    Guillotine::start(&[
        "run",
        "--wait-for",
        probe,
        "--done",
        done.arg(),
        "--",
        "sh",
        "-c",
        "echo started",
    ])
}

/// `guillotine ARGS` with no GUILLOTINE_* variable from the outside and debug logs.
pub fn guillotine(args: &[&str]) -> Command {
    let mut command = Command::new(GUILLOTINE);
    command.args(args);
    clean_environment(&mut command);
    command
}

pub fn clean_environment(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GUILLOTINE_") {
            command.env_remove(name);
        }
    }
    command.env("GUILLOTINE_LOG", "debug");
}

impl Guillotine {
    /// Starts `guillotine ARGS`.
    pub fn start(args: &[&str]) -> Self {
        Self::spawn(guillotine(args), Track::ProbePids)
    }

    /// Starts a prepared command in a process group of its own, stdout and stderr captured.
    pub fn spawn(mut command: Command, track: Track) -> Self {
        let argv = format!("{command:?}");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut process = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {argv}: {error}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (sender, lines) = mpsc::channel();
        let stdout = process.stdout.take().expect("piped stdout");
        let seen_by_reader = Arc::clone(&seen);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if track == Track::ProbePids {
                    record_processes(&line, &seen_by_reader);
                }
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut stderr_pipe = process.stderr.take().expect("piped stderr");
        let stderr_sink = Arc::clone(&stderr);
        let (stderr_eof, stderr_done) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let _eof = stderr_eof;
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stderr_pipe.read(&mut buffer) {
                stderr_sink
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        Guillotine {
            argv,
            process,
            lines,
            stdout: Vec::new(),
            stderr,
            stderr_done,
            seen,
            status: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.process.id() as i32
    }

    /// Waits for the next stdout line that satisfies `predicate` (earlier ones are kept).
    #[track_caller]
    pub fn wait_line(&mut self, what: &str, predicate: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + DEADLINE;
        if let Some(line) = self.stdout.iter().find(|line| predicate(line)) {
            return line.clone();
        }
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if predicate(&line) {
                        return line;
                    }
                }
                Err(_) => self.fail(&format!("no stdout line {what} within {DEADLINE:?}")),
            }
        }
    }

    /// Waits for the probe's `ready` line.
    #[track_caller]
    pub fn wait_ready(&mut self) -> Ready {
        let line = self.wait_line("ready", |line| line.starts_with("ready "));
        Ready {
            pid: field(&line, "pid").expect("ready has pid="),
            pgid: field(&line, "pgid").expect("ready has pgid="),
        }
    }

    /// Waits for `signal pid=PID name=NAME`.
    #[track_caller]
    pub fn wait_signal_seen(&mut self, pid: i32, name: &str) {
        let expected = format!("signal pid={pid} name={name}");
        self.wait_line(&expected.clone(), |line| line == expected);
    }

    /// Sends `signal` to guillotine itself.
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid()), signal).expect("signal guillotine");
    }

    /// Waits (bounded) for guillotine to exit.
    #[track_caller]
    pub fn wait_exit(&mut self) -> ExitStatus {
        let end = Instant::now() + DEADLINE;
        loop {
            match self.process.try_wait().expect("try_wait") {
                Some(status) => {
                    self.status = Some(status);
                    self.drain_output();
                    return status;
                }
                None if Instant::now() >= end => {
                    self.fail(&format!("did not exit within {DEADLINE:?}"))
                }
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Waits (bounded) for the process to exit, then kills what is left of its process group
    /// (for tests where leftovers are the expected behaviour, as when GNU timeout dies of a
    /// signal and its command goes on), so the output ends.
    #[track_caller]
    pub fn wait_exit_then_kill_group(&mut self) -> ExitStatus {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.process.try_wait().expect("try_wait") {
                self.status = Some(status);
                let _ = killpg(Pid::from_raw(self.pid()), Signal::SIGKILL);
                self.drain_output();
                return status;
            }
            if Instant::now() >= end {
                self.fail(&format!("did not exit within {DEADLINE:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the exit and checks its code.
    #[track_caller]
    pub fn expect_exit(&mut self, code: i32) {
        let status = self.wait_exit();
        if status.code() != Some(code) {
            self.fail(&format!("expected exit code {code}, got {status}"));
        }
    }

    /// Every stdout line so far (all of them once guillotine has exited).
    pub fn stdout(&self) -> &[String] {
        &self.stdout
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded) until stderr contains `text`.
    #[track_caller]
    pub fn wait_stderr(&self, text: &str) {
        let end = Instant::now() + DEADLINE;
        while !self.stderr().contains(text) {
            if Instant::now() >= end {
                self.fail(&format!("no {text:?} on stderr within {DEADLINE:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The processes the probe reported that still exist (pid, state), zombies included.
    pub fn left(&self) -> Vec<(i32, char)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|process| process.state().map(|state| (process.pid, state)))
            .collect()
    }

    /// Every process the probe reported is gone: not running, not a zombie.
    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let left = self.left();
        if !left.is_empty() {
            self.fail(&format!("processes left behind (pid, state): {left:?}"));
        }
    }

    /// How many distinct processes the probe reported.
    pub fn processes_seen(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Takes every stdout line and all of stderr: the readers end at EOF, when every holder
    /// of the pipes has exited; bounded anyway.
    fn drain_output(&mut self) {
        let end = Instant::now() + DEADLINE;
        while let Ok(line) = self
            .lines
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            self.stdout.push(line);
        }
        let _ = self
            .stderr_done
            .recv_timeout(end.saturating_duration_since(Instant::now()));
    }

    #[track_caller]
    pub fn fail(&self, message: &str) -> ! {
        panic!(
            "{message}\n--- argv: {}\n--- status: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.argv,
            self.status,
            self.stdout.join("\n"),
            self.stderr()
        );
    }
}

impl Drop for Guillotine {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = killpg(Pid::from_raw(self.pid()), Signal::SIGKILL);
            let _ = self.process.wait();
        }
        for process in self.seen.lock().unwrap().iter() {
            if process.state().is_some() {
                let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
            }
        }
    }
}

/// Records the process a probe line names (`… pid=N …`).
fn record_processes(line: &str, seen: &Mutex<Vec<SeenProcess>>) {
    let Some(pid) = field(line, "pid") else {
        return;
    };
    let mut seen = seen.lock().unwrap();
    if seen.iter().any(|process| process.pid == pid) {
        return;
    }
    if let Some(process) = SeenProcess::find(pid) {
        seen.push(process);
    }
}

/// The value of `name=` in a probe line.
pub fn field(line: &str, name: &str) -> Option<i32> {
    line.split_whitespace()
        .find_map(|token| token.strip_prefix(name)?.strip_prefix('='))
        .and_then(|value| value.parse().ok())
}

/// A fresh directory for one test, removed afterwards.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// A sentinel file name in a fresh directory (the file does not exist yet).
pub struct Sentinel {
    _dir: tempfile::TempDir,
    pub path: std::path::PathBuf,
}

impl Sentinel {
    pub fn new() -> Self {
        let dir = scratch();
        let path = dir.path().join("done");
        Sentinel { _dir: dir, path }
    }

    pub fn arg(&self) -> &str {
        self.path.to_str().expect("a UTF-8 temporary path")
    }

    /// What the main container does: creates the file.
    pub fn touch(&self) {
        std::fs::write(&self.path, b"").expect("write the sentinel");
    }
}

/// Starts `guillotine --watch SENTINEL OPTIONS... -- PROBE PROBE_ARGS...`.
pub fn watching(sentinel: &Sentinel, options: &[&str], probe_args: &[&str]) -> Guillotine {
    let mut args = vec!["--watch", sentinel.arg()];
    args.extend_from_slice(options);
    args.extend_from_slice(&["--", PROBE]);
    args.extend_from_slice(probe_args);
    Guillotine::start(&args)
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A minimal HTTP server on 127.0.0.1 for probes and quit URLs: it answers every request
/// with the status set in `status` and records each request line (and, when built with
/// [`HttpServer::observing`], what its observer saw at that moment).
pub struct HttpServer {
    pub port: u16,
    pub status: Arc<std::sync::atomic::AtomicU16>,
    pub requests: Arc<Mutex<Vec<String>>>,
    /// What the observer returned at each request, in order.
    pub observed: Arc<Mutex<Vec<String>>>,
}

/// Called at each request, before the answer: what the test wants to know about that moment.
type Observer = Box<dyn Fn() -> String + Send>;

impl HttpServer {
    pub fn start(status: u16) -> Self {
        Self::serve(bind(0), status, None)
    }

    /// On `port`, which a test kept free until now (a sidecar that starts late).
    pub fn start_on(port: u16, status: u16) -> Self {
        Self::serve(bind(port), status, None)
    }

    /// Also records `observer()` at each request, before answering it.
    pub fn observing(status: u16, observer: impl Fn() -> String + Send + 'static) -> Self {
        Self::serve(bind(0), status, Some(Box::new(observer)))
    }

    fn serve(listener: std::net::TcpListener, status: u16, observer: Option<Observer>) -> Self {
        use std::io::{BufRead, BufReader, Write};
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(std::sync::atomic::AtomicU16::new(status));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let observed = Arc::new(Mutex::new(Vec::new()));
        let (answer, log, seen) = (
            Arc::clone(&status),
            Arc::clone(&requests),
            Arc::clone(&observed),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                if let Some(observer) = &observer {
                    seen.lock().unwrap().push(observer());
                }
                log.lock().unwrap().push(line.trim().to_owned());
                let code = answer.load(std::sync::atomic::Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        HttpServer {
            port,
            status,
            requests,
            observed,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// Every request line so far.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn bind(port: u16) -> std::net::TcpListener {
    std::net::TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|error| panic!("bind 127.0.0.1:{port}: {error}"))
}

/// A listener that accepts connections (the kernel completes them into its backlog) and
/// never answers: a quit endpoint that hangs. Dropping it closes the port.
pub struct SilentServer {
    listener: std::net::TcpListener,
}

impl SilentServer {
    pub fn start() -> Self {
        SilentServer { listener: bind(0) }
    }

    pub fn url(&self, path: &str) -> String {
        let port = self.listener.local_addr().unwrap().port();
        format!("http://127.0.0.1:{port}{path}")
    }
}

/// Lets `duration` pass: for tests that pick a random moment for an event (the torture
/// test's "sentinel during start-up"), never to wait for something to happen.
pub fn pause_for_random_moment(duration: Duration) {
    std::thread::sleep(duration);
}
