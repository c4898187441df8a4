//! One sandboxed process under supervision: how it is wired, the fork, its deadlines and
//! samples, and its report once it has ended.

use std::fs::File;
use std::io::Read as _;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{ForkResult, Pid};

use super::capture::{Capture, Sink, last_line};
use super::settings::Settings;
use super::verdict::{Facts, Stop, verdict};
use super::{pipe, sandbox_error};
use crate::control::Action;
use crate::report::Report;
use crate::sandbox::{ChildFds, Failure, HIGH_FD, Plan};

/// How often the supervisor samples the child's resident size and CPU time. At first-touch
/// speeds (a few GB/s) this bounds the overshoot past the memory limit to tens of MiB; the
/// address-space backstop bounds it absolutely.
pub(super) const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// How often the writable paths are measured against the disk budget while the program runs:
/// a walk of up to the entry budget (10,000 by default) costs milliseconds.
const DISK_EVERY: Duration = Duration::from_millis(250);

/// What the child's exit looked like.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exit {
    pub(super) status: libc::c_int,
    pub(super) rusage: libc::rusage,
}

/// How one process is wired.
#[derive(Debug)]
pub struct Wiring {
    pub stdin: OwnedFd,
    /// Captured (with this sink), or connected straight to a pipe (a player's moves).
    pub stdout: StdoutTo,
    pub stderr: Sink,
    /// Descriptors the program receives at fixed numbers (the referee's player pipes).
    pub handed_on: Vec<(RawFd, OwnedFd)>,
}

#[derive(Debug)]
pub enum StdoutTo {
    Capture(Sink),
    Pipe(OwnedFd),
}

fn high(fd: OwnedFd) -> nix::Result<OwnedFd> {
    nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(HIGH_FD)).map(|n| {
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
        unsafe { OwnedFd::from_raw_fd(n) }
    })
}

/// One sandboxed process under supervision.
#[derive(Debug)]
pub struct Proc {
    pub(super) settings: Settings,
    pub(super) report: Report,
    pub(super) child: Option<Pid>,
    pub(super) start: Instant,
    pub(super) ended: Option<Instant>,
    pub(super) stop: Option<Stop>,
    /// Stop this process at this instant (players, once the referee is done).
    pub(super) stop_at: Option<Instant>,
    /// Stopped (SIGSTOP) at the referee's request and not continued since.
    pub(super) paused: bool,
    pub(super) peak_rss_kib: u64,
    pub(super) next_sample: Instant,
    pub(super) next_disk: Instant,
    pub(super) setup: Option<OwnedFd>,
    pub(super) setup_bytes: Vec<u8>,
    pub(super) landlock_abi: u32,
    pub(super) stdout: Option<Capture>,
    pub(super) stderr: Option<Capture>,
    pub(super) exit: Option<Exit>,
}

impl Proc {
    /// Forks and hardens one process. A failure before the fork gives a process that never
    /// ran and whose report says why.
    pub fn spawn(settings: Settings, wiring: Wiring) -> Self {
        let mut p = Self::failed(settings, String::new());
        p.report = p.settings.blank_report();
        if let Err(reason) = p.fork(wiring) {
            p.report = sandbox_error(
                std::mem::replace(&mut p.report, p.settings.blank_report()),
                reason,
            );
        }
        p
    }

    /// A process that could not even be wired; its report says why.
    pub fn failed(settings: Settings, reason: String) -> Self {
        let now = Instant::now();
        Self {
            report: sandbox_error(settings.blank_report(), reason),
            settings,
            child: None,
            start: now,
            ended: Some(now),
            stop: None,
            stop_at: None,
            paused: false,
            peak_rss_kib: 0,
            next_sample: now,
            next_disk: now,
            setup: None,
            setup_bytes: Vec::new(),
            landlock_abi: 0,
            stdout: None,
            stderr: None,
            exit: None,
        }
    }

