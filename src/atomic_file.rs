//! Writing a file so that readers see nothing or all of it: a temporary file in the same
//! directory, then rename(2) over the final name.
//!
//! Owns: sentinel files (`guillotine done`, `run --done`), the ready file and installed
//! binaries, and the names of their temporary files. Those names are unique per attempt
//! (random bytes, created with O_EXCL and drawn again on a collision), never derived from
//! the pid alone: in containers every writer is PID 1, and two of them finishing together
//! on one shared volume must not share a temporary file (issue 10, defect 2).
//! Never: leaves a half-written file under the final name, or removes a temporary file it
//! did not create (a killed writer's leftover may even be another live writer's file).

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How many names to draw before giving up on an EEXIST: with 64 random bits, a second
/// collision means something other than chance is creating these names.
const NAME_ATTEMPTS: u32 = 8;

/// Writes `contents` to `path` atomically with permission bits `mode`, creating missing
/// parent directories (the shared volume may still be empty).
pub fn write(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let (mut file, temporary) = create_temporary(path, |temporary| {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(temporary)
    })?;
    let result = (|| {
        file.write_all(contents)?;
        // The mode given to open is filtered by the umask; the caller asked for this one.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        // Ours: created with O_EXCL under a name no one else draws.
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// Makes `link` a symbolic link to `target`, atomically replacing whatever was there.
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    let ((), temporary) = create_temporary(link, |temporary| {
        std::os::unix::fs::symlink(target, temporary)
    })?;
    fs::rename(&temporary, link).inspect_err(|_| {
        let _ = fs::remove_file(&temporary);
    })
}

/// Publishes a new file at `path` only if nothing is there: a temporary file beside it is
/// created and handed to `prepare` (which may lock and write it), then hard-linked to
/// `path` (link(2) never replaces). Some(the file) when it was published, None when `path`
/// already existed (the temporary file is removed either way). Readers never see the file
/// before `prepare` is done with it.
pub fn publish_new(
    path: &Path,
    mode: u32,
    prepare: impl FnOnce(&mut fs::File) -> io::Result<()>,
) -> io::Result<Option<fs::File>> {
    let (mut file, temporary) = create_temporary(path, |temporary| {
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(temporary)
    })?;
    let published = prepare(&mut file).and_then(|()| match fs::hard_link(&temporary, path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    });
    let _ = fs::remove_file(&temporary);
    Ok(published?.then_some(file))
}

/// Creates the directory of `path` if needed, then runs `create` (which must fail with
/// EEXIST rather than reuse an existing file) on fresh temporary names beside `path` until
/// one is free; returns what it made and the name it is under.
fn create_temporary<T>(
    path: &Path,
    create: impl Fn(&Path) -> io::Result<T>,
) -> io::Result<(T, PathBuf)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    if let Some(directory) = directory {
        fs::create_dir_all(directory).map_err(|error| not_a_directory(directory, error))?;
    }
    let mut attempt = 0;
    loop {
        let temporary = path.with_file_name(temporary_name(name, random_suffix()));
        match create(&temporary) {
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                attempt += 1;
                if attempt == NAME_ATTEMPTS {
                    return Err(error);
                }
            }
            result => return result.map(|made| (made, temporary)),
        }
    }
}

/// `.NAME.guillotine-SUFFIX`: hidden, and recognisably guillotine's.
fn temporary_name(name: &std::ffi::OsStr, suffix: u64) -> std::ffi::OsString {
    let mut temporary = std::ffi::OsString::from(".");
    temporary.push(name);
    temporary.push(format!(".guillotine-{suffix:016x}"));
    temporary
}

/// 64 bits no other writer draws: std's `RandomState` is keyed from the kernel's random
/// source once per thread (and then stepped per instance), and the pid and the time set
/// apart writers that could share a key (a fork) or a pid (PID 1 in every container).
fn random_suffix() -> u64 {
    let mut hasher = std::hash::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    hasher.finish()
}

/// create_dir_all says "File exists" when a file stands where a directory is needed: say
/// which path that is.
fn not_a_directory(directory: &Path, error: io::Error) -> io::Error {
    if error.kind() != io::ErrorKind::AlreadyExists {
        return error;
    }
    let culprit = directory
        .ancestors()
        .find(|ancestor| ancestor.exists() && !ancestor.is_dir())
        .unwrap_or(directory);
    io::Error::new(
        io::ErrorKind::NotADirectory,
        format!("{} exists and is not a directory", culprit.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_contents_and_mode_and_creates_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/done");
        write(&path, b"0\n", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"0\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        write(&path, b"3\n", 0o555).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"3\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o555
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn symlinks_replace_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("timeout");
        symlink(Path::new("guillotine"), &link).unwrap();
        symlink(Path::new("guillotine"), &link).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("guillotine"));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_differ_every_time() {
        let mut suffixes: Vec<u64> = (0..1000).map(|_| random_suffix()).collect();
        suffixes.sort_unstable();
        suffixes.dedup();
        assert_eq!(suffixes.len(), 1000);
        assert_eq!(
            temporary_name("done".as_ref(), 0xab),
            ".done.guillotine-00000000000000ab"
        );
    }

    #[test]
    fn a_leftover_temporary_file_is_neither_an_obstacle_nor_removed() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".done.guillotine-1");
        fs::write(&stale, b"half").unwrap();
        write(&dir.path().join("done"), b"0\n", 0o644).unwrap();
        assert_eq!(fs::read(&stale).unwrap(), b"half");
    }

    #[test]
    fn a_file_where_a_directory_is_needed_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, b"").unwrap();
        let error = write(&file.join("done"), b"0\n", 0o644).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{} exists and is not a directory", file.display())
        );
    }

    #[test]
    fn a_failed_write_removes_only_its_own_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".done.guillotine-1");
        fs::write(&stale, b"half").unwrap();
        // rename(2) cannot replace a non-empty directory with a file.
        fs::create_dir_all(dir.path().join("done/inside")).unwrap();
        assert!(write(&dir.path().join("done"), b"0\n", 0o644).is_err());
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, [".done.guillotine-1", "done"]);
    }
}
