//! guillotine's entry point, a table of contents: pick the mode, run it, end the process.
//! The only place that ends the process.

use guillotine::exit::Ending;
use guillotine::{cli, dispatch, sys, timeout};
use std::process::ExitCode;

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
