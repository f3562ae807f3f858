//! Quitting a sidecar guillotine cannot wrap (an injected proxy): `guillotine run
//! --quit-url` POSTs after COMMAND as `--done-on` says, `guillotine quit` does it as a
//! subcommand. Against real HTTP servers on 127.0.0.1: one that answers 200, one that
//! refuses connections at first (bound only once guillotine said it was refused), one that
//! accepts and never answers, one that answers 500.

use crate::harness::{
    Guillotine, HttpServer, Sentinel, SilentServer, Track, free_port, guillotine,
};
use std::time::{Duration, Instant};

fn contents(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// What guillotine logs when a quit endpoint refuses the connection (and it will retry).
const REFUSED: &str = "quit URL refuses connections";

/// `guillotine run --done SENTINEL OPTIONS -- COMMAND...`.
fn run(done: &Sentinel, options: &[&str], command: &[&str]) -> Guillotine {
    let mut args = vec!["run", "--done", done.arg()];
    args.extend_from_slice(options);
    args.push("--");
    args.extend_from_slice(command);
    Guillotine::start(&args)
}

#[track_caller]
fn assert_posted_once(server: &HttpServer, path: &str) {
    assert_eq!(
        server.request_lines(),
        [format!("POST {path} HTTP/1.1")],
        "the quit URL's requests"
    );
}

#[test]
fn run_posts_each_quit_url_after_the_sentinel_is_written() {
    let done = Sentinel::new();
    let sentinel = done.path.clone();
    let first = HttpServer::observing(200, move || sentinel.exists().to_string());
    let second = HttpServer::start(204);
    let mut main = run(
        &done,
        &[
            "--quit-url",
            &first.url("/quitquitquit"),
            "--quit-url",
            &second.url("/shutdown"),
        ],
        &["sh", "-c", "echo worked"],
    );
    main.expect_exit(0);
    assert_eq!(main.stdout(), ["worked"]);
    assert_eq!(contents(&done.path), "0\n");
    assert_posted_once(&first, "/quitquitquit");
    assert_posted_once(&second, "/shutdown");
    assert_eq!(
        *first.observed.lock().unwrap(),
        ["true"],
        "the sentinel existed when the POST arrived"
    );
    assert!(!main.stderr().contains("WARN"), "{}", main.stderr());
}

#[test]
fn run_with_done_on_always_posts_after_a_failure_and_keeps_its_status() {
    let server = HttpServer::start(200);
    let done = Sentinel::new();
    let mut main = run(
        &done,
        &["--quit-url", &server.url("/quitquitquit")],
        &["sh", "-c", "exit 3"],
    );
    main.expect_exit(3);
    assert_eq!(contents(&done.path), "3\n");
    assert_posted_once(&server, "/quitquitquit");
}

#[test]
fn run_with_done_on_success_posts_only_after_a_success() {
    let server = HttpServer::start(200);
    let url = server.url("/quitquitquit");
    let done = Sentinel::new();
    let options = ["--done-on", "success", "--quit-url", &url];
    let mut failing = run(&done, &options, &["sh", "-c", "exit 3"]);
    failing.expect_exit(3);
    assert!(!done.path.exists());
    assert_eq!(server.request_count(), 0, "a failure POSTed with success");

    let mut missing = run(&done, &options, &["/nonexistent/command"]);
    missing.expect_exit(127);
    assert_eq!(server.request_count(), 0, "127 POSTed with success");

    let mut succeeding = run(&done, &options, &["true"]);
    succeeding.expect_exit(0);
    assert_posted_once(&server, "/quitquitquit");
}

#[test]
fn run_posts_when_command_cannot_start() {
    let server = HttpServer::start(200);
    let done = Sentinel::new();
    let mut main = run(
        &done,
        &["--quit-url", &server.url("/quitquitquit")],
        &["/nonexistent/command"],
    );
    main.expect_exit(127);
    assert_eq!(contents(&done.path), "127\n");
    assert_posted_once(&server, "/quitquitquit");

    let dir = crate::harness::scratch();
    let not_executable = dir.path().join("script");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    let mut main = run(
        &done,
        &["--quit-url", &server.url("/again")],
        &[not_executable.to_str().unwrap()],
    );
    main.expect_exit(126);
    assert_eq!(server.request_count(), 2, "{:?}", server.request_lines());
}

#[test]
fn run_posts_when_the_wait_gives_up() {
    let server = HttpServer::start(200);
    let done = Sentinel::new();
    let probe = format!("tcp://127.0.0.1:{}", free_port());
    let mut main = run(
        &done,
        &[
            "--wait-for",
            &probe,
            "--wait-timeout",
            "200ms",
            "--quit-url",
            &server.url("/quitquitquit"),
        ],
        &["sh", "-c", "echo started"],
    );
    main.expect_exit(124);
    assert!(main.stdout().is_empty(), "COMMAND ran: {:?}", main.stdout());
    assert_eq!(contents(&done.path), "124\n");
    assert_posted_once(&server, "/quitquitquit");
}

#[test]
fn run_retries_a_quit_url_that_refuses_until_it_listens() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/quitquitquit");
    let done = Sentinel::new();
    let mut main = run(&done, &["--quit-url", &url], &["true"]);
    main.wait_stderr(REFUSED);
    let server = HttpServer::start_on(port, 200);
    main.expect_exit(0);
    assert_posted_once(&server, "/quitquitquit");
    assert!(!main.stderr().contains("WARN"), "{}", main.stderr());
}

