//! Writing a file so that readers see nothing or all of it: a temporary file in the same
//! directory, then rename(2) over the final name.
//!
//! Owns: sentinel files (`guillotine done`, `run --done`), the ready file and installed
//! binaries. Never: leaves a half-written file under the final name.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically with permission bits `mode`, creating missing
/// parent directories (the shared volume may still be empty).
pub fn write(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let temporary = temporary_name(path)?;
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)?;
        file.write_all(contents)?;
        // The mode given to open is filtered by the umask; the caller asked for this one.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// Makes `link` a symbolic link to `target`, atomically replacing whatever was there.
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    let temporary = temporary_name(link)?;
    std::os::unix::fs::symlink(target, &temporary)?;
    fs::rename(&temporary, link).inspect_err(|_| {
        let _ = fs::remove_file(&temporary);
    })
}

/// `.NAME.guillotine-PID` beside `path`, after creating the directory if needed.
fn temporary_name(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    if let Some(directory) = directory {
        fs::create_dir_all(directory)?;
    }
    let mut temporary = std::ffi::OsString::from(".");
    temporary.push(name);
    temporary.push(format!(".guillotine-{}", std::process::id()));
    Ok(path.with_file_name(temporary))
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
    }
}
