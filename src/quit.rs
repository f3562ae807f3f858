//! Asking a sidecar guillotine does not wrap to quit: `guillotine run --quit-url` once
//! COMMAND has ended, and the `guillotine quit URL…` subcommand (shell scripts, preStop
//! hooks).
//!
//! Owns: one POST per URL, all URLs at once, each bounded by the quit timeout as a whole
//! (connection, retries and answer); within it, retries with backoff while the endpoint
//! refuses connections (a proxy still starting), nothing else retried. The pure part —
//! what an answer means and when to try again ([`next_step`], [`retry_pause`]) — is
//! separate from the calls. Never: signals a process, decides `run`'s exit status (a failed
//! quit is a warning there), or keeps guillotine waiting past the quit timeout (a call
//! still in flight is abandoned, not awaited).

use crate::cli::QuitArgs;
use crate::config::{QuitUrls, quit_urls};
use crate::duration::format_duration;
use crate::exit::status::{QUIT_FAILED, USAGE};
use crate::http::{self, Failure};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// The first pause after a refused connection; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);

/// The longest pause between two tries: a proxy that starts listening is found within half
/// a second.
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

/// Why a quit URL did not say yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuitFailure {
    /// Every try within the quit timeout found nothing listening.
    Refused(Duration),
    /// It answered, but not with a 2xx.
    Answered(u16),
    /// Nothing came back within the quit timeout.
    NoAnswer(Duration),
    /// The call failed otherwise (the client's own words).
    Failed(String),
}

impl fmt::Display for QuitFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuitFailure::Refused(within) => write!(
                f,
                "connection refused for {} (is the sidecar listening there, its quit endpoint \
                 enabled? a slower start needs a longer --quit-timeout)",
                format_duration(*within)
            ),
            QuitFailure::Answered(status) => {
                write!(
                    f,
                    "answered {status}, not a 2xx (is this the quit endpoint?)"
                )
            }
            QuitFailure::NoAnswer(within) => write!(
                f,
                "no answer within {} (--quit-timeout)",
                format_duration(*within)
            ),
            QuitFailure::Failed(error) => write!(f, "{error}"),
        }
    }
}

/// What to do after one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A 2xx: the sidecar was told.
    Quitting(u16),
    /// Try again after this pause.
    Retry(Duration),
    /// Give up.
    Fail(QuitFailure),
}

/// What try number `attempt` (0-based) answering `answer` means, with `left` of the quit
/// timeout `timeout` still to go: a refused connection is tried again while time is left,
/// anything else is final.
pub fn next_step(
    answer: Result<u16, Failure>,
    attempt: u32,
    left: Duration,
    timeout: Duration,
) -> Step {
    match answer {
        Ok(status @ 200..=299) => Step::Quitting(status),
        Ok(status) => Step::Fail(QuitFailure::Answered(status)),
        Err(Failure::Refused) => match retry_pause(attempt, left) {
            Some(pause) => Step::Retry(pause),
            None => Step::Fail(QuitFailure::Refused(timeout)),
        },
        Err(Failure::TimedOut) => Step::Fail(QuitFailure::NoAnswer(timeout)),
        Err(Failure::Other(error)) => Step::Fail(QuitFailure::Failed(error)),
    }
}

/// The pause before trying again after refused try `attempt` (0-based): 50 ms, doubling,
/// at most 500 ms, and never past the time `left`; None when no time is left.
pub fn retry_pause(attempt: u32, left: Duration) -> Option<Duration> {
    if left.is_zero() {
        return None;
    }
    let doubled = FIRST_PAUSE.saturating_mul(1 << attempt.min(16));
    Some(doubled.min(LONGEST_PAUSE).min(left))
}

/// POSTs to `url` until it says yes, fails, or `timeout` has passed.
pub async fn post(url: &str, timeout: Duration) -> Result<u16, QuitFailure> {
    // Bounded like every deadline (see `wake::FAR_FUTURE`): a longer wait is a wait forever.
    let timeout = timeout.min(crate::wake::FAR_FUTURE);
    // What the time ran out on: a pause after a refusal, or a call in flight.
    let refused_last = AtomicBool::new(false);
    let ran_out = |refused_last: &AtomicBool| {
        if refused_last.load(Ordering::Relaxed) {
            QuitFailure::Refused(timeout)
        } else {
            QuitFailure::NoAnswer(timeout)
        }
    };
    let tries = async {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(ran_out(&refused_last));
            }
            refused_last.store(false, Ordering::Relaxed);
            let answer = http::call_within(http::Method::Post, url.to_owned(), left).await;
            refused_last.store(answer == Err(Failure::Refused), Ordering::Relaxed);
            let left = timeout.saturating_sub(start.elapsed());
            match next_step(answer, attempt, left, timeout) {
                Step::Quitting(status) => return Ok(status),
                Step::Fail(failure) => return Err(failure),
                Step::Retry(pause) => {
                    if attempt == 0 {
                        tracing::info!(
                            url,
                            "quit URL refuses connections; trying again until --quit-timeout"
                        );
                    } else {
                        tracing::debug!(url, attempt, "quit URL still refuses connections");
                    }
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
            }
        }
    };
    // The client's own timeout ends each call; this bounds the whole, whatever happens.
    match tokio::time::timeout(timeout, tries).await {
        Ok(result) => result,
        Err(_) => Err(ran_out(&refused_last)),
    }
}

