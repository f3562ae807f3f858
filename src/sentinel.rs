//! Watching for sentinel files.
//!
//! Owns: the decisions behind the inotify watch — which directories each sentinel needs
//! (every ancestor of its path, down to the deepest one that is a directory now), which
//! sentinels keep each watch (a watch is removed only when none needs it any more), and what
//! an event means (look again, or first re-arm because a watch may be gone or on the wrong
//! inode); the stat polling used when `--poll` forces it or inotify cannot be set up; and
//! the answer to "does a sentinel exist?".
//! Never: looks for a sentinel before the watches that would report its creation are armed
//! (a file created in between would be missed forever), makes the inotify or mount-table
//! syscalls itself (that is `sys::inotify` and `sys::mounts`), or keeps a timer in inotify
//! mode (waiting costs nothing until something changes).

use crate::config::PollSettings;
use crate::sys::inotify::{AddWatchFlags, Inotify, WatchDescriptor};
use crate::sys::mounts::MountTable;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
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

/// Watches a set of sentinel paths. With no path it never fires.
pub struct SentinelWatch {
    paths: Vec<PathBuf>,
    mode: Mode,
    poll_interval: Duration,
    /// The inotify watch after `disarm`, kept only so that closing it happens later.
    _disarmed: Option<InotifyWatch>,
}

enum Mode {
    Idle,
    Inotify(InotifyWatch),
    Poll(Interval),
}

/// What every watched directory is watched for: its own deletion, move or unmount — how an
/// ancestor renamed away or removed shows. IN_IGNORED and IN_Q_OVERFLOW come unasked.
/// IN_ONLYDIR: a path that is no directory (any more) is refused, not watched.
const SELF_MASK: AddWatchFlags = AddWatchFlags::IN_DELETE_SELF
    .union(AddWatchFlags::IN_MOVE_SELF)
    .union(AddWatchFlags::IN_UNMOUNT)
    .union(AddWatchFlags::IN_ONLYDIR);

/// Added where a name on the path can change without a self event on a watched directory:
/// in the deepest directory (the next name may appear) and above a symlink (it may be
/// swapped). A name appears, goes, or changes permissions (IN_ATTRIB: a directory may have
/// become searchable). IN_CLOSE_WRITE and IN_MODIFY are left out: a name exists from its
/// IN_CREATE or IN_MOVED_TO on. Other ancestors need no entry events: a directory on the path
/// that has one below it is not empty, so it can leave only by a rename (IN_MOVE_SELF), and
/// leaving only them out keeps busy ancestors such as /tmp from waking guillotine.
const ENTRY_MASK: AddWatchFlags = AddWatchFlags::IN_CREATE
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_MOVED_FROM)
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_ATTRIB);

/// Events that end a watch or leave it on an inode no longer at its path.
const WATCH_LOST: AddWatchFlags = AddWatchFlags::IN_IGNORED
    .union(AddWatchFlags::IN_UNMOUNT)
    .union(AddWatchFlags::IN_DELETE_SELF)
    .union(AddWatchFlags::IN_MOVE_SELF);

/// The inotify instance stays open after `disarm`: `close` can block while the kernel frees
/// its marks (fsnotify waits for an SRCU grace period) — 19 ms between "sentinel appeared"
/// and the stop signal in one trace — so it is closed when the `SentinelWatch` is dropped.
struct InotifyWatch {
    inotify: Inotify,
    /// `None` when /proc is not mounted: mounts over a watched directory then go unnoticed.
    mounts: Option<MountTable>,
    watches: Watches<WatchDescriptor>,
    /// What the events read so far ask for; kept here so that `changed` is cancel-safe.
    due: Response,
}

