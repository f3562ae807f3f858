//! guillotine's integration tests: one binary, one harness, one file per behaviour.

mod bad_input;
mod coordination;
mod exit_status;
mod harness;
mod kubelet;
mod lifetime;
mod packaging;
mod pid1;
mod quit;
mod readme;
mod run_wait;
mod sentinel;
mod signals;
mod stop_sequence;
mod strtod;
mod subcommands;
mod terminal;
mod termination_log;
mod timeout_gnu;
mod torture;
mod writers;