#[test]
fn run_warns_about_a_quit_url_that_never_answers_and_keeps_its_status() {
    let silent = SilentServer::start();
    let url = silent.url("/quitquitquit");
    let done = Sentinel::new();
    let began = Instant::now();
    let mut main = run(
        &done,
        &["--quit-url", &url, "--quit-timeout", "300ms"],
        &["sh", "-c", "exit 4"],
    );
    main.expect_exit(4);
    let stderr = main.stderr();
    assert!(
        stderr.contains(&url) && stderr.contains("no answer within 300ms"),
        "{stderr}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}

#[test]
fn run_warns_about_a_quit_url_that_answers_500() {
    let server = HttpServer::start(500);
    let url = server.url("/quitquitquit");
    let done = Sentinel::new();
    let mut main = run(&done, &["--quit-url", &url], &["true"]);
    main.expect_exit(0);
    assert_posted_once(&server, "/quitquitquit");
    let stderr = main.stderr();
    assert!(stderr.contains(&url) && stderr.contains("500"), "{stderr}");
}

#[test]
fn run_warns_about_a_quit_url_that_refuses_for_the_whole_quit_timeout() {
    let url = format!("http://127.0.0.1:{}/quitquitquit", free_port());
    let done = Sentinel::new();
    let mut main = run(
        &done,
        &["--quit-url", &url, "--quit-timeout", "300ms"],
        &["true"],
    );
    main.expect_exit(0);
    let stderr = main.stderr();
    assert!(
        stderr.contains(&url) && stderr.contains("connection refused for 300ms"),
        "{stderr}"
    );
}

#[test]
fn run_posts_in_parallel_within_one_quit_timeout() {
    let silent: Vec<SilentServer> = (0..3).map(|_| SilentServer::start()).collect();
    let answering = HttpServer::start(200);
    let done = Sentinel::new();
    let mut options = vec!["--quit-timeout".to_owned(), "1s".to_owned()];
    for server in &silent {
        options.extend(["--quit-url".to_owned(), server.url("/quitquitquit")]);
    }
    options.extend(["--quit-url".to_owned(), answering.url("/quitquitquit")]);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let began = Instant::now();
    let mut main = run(&done, &options, &["true"]);
    main.expect_exit(0);
    // One after the other, the three silent ones would take 3 s.
    let took = began.elapsed();
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    assert_posted_once(&answering, "/quitquitquit");
    assert_eq!(main.stderr().matches("no answer within 1s").count(), 3);
}

#[test]
fn run_reads_quit_urls_from_the_environment() {
    let server = HttpServer::start(200);
    let done = Sentinel::new();
    let mut command = guillotine(&["run", "--done", done.arg(), "--", "true"]);
    command.env("GUILLOTINE_QUIT_URL", server.url("/quitquitquit"));
    command.env("GUILLOTINE_QUIT_TIMEOUT", "2s");
    Guillotine::spawn(command, Track::Nothing).expect_exit(0);
    assert_posted_once(&server, "/quitquitquit");
}

#[test]
fn run_refuses_bad_quit_options_naming_them_and_still_writes_the_sentinel() {
    for (options, named) in [
        (
            &["--quit-url", "http://127.0.0.1:99999/quit"][..],
            "--quit-url: ",
        ),
        (&["--quit-url", "https://127.0.0.1/quit"], "--quit-url: "),
        (&["--quit-timeout", "soon"], "--quit-timeout: "),
        (&["--quit-timeout", "0"], "--quit-timeout: "),
    ] {
        let done = Sentinel::new();
        let mut main = run(&done, options, &["sh", "-c", "echo started"]);
        main.expect_exit(125);
        assert!(main.stdout().is_empty(), "COMMAND ran: {:?}", main.stdout());
        assert!(
            main.stderr().contains(named),
            "{options:?}: {}",
            main.stderr()
        );
        assert_eq!(contents(&done.path), "125\n");
    }
}

#[test]
fn a_usage_error_elsewhere_still_posts_the_valid_quit_urls() {
    let server = HttpServer::start(200);
    let done = Sentinel::new();
    let mut main = run(
        &done,
        &[
            "--quit-url",
            &server.url("/quitquitquit"),
            "--wait-timeout",
            "nonsense",
        ],
        &["true"],
    );
    main.expect_exit(125);
    assert_eq!(contents(&done.path), "125\n");
    assert_posted_once(&server, "/quitquitquit");
}

// `guillotine quit URL…`

fn quit(args: &[&str]) -> Guillotine {
    let mut argv = vec!["quit"];
    argv.extend_from_slice(args);
    Guillotine::start(&argv)
}

#[test]
fn quit_exits_0_when_every_url_answers_2xx() {
    let first = HttpServer::start(200);
    let second = HttpServer::start(202);
    let mut quitting = quit(&[&first.url("/quitquitquit"), &second.url("/shutdown")]);
    quitting.expect_exit(0);
    assert_posted_once(&first, "/quitquitquit");
    assert_posted_once(&second, "/shutdown");
}

#[test]
fn quit_waits_for_an_endpoint_that_refuses_at_first() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/quitquitquit");
    let quitting_url = url.clone();
    let mut quitting = quit(&[&quitting_url]);
    quitting.wait_stderr(REFUSED);
    let server = HttpServer::start_on(port, 200);
    quitting.expect_exit(0);
    assert_posted_once(&server, "/quitquitquit");
}

#[test]
fn quit_exits_1_with_one_line_per_failed_url() {
    let fine = HttpServer::start(200);
    let failing = HttpServer::start(500);
    let silent = SilentServer::start();
    let refusing = format!("http://127.0.0.1:{}/quitquitquit", free_port());
    let (failing_url, silent_url) = (failing.url("/quitquitquit"), silent.url("/quit"));
    let mut quitting = quit(&[
        "--quit-timeout",
        "400ms",
        &fine.url("/quitquitquit"),
        &failing_url,
        &silent_url,
        &refusing,
    ]);
    quitting.expect_exit(1);
    assert_posted_once(&fine, "/quitquitquit");
    let stderr = quitting.stderr();
    let failures: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("guillotine quit: "))
        .collect();
    assert_eq!(failures.len(), 3, "{stderr}");
    for (url, why) in [
        (&failing_url, "answered 500"),
        (&silent_url, "no answer within 400ms"),
        (&refusing, "connection refused for 400ms"),
    ] {
        assert!(
            failures
                .iter()
                .any(|line| line.contains(url.as_str()) && line.contains(why)),
            "no line for {url} saying {why:?}: {stderr}"
        );
    }
}