impl SentinelWatch {
    /// Validates the paths and arms the watch. Call [`SentinelWatch::find_existing`] only
    /// after this, never before. Must run inside the tokio runtime.
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
            match InotifyWatch::arm(&paths) {
                Ok(watch) => Mode::Inotify(watch),
                Err(error) => fallback(&error, poll.interval),
            }
        };
        Ok(SentinelWatch {
            paths,
            mode,
            poll_interval: poll.interval,
            _disarmed: None,
        })
    }

    /// Waits until a sentinel may have appeared: an inotify event that concerns one, a
    /// change of the mount table, or a poll tick. With no sentinel it never returns.
    /// Cancel-safe.
    pub async fn changed(&mut self) {
        match &mut self.mode {
            Mode::Idle => std::future::pending().await,
            Mode::Inotify(watch) => {
                if let Err(error) = watch.changed().await {
                    // Nothing would wake us any more; polling still finds the sentinel.
                    self.mode = fallback(&error, self.poll_interval);
                }
            }
            Mode::Poll(interval) => {
                interval.tick().await;
            }
        }
    }

    /// Which sentinels exist, in the order they were given. When an event said a watch may
    /// be lost or on the wrong inode, re-arms every watch first: the look always comes after
    /// the arming.
    pub fn present(&mut self) -> Vec<bool> {
        if let Mode::Inotify(watch) = &mut self.mode
            && std::mem::replace(&mut watch.due, Response::Ignore) == Response::Rearm
            && let Err(error) = watch.rearm(&self.paths)
        {
            self.mode = fallback(&error, self.poll_interval);
        }
        self.paths.iter().map(|path| exists(path)).collect()
    }

    /// The first sentinel that exists (see [`Self::present`]).
    pub fn find_existing(&mut self) -> Option<&Path> {
        let present = self.present();
        self.paths
            .iter()
            .zip(present)
            .find(|(_, present)| *present)
            .map(|(path, _)| path.as_path())
    }

    /// The sentinels, absolute, in the order they were given.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Stops watching: once a sentinel has appeared, more events change nothing.
    pub fn disarm(&mut self) {
        if let Mode::Inotify(watch) = std::mem::replace(&mut self.mode, Mode::Idle) {
            self._disarmed = Some(watch);
        }
    }
}

impl InotifyWatch {
    /// Opens the mount table, then the watches: a mount made while the watches are added is
    /// reported afterwards and re-arms them.
    fn arm(paths: &[PathBuf]) -> io::Result<Self> {
        let inotify = Inotify::new()?;
        let mounts = MountTable::open()
            .inspect_err(|error| {
                tracing::warn!(%error, "cannot watch the mount table; a mount over a sentinel's directory will go unnoticed");
            })
            .ok();
        let mut watch = InotifyWatch {
            inotify,
            mounts,
            watches: Watches::default(),
            due: Response::Ignore,
        };
        watch.rearm(paths)?;
        Ok(watch)
    }

