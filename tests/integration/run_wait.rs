//! `guillotine run` before COMMAND starts: signals during `--wait-for`, arguments that clap
//! rejects, URLs that can never work, and `exec:` readiness probes.

use crate::harness::{
    DEADLINE, Guillotine, PROBE, Sentinel, Track, children_in_state, eventually, free_port,
    guillotine, run_waiting_for, scratch,
};
use nix::sys::signal::Signal;

fn contents(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn wait_until_waiting(run: &Guillotine) {
    eventually("guillotine run is waiting", DEADLINE, || {
        let stderr = run.stderr();
        stderr
            .contains("waiting for readiness")
            .then_some(())
            .ok_or(stderr)
    });
}

#[test]
fn a_signal_during_the_wait_writes_128_plus_n_and_never_starts_command() {
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let done = Sentinel::new();
        let probe = format!("tcp://127.0.0.1:{}", free_port());
        let mut run = run_waiting_for(&probe, &done);
        wait_until_waiting(&run);
        run.signal(signal);
        let status = 128 + signal as i32;
        run.expect_exit(status);
        assert!(run.stdout().is_empty(), "COMMAND ran: {:?}", run.stdout());
        assert_eq!(contents(&done.path), format!("{status}\n"), "{signal}");
    }
}

#[test]
fn arguments_clap_rejects_still_write_the_named_sentinels() {
    let dir = scratch();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let mut run = Guillotine::start(&[
        "run",
        "--done",
        first.to_str().unwrap(),
        &format!("--done={}", second.display()),
        "--bogus-flag",
        "--",
        "true",
    ]);
    run.expect_exit(125);
    assert!(run.stderr().contains("'--bogus-flag'"), "{}", run.stderr());
    assert_eq!(contents(&first), "125\n");
    assert_eq!(contents(&second), "125\n");

    let from_environment = dir.path().join("from-environment");
    let mut command = guillotine(&["run", "--bogus-flag", "--", "true"]);
    command.env("GUILLOTINE_DONE", &from_environment);
    Guillotine::spawn(command, Track::Nothing).expect_exit(125);
    assert_eq!(contents(&from_environment), "125\n");
}

#[test]
fn arguments_clap_rejects_with_done_on_success_write_nothing() {
    let done = Sentinel::new();
    let mut run = Guillotine::start(&[
        "run",
        "--done",
        done.arg(),
        "--done-on",
        "success",
        "--bogus-flag",
        "--",
        "true",
    ]);
    run.expect_exit(125);
    assert!(!done.path.exists(), "a usage error counted as success");
}

#[test]
fn a_bad_wait_timeout_writes_125() {
    let done = Sentinel::new();
    let mut run = Guillotine::start(&[
        "run",
        "--done",
        done.arg(),
        "--wait-timeout",
        "nonsense",
        "--",
        "true",
    ]);
    run.expect_exit(125);
    assert!(
        run.stderr().contains("--wait-timeout: "),
        "{}",
        run.stderr()
    );
    assert_eq!(contents(&done.path), "125\n");
}

#[test]
fn http_urls_that_can_never_work_are_usage_errors_naming_the_option() {
    for url in [
        "http://127.0.0.1:99999/ready",
        "http://127.0.0.1:0/ready",
        "http://:8080/ready",
        "http://host name/ready",
        "http://127.0.0.1:80/a path",
        "http://127.0.0.1:8x/",
    ] {
        let done = Sentinel::new();
        let mut run =
            Guillotine::start(&["run", "--done", done.arg(), "--wait-for", url, "--", "true"]);
        run.expect_exit(125);
        assert!(
            run.stderr().contains(&format!("--wait-for: {url:?}")),
            "{}",
            run.stderr()
        );
        let dir = scratch();
        let ready = dir.path().join("ready");
        let mut sidecar = Guillotine::start(&[
            "--ready-file",
            ready.to_str().unwrap(),
            "--ready-when",
            url,
            "--",
            "true",
        ]);
        sidecar.expect_exit(125);
        assert!(
            sidecar.stderr().contains(&format!("--ready-when: {url:?}")),
            "{}",
            sidecar.stderr()
        );
        let mut quitting = Guillotine::start(&["--quit-url", url, "--", "true"]);
        quitting.expect_exit(125);
        assert!(
            quitting.stderr().contains(&format!("--quit-url: {url:?}")),
            "{}",
            quitting.stderr()
        );
    }
}

