//! guillotine's entry point, a table of contents: pick the mode, run it, end the process.
//! The only place that ends the process.

use guillotine::exit::Ending;
use guillotine::{cli, dispatch, sys, timeout};
use std::process::ExitCode;

/// dlmalloc, not the C library's allocator: musl's (the static build's) maps and unmaps
/// small blocks as start-up allocates and frees them (46 mmap + 32 munmap per start);
/// dlmalloc takes memory in 64 KiB pieces and keeps it: 35 page faults fewer per start
/// (BENCHMARKS.md, "The cuts of issue 16"). Its lock is a plain mutex: nothing may
/// allocate in a child between its clone and its exec, and nothing does (`sys::spawn`'s
/// posix_spawn child and pre-exec closure make only system calls).
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> ExitCode {
    let argv: Vec<_> = std::env::args_os().collect();
    let ending = match timeout::invocation(argv.clone()) {
        Some((program, args)) => timeout::main(&program, &args),
        None => match cli::parse(argv) {
            Ok(invocation) => dispatch::run(invocation),
            Err(status) => Ending::Exit(status),
        },
    };
    match ending {
        Ending::Exit(status) => ExitCode::from(status),
        Ending::DieBy { signal, otherwise } => {
            sys::process::die_by(signal);
            ExitCode::from(otherwise)
        }
    }
}
