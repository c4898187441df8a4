//! The verdict: what the supervisor observed, turned into a status and a reason in a fixed
//! precedence.

use nix::sys::signal::Signal;

use crate::profile::SeccompDefault;
use crate::report::{AppliedLimits, MemorySignal, Status, Violation};

/// Why the supervisor stopped a program itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    Cancel(Signal),
    Wall,
    Cpu,
    Memory {
        rss_kib: u64,
    },
    Output {
        stream: &'static str,
    },
    /// The writable paths held more than the disk budget (bytes, entries seen).
    Disk {
        bytes: u64,
        entries: u64,
    },
    /// The match's referee ended; players still running are stopped. Not the player's fault.
    MatchOver,
    /// The supervisor could not do its job (`what`, with the OS error): it stops the program
    /// rather than let it run unwatched or pass off incomplete output.
    Supervisor {
        what: &'static str,
        errno: i32,
    },
    /// The seccomp listener reported a call outside the allowlist (`Facts::violation`).
    Violation,
    /// The listener's allocation guard stopped one request larger than the address-space
    /// backstop (bytes asked for), which the kernel would have refused.
    Allocation {
        bytes: u64,
    },
    /// The setup channel or the listener misbehaved: the program cannot be watched.
    SetupChannel,
}

/// What the supervisor observed, for [`verdict`].
#[derive(Debug, Clone)]
pub(super) struct Facts {
    pub(super) stop: Option<Stop>,
    pub(super) exit: Option<libc::c_int>,
    pub(super) cpu_ms: u64,
    pub(super) max_rss_kib: u64,
    pub(super) file_over: bool,
    /// (bytes, entries) the writable paths held after the run, when over the disk budget.
    pub(super) disk_over: Option<(u64, u64)>,
    /// Why the scan of the writable paths could not finish.
    pub(super) scan_unfinished: Option<String>,
    pub(super) oom_kill: bool,
    /// The forbidden call the listener reported.
    pub(super) violation: Option<Violation>,
    /// The largest virtual size the sampler saw.
    pub(super) peak_vsize_bytes: u64,
    /// The profile's choice: under `kill_process` a SIGSYS is any call outside the allowlist,
    /// not only one of another ABI.
    pub(super) seccomp_default: SeccompDefault,
}

pub(super) struct Verdict {
    pub(super) status: Status,
    pub(super) reason: String,
    pub(super) memory_signal: Option<MemorySignal>,
    pub(super) violation: Option<Violation>,
}

fn fmt_ms(ms: u64) -> String {
    crate::units::Secs::from_millis(ms).to_string()
}

/// A measured size, as a person reads it: `70.6MiB`.
fn fmt_kib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = kib as f64 / 1024.0;
    format!("{mib:.1}MiB")
}

/// A requested size, as a person reads it: `3.0GiB`, `700.5MiB`.
fn fmt_request(b: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let gib = b as f64 / f64::from(1u32 << 30);
    if gib >= 1.0 {
        format!("{gib:.1}GiB")
    } else {
        fmt_kib(b / 1024)
    }
}

fn fmt_bytes(b: u64) -> String {
    crate::units::Size(b).to_string()
}

