//! An interactive terminal: the child gets its foreground (`docker run -it`, `kubectl run
//! -it`), and guillotine takes it back when the child ends.

use crate::harness::{DEADLINE, GUILLOTINE, clean_environment};
use std::fs::File;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

#[test]
fn an_interactive_child_can_read_its_terminal() {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let terminal = File::from(pty.slave);
    // setsid --ctty: a new session whose controlling terminal is the pty, guillotine in its
    // foreground, as a shell would start it.
    let mut command = Command::new("setsid");
    command
        .args(["--ctty", "--wait", GUILLOTINE, "--", "sh", "-c"])
        .arg("read line; echo \"got:$line\"")
        .stdin(Stdio::from(terminal.try_clone().unwrap()))
        .stdout(Stdio::from(terminal.try_clone().unwrap()))
        .stderr(Stdio::from(terminal));
    clean_environment(&mut command);
    command.env("GUILLOTINE_LOG", "warn");
    let mut session = command.spawn().expect("start setsid");
    let mut master = File::from(pty.master);
    let mut reader = master.try_clone().unwrap();
    let (lines, output) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 1024];
        while let Ok(read @ 1..) = reader.read(&mut buffer) {
            if lines.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    master.write_all(b"hello\n").unwrap();
    let end = Instant::now() + DEADLINE;
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("got:hello") {
        match output.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(bytes) => seen.extend(bytes),
            Err(_) => {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(session.id() as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = session.wait();
                panic!(
                    "the child never read its terminal (stopped by SIGTTIN?); terminal showed: {:?}",
                    String::from_utf8_lossy(&seen)
                );
            }
        }
    }
    // guillotine takes the foreground back and exits with the child's status (not stopped
    // by SIGTTOU on the way).
    let mut status = None;
    crate::harness::eventually("guillotine exits", DEADLINE, || {
        status = session.try_wait().unwrap();
        status.map(drop).ok_or_else(|| "still running".to_owned())
    });
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{:?}",
        String::from_utf8_lossy(&seen)
    );
}