    /// Waits until the events read ask for a look or a re-arm.
    async fn changed(&mut self) -> io::Result<()> {
        while self.due == Response::Ignore {
            let mounts = async {
                match &self.mounts {
                    Some(mounts) => mounts.changed().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                events = self.inotify.read() => {
                    for event in events? {
                        let response = self.watches.respond(event.wd, event.mask, event.name.as_deref());
                        tracing::trace!(?event, ?response, "inotify event");
                        self.due = self.due.max(response);
                    }
                }
                changed = mounts => {
                    changed?;
                    tracing::debug!("the mount table changed; re-arming the sentinel watches");
                    self.due = Response::Rearm;
                }
            }
        }
        Ok(())
    }

    /// Re-arms until the watches match the file system: a directory created between
    /// looking for the deepest existing one and watching it brings no event (its parent was
    /// not watched for entries yet), so the deepest is looked for again after every arming
    /// until it is the one watched. Bounded, for a tree that never stops changing; each
    /// round's watches report what changes after it anyway.
    fn rearm(&mut self, paths: &[PathBuf]) -> io::Result<()> {
        for _ in 0..REARM_ROUNDS {
            self.rearm_once(paths)?;
            let settled = paths.iter().enumerate().all(|(sentinel, path)| {
                self.watches.deepest(sentinel)
                    == Some(deepest_existing_directory(path, Path::is_dir).as_path())
            });
            if settled {
                break;
            }
        }
        Ok(())
    }

    /// Watches every directory the sentinels need now, then removes the watches no sentinel
    /// needs any more. Adding first means no moment without a watch; the kernel hands back
    /// the same watch for a directory (inode) already watched.
    fn rearm_once(&mut self, paths: &[PathBuf]) -> io::Result<()> {
        let mut watches = Watches::default();
        for (sentinel, path) in paths.iter().enumerate() {
            let mut above: Option<(PathBuf, Need)> = None;
            for (directory, need) in needs(sentinel, path, Path::is_dir, Path::is_symlink) {
                match self.watch(&mut watches, &directory, need.clone()) {
                    Ok(()) => above = Some((directory, need)),
                    // Gone or replaced by a file since it was looked at: the
                    // directory above is the deepest now; watch its entries, so that the
                    // return is an event (its own removal is one already).
                    Err(error) if is_transient(&error) => {
                        tracing::debug!(directory = %directory.display(), %error, "not watching");
                        if let Some((above, need)) = above {
                            let need = Need {
                                entries: true,
                                ..need
                            };
                            if let Err(error) = self.watch(&mut watches, &above, need) {
                                tracing::debug!(directory = %above.display(), %error, "not watching");
                            }
                        }
                        break;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        for released in self.watches.released_by(&watches) {
            // EINVAL: the kernel removed it already (deleted or unmounted).
            let _ = self.inotify.remove(released);
        }
        for sentinel in 0..paths.len() {
            let (from, to) = (self.watches.deepest(sentinel), watches.deepest(sentinel));
            match (from, to) {
                (Some(from), Some(to)) if from != to => tracing::debug!(
                    from = %from.display(),
                    to = %to.display(),
                    "sentinel watch moved"
                ),
                (None, Some(to)) => {
                    tracing::debug!(directory = %to.display(), "sentinel watch armed")
                }
                _ => {}
            }
        }
        self.watches = watches;
        Ok(())
    }

    /// Adds the watch `need` asks for on `directory` and records it in `watches`.
    fn watch(
        &self,
        watches: &mut Watches<WatchDescriptor>,
        directory: &Path,
        need: Need,
    ) -> io::Result<()> {
        let watch = self.inotify.add(directory, need.mask()).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot watch {}: {error}", directory.display()),
            )
        })?;
        if let Some(union) = watches.add(watch, directory.to_owned(), need) {
            // Adding replaced the mask earlier needs of this inode asked for.
            self.inotify.add(directory, union)?;
        }
        Ok(())
    }
}

/// How many times [`InotifyWatch::rearm`] arms at most before it trusts the watches' events.
const REARM_ROUNDS: usize = 16;

/// Gone or replaced by a file since it was looked at: the directory above is the deepest
/// now. Not EACCES: a directory guillotine may search but not read (mode 0711) cannot be
/// watched, yet a sentinel in it can be seen by `stat`, so that is a reason to poll.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// What an event asks of the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Response {
    /// It concerns no sentinel.
    Ignore,
    /// A sentinel may exist now: look.
    Look,
    /// A watch may be gone or see the wrong inode: re-arm every watch, then look.
    Rearm,
}

/// Why a directory is watched: sentinel number `sentinel` looks up the name `next` in it —
/// the sentinel's own name when `last`, else a directory on its way — and whether changes
/// of its names must be reported (`entries`, see [`ENTRY_MASK`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Need {
    sentinel: usize,
    next: OsString,
    last: bool,
    entries: bool,
}

impl Need {
    fn mask(&self) -> AddWatchFlags {
        if self.entries {
            SELF_MASK | ENTRY_MASK
        } else {
            SELF_MASK
        }
    }
}

/// Each watch, with the directory it was added for and the needs that keep it.
#[derive(Debug)]
struct Watches<W> {
    entries: BTreeMap<W, Watched>,
}

