//! Running what the command line asked for: the supervisor or one of its helpers.
//!
//! Owns: logging set-up per mode and turning each mode's result, or its set-up error, into
//! an [`Ending`] with a one-line message. Never: parses arguments (that is `cli`) or ends
//! the process (that is `main`).

use crate::cli::Invocation;
use crate::config::Config;
use crate::exit::Ending;
use crate::{done, event_loop, install, logging, main_container, quit};

pub fn run(invocation: Invocation) -> Ending {
    match invocation {
        Invocation::Supervise(args) => {
            logging::init(args.logging.log_format);
            let outcome = Config::try_from(*args)
                .map_err(event_loop::SetupError::from)
                .and_then(event_loop::run_to_end);
            Ending::Exit(match outcome {
                Ok(status) => status,
                Err(error) => {
                    eprintln!("guillotine: {error}");
                    error.exit_code()
                }
            })
        }
        Invocation::Run(args) => {
            logging::init(args.logging.log_format);
            Ending::Exit(main_container::run(args))
        }
        Invocation::RunRefused(sentinels) => Ending::Exit(main_container::refused(&sentinels)),
        Invocation::Done(args) => Ending::Exit(done::run(&args)),
        Invocation::Quit(args) => {
            logging::init(args.logging.log_format);
            Ending::Exit(quit::run(&args))
        }
        Invocation::Install(args) => Ending::Exit(install::run(&args)),
        Invocation::Completions(args) => {
            crate::cli::print_completions(args.shell);
            Ending::Exit(0)
        }
    }
}
