//! guillotine's entry point, a table of contents: pick the mode, parse, log, run, exit.
//! The only place that ends the process.

use guillotine::config::Config;
use guillotine::timeout::{self, TimeoutEnd};
use guillotine::{cli, logging, run, sys};
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<_> = std::env::args_os().collect();
    if let Some((program, args)) = timeout::invocation(argv.clone()) {
        return match timeout::main(&program, &args) {
            TimeoutEnd::Exit(status) => ExitCode::from(status),
            TimeoutEnd::DieBy { signal, otherwise } => {
                sys::process::die_by(signal);
                ExitCode::from(otherwise)
            }
        };
    }
    let args = match cli::parse(argv) {
        Ok(args) => args,
        Err(status) => return ExitCode::from(status),
    };
    logging::init(args.log_format);
    let outcome = Config::try_from(args)
        .map_err(run::SetupError::from)
        .and_then(run::run_to_end);
    match outcome {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprintln!("guillotine: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