#[derive(Debug)]
struct Watched {
    directory: PathBuf,
    needs: Vec<Need>,
    mask: AddWatchFlags,
}

impl<W> Default for Watches<W> {
    fn default() -> Self {
        Watches {
            entries: BTreeMap::new(),
        }
    }
}

impl<W: Copy + Ord> Watches<W> {
    /// Records that `need` keeps `watch`, just added with `need.mask()`. Two needs of one
    /// inode (two sentinels in one directory; a symlink) share the kernel's one watch and
    /// count as two users of it; since adding replaces a watch's mask, returns the union to
    /// add it with again when the earlier needs asked for more.
    fn add(&mut self, watch: W, directory: PathBuf, need: Need) -> Option<AddWatchFlags> {
        let mask = need.mask();
        let watched = self.entries.entry(watch).or_insert_with(|| Watched {
            directory,
            needs: Vec::new(),
            mask: AddWatchFlags::empty(),
        });
        watched.needs.push(need);
        let before = watched.mask;
        watched.mask |= mask;
        (!mask.contains(before)).then_some(watched.mask)
    }

    /// The watches held now that no need in `next` keeps: the only ones to remove. A
    /// directory two sentinels share stays watched while either needs it.
    fn released_by(&self, next: &Self) -> Vec<W> {
        self.entries
            .keys()
            .filter(|watch| !next.entries.contains_key(watch))
            .copied()
            .collect()
    }

    /// The deepest directory watched for `sentinel`.
    fn deepest(&self, sentinel: usize) -> Option<&Path> {
        self.entries
            .values()
            .filter(|watched| watched.needs.iter().any(|need| need.sentinel == sentinel))
            .map(|watched| watched.directory.as_path())
            .max_by_key(|directory| directory.components().count())
    }

    /// What one event means.
    fn respond(&self, watch: W, mask: AddWatchFlags, name: Option<&OsStr>) -> Response {
        if mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
            // Events were dropped: anything may have happened.
            return Response::Rearm;
        }
        let Some(watched) = self.entries.get(&watch) else {
            // A watch released by the last re-arm: its IN_IGNORED and stragglers.
            return Response::Ignore;
        };
        if mask.intersects(WATCH_LOST) {
            return Response::Rearm;
        }
        let Some(name) = name else {
            // IN_ATTRIB on the directory itself: what it lets us see may have changed.
            return Response::Rearm;
        };
        let on_the_way = |need: &Need| !need.last && need.next == name;
        if watched.needs.iter().any(on_the_way) {
            // A directory on a sentinel's path appeared, went, or was replaced.
            Response::Rearm
        } else {
            // The sentinel itself, or another name that can make it exist: a symlink it
            // goes through (Kubernetes swaps `..data` to update a volume).
            Response::Look
        }
    }
}

/// The directories `path` (sentinel number `sentinel`) needs watched, from `/` down to its
/// deepest ancestor that is a directory now (`is_dir` follows symlinks), each with the name
/// looked up in it. Watching every ancestor, not only the deepest, is what notices an
/// ancestor renamed away (its own IN_MOVE_SELF) or a symlink on the path swapped (an entry
/// event in the directory above it, watched for entries when `is_symlink` says so).
fn needs(
    sentinel: usize,
    path: &Path,
    is_dir: impl Fn(&Path) -> bool,
    is_symlink: impl Fn(&Path) -> bool,
) -> Vec<(PathBuf, Need)> {
    let deepest = deepest_existing_directory(path, is_dir);
    let components: Vec<Component> = path.components().collect();
    let mut directory = PathBuf::new();
    let mut needs = Vec::new();
    for (index, pair) in components.windows(2).enumerate() {
        directory.push(pair[0]);
        if !deepest.starts_with(&directory) {
            break;
        }
        let next = pair[1].as_os_str();
        needs.push((
            directory.clone(),
            Need {
                sentinel,
                next: next.to_owned(),
                last: index + 2 == components.len(),
                entries: directory == deepest || is_symlink(&directory.join(next)),
            },
        ));
    }
    needs
}