#[test]
fn an_exec_probe_gates_command_on_its_exit_status() {
    let dir = scratch();
    let marker = dir.path().join("accepting");
    let done = Sentinel::new();
    let probe = format!("exec:test -e {}", marker.display());
    let mut run = run_waiting_for(&probe, &done);
    eventually("a try said not ready", DEADLINE, || {
        let stderr = run.stderr();
        stderr.contains("exited with 1").then_some(()).ok_or(stderr)
    });
    assert!(!done.path.exists(), "an exit 1 counted as ready");
    std::fs::write(&marker, b"").unwrap();
    run.expect_exit(0);
    assert_eq!(run.stdout(), ["started"]);
    assert_eq!(contents(&done.path), "0\n");
}

/// Host pids of running processes whose argv is exactly `argv`.
fn processes_running(argv: &[&str]) -> Vec<i32> {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|arg| [arg.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted))
        .collect()
}

#[test]
fn an_exec_probe_that_overruns_is_killed_and_tried_again_and_never_left_behind() {
    // A duration no other test uses, so this test finds only its own probes.
    let seconds = (900_000 + std::process::id()).to_string();
    let sleep = ["sleep", seconds.as_str()];
    let done = Sentinel::new();
    let mut run = Guillotine::start(&[
        "run",
        "--wait-for",
        &format!("exec:sleep {seconds}"),
        "--done",
        done.arg(),
        "--",
        "true",
    ]);
    let mut first = vec![];
    eventually("the first try runs", DEADLINE, || {
        first = processes_running(&sleep);
        (first.len() == 1).then_some(()).ok_or(format!("{first:?}"))
    });
    eventually(
        "the first try is killed and a second one runs",
        DEADLINE,
        || {
            let now = processes_running(&sleep);
            (now.len() == 1 && now != first)
                .then_some(())
                .ok_or(format!("{now:?}"))
        },
    );
    assert!(
        children_in_state(run.pid(), 'Z').is_empty(),
        "the killed try was not reaped"
    );
    run.signal(Signal::SIGTERM);
    run.expect_exit(143);
    assert_eq!(contents(&done.path), "143\n");
    eventually("no try is left running", DEADLINE, || {
        let left = processes_running(&sleep);
        left.is_empty().then_some(()).ok_or(format!("{left:?}"))
    });
}

#[test]
fn a_wait_timeout_ends_a_running_exec_try() {
    let seconds = (800_000 + std::process::id()).to_string();
    let done = Sentinel::new();
    let mut run = Guillotine::start(&[
        "run",
        "--wait-for",
        &format!("exec:sleep {seconds}"),
        "--wait-timeout",
        "500ms",
        "--done",
        done.arg(),
        "--",
        "true",
    ]);
    run.expect_exit(124);
    eventually("the try is not left running", DEADLINE, || {
        let left = processes_running(&["sleep", &seconds]);
        left.is_empty().then_some(()).ok_or(format!("{left:?}"))
    });
}

#[test]
fn an_exec_probe_gates_the_sidecar_s_ready_file_through_the_supervisor_s_reaper() {
    let dir = scratch();
    let ready = dir.path().join("ready");
    let flag = dir.path().join("flag");
    let probe = format!("exec:test -e {}", flag.display());
    let mut sidecar = Guillotine::start(&[
        "--ready-file",
        ready.to_str().unwrap(),
        "--ready-when",
        &probe,
        "--",
        PROBE,
    ]);
    sidecar.wait_ready();
    // Tries run and fail (their ends reach the probe through the supervisor's reaper).
    eventually("a failed try is logged", DEADLINE, || {
        let stderr = sidecar.stderr();
        if stderr.contains("exec probe: not ready") {
            Ok(())
        } else {
            Err(stderr)
        }
    });
    assert!(!ready.exists(), "not ready while the probe fails");
    std::fs::write(&flag, b"").unwrap();
    eventually("the ready file is written", DEADLINE, || {
        if ready.exists() {
            Ok(())
        } else {
            Err("no ready file".into())
        }
    });
    sidecar.signal(Signal::SIGTERM);
    sidecar.expect_exit(143);
    sidecar.assert_nothing_left();
}

