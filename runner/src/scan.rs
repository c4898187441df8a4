//! The scan of the writable paths: is any regular file past the size limit, and how many
//! entries and bytes do they hold (the disk budget)? Run while the program runs and after.
//!
//! The program chose the tree's shape, so the walk must hold whatever shape it finds: it goes
//! by directory descriptors (`openat`, `fstatat`, `getdents64` relative to the parent), so no
//! path is ever built and a tree deeper than `PATH_MAX` is walked like any other; it keeps one
//! descriptor and one seek cookie per level and a single fixed buffer, so its memory does not
//! grow with the number of entries; symlinks are never followed. What it cannot finish (too many
//! entries, too deep, a directory it cannot open) it says, and the caller fails closed.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// The largest entry budget a run may have: the walk inspects at most one entry more.
pub const MAX_ENTRIES: u64 = 100_000;
/// Directory levels below a writable path the walk descends.
pub const MAX_DEPTH: usize = 128;
/// getdents64 buffer: one, reused at every level.
const BUF: usize = 32 * 1024;

/// What the walk found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Entries below the roots (files, directories, anything else); the walk stops at one
    /// past the budget it was given.
    pub entries: u64,
    /// Bytes allocated to the entries seen (`st_blocks`, so sparse files count what they use).
    pub bytes: u64,
    /// A regular file longer than the limit.
    pub file_over: bool,
    /// Why the walk stopped before it had seen everything; `None` when it finished.
    pub unfinished: Option<String>,
}

/// One directory being read: its descriptor and where to resume after a descent.
struct Level {
    fd: OwnedFd,
    /// The seek cookie of the next entry to read, or `None` to read on from where the
    /// descriptor stands.
    resume: Option<i64>,
}

fn open_dir_at(dir: RawFd, name: &CStr) -> std::io::Result<OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated string; the descriptor returned is new and
    // owned by nothing else.
    let fd = unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by openat and is owned here alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn stat_at(dir: RawFd, name: &CStr) -> std::io::Result<libc::stat> {
    // SAFETY: a zeroed stat is a valid value for fstatat to fill in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated and `st` a valid out-pointer.
    let r = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st)
}

fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

fn is_file(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFREG
}

/// Walks every path in `roots` (a missing one is skipped), until it has seen `max_entries` + 1
/// entries below them.
pub fn scan(roots: &[&Path], size_limit: u64, max_entries: u64) -> Scan {
    let mut out = Scan::default();
    let mut buf = vec![0u8; BUF];
    for root in roots {
        let Ok(c) = std::ffi::CString::new(root.as_os_str().as_encoded_bytes()) else {
            out.unfinished = Some(format!("{} is not a valid path", root.display()));
            return out;
        };
        let st = match stat_at(libc::AT_FDCWD, &c) {
            Ok(st) => st,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => {
                out.unfinished = Some(format!("cannot inspect {}: {e}", root.display()));
                return out;
            }
        };
        if is_file(&st) && u64::try_from(st.st_size).unwrap_or(0) > size_limit {
            out.file_over = true;
        }
        if !is_dir(&st) {
            continue;
        }
        match open_dir_at(libc::AT_FDCWD, &c) {
            Ok(fd) => walk(fd, size_limit, max_entries, &mut buf, &mut out),
            Err(e) => out.unfinished = Some(format!("cannot open {}: {e}", root.display())),
        }
        if out.unfinished.is_some() || out.entries > max_entries {
            return out;
        }
    }
    out
}

