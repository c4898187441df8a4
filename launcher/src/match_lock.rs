//! The lock that says a local runner is running a match: an exclusive `flock` on the match
//! directory's `runner.log`, taken by the launcher and held by the runner, which gets the
//! locked descriptor as its standard output and error (see `local.rs`).

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use crate::error::LaunchError;

/// The runner's own output, and the match's lock.
pub(crate) const LOG: &str = "runner.log";

/// Takes the match's lock (on `runner.log`, created if missing), exclusive and without
/// waiting: `None` when a runner holds it. The returned descriptor is what the runner is
/// given as its output, so the lock is its own.
pub(crate) fn lock_dir(dir: &Path) -> Result<Option<std::fs::File>, LaunchError> {
    let log = dir.join(LOG);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed())
        .open(&log)
        .map_err(|e| LaunchError::io(format!("cannot open {}", log.display()), e))?;
    match rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(f)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(LaunchError::io(
            format!("cannot lock {}", dir.display()),
            e.into(),
        )),
    }
}

/// True while a runner holds the directory's lock. A shared lock taken here is released when
/// this descriptor closes, at the end of the call.
pub(crate) fn runner_holds(dir: &Path) -> bool {
    std::fs::File::open(dir.join(LOG)).is_ok_and(|f| {
        rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockShared)
            == Err(rustix::io::Errno::WOULDBLOCK)
    })
}

/// The runners holding the match's `runner.log` as their standard output (the lock's
/// descriptor), each with a pidfd opened before the check, so a pid reused meanwhile is never
/// signalled. A child the runner forked and has not yet given its own output is left out.
pub(crate) fn lock_holders(dir: &Path) -> Vec<(i32, std::os::fd::OwnedFd)> {
    let Ok(want) = std::fs::canonicalize(dir.join(LOG)) else {
        return Vec::new();
    };
    let holds = |pid: i32| std::fs::read_link(format!("/proc/{pid}/fd/1")).is_ok_and(|p| p == want);
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let pids: Vec<i32> = procs
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    let parent = |pid: i32| -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(')')
            .next()?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let runner = |pid: i32| holds(pid) && !parent(pid).is_some_and(holds);
    pids.iter()
        .filter(|&&pid| runner(pid))
        .filter_map(|&pid| {
            let fd = rustix::process::pidfd_open(
                rustix::process::Pid::from_raw(pid)?,
                rustix::process::PidfdFlags::empty(),
            )
            .ok()?;
            // Checked again behind the pidfd: the pid may have been reused meanwhile.
            runner(pid).then_some((pid, fd))
        })
        .collect()
}
