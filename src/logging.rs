//! Log set-up: tracing to stderr (stdout belongs to the child), text or JSON lines, filter
//! from `GUILLOTINE_LOG`.
//!
//! Owns: the global subscriber. Never: writes to stdout.

use crate::cli::LogFormat;
use tracing_subscriber::EnvFilter;

/// The variable holding the env-filter directives, e.g. `debug` or `guillotine=trace`.
const FILTER_VARIABLE: &str = "GUILLOTINE_LOG";

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env(FILTER_VARIABLE).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => builder.with_ansi(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}
