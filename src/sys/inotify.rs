//! The inotify descriptor guillotine reads sentinel events from (inotify(7)).
//!
//! Owns: one inotify instance (`IN_NONBLOCK | IN_CLOEXEC`) registered with the event loop's
//! reactor, adding and removing watches, and reading the queued events.
//! Never: decides what to watch or what an event means (that is `sentinel`), or blocks: it
//! reads only after epoll reported the descriptor readable, and a read that would block
//! goes back to waiting.

use nix::sys::inotify::{InitFlags, Inotify as Instance};
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::Path;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

pub use nix::sys::inotify::{AddWatchFlags, InotifyEvent, WatchDescriptor};

/// An inotify instance read from the event loop.
pub struct Inotify {
    fd: AsyncFd<Descriptor>,
}

/// nix's instance gives its descriptor as `AsFd`; tokio's `AsyncFd` wants `AsRawFd`.
struct Descriptor(Instance);

impl AsRawFd for Descriptor {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl Inotify {
    /// Creates the instance. Must run inside the tokio runtime. Fails with EMFILE when the
    /// per-user instance limit (`fs.inotify.max_user_instances`) or the descriptor limit is
    /// reached.
    pub fn new() -> io::Result<Self> {
        let instance = Instance::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        // SAFETY: `Descriptor` owns the instance's `OwnedFd`, which stays open until the
        // `AsyncFd` drops it, and `as_raw_fd` always returns that one descriptor.
        let fd =
            unsafe { AsyncFd::register_with_interest(Descriptor(instance), Interest::READABLE) }
                .map_err(|refused| refused.into_parts().1)?;
        Ok(Inotify { fd })
    }

    /// Watches `path` (following symlinks) for `mask`. Watching an inode already watched
    /// returns its existing descriptor and replaces its mask: the kernel keeps one watch per
    /// inode and instance.
    pub fn add(&self, path: &Path, mask: AddWatchFlags) -> io::Result<WatchDescriptor> {
        Ok(self.fd.get_ref().0.add_watch(path, mask)?)
    }

    /// Removes a watch. EINVAL when the kernel has removed it already (its directory was
    /// deleted or unmounted); the caller may ignore that.
    pub fn remove(&self, watch: WatchDescriptor) -> io::Result<()> {
        Ok(self.fd.get_ref().0.rm_watch(watch)?)
    }

    /// Waits for events and returns those queued (at least one). Cancel-safe: the only wait
    /// is for readiness; the read itself does not wait.
    pub async fn read(&self) -> io::Result<Vec<InotifyEvent>> {
        loop {
            let mut ready = self.fd.readable().await?;
            match ready.try_io(|fd| fd.get_ref().0.read_events().map_err(io::Error::from)) {
                Ok(events) => return events,
                // Spurious readiness: try_io has cleared it; wait again.
                Err(_would_block) => continue,
            }
        }
    }
}
