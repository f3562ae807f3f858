//! `guillotine run`: the main container's side of the pod.
//!
//! Owns: waiting for the sidecar (`--wait-for`, bounded by `--wait-timeout`), running
//! COMMAND under the same supervision as a sidecar (own group, forwarding, reaping), and
//! writing the sentinels with its status — in every case with `--done-on always`, so the
//! sidecar is never left running. Never: exits without deciding about the sentinel.

use crate::cli::{DoneOn, RunArgs};
use crate::config::Config;
use crate::done;
use crate::duration::parse_duration;
use crate::readiness::{self, Probe, parse_probe};
use crate::run;
use std::time::Duration;

/// The status when `--wait-for` did not hold in time (as a timed-out `timeout`).
const NOT_READY: u8 = 124;

/// Runs COMMAND and returns its status, after writing the sentinels as `--done-on` says.
pub fn run(args: RunArgs) -> u8 {
    let status = run_command(&args);
    let write = match args.done_on {
        DoneOn::Always => true,
        DoneOn::Success => status == 0,
    };
    if write {
        // A sentinel that cannot be written is said on stderr; the status stays COMMAND's.
        if done::write_all(&args.done, status) {
            tracing::info!(status, sentinels = ?args.done, "sentinels written");
        }
    }
    status
}

fn run_command(args: &RunArgs) -> u8 {
    let probes = match args
        .wait_for
        .iter()
        .map(|text| parse_probe(text))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(probes) => probes,
        Err(error) => return usage_error(&format!("--wait-for: {error}")),
    };
    let wait_timeout = match parse_duration(&args.wait_timeout) {
        Ok(timeout) => timeout,
        Err(error) => return usage_error(&format!("--wait-timeout: {error}")),
    };
    let runtime = match run::runtime() {
        Ok(runtime) => runtime,
        Err(error) => return usage_error(&error.to_string()),
    };
    runtime.block_on(async {
        if !wait_for(&probes, wait_timeout).await {
            return NOT_READY;
        }
        match run::supervise(Config::for_command(args.command.clone())).await {
            Ok(status) => status,
            Err(error) => {
                eprintln!("guillotine run: {error}");
                error.exit_code()
            }
        }
    })
}

/// True once every probe holds; false (with a message) if `timeout` passes first.
async fn wait_for(probes: &[Probe], timeout: Duration) -> bool {
    if probes.is_empty() {
        return true;
    }
    tracing::info!(probes = ?probes.iter().map(Probe::to_string).collect::<Vec<_>>(), "waiting for readiness");
    if tokio::time::timeout(timeout, readiness::wait_until_ready(probes))
        .await
        .is_ok()
    {
        return true;
    }
    let names: Vec<String> = probes.iter().map(Probe::to_string).collect();
    eprintln!(
        "guillotine run: not ready after {}: {}; COMMAND was not started",
        crate::duration::format_duration(timeout),
        names.join(", ")
    );
    false
}

fn usage_error(message: &str) -> u8 {
    eprintln!("guillotine run: {message}");
    crate::config::ConfigError::EXIT_CODE
}