/// The deepest ancestor of `path` that is a directory now (`/` at worst).
fn deepest_existing_directory(path: &Path, is_dir: impl Fn(&Path) -> bool) -> PathBuf {
    path.ancestors()
        .skip(1)
        .find(|ancestor| is_dir(ancestor))
        .unwrap_or(Path::new("/"))
        .to_owned()
}

/// Whether the sentinel exists, following symlinks: a dangling symlink (a Kubernetes volume
/// entry whose target is not written yet) is not a sentinel.
fn exists(path: &Path) -> bool {
    path.metadata().is_ok()
}

fn fallback(error: &io::Error, interval: Duration) -> Mode {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn need(sentinel: usize, next: &str, last: bool, entries: bool) -> Need {
        Need {
            sentinel,
            next: next.into(),
            last,
            entries,
        }
    }

    fn no_symlink(_: &Path) -> bool {
        false
    }

    fn existing<'a>(directories: &'a [&'a str]) -> impl Fn(&Path) -> bool + 'a {
        move |path| {
            directories
                .iter()
                .any(|directory| Path::new(directory) == path)
        }
    }

    /// The table a re-arm builds: `directory -> watch` stands for what the kernel hands back.
    fn watches(
        paths: &[&str],
        directories: &[&str],
        watch_of: impl Fn(&Path) -> u32,
    ) -> Watches<u32> {
        let mut watches = Watches::default();
        for (sentinel, path) in paths.iter().enumerate() {
            let path = Path::new(path);
            for (directory, need) in needs(sentinel, path, existing(directories), no_symlink) {
                watches.add(watch_of(&directory), directory, need);
            }
        }
        watches
    }

    fn by_depth(directory: &Path) -> u32 {
        directory.components().count() as u32
    }

    #[test]
    fn needs_every_ancestor_down_to_the_deepest_existing_directory() {
        let path = Path::new("/m/x/done");
        assert_eq!(
            needs(0, path, existing(&["/", "/m"]), no_symlink),
            vec![
                ("/".into(), need(0, "m", false, false)),
                ("/m".into(), need(0, "x", false, true)),
            ]
        );
        assert_eq!(
            needs(1, path, existing(&["/", "/m", "/m/x"]), no_symlink),
            vec![
                ("/".into(), need(1, "m", false, false)),
                ("/m".into(), need(1, "x", false, false)),
                ("/m/x".into(), need(1, "done", true, true)),
            ]
        );
        assert_eq!(
            needs(0, Path::new("/done"), existing(&["/"]), no_symlink),
            vec![("/".into(), need(0, "done", true, true))]
        );
    }

    /// `/v/..data -> ..2026_x`: a swap of `..data` is an entry event in `/v` only.
    #[test]
    fn the_directory_above_a_symlink_is_watched_for_entries() {
        let path = Path::new("/v/..data/done");
        let is_symlink = |path: &Path| path == Path::new("/v/..data");
        assert_eq!(
            needs(0, path, existing(&["/", "/v", "/v/..data"]), is_symlink),
            vec![
                ("/".into(), need(0, "v", false, false)),
                ("/v".into(), need(0, "..data", false, true)),
                ("/v/..data".into(), need(0, "done", true, true)),
            ]
        );
    }

    /// Adding a watch replaces its mask: one inode needed as an ancestor (self events only)
    /// and as the deepest directory (entries too) must end up watched for both.
    #[test]
    fn an_inode_needed_twice_is_watched_for_the_union() {
        let mut watches = Watches::default();
        let deepest = need(0, "done2", true, true);
        let ancestor = need(1, "x", false, false);
        assert_eq!(watches.add(2, "/m".into(), deepest.clone()), None);
        assert_eq!(
            watches.add(2, "/m".into(), ancestor.clone()),
            Some(SELF_MASK | ENTRY_MASK),
            "re-add with the union after the narrower mask replaced it"
        );
        let mut watches = Watches::default();
        assert_eq!(watches.add(2, "/m".into(), ancestor), None);
        assert_eq!(watches.add(2, "/m".into(), deepest), None, "wider already");
    }

    /// Issue 10, defect 5: `-w m/done2 -w m/x/done`, then `mkdir m/x`.
    #[test]
    fn a_directory_stays_watched_while_another_sentinel_needs_it() {
        let paths = ["/m/done2", "/m/x/done"];
        let before = watches(&paths, &["/", "/m"], by_depth);
        let after = watches(&paths, &["/", "/m", "/m/x"], by_depth);
        assert_eq!(before.released_by(&after), Vec::<u32>::new());
        assert_eq!(before.deepest(1), Some(Path::new("/m")));
        assert_eq!(after.deepest(1), Some(Path::new("/m/x")));
        assert_eq!(after.deepest(0), Some(Path::new("/m")));
        // Once no sentinel needs /m/x any more (it was removed), its watch goes; /m stays.
        let removed = watches(&paths, &["/", "/m"], by_depth);
        assert_eq!(after.released_by(&removed), vec![3]);
    }

    #[test]
    fn a_watch_on_a_new_inode_at_the_same_path_releases_the_old_one() {
        let paths = ["/m/done"];
        let before = watches(&paths, &["/", "/m"], by_depth);
        let recreated = watches(&paths, &["/", "/m"], |directory| {
            by_depth(directory) + if directory == Path::new("/m") { 10 } else { 0 }
        });
        assert_eq!(before.released_by(&recreated), vec![2]);
    }

    #[test]
    fn two_paths_to_one_inode_share_its_watch() {
        let paths = ["/a/done", "/b/done"];
        let watches = watches(&paths, &["/", "/a", "/b"], |directory| {
            if directory == Path::new("/") { 1 } else { 2 }
        });
        assert_eq!(watches.entries[&2].needs.len(), 2);
    }

    #[test]
    fn what_each_event_asks_for() {
        use AddWatchFlags as F;
        let watches = watches(&["/m/x/done"], &["/", "/m", "/m/x"], by_depth);
        let respond =
            |watch, mask, name: Option<&str>| watches.respond(watch, mask, name.map(OsStr::new));
        let cases = [
            // The sentinel, or any name in its directory: look.
            (3, F::IN_CREATE, Some("done"), Response::Look),
            (3, F::IN_MOVED_TO, Some("done"), Response::Look),
            (3, F::IN_MOVED_TO, Some("..data"), Response::Look),
            (2, F::IN_CREATE, Some("unrelated"), Response::Look),
            // A directory on the way appears, goes or is replaced: re-arm.
            (2, F::IN_CREATE | F::IN_ISDIR, Some("x"), Response::Rearm),
            (
                2,
                F::IN_MOVED_FROM | F::IN_ISDIR,
                Some("x"),
                Response::Rearm,
            ),
            (1, F::IN_MOVED_TO, Some("m"), Response::Rearm),
            (1, F::IN_ATTRIB | F::IN_ISDIR, Some("m"), Response::Rearm),
            // A watched directory itself is gone, moved, unmounted or changed.
            (3, F::IN_DELETE_SELF, None, Response::Rearm),
            (1, F::IN_MOVE_SELF, None, Response::Rearm),
            (3, F::IN_UNMOUNT, None, Response::Rearm),
            (3, F::IN_IGNORED, None, Response::Rearm),
            (2, F::IN_ATTRIB, None, Response::Rearm),
            // Lost events: anything may have happened.
            (99, F::IN_Q_OVERFLOW, None, Response::Rearm),
            // A watch released by a re-arm: its IN_IGNORED and late events mean nothing.
            (7, F::IN_IGNORED, None, Response::Ignore),
            (7, F::IN_CREATE, Some("done"), Response::Ignore),
        ];
        for (watch, mask, name, expected) in cases {
            assert_eq!(
                respond(watch, mask, name),
                expected,
                "{watch} {mask:?} {name:?}"
            );
        }
    }
}
