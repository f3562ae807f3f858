//! The other side of the pod: `done`, `run --done`, readiness gating, the ready file, quit
//! URLs, `install` and the termination message.

use crate::harness::{
    DEADLINE, GUILLOTINE, Guillotine, HttpServer, PROBE, Sentinel, Track, eventually, free_port,
    run_waiting_for, scratch, watching,
};
use std::os::unix::fs::PermissionsExt;

fn contents(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn done_writes_every_sentinel_with_the_code() {
    let dir = scratch();
    let first = dir.path().join("done");
    let second = dir.path().join("not/yet/there/done");
    let mut run = Guillotine::start(&[
        "done",
        "--exit-code",
        "7",
        first.to_str().unwrap(),
        second.to_str().unwrap(),
    ]);
    run.expect_exit(0);
    assert_eq!(contents(&first), "7\n");
    assert_eq!(contents(&second), "7\n");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
}

#[test]
fn failing_main_command_still_writes_the_sentinel_and_stops_the_sidecar() {
    let done = Sentinel::new();
    let mut sidecar = watching(&done, &[], &[]);
    let ready = sidecar.wait_ready();
    let mut main = Guillotine::start(&["run", "--done", done.arg(), "--", "sh", "-c", "exit 3"]);
    main.expect_exit(3);
    assert_eq!(contents(&done.path), "3\n");
    sidecar.wait_signal_seen(ready.pid, "TERM");
    sidecar.expect_exit(0);
    sidecar.assert_nothing_left();
}

#[test]
fn run_without_a_command_is_a_usage_error() {
    let done = Sentinel::new();
    let mut main = Guillotine::start(&["run", "--done", done.arg()]);
    main.expect_exit(125);
    assert!(main.stderr().contains("required"), "{}", main.stderr());
}

#[test]
fn main_command_not_found_writes_127() {
    let done = Sentinel::new();
    let mut main = Guillotine::start(&["run", "--done", done.arg(), "--", "no-such-command-xyz"]);
    main.expect_exit(127);
    assert_eq!(contents(&done.path), "127\n");
}

#[test]
fn main_command_killed_by_a_signal_writes_128_plus_n() {
    let done = Sentinel::new();
    let mut main = Guillotine::start(&["run", "--done", done.arg(), "--", PROBE, "--die", "KILL"]);
    main.expect_exit(137);
    assert_eq!(contents(&done.path), "137\n");
}

#[test]
fn done_on_success_writes_nothing_on_failure() {
    let done = Sentinel::new();
    let run_on_success = |command: &[&str], code: i32| {
        let mut args = vec!["run", "--done", done.arg(), "--done-on", "success", "--"];
        args.extend_from_slice(command);
        Guillotine::start(&args).expect_exit(code);
    };
    run_on_success(&["sh", "-c", "exit 1"], 1);
    assert!(!done.path.exists(), "a failed command wrote the sentinel");
    run_on_success(&["true"], 0);
    assert_eq!(contents(&done.path), "0\n");
}

#[test]
fn run_waits_for_a_listener_that_appears_later() {
    let port = free_port();
    let done = Sentinel::new();
    let probe = format!("tcp://127.0.0.1:{port}");
    let mut main = run_waiting_for(&probe, &done);
    eventually("guillotine run is waiting", DEADLINE, || {
        let stderr = main.stderr();
        stderr
            .contains("waiting for readiness")
            .then_some(())
            .ok_or(stderr)
    });
    assert!(!done.path.exists(), "finished before anything listened");
    let _listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind the port");
    main.expect_exit(0);
    assert_eq!(main.stdout(), ["started"]);
    assert_eq!(contents(&done.path), "0\n");
}

#[test]
fn run_gives_up_cleanly_when_nothing_becomes_ready() {
    let done = Sentinel::new();
    let probe = format!("tcp://127.0.0.1:{}", free_port());
    let mut main = Guillotine::start(&[
        "run",
        "--wait-for",
        &probe,
        "--wait-timeout",
        "300ms",
        "--done",
        done.arg(),
        "--",
        "sh",
        "-c",
        "echo started",
    ]);
    main.expect_exit(124);
    assert!(main.stdout().is_empty(), "COMMAND ran: {:?}", main.stdout());
    assert!(main.stderr().contains(&format!(
        "not ready after 300ms: {probe}; COMMAND was not started"
    )));
    assert_eq!(contents(&done.path), "124\n");
}

#[test]
fn http_readiness_needs_a_2xx_answer() {
    let server = HttpServer::start(503);
    let done = Sentinel::new();
    let url = server.url("/healthz");
    let mut main = Guillotine::start(&[
        "run",
        "--wait-for",
        &url,
        "--done",
        done.arg(),
        "--",
        "true",
    ]);
    eventually("the probe asked at least twice", DEADLINE, || {
        (server.request_count() >= 2)
            .then_some(())
            .ok_or(server.request_count().to_string())
    });
    assert!(!done.path.exists(), "a 503 counted as ready");
    server
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    main.expect_exit(0);
    assert!(
        server
            .requests
            .lock()
            .unwrap()
            .iter()
            .all(|line| line.starts_with("GET /healthz "))
    );
}

#[test]
fn ready_file_is_written_once_the_child_listens() {
    let dir = scratch();
    let ready_file = dir.path().join("ready");
    let port = free_port();
    let probe = format!("tcp://127.0.0.1:{port}");
    let mut sidecar = Guillotine::start(&[
        "--ready-file",
        ready_file.to_str().unwrap(),
        "--ready-when",
        &probe,
        "--",
        PROBE,
        "--serve-quit",
        &port.to_string(),
    ]);
    sidecar.wait_line("listening", |line| line.starts_with("listening "));
    eventually("the ready file appears", DEADLINE, || {
        std::fs::read_to_string(&ready_file)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    assert_eq!(contents(&ready_file), "ready\n");
    sidecar.signal(nix::sys::signal::Signal::SIGTERM);
    sidecar.expect_exit(143);
}

#[test]
fn quit_url_comes_before_any_signal_and_a_child_that_quits_is_never_signalled() {
    let port = free_port();
    let done = Sentinel::new();
    let url = format!("http://127.0.0.1:{port}/quitquitquit");
    let mut sidecar = watching(
        &done,
        &["--quit-url", &url],
        &["--serve-quit", &port.to_string()],
    );
    sidecar.wait_line("listening", |line| line.starts_with("listening "));
    done.touch();
    sidecar.expect_exit(0);
    let quit = sidecar.wait_line("quit", |line| line.starts_with("quit "));
    assert!(quit.ends_with("request=POST /quitquitquit"), "{quit}");
    let signalled: Vec<_> = sidecar
        .stdout()
        .iter()
        .filter(|l| l.starts_with("signal "))
        .collect();
    assert!(
        signalled.is_empty(),
        "the child was signalled: {signalled:?}"
    );
    sidecar.assert_nothing_left();
}

#[test]
fn a_child_deaf_to_its_quit_url_gets_the_stop_signal_after_grace() {
    let server = HttpServer::start(200);
    let done = Sentinel::new();
    let url = server.url("/quitquitquit");
    let mut sidecar = watching(&done, &["--quit-url", &url, "--grace", "300ms"], &[]);
    let ready = sidecar.wait_ready();
    done.touch();
    sidecar.wait_signal_seen(ready.pid, "TERM");
    sidecar.expect_exit(0);
    assert_eq!(
        *server.requests.lock().unwrap(),
        ["POST /quitquitquit HTTP/1.1"]
    );
}

#[test]
fn install_gives_a_working_binary_and_timeout_name() {
    let dir = scratch();
    let target = dir.path().join("tools");
    let mut install = Guillotine::start(&["install", target.to_str().unwrap()]);
    install.expect_exit(0);
    let installed = target.join("guillotine");
    let mode = std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o555);
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(GUILLOTINE).unwrap()
    );
    let mut command = std::process::Command::new(&installed);
    command.args(["--", PROBE, "--exit", "5"]);
    Guillotine::spawn(command, Track::ProbePids).expect_exit(5);
    let mut command = std::process::Command::new(target.join("timeout"));
    command.args(["0.3", PROBE]);
    let mut timeout = Guillotine::spawn(command, Track::ProbePids);
    let ready = timeout.wait_ready();
    timeout.wait_signal_seen(ready.pid, "TERM");
    timeout.expect_exit(124);
}

#[test]
fn termination_message_says_why_guillotine_stopped() {
    let done = Sentinel::new();
    let dir = scratch();
    let log = dir.path().join("termination-log");
    let mut sidecar = watching(&done, &["--termination-log", log.to_str().unwrap()], &[]);
    sidecar.wait_ready();
    done.touch();
    sidecar.expect_exit(0);
    let message = contents(&log);
    assert_eq!(message.lines().count(), 1, "{message}");
    for part in [
        "stopped by the sentinel after ",
        "; sent TERM; child killed by TERM; exit status 0; command ",
    ] {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

#[test]
fn when_every_quit_url_fails_the_stop_signal_goes_at_once() {
    // Nothing listens: the POST is refused at once. Waiting out a 60 s grace for a child
    // nobody asked would only delay the Job.
    let done = Sentinel::new();
    let url = format!("http://127.0.0.1:{}/quitquitquit", free_port());
    let mut sidecar = watching(&done, &["--quit-url", &url, "--grace", "60s"], &[]);
    let ready = sidecar.wait_ready();
    done.touch();
    sidecar.wait_signal_seen(ready.pid, "TERM");
    sidecar.expect_exit(0);
    assert!(
        sidecar.stderr().contains("every quit URL failed"),
        "{}",
        sidecar.stderr()
    );
    sidecar.assert_nothing_left();
}

#[test]
fn a_quit_call_still_in_flight_at_exit_is_said_and_not_waited_for() {
    // Accepts connections (the kernel's backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/quitquitquit",
        silent.local_addr().unwrap().port()
    );
    let done = Sentinel::new();
    let mut sidecar = watching(&done, &["--quit-url", &url, "--grace", "200ms"], &[]);
    let ready = sidecar.wait_ready();
    done.touch();
    sidecar.wait_signal_seen(ready.pid, "TERM");
    sidecar.expect_exit(0);
    assert!(
        sidecar
            .stderr()
            .contains("exiting without waiting for quit URL calls still in flight"),
        "{}",
        sidecar.stderr()
    );
    drop(silent);
}