#[test]
fn an_exec_try_running_when_the_stop_begins_is_not_left_behind() {
    let dir = scratch();
    let marker = format!("{}", 90_000 + std::process::id() % 9_000);
    let probe = format!("exec:sleep {marker}");
    let mut sidecar = Guillotine::start(&[
        "--ready-file",
        dir.path().join("ready").to_str().unwrap(),
        "--ready-when",
        &probe,
        "--",
        PROBE,
    ]);
    sidecar.wait_ready();
    let running = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
            .any(|cmdline| cmdline == format!("sleep\0{marker}\0").as_bytes())
    };
    eventually("the try runs", DEADLINE, || {
        if running() {
            Ok(())
        } else {
            Err("not yet".into())
        }
    });
    sidecar.signal(Signal::SIGTERM);
    sidecar.expect_exit(143);
    assert!(!running(), "the exec try was left running");
}

/// `run --wait-for http://…`: the end of the wait (here --wait-timeout) is not held up by a
/// probe call still in flight; the sentinel is written at once.
#[test]
fn run_gives_up_waiting_on_time_while_an_http_probe_hangs() {
    // Accepts connections in the kernel's backlog and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let dir = crate::harness::scratch();
    let done = dir.path().join("done");
    let started = std::time::Instant::now();
    let mut run = crate::harness::Guillotine::spawn(
        crate::harness::guillotine(&[
            "run",
            "--done",
            done.to_str().unwrap(),
            "--wait-for",
            &url,
            "--wait-timeout",
            "300ms",
            "--",
            "true",
        ]),
        crate::harness::Track::Nothing,
    );
    let status = run.wait_exit();
    let took = started.elapsed();
    if status.code() != Some(124) || took > std::time::Duration::from_millis(1500) {
        run.fail(&format!(
            "expected 124 about 300 ms after the start; got {status:?} after {took:?}"
        ));
    }
    drop(listener);
}

#[test]
fn on_wait_timeout_start_names_the_probes_that_did_not_hold_and_runs_command() {
    let dir = scratch();
    let present = dir.path().join("present");
    std::fs::write(&present, b"").unwrap();
    let held = format!("file:{}", present.display());
    let not_held = format!("tcp://127.0.0.1:{}", free_port());
    let done = Sentinel::new();
    let mut run = Guillotine::start(&[
        "run",
        "--wait-for",
        &held,
        "--wait-for",
        &not_held,
        "--wait-timeout",
        "200ms",
        "--on-wait-timeout",
        "start",
        "--done",
        done.arg(),
        "--",
        "sh",
        "-c",
        "echo started; exit 5",
    ]);
    run.expect_exit(5);
    assert_eq!(run.stdout(), ["started"]);
    assert_eq!(contents(&done.path), "5\n");
    let stderr = run.stderr();
    let said = stderr
        .lines()
        .find(|line| line.contains("not ready after 200ms"))
        .unwrap_or_else(|| panic!("no timeout message: {stderr}"));
    assert!(
        said.contains(&not_held) && !said.contains(&held),
        "the message names only the probe that did not hold: {said}"
    );
    assert!(said.contains("starting COMMAND anyway"), "{said}");
}

#[test]
fn on_wait_timeout_fail_is_the_default_and_never_starts_command() {
    for options in [&[][..], &["--on-wait-timeout", "fail"]] {
        let done = Sentinel::new();
        let probe = format!("tcp://127.0.0.1:{}", free_port());
        let mut args = vec!["run", "--wait-for", &probe, "--wait-timeout", "200ms"];
        args.extend_from_slice(options);
        args.extend_from_slice(&["--done", done.arg(), "--", "sh", "-c", "echo started"]);
        let mut run = Guillotine::start(&args);
        run.expect_exit(124);
        assert!(run.stdout().is_empty(), "COMMAND ran: {:?}", run.stdout());
        assert_eq!(contents(&done.path), "124\n");
    }
    let done = Sentinel::new();
    let mut command = guillotine(&[
        "run",
        "--wait-for",
        "tcp://127.0.0.1:1",
        "--wait-timeout",
        "100ms",
        "--done",
        done.arg(),
        "--",
        "true",
    ]);
    command.env("GUILLOTINE_ON_WAIT_TIMEOUT", "start");
    Guillotine::spawn(command, Track::Nothing).expect_exit(0);
}