    fn fork(&mut self, wiring: Wiring) -> Result<(), String> {
        let s = &self.settings;
        let io = (|| -> nix::Result<_> {
            let (out_r, out_w) = match wiring.stdout {
                StdoutTo::Capture(sink) => {
                    let (r, w) = pipe()?;
                    (Some((r, sink)), w)
                }
                StdoutTo::Pipe(w) => (None, w),
            };
            let (err_r, err_w) = pipe()?;
            let (setup_r, setup_w) = pipe()?;
            let handed_on = wiring
                .handed_on
                .into_iter()
                .map(|(t, fd)| Ok((t, high(fd)?)))
                .collect::<nix::Result<_>>()?;
            let fds = ChildFds {
                stdin: high(wiring.stdin)?,
                stdout: high(out_w)?,
                stderr: high(err_w)?,
                setup: setup_w,
                handed_on,
            };
            Ok((fds, out_r, err_r, setup_r))
        })();
        let (fds, out_r, err_r, setup_r) =
            io.map_err(|e| format!("cannot set up the program's descriptors: {e}"))?;
        let mut plan = Plan::prepare(
            &s.argv,
            &s.env,
            &s.cwd,
            &s.access,
            s.rlimits(),
            s.identity,
            s.min_landlock_abi,
            s.confinement,
        )
        .map_err(|e| format!("{e}; the program was not run"))?;
        self.start = Instant::now();
        // SAFETY: the runner is single-threaded (no thread is ever started), so the child may
        // run arbitrary code; it only runs `sandbox::enter`, which execs or _exits.
        let child = match unsafe { crate::confine::fork(plan.namespaces.as_mut()) }? {
            ForkResult::Child => crate::sandbox::enter(&mut plan, &fds),
            ForkResult::Parent { child } => child,
        };
        drop(fds); // the parent's copies of the child's ends: EOF must mean the child is done
        self.child = Some(child);
        self.ended = None;
        self.next_sample = self.start;
        self.landlock_abi = plan.landlock_abi;
        self.setup = Some(setup_r);
        let cap = s.limits.output_bytes;
        self.stdout = out_r.map(|(r, sink)| Capture::new("stdout", r, sink, cap));
        self.stderr = Some(Capture::new("stderr", err_r, wiring.stderr, cap));
        Ok(())
    }

    pub(super) fn running(&self) -> bool {
        self.child.is_some() && self.exit.is_none()
    }

    pub(super) fn drained(&self) -> bool {
        self.setup.is_none()
            && self.stdout.as_ref().is_none_or(|c| c.pipe.is_none())
            && self.stderr.as_ref().is_none_or(|c| c.pipe.is_none())
    }

    pub(super) fn kill(&mut self, why: Stop) {
        let Some(child) = self.child else { return };
        if self.exit.is_some() {
            return;
        }
        if self.stop.is_none() {
            self.stop = Some(why);
        }
        let _ = kill(Pid::from_raw(-child.as_raw()), Signal::SIGKILL);
        let _ = kill(child, Signal::SIGKILL);
    }

