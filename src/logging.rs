//! Log set-up: tracing to stderr (stdout belongs to the child), text or JSON lines, filter
//! from `GUILLOTINE_LOG`.
//!
//! Owns: the global subscriber. Never: writes to stdout.
//!
//! The filter is tracing-subscriber's `Targets` (`debug`, `guillotine=trace,warn`): the
//! level-only and `target=level` forms of env-filter syntax, without env-filter's regex
//! engine, which was a fifth of the static binary (issue 16; BENCHMARKS.md).

use crate::cli::LogFormat;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The variable holding the filter directives, e.g. `debug` or `guillotine=trace`.
const FILTER_VARIABLE: &str = "GUILLOTINE_LOG";

pub fn init(format: LogFormat) {
    let filter = std::env::var(FILTER_VARIABLE)
        .ok()
        .and_then(|directives| parse_filter(&directives))
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry.with(layer.with_ansi(false)).init(),
        LogFormat::Json => registry.with(layer.json()).init(),
    }
}

/// Comma-separated directives, each a level (`debug`), a target (`guillotine`: all its
/// levels) or `target=level`; empty ones are skipped, as env-filter skips them (an empty
/// `Targets` directive would otherwise enable every target at trace). None when a
/// directive is invalid: the default applies, as it did with env-filter.
fn parse_filter(directives: &str) -> Option<Targets> {
    let kept: Vec<&str> = directives.split(',').filter(|d| !d.is_empty()).collect();
    if kept.is_empty() {
        return Some(Targets::new());
    }
    kept.join(",").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn the_forms_users_write_parse_as_env_filter_read_them() {
        for (directives, default, guillotine) in [
            ("debug", LevelFilter::DEBUG, LevelFilter::DEBUG),
            ("WARN", LevelFilter::WARN, LevelFilter::WARN),
            ("off", LevelFilter::OFF, LevelFilter::OFF),
            ("guillotine=trace", LevelFilter::OFF, LevelFilter::TRACE),
            (
                "warn,guillotine=debug",
                LevelFilter::WARN,
                LevelFilter::DEBUG,
            ),
            ("guillotine", LevelFilter::OFF, LevelFilter::TRACE),
            ("info,", LevelFilter::INFO, LevelFilter::INFO),
            ("", LevelFilter::OFF, LevelFilter::OFF),
        ] {
            let filter = parse_filter(directives).expect(directives);
            let at = |target: &str| {
                [
                    LevelFilter::TRACE,
                    LevelFilter::DEBUG,
                    LevelFilter::INFO,
                    LevelFilter::WARN,
                    LevelFilter::ERROR,
                ]
                .into_iter()
                .find(|level| {
                    level
                        .into_level()
                        .is_some_and(|level| filter.would_enable(target, &level))
                })
                .unwrap_or(LevelFilter::OFF)
            };
            // Any target not guillotine's: none of its dependencies logs through tracing
            // (tokio's `tracing` feature is off), but one that did would get the default.
            assert_eq!(at("tokio::runtime"), default, "{directives:?}");
            assert_eq!(at("guillotine::event_loop"), guillotine, "{directives:?}");
        }
    }

    #[test]
    fn invalid_directives_fall_back_to_the_default() {
        for directives in ["guillotine=loud", "a=b=c", "=debug=x"] {
            assert!(parse_filter(directives).is_none(), "{directives:?}");
        }
    }
}
