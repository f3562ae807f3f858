//! guillotine's entry point, a table of contents: parse, log, run, exit.
//! The only place that decides the process exit status.

use clap::Parser;
use guillotine::cli::{self, Args};
use guillotine::config::{Config, ConfigError};
use guillotine::{logging, run};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) if cli::is_help_or_version(&error) => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("guillotine: {}", cli::one_line(&error));
            return ExitCode::from(ConfigError::EXIT_CODE);
        }
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