/// POSTs to every URL at once; the failures, each with its URL, in the order given.
pub async fn post_all(quit: &QuitUrls) -> Vec<(String, QuitFailure)> {
    let mut calls = JoinSet::new();
    for (index, url) in quit.urls.iter().enumerate() {
        let (url, timeout) = (url.clone(), quit.timeout);
        calls.spawn(async move {
            let answer = post(&url, timeout).await;
            (index, url, answer)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = calls.join_next().await {
        match joined {
            Ok((_, url, Ok(status))) => {
                tracing::info!(url, status, "quit URL answered: the sidecar is quitting");
            }
            Ok((index, url, Err(failure))) => failures.push((index, url, failure)),
            // A task only ends this way if it panicked (or was aborted, which nobody does).
            Err(error) => failures.push((
                usize::MAX,
                String::from("(a quit call)"),
                QuitFailure::Failed(error.to_string()),
            )),
        }
    }
    failures.sort_by_key(|(index, _, _)| *index);
    failures
        .into_iter()
        .map(|(_, url, failure)| (url, failure))
        .collect()
}

/// Runs [`post_all`] on a runtime of its own; calls still in flight when it returns (there
/// should be none: each is bounded) are not waited for. Err: no runtime could be started.
pub fn post_all_blocking(quit: &QuitUrls) -> std::io::Result<Vec<(String, QuitFailure)>> {
    let runtime = crate::wake::runtime()?;
    let failures = runtime.block_on(post_all(quit));
    runtime.shutdown_background();
    Ok(failures)
}

/// `guillotine quit URL…`: 0 when every URL answered 2xx, else one line per failure and
/// [`QUIT_FAILED`]; [`USAGE`] for a URL or timeout that can never work.
pub fn run(args: &QuitArgs) -> u8 {
    let quit = match quit_urls("URL", &args.urls, &args.quit_timeout) {
        Ok(quit) => quit,
        Err(error) => {
            eprintln!("guillotine quit: {error}");
            return USAGE;
        }
    };
    match post_all_blocking(&quit) {
        Ok(failures) if failures.is_empty() => 0,
        Ok(failures) => {
            for (url, failure) in failures {
                eprintln!("guillotine quit: {url}: {failure}");
            }
            QUIT_FAILED
        }
        Err(error) => {
            eprintln!("guillotine quit: cannot start the event loop: {error}");
            USAGE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: Duration = Duration::from_secs(5);

    #[test]
    fn pauses_double_from_50ms_to_half_a_second() {
        let pauses: Vec<u128> = (0..7)
            .map(|attempt| retry_pause(attempt, FIVE).unwrap().as_millis())
            .collect();
        assert_eq!(pauses, [50, 100, 200, 400, 500, 500, 500]);
        assert_eq!(retry_pause(u32::MAX, FIVE), Some(LONGEST_PAUSE));
    }

    #[test]
    fn a_pause_never_outlasts_the_time_left() {
        assert_eq!(
            retry_pause(3, Duration::from_millis(30)),
            Some(Duration::from_millis(30))
        );
        assert_eq!(retry_pause(0, Duration::ZERO), None);
    }

    #[test]
    fn the_retry_schedule_fits_the_quit_timeout() {
        // Tries that are refused at once: the pauses add up to the timeout, never more.
        for timeout_ms in [0u64, 1, 49, 50, 300, 5_000] {
            let timeout = Duration::from_millis(timeout_ms);
            let mut left = timeout;
            let mut attempt = 0;
            while let Some(pause) = retry_pause(attempt, left) {
                left -= pause;
                attempt += 1;
            }
            assert_eq!(left, Duration::ZERO, "{timeout:?}");
        }
    }

    #[test]
    fn only_a_2xx_is_a_yes_and_only_a_refusal_is_tried_again() {
        let left = Duration::from_secs(1);
        for status in [200, 202, 204, 299] {
            assert_eq!(next_step(Ok(status), 0, left, FIVE), Step::Quitting(status));
        }
        for status in [100, 301, 404, 500, 503] {
            assert_eq!(
                next_step(Ok(status), 0, left, FIVE),
                Step::Fail(QuitFailure::Answered(status))
            );
        }
        assert_eq!(
            next_step(Err(Failure::Refused), 2, left, FIVE),
            Step::Retry(Duration::from_millis(200))
        );
        assert_eq!(
            next_step(Err(Failure::Refused), 2, Duration::ZERO, FIVE),
            Step::Fail(QuitFailure::Refused(FIVE))
        );
        assert_eq!(
            next_step(Err(Failure::TimedOut), 0, left, FIVE),
            Step::Fail(QuitFailure::NoAnswer(FIVE))
        );
        assert_eq!(
            next_step(Err(Failure::Other("reset".into())), 0, left, FIVE),
            Step::Fail(QuitFailure::Failed("reset".into()))
        );
    }

    #[test]
    fn failures_say_why_and_what_to_check() {
        assert_eq!(
            QuitFailure::Answered(500).to_string(),
            "answered 500, not a 2xx (is this the quit endpoint?)"
        );
        assert_eq!(
            QuitFailure::NoAnswer(FIVE).to_string(),
            "no answer within 5s (--quit-timeout)"
        );
        assert!(
            QuitFailure::Refused(FIVE)
                .to_string()
                .starts_with("connection refused for 5s ")
        );
    }
}