    /// SIGSTOP or SIGCONT at the referee's request: the answer for the control channel.
    pub(super) fn pause(&mut self, action: Action) -> &'static str {
        let Some(child) = self.child.filter(|_| self.running()) else {
            return "gone";
        };
        let signal = match action {
            Action::Stop => Signal::SIGSTOP,
            Action::Cont => Signal::SIGCONT,
        };
        match kill(child, signal) {
            Ok(()) => {
                self.paused = action == Action::Stop;
                "ok"
            }
            Err(_) => "gone",
        }
    }

    /// Deadlines and sampling; returns when this process next needs attention.
    pub(super) fn tick(&mut self, now: Instant) -> Option<Instant> {
        if !self.running() {
            return None;
        }
        let wall_end = self.start + Duration::from_millis(self.settings.limits.wall_ms);
        if now >= wall_end {
            self.kill(Stop::Wall);
        }
        if let Some(t) = self.stop_at
            && now >= t
        {
            self.kill(Stop::MatchOver);
        }
        if now >= self.next_sample {
            self.sample();
            self.next_sample = now + SAMPLE_EVERY;
        }
        let mut next = self
            .next_sample
            .min(wall_end)
            .min(self.stop_at.unwrap_or(wall_end));
        if !self.disk_roots().is_empty() {
            if now >= self.next_disk {
                let s = self.scan_disk();
                if let Some((bytes, entries)) = self.disk_over(&s) {
                    self.kill(Stop::Disk { bytes, entries });
                }
                self.next_disk = Instant::now() + DISK_EVERY;
            }
            next = next.min(self.next_disk);
        }
        Some(next)
    }

    /// The writable paths that can hold the program's files.
    fn disk_roots(&self) -> Vec<&Path> {
        self.settings
            .access
            .rw
            .iter()
            .map(PathBuf::as_path)
            .filter(|p| *p != Path::new("/dev/null"))
            .collect()
    }

    fn scan_disk(&self) -> crate::scan::Scan {
        let l = &self.settings.limits;
        crate::scan::scan(&self.disk_roots(), l.file_size_bytes, l.disk_inodes)
    }

    /// (bytes, entries) when a scan shows the writable paths over the disk budget.
    fn disk_over(&self, s: &crate::scan::Scan) -> Option<(u64, u64)> {
        let l = &self.settings.limits;
        (s.bytes > l.disk_bytes || s.entries > l.disk_inodes).then_some((s.bytes, s.entries))
    }

    /// Reads resident size and CPU time from /proc/PID/stat; stops the program past a limit.
    fn sample(&mut self) {
        let Some((cpu_ms, rss_kib)) = self.child.and_then(group_stat) else {
            return;
        };
        self.peak_rss_kib = self.peak_rss_kib.max(rss_kib);
        let l = &self.settings.limits;
        if rss_kib.saturating_mul(1024) > l.memory_bytes {
            self.kill(Stop::Memory { rss_kib });
        } else if cpu_ms > l.cpu_ms {
            self.kill(Stop::Cpu);
        }
    }

    /// The captured standard output kept in memory (the referee's result).
    pub fn stdout_memory(&self) -> Option<&[u8]> {
        match &self.stdout.as_ref()?.sink {
            Sink::Memory(v) => Some(v),
            _ => None,
        }
    }

    /// The final report of this process. `oom_kill`: the container cgroup's OOM killer struck
    /// during the run (what [`supervise`] returns); a SIGKILL then means memory.
    pub fn finish(mut self, oom_kill: bool) -> Report {
        let mut report = std::mem::replace(&mut self.report, self.settings.blank_report());
        let Some(child) = self.child else {
            return report;
        };
        // The program and anything left in its session go, whatever happened.
        let _ = kill(Pid::from_raw(-child.as_raw()), Signal::SIGKILL);
        let wall = self
            .ended
            .unwrap_or_else(Instant::now)
            .duration_since(self.start);
        report.wall_ms = u64::try_from(wall.as_millis()).unwrap_or(u64::MAX);
        if let Some(c) = &self.stdout {
            report.stdout_bytes = c.bytes;
            report.stdout_truncated = c.truncated;
        }
        let tail = self
            .stderr
            .as_ref()
            .map(|c| c.tail.as_slice())
            .unwrap_or_default();
        if let Some(c) = &self.stderr {
            report.stderr_bytes = c.bytes;
            report.stderr_truncated = c.truncated;
        }
        if let Some(e) = &self.exit {
            let ms = |t: libc::timeval| {
                u64::try_from(t.tv_sec).unwrap_or(0) * 1000
                    + u64::try_from(t.tv_usec).unwrap_or(0) / 1000
            };
            report.cpu_ms = ms(e.rusage.ru_utime) + ms(e.rusage.ru_stime);
            report.max_rss_kib = u64::try_from(e.rusage.ru_maxrss)
                .unwrap_or(0)
                .max(self.peak_rss_kib);
        }
        if let Some(f) = Failure::decode(&self.setup_bytes) {
            return sandbox_error(report, f.message());
        }
        // A Landlock ABI of 0 means the profile's confinement applied no Landlock.
        if self.landlock_abi > 0 {
            report.enforced.landlock_abi = Some(self.landlock_abi);
            report.enforced.landlock_status = "fully_enforced".into();
        }
        report.enforced.confinement = Some(self.settings.confinement);
        report.enforced.no_new_privs = true;
        report.enforced.capabilities_dropped = true;

        let l = &self.settings.limits;
        // A file past the limit proves a write went past it (the kernel cuts at limit+1 bytes):
        // the only trace a program that catches EFBIG leaves.
        let scan = if self.exit.is_some() && self.stop.is_none() {
            self.scan_disk()
        } else {
            crate::scan::Scan::default()
        };
        let disk_over = self.disk_over(&scan);
        let facts = Facts {
            stop: self.stop,
            exit: self.exit.map(|e| e.status),
            cpu_ms: report.cpu_ms,
            max_rss_kib: report.max_rss_kib,
            file_over: scan.file_over,
            disk_over,
            scan_unfinished: scan.unfinished,
            oom_kill,
        };
        let v = verdict(&facts, l, last_line(tail));
        report.status = v.status;
        report.reason = v.reason;
        report.memory_signal = v.memory_signal;
        if let Some(status) = self.exit.map(|e| e.status) {
            if libc::WIFEXITED(status) {
                report.exit_code = Some(libc::WEXITSTATUS(status));
            } else if libc::WIFSIGNALED(status) {
                let sig = libc::WTERMSIG(status);
                report.signal = Some(sig);
                report.signal_name = Signal::try_from(sig).ok().map(|s| s.as_str().to_owned());
            }
        }
        report
    }
}

