//! Watching for sentinel files.
//!
//! Owns: the inotify watch (through `notify`) on the deepest existing directory above each
//! sentinel, moved deeper as directories appear; the stat polling used when `--poll` forces it
//! or inotify cannot be set up; and the answer to "does a sentinel exist?".
//! Never: checks for a sentinel before the watch that would report its creation is armed
//! (a file created in between would be missed forever), or blocks the async runtime waiting
//! for an event (the notify thread only does a non-blocking `try_send`).

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};

/// A sentinel path that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum SentinelError {
    #[error(
        "--watch: {path:?} is a directory; name the file the main container will create, e.g. {example:?}"
    )]
    IsDirectory { path: PathBuf, example: PathBuf },
    #[error("--watch: cannot resolve {path:?} against the current directory: {source}")]
    Unresolvable {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How sentinels are detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    /// Poll even when inotify works (`--poll`).
    pub forced: bool,
    /// The interval whenever polling is in effect, forced or as a fallback.
    pub interval: Duration,
}

/// Watches a set of sentinel paths. With no path it never fires.
pub struct SentinelWatch {
    paths: Vec<PathBuf>,
    mode: Mode,
    poll_interval: Duration,
}

enum Mode {
    Idle,
    Inotify(InotifyWatch),
    Poll(Interval),
}

struct InotifyWatch {
    watcher: RecommendedWatcher,
    /// Capacity 1: a pending wake-up already covers any later event.
    wake: mpsc::Receiver<()>,
    /// For each sentinel path, the directory watched for it now.
    watched: Vec<Option<PathBuf>>,
}

impl SentinelWatch {
    /// Validates the paths and arms the watch. Call [`SentinelWatch::find_existing`] only
    /// after this, never before.
    pub fn arm(paths: &[PathBuf], poll: PollSettings) -> Result<Self, SentinelError> {
        let paths = paths
            .iter()
            .map(|path| validate(path))
            .collect::<Result<Vec<_>, _>>()?;
        let mode = if paths.is_empty() {
            Mode::Idle
        } else if poll.forced {
            tracing::info!(interval = ?poll.interval, "polling for sentinels (--poll)");
            Mode::Poll(poll_every(poll.interval))
        } else {
            match InotifyWatch::new(paths.len()) {
                Ok(watch) => Mode::Inotify(watch),
                Err(error) => fallback(&error, poll.interval),
            }
        };
        let mut watch = SentinelWatch {
            paths,
            mode,
            poll_interval: poll.interval,
        };
        watch.rearm();
        Ok(watch)
    }

    /// Waits until something may have changed: an inotify event or a poll tick. With no
    /// sentinel it never returns. Cancel-safe.
    pub async fn changed(&mut self) {
        match &mut self.mode {
            Mode::Idle => std::future::pending().await,
            Mode::Inotify(watch) => {
                if watch.wake.recv().await.is_none() {
                    // The notify thread is gone: nothing will wake us; poll instead.
                    tracing::warn!("the inotify thread stopped; polling for sentinels instead");
                    self.mode = Mode::Poll(poll_every(self.poll_interval));
                }
            }
            Mode::Poll(interval) => {
                interval.tick().await;
            }
        }
    }

    /// Returns the first sentinel that exists. When none does, first moves each watch to the
    /// deepest directory that exists now, then looks again: a sentinel created in a new
    /// directory before its watch was armed is found by that second look. (Looking before
    /// re-arming spares the common case, a sentinel in an already-watched directory, the
    /// round trip to the notify thread.)
    pub fn find_existing(&mut self) -> Option<&Path> {
        if self.existing().is_none() {
            self.rearm();
        }
        self.existing()
    }

    fn existing(&self) -> Option<&Path> {
        self.paths
            .iter()
            .find(|path| path.symlink_metadata().is_ok())
            .map(PathBuf::as_path)
    }

    /// Stops watching: once a sentinel has appeared, more events change nothing.
    pub fn disarm(&mut self) {
        self.mode = Mode::Idle;
    }

    fn rearm(&mut self) {
        let Mode::Inotify(watch) = &mut self.mode else {
            return;
        };
        if let Err(error) = watch.rearm(&self.paths) {
            self.mode = fallback(&error, self.poll_interval);
        }
    }
}

impl InotifyWatch {
    fn new(count: usize) -> notify::Result<Self> {
        let (sender, wake) = mpsc::channel(1);
        let watcher = notify::recommended_watcher(move |_event| {
            // Full means a wake-up is already pending; closed means we are exiting.
            let _ = sender.try_send(());
        })?;
        Ok(InotifyWatch {
            watcher,
            wake,
            watched: vec![None; count],
        })
    }

    /// Watches the deepest existing directory above each path. Re-adding a watch on the
    /// same directory is cheap and also covers a directory deleted and created again.
    fn rearm(&mut self, paths: &[PathBuf]) -> notify::Result<()> {
        for (path, watched) in paths.iter().zip(self.watched.iter_mut()) {
            let directory = deepest_existing_directory(path);
            if let Some(old) = watched.take().filter(|old| *old != directory) {
                // The old directory may be gone already; nothing to undo then.
                let _ = self.watcher.unwatch(&old);
                tracing::debug!(from = %old.display(), to = %directory.display(), "sentinel watch moved");
            }
            self.watcher
                .watch(&directory, RecursiveMode::NonRecursive)?;
            *watched = Some(directory);
        }
        Ok(())
    }
}

fn fallback(error: &notify::Error, interval: Duration) -> Mode {
    tracing::warn!(%error, ?interval, "inotify is not available; polling for sentinels instead");
    Mode::Poll(poll_every(interval))
}

fn poll_every(interval: Duration) -> Interval {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

/// Makes the path absolute (the child may change directory; we do not, but logs should be
/// unambiguous) and refuses a directory: a sentinel is a file.
fn validate(path: &Path) -> Result<PathBuf, SentinelError> {
    let absolute = std::path::absolute(path).map_err(|source| SentinelError::Unresolvable {
        path: path.to_owned(),
        source,
    })?;
    if absolute.is_dir() {
        return Err(SentinelError::IsDirectory {
            example: absolute.join("done"),
            path: path.to_owned(),
        });
    }
    Ok(absolute)
}

/// The deepest ancestor of `path` that is a directory now (`/` at worst).
fn deepest_existing_directory(path: &Path) -> PathBuf {
    path.ancestors()
        .skip(1)
        .find(|ancestor| ancestor.is_dir())
        .unwrap_or(Path::new("/"))
        .to_owned()
}
