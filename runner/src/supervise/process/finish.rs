//! The final report of one supervised process: what it used, what the sandbox read back, and
//! the verdict on how it ended.

use std::time::Instant;

use nix::sys::signal::Signal;

use super::Proc;
use crate::confine::Confinement;
use crate::report::Report;
use crate::supervise::capture::last_line;
use crate::supervise::sandbox_error;
use crate::supervise::verdict::{Facts, verdict};

impl Proc {
    /// The final report of this process. `oom_kill`: the container cgroup's OOM killer struck
    /// during the run (what [`supervise`] returns); a SIGKILL then means memory.
    pub fn finish(mut self, oom_kill: bool) -> Report {
        let mut report = std::mem::replace(&mut self.report, self.settings.blank_report());
        if self.child.is_none() {
            return report;
        }
        // Reaping killed what the program left in its process group; a child never seen to
        // exit (the loop gave up on it) is stopped here, while its pid is still its own.
        if self.running() {
            self.kill_group();
            let _ = self.signal(Signal::SIGKILL);
        }
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
        let o = match crate::sandbox::proven(&self.setup_bytes, self.expected) {
            Ok(o) => o,
            Err(why) => return sandbox_error(report, why),
        };
        // What the kernel said, not what was asked for. The probe matched the confinement
        // (the mismatch check above): EACCES from Landlock, or /proc absent from the
        // namespaces' root, which applies no Landlock at all (landlock_status `not_applied`).
        match self.settings.confinement {
            Confinement::Landlock => {
                report.enforced.landlock_abi = Some(self.landlock_abi);
                report.enforced.landlock_status = if o.probe_errno == libc::EACCES {
                    "fully_enforced".into()
                } else {
                    "not_enforced".into()
                };
            }
            Confinement::Namespaces => {
                report.enforced.landlock_status = "not_applied".into();
            }
        }
        report.enforced.confinement = Some(self.settings.confinement);
        report.enforced.seccomp_default = Some(self.settings.seccomp_default);
        report.enforced.no_new_privs = o.no_new_privs;
        report.enforced.capabilities_dropped = [
            o.cap_inheritable,
            o.cap_permitted,
            o.cap_effective,
            o.cap_bounding,
            o.cap_ambient,
        ]
        .iter()
        .all(|&c| c == 0);
        report.enforced.uid = o.uids[1];
        report.enforced.gid = o.gids[1];

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
            violation: self.violation.clone(),
            peak_vsize_bytes: self.peak_vsize_bytes,
            seccomp_default: self.settings.seccomp_default,
        };
        let v = verdict(&facts, l, last_line(tail));
        report.stderr_tail = crate::report::escape_tail(tail);
        report.turns = self.turns;
        report.status = v.status;
        report.reason = v.reason;
        report.memory_signal = v.memory_signal;
        report.violation = v.violation;
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
