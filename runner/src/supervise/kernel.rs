//! What the supervisor asks the kernel about a child: its pidfd, its exit, its /proc figures,
//! and whether this process may fork at all.

use std::fs::File;
use std::os::fd::{AsRawFd as _, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// The number of threads of this process.
pub(super) fn threads() -> std::io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

pub(super) fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open with a pid and flags 0 returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0u32) };
    if fd < 0 {
        return Err(Errno::last());
    }
    let fd = RawFd::try_from(fd).map_err(|_| Errno::EBADF)?;
    // SAFETY: the descriptor was just created and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `waitid`'s id type for a pidfd (Linux 5.4), which libc does not name.
const P_PIDFD: libc::idtype_t = 3;

/// Whether the child behind `pidfd` has ended (a zombie not reaped yet); it stays unreaped.
pub(super) fn has_ended(pidfd: &OwnedFd) -> bool {
    // SAFETY: a zeroed siginfo_t is a valid value for waitid to fill in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid writes to the valid siginfo it is given; WNOWAIT leaves the child be.
    let r = unsafe {
        libc::waitid(
            P_PIDFD,
            libc::id_t::try_from(pidfd.as_raw_fd()).unwrap_or(libc::id_t::MAX),
            &raw mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled in a SIGCHLD siginfo, or left it zeroed (pid 0: not ended).
    r == 0 && unsafe { info.si_pid() } != 0
}

/// Reaps the child behind `pidfd`, blocking (it has ended), with its resource usage.
pub(super) fn wait_pidfd(pidfd: &OwnedFd) -> Option<Exit> {
    // SAFETY: zeroed siginfo_t and rusage are valid values for waitid to fill in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: the raw waitid takes a fifth argument, the rusage to fill in; both
        // out-pointers are valid for writes.
        let r = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                P_PIDFD,
                pidfd.as_raw_fd(),
                &raw mut info,
                libc::WEXITED,
                &raw mut rusage,
            )
        };
        if r == 0 {
            break;
        }
        if Errno::last() != Errno::EINTR {
            return None;
        }
    }
    // SAFETY: waitid filled in a SIGCHLD siginfo, whose si_status is defined.
    let code = unsafe { info.si_status() };
    // The wait(2) encoding the verdict reads: exit code in the second byte, else the signal.
    let status = match info.si_code {
        libc::CLD_EXITED => (code & 0xff) << 8,
        libc::CLD_DUMPED => code | 0x80,
        _ => code,
    };
    Some(Exit { status, rusage })
}

/// Reaps `pid`, blocking: only for a child not yet reaped whose pidfd failed.
pub(super) fn wait_pid(pid: Pid) -> Option<Exit> {
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes to the two valid out-pointers it is given.
        let r = unsafe { libc::wait4(pid.as_raw(), &raw mut status, 0, &raw mut rusage) };
        if r == pid.as_raw() {
            return Some(Exit { status, rusage });
        }
        if r >= 0 || Errno::last() != Errno::EINTR {
            return None;
        }
    }
}

/// What the child's exit looked like.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exit {
    pub(super) status: libc::c_int,
    pub(super) rusage: libc::rusage,
}

/// (CPU ms, resident KiB) of a whole thread group. The leader's entry counts the CPU time of
/// every thread, but its resident size is that of its own memory map: none once the leader has
/// ended (a raw `exit`) while other threads live on, a zombie leader. Every thread shares one
/// map, so the resident size then comes from any thread still alive.
pub(super) fn group_stat(pid: Pid, leader: &StatFile) -> Option<GroupStat> {
    let leader = read_stat(&leader.0)?;
    if !leader.zombie && leader.rss_kib > 0 {
        return Some(leader);
    }
    // A zombie leader has given up its memory map: a thread still running has the group's.
    let live = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_str() != Some(&pid.to_string()))
        .find_map(|e| {
            let t = task_stat(&format!("{}/stat", e.path().display()))?;
            (!t.zombie).then_some(t)
        });
    Some(GroupStat {
        cpu_ms: leader.cpu_ms,
        rss_kib: live.map_or(leader.rss_kib, |t| t.rss_kib),
        vsize_bytes: live.map_or(leader.vsize_bytes, |t| t.vsize_bytes),
        zombie: leader.zombie,
    })
}

/// What the sampler reads of a process: CPU time, resident and virtual size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GroupStat {
    pub(super) cpu_ms: u64,
    pub(super) rss_kib: u64,
    pub(super) vsize_bytes: u64,
    pub(super) zombie: bool,
}

/// A thread-group leader's `/proc/PID/stat`, opened once and read again at every sample: the
/// open and close of a procfs path were half of a sample's system-call time. The descriptor
/// stays this process's after its pid is reaped and reused (reads then fail), which the path
/// does not.
#[derive(Debug)]
pub(super) struct StatFile(File);

impl StatFile {
    pub(super) fn open(pid: Pid) -> Option<Self> {
        File::open(format!("/proc/{pid}/stat")).ok().map(Self)
    }
}

/// One `/proc/.../stat` file, by path.
fn task_stat(path: &str) -> Option<GroupStat> {
    read_stat(&File::open(path).ok()?)
}

/// A `/proc/.../stat` file's line, read from its start.
fn read_stat(file: &File) -> Option<GroupStat> {
    use std::os::unix::fs::FileExt as _;
    // The line is a few hundred bytes and procfs has no size to tell in advance: one read
    // into a buffer that holds it, where `read_to_string` grew a buffer over six reads and a
    // `statx` at every sample. The line is whole once its newline is in: procfs writes the
    // record in one read when the buffer holds it, and a read for the end of the file would
    // format the whole record again (about half a sample's CPU).
    let mut buf = [0u8; 4096];
    let mut len = 0;
    while buf.get(..len)?.last() != Some(&b'\n') {
        let offset = u64::try_from(len).ok()?;
        match file.read_at(buf.get_mut(len..)?, offset) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let text = std::str::from_utf8(buf.get(..len)?).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 2..)?
        .split_ascii_whitespace()
        .collect();
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    // Fields 3 (state), 14, 15 (utime, stime), 23 (vsize) and 24 (rss), counted from 1 with
    // field 3 at index 0.
    let zombie = fields.first().is_some_and(|s| *s == "Z");
    let (utime, stime, vsize, rss_pages) = (num(11)?, num(12)?, num(20)?, num(21)?);
    // SAFETY: sysconf with a valid name has no preconditions.
    let tck = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .unwrap_or(100)
        .max(1);
    // SAFETY: as above.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    Some(GroupStat {
        cpu_ms: (utime + stime) * 1000 / tck,
        rss_kib: rss_pages * page / 1024,
        vsize_bytes: vsize,
        zombie,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_reads_this_process() {
        let rss = group_stat(
            nix::unistd::getpid(),
            &StatFile::open(nix::unistd::getpid()).unwrap(),
        )
        .unwrap()
        .rss_kib;
        assert!(rss > 0);
    }
}