/// Depth-first from one open directory. Descending into a subdirectory remembers the cookie
/// of the entry after it and drops the rest of the buffer; coming back seeks there and reads
/// on, so nothing but one descriptor and one cookie per level is kept.
fn walk(root: OwnedFd, size_limit: u64, max_entries: u64, buf: &mut [u8], out: &mut Scan) {
    let mut stack = vec![Level {
        fd: root,
        resume: None,
    }];
    'levels: while let Some(top) = stack.last_mut() {
        let fd = top.fd.as_raw_fd();
        if let Some(cookie) = top.resume.take() {
            // SAFETY: lseek on a descriptor this function owns.
            if unsafe { libc::lseek(fd, cookie, libc::SEEK_SET) } < 0 {
                out.unfinished = Some(format!(
                    "cannot resume reading a directory: {}",
                    std::io::Error::last_os_error()
                ));
                return;
            }
        }
        loop {
            // SAFETY: getdents64 writes at most `buf.len()` bytes into `buf`.
            let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
            let Ok(n) = usize::try_from(n) else {
                out.unfinished = Some(format!(
                    "cannot read a directory: {}",
                    std::io::Error::last_os_error()
                ));
                return;
            };
            if n == 0 {
                stack.pop();
                continue 'levels;
            }
            let mut at = 0;
            while at < n {
                // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name.
                let rec = &buf[at..n];
                let (Some(off), Some(reclen)) = (rec.get(8..16), rec.get(16..18)) else {
                    out.unfinished = Some("a directory record was cut short".into());
                    return;
                };
                let d_off = i64::from_ne_bytes(off.try_into().unwrap_or([0; 8]));
                let reclen = usize::from(u16::from_ne_bytes(reclen.try_into().unwrap_or([0; 2])));
                let Some(name) = rec
                    .get(19..reclen)
                    .and_then(|b| CStr::from_bytes_until_nul(b).ok())
                else {
                    out.unfinished = Some("a directory record was malformed".into());
                    return;
                };
                at += reclen.max(1);
                if matches!(name.to_bytes(), b"." | b"..") {
                    continue;
                }
                out.entries += 1;
                if out.entries > max_entries {
                    // Over the budget: the verdict needs no more.
                    return;
                }
                let st = match stat_at(fd, name) {
                    Ok(st) => st,
                    // Gone since it was listed: nothing left to measure.
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                    Err(e) => {
                        out.unfinished = Some(format!("cannot inspect an entry: {e}"));
                        return;
                    }
                };
                let blocks = u64::try_from(st.st_blocks).unwrap_or(0);
                out.bytes = out.bytes.saturating_add(blocks.saturating_mul(512));
                if is_file(&st) && u64::try_from(st.st_size).unwrap_or(0) > size_limit {
                    out.file_over = true;
                }
                if !is_dir(&st) {
                    continue;
                }
                if stack.len() >= MAX_DEPTH {
                    out.unfinished = Some(format!(
                        "the writable paths nest deeper than {MAX_DEPTH} directories"
                    ));
                    return;
                }
                let child = match open_dir_at(fd, name) {
                    Ok(c) => c,
                    // Removed since it was listed (the program may still be running).
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                    Err(e) => {
                        out.unfinished = Some(format!("cannot open a directory: {e}"));
                        return;
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.resume = Some(d_off);
                }
                stack.push(Level {
                    fd: child,
                    resume: None,
                });
                continue 'levels;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn finds_a_file_over_the_limit_anywhere() {
        let t = tree();
        let deep = t.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        for i in 0..300 {
            std::fs::write(t.path().join(format!("a/f{i}")), b"x").unwrap();
        }
        std::fs::write(deep.join("big"), vec![0u8; 11]).unwrap();
        let s = scan(&[t.path()], 10, MAX_ENTRIES);
        assert!(s.file_over && s.unfinished.is_none(), "{s:?}");
        assert_eq!(s.entries, 3 + 300 + 1);
        assert!(s.bytes >= 300 * 512, "{s:?}");
        let s = scan(&[t.path()], 10, 100);
        assert_eq!(s.entries, 101, "stops one past the budget");
        assert!(!scan(&[t.path()], 11, MAX_ENTRIES).file_over);
    }

    #[test]
    fn never_follows_a_symlink() {
        let t = tree();
        let outside = tree();
        std::fs::write(outside.path().join("big"), vec![0u8; 100]).unwrap();
        symlink(outside.path(), t.path().join("link")).unwrap();
        symlink(outside.path().join("big"), t.path().join("big")).unwrap();
        let s = scan(&[t.path()], 10, MAX_ENTRIES);
        assert!(!s.file_over && s.unfinished.is_none(), "{s:?}");
    }

    #[test]
    fn walks_below_path_max() {
        let t = tree();
        let name = "d".repeat(250);
        let mut dir = t.path().to_path_buf();
        let mut fd = open_dir_at(
            libc::AT_FDCWD,
            &std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap(),
        )
        .unwrap();
        let c = std::ffi::CString::new(name.clone()).unwrap();
        for _ in 0..20 {
            // SAFETY: mkdirat with a valid descriptor and a NUL-terminated name.
            let made = unsafe { libc::mkdirat(fd.as_raw_fd(), c.as_ptr(), 0o755) };
            assert_eq!(made, 0);
            fd = open_dir_at(fd.as_raw_fd(), &c).unwrap();
            dir.push(&name);
        }
        assert!(dir.as_os_str().len() > 4096);
        let big = std::ffi::CString::new("big").unwrap();
        // SAFETY: openat with a valid descriptor and name; the result is closed below.
        let f = unsafe {
            libc::openat(
                fd.as_raw_fd(),
                big.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY,
                0o644,
            )
        };
        assert!(f >= 0);
        // SAFETY: `f` is the descriptor just opened.
        unsafe {
            assert_eq!(libc::write(f, b"0123456789ab".as_ptr().cast(), 12), 12);
            libc::close(f);
        }
        let s = scan(&[t.path()], 10, MAX_ENTRIES);
        assert!(s.file_over && s.unfinished.is_none(), "{s:?}");
    }

    #[test]
    fn too_deep_is_unfinished() {
        let t = tree();
        let mut d = t.path().to_path_buf();
        for _ in 0..=MAX_DEPTH {
            d.push("d");
        }
        std::fs::create_dir_all(&d).unwrap();
        let s = scan(&[t.path()], 10, MAX_ENTRIES);
        assert!(s.unfinished.is_some_and(|u| u.contains("deeper")));
    }

    #[test]
    fn missing_roots_are_skipped() {
        let s = scan(&[Path::new("/nonexistent/scan-test")], 10, MAX_ENTRIES);
        assert_eq!(s, Scan::default());
    }
}
