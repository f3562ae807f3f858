//! The change notification of the mount table.
//!
//! proc(5), `/proc/[pid]/mountinfo`: "this file can be polled … when a mount or unmount
//! occurs in this namespace, poll reports POLLPRI and POLLERR". A mount over a watched
//! directory hides the watched inode without any inotify event, so this is how guillotine
//! learns that its watches may look at the wrong inode, at no cost while nothing changes.
//!
//! Owns: `/proc/self/mountinfo` opened read-only and registered with the event loop's
//! reactor for priority readiness (EPOLLPRI) only.
//! Never: reads or parses the table (only the fact of a change matters), or blocks.

use std::fs::File;
use std::io;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The mount table of guillotine's mount namespace, watched for changes.
pub struct MountTable {
    fd: AsyncFd<File>,
}

impl MountTable {
    /// Opens the table. Changes made after this call are reported; earlier ones are not (the
    /// kernel takes the table's event count at open). Must run inside the tokio runtime.
    pub fn open() -> io::Result<Self> {
        let file = File::open("/proc/self/mountinfo")?;
        // SAFETY: the `File` owns its descriptor, which stays open until the `AsyncFd` drops
        // it, and `as_raw_fd` always returns that one descriptor.
        let fd = unsafe { AsyncFd::register_with_interest(file, Interest::PRIORITY) }
            .map_err(|refused| refused.into_parts().1)?;
        Ok(MountTable { fd })
    }

    /// Waits until the table has changed since the previous call (or since `open`).
    /// Cancel-safe: readiness not yet taken stays with the reactor.
    pub async fn changed(&self) -> io::Result<()> {
        let mut ready = self.fd.ready(Interest::PRIORITY).await?;
        // The kernel reports each change once (the poll itself records it as seen, and
        // epoll is edge-triggered here); a later change is a new readiness event.
        ready.clear_ready();
        Ok(())
    }
}