/// (CPU ms, resident KiB) of a whole thread group. The leader's entry counts the CPU time of
/// every thread, but its resident size is that of its own memory map: none once the leader has
/// ended (a raw `exit`) while other threads live on, a zombie leader. Every thread shares one
/// map, so the resident size then comes from any thread still alive.
fn group_stat(pid: Pid) -> Option<(u64, u64)> {
    let (cpu_ms, rss_kib, zombie) = task_stat(&format!("/proc/{pid}/stat"))?;
    if !zombie && rss_kib > 0 {
        return Some((cpu_ms, rss_kib));
    }
    let live = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_str() != Some(&pid.to_string()))
        .find_map(|e| {
            let (_, rss, zombie) = task_stat(&format!("{}/stat", e.path().display()))?;
            (!zombie).then_some(rss)
        });
    Some((cpu_ms, live.unwrap_or(rss_kib)))
}

/// (CPU ms, resident KiB, a zombie) from one `/proc/.../stat` file.
fn task_stat(path: &str) -> Option<(u64, u64, bool)> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 2..)?
        .split_ascii_whitespace()
        .collect();
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    // Fields 3 (state), 14, 15 (utime, stime) and 24 (rss), counted from 1 with field 3 at
    // index 0.
    let zombie = fields.first().is_some_and(|s| *s == "Z");
    let (utime, stime, rss_pages) = (num(11)?, num(12)?, num(21)?);
    // SAFETY: sysconf with a valid name has no preconditions.
    let tck = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .unwrap_or(100)
        .max(1);
    // SAFETY: as above.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    Some((
        (utime + stime) * 1000 / tck,
        rss_pages * page / 1024,
        zombie,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_reads_this_process() {
        let (_, rss) = group_stat(nix::unistd::getpid()).unwrap();
        assert!(rss > 0);
    }
}
