//! The files the runner writes itself: the report, the termination log, captured output.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, openat, renameat};
use nix::sys::stat::{Mode, fstat};

/// Creates (or truncates) a file the runner writes, never following a symlink.
pub(crate) fn create_sink(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// A directory the runner writes into, opened once, before the fork: what it writes after the
/// run lands in this directory whatever the path leading to it has become meanwhile.
#[derive(Debug)]
pub struct OutputDir {
    fd: OwnedFd,
}

impl OutputDir {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self { fd })
    }

    /// The directory a file path names and the file's name in it.
    pub fn of_file(path: &Path) -> std::io::Result<(Self, OsString)> {
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other(format!("{} has no file name", path.display())))?;
        Ok((Self::open(parent_of(path))?, name.to_owned()))
    }

    /// The nearest directory that exists at or above `dir`: what a program would have to go
    /// through to create the rest.
    pub fn nearest(dir: &Path) -> std::io::Result<Self> {
        let mut at = dir;
        loop {
            match Self::open(at) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    at = at.parent().ok_or(e)?;
                    if at.as_os_str().is_empty() {
                        at = Path::new(".");
                    }
                }
                other => return other,
            }
        }
    }

    /// The grant this directory lies in (the grant itself or anything below it), found from
    /// the open directory by walking `..` and comparing device and inode with each grant's:
    /// no path is re-resolved and nothing needs to canonicalise.
    pub fn within<'g>(&self, grants: &'g [PathBuf]) -> std::io::Result<Option<&'g PathBuf>> {
        let ids: Vec<((u64, u64), &PathBuf)> = grants
            .iter()
            .filter_map(|g| std::fs::metadata(g).ok().map(|m| ((m.dev(), m.ino()), g)))
            .collect();
        let id = |fd: &OwnedFd| fstat(fd).map(|s| (s.st_dev, s.st_ino));
        let mut here = self.fd.try_clone()?;
        let mut this = id(&here)?;
        loop {
            if let Some((_, g)) = ids.iter().find(|(i, _)| *i == this) {
                return Ok(Some(g));
            }
            let up = openat(
                &here,
                "..",
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let parent = id(&up)?;
            if parent == this {
                return Ok(None); // the root is its own parent
            }
            (here, this) = (up, parent);
        }
    }

    /// Opens `name` in this directory to read it: never through a symlink, and without
    /// blocking on a FIFO planted there.
    pub fn open_file(&self, name: &OsStr) -> std::io::Result<File> {
        let fd = openat(
            &self.fd,
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }

    /// Writes `name` atomically: a temporary file created in this directory with
    /// O_EXCL|O_NOFOLLOW and checked to be the regular file just made, written, fsynced,
    /// renamed over `name` (which replaces a symlink planted there instead of following it),
    /// then the directory fsynced.
    pub fn write_atomically(&self, name: &OsStr, bytes: &[u8]) -> std::io::Result<()> {
        let mut tmp = OsString::from(".");
        tmp.push(name);
        tmp.push(format!(".tmp.{}", std::process::id()));
        let fd = openat(
            &self.fd,
            tmp.as_os_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )?;
        let mut f = File::from(fd);
        let result = (|| -> std::io::Result<()> {
            let st = fstat(&f)?;
            if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_nlink != 1 {
                return Err(std::io::Error::other(
                    "the temporary file is not the regular file just created",
                ));
            }
            f.write_all(bytes)?;
            f.sync_all()?;
            renameat(&self.fd, tmp.as_os_str(), &self.fd, name)?;
            Ok(nix::unistd::fsync(&self.fd)?)
        })();
        if let Err(e) = result {
            return match nix::unistd::unlinkat(
                &self.fd,
                tmp.as_os_str(),
                nix::unistd::UnlinkatFlags::NoRemoveDir,
            ) {
                Ok(()) | Err(nix::errno::Errno::ENOENT) => Err(e),
                Err(u) => Err(std::io::Error::other(format!(
                    "{e}; and the temporary file {} could not be removed: {u}",
                    tmp.to_string_lossy()
                ))),
            };
        }
        Ok(())
    }
}

/// The directory part of a file path, `.` when there is none.
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Writes the summary to a termination-log file (truncating it). Opened without following a
/// symlink in the last component.
pub fn write_termination_log(path: &Path, summary: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    f.write_all(summary.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_finds_a_grant_above_the_opened_directory() {
        let root = tempfile::tempdir().unwrap();
        let rw = root.path().join("rw");
        let deep = rw.join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        let outside = root.path().join("out");
        std::fs::create_dir(&outside).unwrap();
        // A grant named through a symlink is the same directory.
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&rw, &link).unwrap();
        let grants = vec![link.clone()];
        let dir = OutputDir::open(&deep).unwrap();
        assert_eq!(dir.within(&grants).unwrap(), Some(&link));
        assert_eq!(
            OutputDir::open(&rw).unwrap().within(&grants).unwrap(),
            Some(&link)
        );
        assert_eq!(
            OutputDir::open(&outside).unwrap().within(&grants).unwrap(),
            None
        );
        // Opened before a rename: the answer follows the directory, not its old path.
        let dir = OutputDir::open(&outside).unwrap();
        std::fs::rename(&outside, rw.join("moved")).unwrap();
        assert_eq!(dir.within(&grants).unwrap(), Some(&link));
        // A directory still to be created is judged by the nearest one that exists.
        let nearest = OutputDir::nearest(&rw.join("x/y")).unwrap();
        assert_eq!(nearest.within(&grants).unwrap(), Some(&link));
    }

    #[test]
    fn writes_land_in_the_directory_opened_before_its_path_moved() {
        let root = tempfile::tempdir().unwrap();
        let first = root.path().join("first");
        std::fs::create_dir(&first).unwrap();
        let dir = OutputDir::open(&first).unwrap();
        std::fs::rename(&first, root.path().join("second")).unwrap();
        // A symlink planted at the old path must not redirect the write.
        let decoy = root.path().join("decoy");
        std::fs::create_dir(&decoy).unwrap();
        std::os::unix::fs::symlink(&decoy, &first).unwrap();
        dir.write_atomically(OsStr::new("report.json"), b"{}")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(root.path().join("second/report.json")).unwrap(),
            "{}"
        );
        assert!(!decoy.join("report.json").exists());
    }

    #[test]
    fn atomic_write_replaces_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "untouched").unwrap();
        let report = dir.path().join("report.json");
        std::os::unix::fs::symlink(&target, &report).unwrap();
        let (dir, name) = OutputDir::of_file(&report).unwrap();
        dir.write_atomically(&name, b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "{}");
        assert!(
            !std::fs::symlink_metadata(&report)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