/// The verdict, from facts in a fixed precedence: a cancellation, the sampler's memory stop,
/// then the measured peak memory, then the supervisor's other stops (it knows why it killed),
/// the measured CPU time, what the exit status proves, and what the run left behind.
pub(super) fn verdict(f: &Facts, l: &AppliedLimits, stderr_last: Option<String>) -> Verdict {
    let v = |status, reason: String| Verdict {
        status,
        reason,
        memory_signal: None,
        violation: None,
    };
    let mem = |signal, reason: String| Verdict {
        status: Status::MemoryLimit,
        reason,
        memory_signal: Some(signal),
        violation: None,
    };
    let mem_limit = fmt_bytes(l.memory_bytes);
    let sig = f
        .exit
        .filter(|s| libc::WIFSIGNALED(*s))
        .map(|s| libc::WTERMSIG(s));
    let cpu = || {
        // The sampler's tick-based reading can pass the limit while the figure measured at
        // exit stays just under it: quote the measured figure only when it shows the overrun.
        let measured = if f.cpu_ms > l.cpu_ms {
            format!(" ({} measured)", fmt_ms(f.cpu_ms))
        } else {
            String::new()
        };
        v(
            Status::TimeoutCpu,
            format!(
                "the program used more than {} of CPU time{measured}",
                fmt_ms(l.cpu_ms)
            ),
        )
    };
    // The sampler reads CPU time in 10 ms clock ticks, so a program can pass the limit and
    // exit (or be stopped at the end of a match) before it sees; the figure measured after
    // exit is exact and decides whenever the supervisor did not stop the program for a limit.
    let cpu_over = f.cpu_ms > l.cpu_ms;
    let peak_over = f.max_rss_kib.saturating_mul(1024) > l.memory_bytes;
    let disk = |when: &str, bytes: u64, entries: u64| {
        let what = if entries > l.disk_inodes {
            format!("more than {} entries", l.disk_inodes)
        } else {
            format!("{} (limit {})", fmt_bytes(bytes), fmt_bytes(l.disk_bytes))
        };
        v(
            Status::DiskLimit,
            format!("the program's writable paths held {what} {when}"),
        )
    };
    match f.stop {
        Some(Stop::Supervisor { what, errno }) => {
            let why = if errno == 0 {
                "a short write".to_owned()
            } else {
                std::io::Error::from_raw_os_error(errno).to_string()
            };
            return v(
                Status::SandboxError,
                format!("the runner could not {what} ({why}); the program was stopped"),
            );
        }
        Some(Stop::Cancel(s)) => {
            return v(
                Status::Cancelled,
                format!("the run was cancelled ({s}) before the program ended"),
            );
        }
        // The supervisor killed the program on its forbidden call and knows which it was.
        Some(Stop::Violation) if f.violation.is_some() => {
            let call = f.violation.clone();
            return Verdict {
                status: Status::PolicyViolation,
                reason: call.as_ref().map(crate::notify::reason).unwrap_or_default(),
                memory_signal: None,
                violation: call,
            };
        }
        Some(Stop::Violation | Stop::SetupChannel) => {
            return v(
                Status::SandboxError,
                "the supervisor lost its watch over the program (setup channel or seccomp listener failed); it was stopped".into(),
            );
        }
        Some(Stop::Allocation { bytes }) => {
            return mem(
                MemorySignal::AddressSpace,
                format!(
                    "the program asked for {} in one allocation, more than its memory limit of {mem_limit} allows (address-space backstop {}); the allocation was refused and the program stopped",
                    fmt_request(bytes),
                    fmt_bytes(l.address_space_bytes)
                ),
            );
        }
        Some(Stop::Memory { rss_kib }) => {
            return mem(
                MemorySignal::RssSampler,
                format!(
                    "the program used more than {mem_limit} of memory ({} resident when stopped)",
                    fmt_kib(rss_kib)
                ),
            );
        }
        // Memory held past the limit is the program's doing whatever else then happened (it
        // was killed at the wall limit or at the end of the match, or exited by itself), and
        // it was the node's memory: the measured peak decides before any other verdict.
        _ if peak_over => {
            return mem(
                MemorySignal::PeakRss,
                format!(
                    "the program's peak memory {} was over the limit of {mem_limit}",
                    fmt_kib(f.max_rss_kib)
                ),
            );
        }
        Some(Stop::Wall) => {
            return v(
                Status::TimeoutWall,
                format!(
                    "the program ran past the wall-time limit of {}",
                    fmt_ms(l.wall_ms)
                ),
            );
        }
        Some(Stop::Cpu) => return cpu(),
        Some(Stop::MatchOver) | None if cpu_over => return cpu(),
        Some(Stop::MatchOver) => {
            return v(
                Status::Ok,
                "the match ended and the program was stopped by the runner".into(),
            );
        }
        Some(Stop::Disk { bytes, entries }) => return disk("while it ran", bytes, entries),
        Some(Stop::Output { stream }) => {
            return v(
                Status::OutputLimit,
                format!(
                    "the program wrote more than {} to {stream}; the first {} were kept",
                    fmt_bytes(l.output_bytes),
                    fmt_bytes(l.output_bytes)
                ),
            );
        }
        None => {}
    }
    match sig {
        Some(libc::SIGSYS) => {
            let why = match f.seccomp_default {
                SeccompDefault::Notify => {
                    "the program made a system call of another ABI (an x32 or i386 number), which the kernel kills before the supervisor can name it (killed by SIGSYS)"
                }
                SeccompDefault::KillProcess => {
                    "the program made a system call outside the seccomp allowlist, or one of another ABI; the profile's seccomp_default is kill_process, so the kernel killed it before the call ran and the call is not named (killed by SIGSYS)"
                }
            };
            return v(Status::PolicyViolation, why.into());
        }
        Some(libc::SIGXCPU) => return cpu(),
        Some(libc::SIGKILL) if f.cpu_ms >= l.cpu_ms => return cpu(),
        Some(libc::SIGKILL) if f.oom_kill => {
            return mem(
                MemorySignal::CgroupOom,
                format!("the program was killed by the out-of-memory killer (limit {mem_limit})"),
            );
        }
        Some(libc::SIGXFSZ) => {
            return v(
                Status::FileSizeLimit,
                format!(
                    "the program tried to write a file larger than {}",
                    fmt_bytes(l.file_size_bytes)
                ),
            );
        }
        _ => {}
    }
    if f.file_over {
        return v(
            Status::FileSizeLimit,
            format!(
                "the program tried to write a file larger than {}",
                fmt_bytes(l.file_size_bytes)
            ),
        );
    }
    if let Some((bytes, entries)) = f.disk_over {
        return disk("when it ended", bytes, entries);
    }
    // Fail closed: what could not be checked is not passed.
    if let Some(why) = &f.scan_unfinished {
        return v(
            Status::FileSizeLimit,
            format!(
                "the program's files could not all be checked against the file-size limit of {} ({why})",
                fmt_bytes(l.file_size_bytes)
            ),
        );
    }
    // An allocation the kernel refused because of the memory limit ends a program with an
    // error of its own (Python: MemoryError, or OSError ENOMEM from mmap): a memory verdict,
    // told by the virtual size the sampler saw at the backstop, or by the last error line.
    let failed = match (f.exit, sig) {
        (_, Some(_)) => true,
        (Some(st), None) => libc::WEXITSTATUS(st) != 0,
        (None, None) => false,
    };
    let backstop = l.address_space_bytes;
    let at_backstop = backstop > 0 && f.peak_vsize_bytes >= backstop - backstop / 16;
    let refused_last = stderr_last.as_deref().is_some_and(|line| {
        line.starts_with("MemoryError") || line.contains("Cannot allocate memory")
    });
    if failed && (at_backstop || refused_last) {
        let evidence = if at_backstop {
            format!(
                "its address space reached {} of the {} backstop",
                fmt_bytes(f.peak_vsize_bytes),
                fmt_bytes(backstop)
            )
        } else {
            "its last error says so".to_owned()
        };
        let line = stderr_last
            .as_deref()
            .map(|l| format!("; last error line: {l}"))
            .unwrap_or_default();
        return mem(
            MemorySignal::AllocationRefused,
            format!(
                "an allocation was refused because of the memory limit of {mem_limit} ({evidence}), and the program then ended with an error{line}"
            ),
        );
    }
    let quote = stderr_last
        .map(|l| format!(" (last error line: {l})"))
        .unwrap_or_default();
    match (f.exit, sig) {
        (_, Some(s)) => {
            let name = Signal::try_from(s)
                .map(|s| s.as_str())
                .unwrap_or("an unknown signal");
            v(
                Status::Signaled,
                format!("the program was killed by {name}{quote}"),
            )
        }
        (Some(st), None) if libc::WEXITSTATUS(st) == 0 => {
            v(Status::Ok, "the program exited normally".into())
        }
        (Some(st), None) => v(
            Status::RuntimeError,
            format!(
                "the program exited with status {}{quote}",
                libc::WEXITSTATUS(st)
            ),
        ),
        (None, None) => v(
            Status::SandboxError,
            "the program's exit status was never observed".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AppliedLimits {
        AppliedLimits {
            wall_ms: 1000,
            cpu_ms: 1000,
            memory_bytes: 64 << 20,
            address_space_bytes: 1 << 30,
            output_bytes: 1024,
            file_size_bytes: 4096,
            open_files: 16,
            disk_bytes: 1 << 20,
            disk_inodes: 100,
        }
    }

    fn facts(exit: Option<libc::c_int>) -> Facts {
        Facts {
            stop: None,
            exit,
            cpu_ms: 10,
            max_rss_kib: 1000,
            file_over: false,
            disk_over: None,
            scan_unfinished: None,
            oom_kill: false,
            violation: None,
            peak_vsize_bytes: 0,
            seccomp_default: SeccompDefault::Notify,
        }
    }

    #[test]
    fn a_refused_allocation_that_ends_the_program_is_a_memory_verdict() {
        let l = limits();
        // The sampler saw the address space at the backstop; the program then died of it.
        let mut f = facts(Some(exited(1)));
        f.peak_vsize_bytes = l.address_space_bytes - 1024;
        let v = verdict(
            &f,
            &l,
            Some("OSError: [Errno 12] Cannot allocate memory".into()),
        );
        assert_eq!(v.status, Status::MemoryLimit);
        assert_eq!(v.memory_signal, Some(MemorySignal::AllocationRefused));
        assert!(v.reason.contains("address space reached"), "{}", v.reason);
        // Or its last error line says so.
        let v = verdict(&facts(Some(exited(1))), &l, Some("MemoryError".into()));
        assert_eq!(v.memory_signal, Some(MemorySignal::AllocationRefused));
        // A program that caught it and exited 0 is not punished for trying.
        let v = verdict(&facts(Some(exited(0))), &l, Some("MemoryError".into()));
        assert_eq!(v.status, Status::Ok);
        // Any other error stays a runtime error.
        let v = verdict(&facts(Some(exited(1))), &l, Some("KeyError: 'x'".into()));
        assert_eq!(v.status, Status::RuntimeError);
    }

    const fn exited(code: i32) -> libc::c_int {
        code << 8
    }

    #[test]
    fn verdicts_follow_the_documented_precedence() {
        let l = limits();
        assert_eq!(
            verdict(&facts(Some(exited(0))), &l, None).status,
            Status::Ok
        );
        let v = verdict(
            &facts(Some(exited(1))),
            &l,
            Some("ZeroDivisionError: division by zero".into()),
        );
        assert_eq!(v.status, Status::RuntimeError);
        assert!(v.reason.contains("ZeroDivisionError"), "{}", v.reason);
        assert_eq!(
            verdict(&facts(Some(libc::SIGSYS)), &l, None).status,
            Status::PolicyViolation
        );
        let killed = Facts {
            seccomp_default: SeccompDefault::KillProcess,
            ..facts(Some(libc::SIGSYS))
        };
        let v = verdict(&killed, &l, None);
        assert_eq!(v.status, Status::PolicyViolation);
        assert!(
            v.reason.contains("kill_process") && v.reason.contains("not named"),
            "{}",
            v.reason
        );
        assert_eq!(
            verdict(&facts(Some(libc::SIGSEGV)), &l, None).status,
            Status::Signaled
        );
        assert_eq!(
            verdict(&facts(Some(libc::SIGXCPU)), &l, None).status,
            Status::TimeoutCpu
        );
        let mut f = facts(Some(libc::SIGKILL));
        f.stop = Some(Stop::Cancel(Signal::SIGTERM));
        assert_eq!(verdict(&f, &l, None).status, Status::Cancelled);
        f.stop = Some(Stop::Memory { rss_kib: 70_000 });
        let v = verdict(&f, &l, None);
        assert_eq!(
            (v.status, v.memory_signal),
            (Status::MemoryLimit, Some(MemorySignal::RssSampler))
        );
        let mut f = facts(Some(libc::SIGKILL));
        f.oom_kill = true;
        assert_eq!(
            verdict(&f, &l, None).memory_signal,
            Some(MemorySignal::CgroupOom)
        );
        let mut f = facts(Some(exited(1)));
        f.file_over = true;
        assert_eq!(verdict(&f, &l, None).status, Status::FileSizeLimit);
        // Over the disk budget, after the run or stopped while it ran.
        let mut f = facts(Some(exited(0)));
        f.disk_over = Some((10, 101));
        let v = verdict(&f, &l, None);
        assert_eq!(v.status, Status::DiskLimit);
        assert!(v.reason.contains("more than 100 entries"), "{}", v.reason);
        let mut f = facts(Some(libc::SIGKILL));
        f.stop = Some(Stop::Disk {
            bytes: 2 << 20,
            entries: 3,
        });
        let v = verdict(&f, &l, None);
        assert_eq!(v.status, Status::DiskLimit);
        assert!(
            v.reason.contains("2MiB (limit 1MiB) while it ran"),
            "{}",
            v.reason
        );
        // A scan that could not finish is not a pass.
        let mut f = facts(Some(exited(0)));
        f.scan_unfinished = Some("too many entries".into());
        let v = verdict(&f, &l, None);
        assert_eq!(v.status, Status::FileSizeLimit);
        assert!(v.reason.contains("too many entries"), "{}", v.reason);
        // Past the CPU limit by less than a sampler tick: the measured figure decides, also
        // for a player stopped at the end of a match, but not over the supervisor's own stop.
        let mut f = facts(Some(exited(0)));
        f.cpu_ms = 1001;
        let v = verdict(&f, &l, None);
        assert_eq!(v.status, Status::TimeoutCpu);
        assert!(v.reason.contains("1001ms measured"), "{}", v.reason);
        f.cpu_ms = 1000;
        assert_eq!(verdict(&f, &l, None).status, Status::Ok);
        let mut f = facts(Some(libc::SIGKILL));
        f.cpu_ms = 1001;
        f.stop = Some(Stop::MatchOver);
        assert_eq!(verdict(&f, &l, None).status, Status::TimeoutCpu);
        f.stop = Some(Stop::Wall);
        assert_eq!(verdict(&f, &l, None).status, Status::TimeoutWall);
        // Memory over the limit that the sampler missed decides before the wall limit, the
        // end of a match or the exit status; only a cancellation comes first.
        for stop in [
            Some(Stop::MatchOver),
            Some(Stop::Wall),
            Some(Stop::Cpu),
            None,
        ] {
            let mut f = facts(Some(libc::SIGKILL));
            f.stop = stop;
            f.max_rss_kib = 100_000;
            let v = verdict(&f, &l, None);
            assert_eq!(
                (v.status, v.memory_signal),
                (Status::MemoryLimit, Some(MemorySignal::PeakRss)),
                "{stop:?}"
            );
        }
        let mut f = facts(Some(libc::SIGKILL));
        f.stop = Some(Stop::Cancel(Signal::SIGTERM));
        f.max_rss_kib = 100_000;
        assert_eq!(verdict(&f, &l, None).status, Status::Cancelled);
        // The supervisor failing its own job is never the program's verdict, whatever it did.
        f.stop = Some(Stop::Supervisor {
            what: "write the program's standard output to its file",
            errno: libc::ENOSPC,
        });
        let v = verdict(&f, &l, None);
        assert_eq!(v.status, Status::SandboxError);
        assert!(
            v.reason.contains(
                "could not write the program's standard output to its file (No space left on device"
            ),
            "{}",
            v.reason
        );
        let mut f = facts(Some(exited(1)));
        f.max_rss_kib = 100_000;
        assert_eq!(
            verdict(&f, &l, None).memory_signal,
            Some(MemorySignal::PeakRss)
        );
    }
}