#[test]
fn quit_exit_status_for_each_kind_of_endpoint() {
    let answering = HttpServer::start(200);
    let failing = HttpServer::start(500);
    let silent = SilentServer::start();
    let refusing = format!("http://127.0.0.1:{}/quitquitquit", free_port());
    for (url, status) in [
        (answering.url("/q"), 0),
        (failing.url("/q"), 1),
        (silent.url("/q"), 1),
        (refusing, 1),
    ] {
        let mut quitting = quit(&["--quit-timeout", "300ms", &url]);
        quitting.expect_exit(status);
    }
}

#[test]
fn quit_refuses_what_can_never_be_called() {
    for args in [
        &["http://127.0.0.1:0/quit"][..],
        &["127.0.0.1:15020/quitquitquit"],
        &["--quit-timeout", "later", "http://127.0.0.1:1/quit"],
        &[],
    ] {
        let mut quitting = quit(args);
        quitting.expect_exit(125);
        assert!(
            quitting.stderr().starts_with("guillotine"),
            "{args:?}: {}",
            quitting.stderr()
        );
    }
}

#[test]
fn a_command_named_quit_runs_under_the_supervisor_after_double_dash() {
    let dir = crate::harness::scratch();
    let script = dir.path().join("quit");
    std::fs::write(&script, "#!/bin/sh\necho quit ran\n").unwrap();
    let mut permissions = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap();
    let mut command = guillotine(&["--", "quit"]);
    command.env(
        "PATH",
        format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let mut supervised = Guillotine::spawn(command, Track::Nothing);
    supervised.expect_exit(0);
    assert_eq!(supervised.stdout(), ["quit ran"]);
}
