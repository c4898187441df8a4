//! One sandboxed process under supervision: how it is wired, the fork, its deadlines and
//! samples, and its report once it has ended.

use std::os::fd::{AsRawFd as _, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

mod finish;

use super::capture::{Capture, Sink};
use super::kernel::{
    Exit, StatFile, group_stat, has_ended, pidfd_open, threads, wait_pid, wait_pidfd,
};
use super::settings::Settings;
use super::verdict::Stop;
use super::{pipe, sandbox_error};
use crate::control::Action;
use crate::notify::SetupMessage;
use crate::report::{Report, Violation};
use crate::sandbox::{ChildFds, Expected, HIGH_FD, Plan};

/// How often the supervisor samples the child's resident size and CPU time. At first-touch
/// speeds (a few GB/s) this bounds the overshoot past the memory limit to tens of MiB; the
/// address-space backstop bounds it absolutely.
pub(super) const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// How often the writable paths are measured against the disk budget while the program runs:
/// a walk of up to the entry budget (10,000 by default) costs milliseconds.
const DISK_EVERY: Duration = Duration::from_millis(250);

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
    /// The child's pidfd, opened right after the fork (nothing reaps it before this process
    /// does): every signal to the child goes through it, and its exit is collected through it.
    pidfd: Option<OwnedFd>,
    /// The child ended but its exit could not be collected.
    lost: bool,
    pub(super) start: Instant,
    pub(super) ended: Option<Instant>,
    pub(super) stop: Option<Stop>,
    /// Stop this process at this instant (players, once the referee is done).
    pub(super) stop_at: Option<Instant>,
    /// Stopped (SIGSTOP) at the referee's request and not continued since.
    pub(super) paused: bool,
    /// Since when it is held stopped, and for how long it was held before: the wall limit
    /// counts only the time the program may run (a player waits stopped between its turns).
    pub(super) paused_since: Option<Instant>,
    pub(super) held: Duration,
    /// How many times the referee resumed this process (a player: once per turn after its
    /// first, which it starts running). `matches` turns it into the player's turn.
    pub(super) turns: Option<u32>,
    pub(super) peak_rss_kib: u64,
    /// The largest virtual size the sampler saw: near the address-space backstop, an
    /// allocation was refused because of the memory limit.
    pub(super) peak_vsize_bytes: u64,
    pub(super) next_sample: Instant,
    pub(super) next_disk: Instant,
    /// The child's `/proc/PID/stat`, once the first sample has opened it.
    pub(super) stat_file: Option<StatFile>,
    pub(super) setup: Option<OwnedFd>,
    pub(super) setup_bytes: Vec<u8>,
    /// The child's seccomp listener, once it has sent it (see `crate::notify`).
    pub(super) listener: Option<OwnedFd>,
    /// The listener reported `POLLHUP`: every task of the program has left the filter, so
    /// nothing more can arrive on it.
    pub(super) listener_hung_up: bool,
    /// The forbidden call the listener reported.
    pub(super) violation: Option<Violation>,
    pub(super) landlock_abi: u32,
    /// What the child must read back before exec.
    pub(super) expected: Option<Expected>,
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
            pidfd: None,
            lost: false,
            start: now,
            ended: Some(now),
            stop: None,
            stop_at: None,
            paused: false,
            paused_since: None,
            held: Duration::ZERO,
            turns: None,
            peak_rss_kib: 0,
            peak_vsize_bytes: 0,
            next_sample: now,
            next_disk: now,
            stat_file: None,
            setup: None,
            setup_bytes: Vec::new(),
            listener: None,
            listener_hung_up: false,
            violation: None,
            landlock_abi: 0,
            expected: None,
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
            let (setup_r, setup_w) = crate::notify::setup_channel()?;
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
            s.seccomp_default,
        )
        .map_err(|e| format!("{e}; the program was not run"))?;
        match threads() {
            Ok(1) => {}
            Ok(n) => {
                return Err(format!(
                    "the runner has {n} threads and forks only when it has one (the child could \
                     inherit a lock another thread held); the program was not run"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "cannot check that the runner is single-threaded before the fork: {e}; \
                     the program was not run"
                ));
            }
        }
        self.start = Instant::now();
        // SAFETY: checked just above: this process has one thread, so no lock can be held by
        // a thread that does not exist in the child; the child only runs `sandbox::enter`,
        // which allocates nothing, writes only to its own stack and execs or _exits.
        let child = unsafe { crate::spawn::spawn(&mut plan, &fds) }?;
        drop(fds); // the parent's copies of the child's ends: EOF must mean the child is done
        let past_exec = crate::spawn::returns_after_exec(&plan);
        self.child = Some(child);
        self.pidfd = match pidfd_open(child) {
            Ok(fd) => Some(fd),
            Err(e) => {
                // Not reaped yet, so the pid is still this child's.
                let _ = kill(child, Signal::SIGKILL);
                self.exit = wait_pid(child);
                self.lost = self.exit.is_none();
                self.ended = Some(Instant::now());
                return Err(format!(
                    "cannot open a pidfd for the program: {e}; the program was stopped"
                ));
            }
        };
        self.ended = None;
        self.next_sample = self.start;
        self.landlock_abi = plan.landlock_abi;
        self.expected = Some(plan.expected);
        self.setup = Some(setup_r);
        let cap = s.limits.output_bytes;
        self.stdout = out_r.map(|(r, sink)| Capture::new("stdout", r, sink, cap));
        self.stderr = Some(Capture::new("stderr", err_r, wiring.stderr, cap));
        if past_exec {
            self.read_sent_setup();
        }
        Ok(())
    }

    /// One message from the setup channel: a failure record, the listener, or the end.
    pub(super) fn read_setup(&mut self, buf: &mut [u8]) {
        let Some(fd) = &self.setup else { return };
        let message = crate::notify::recv_setup(fd, buf);
        self.on_setup(message, buf);
    }

    /// Reads what the child sent on the setup channel and closes it, for a child that has
    /// exec'd or exited (`spawn::returns_after_exec`): that is everything it will ever send.
    /// Left in the poll set, the channel would wake the supervisor once more when the exec
    /// closes the child's end, an interruption of the program's start for nothing.
    fn read_sent_setup(&mut self) {
        // The records are a few dozen bytes; a longer one would arrive cut and fail its
        // decoding, which fails the run.
        let mut buf = [0u8; 1024];
        while let Some(fd) = &self.setup {
            match crate::notify::recv_setup(fd, &mut buf) {
                Err(Errno::EINTR) => {}
                // Nothing more was sent, and nothing more can be.
                Err(Errno::EAGAIN) => self.setup = None,
                message => self.on_setup(message, &buf),
            }
        }
    }

    fn on_setup(&mut self, message: Result<SetupMessage, Errno>, buf: &[u8]) {
        match message {
            Ok(SetupMessage::Bytes(n)) => self.setup_bytes.extend_from_slice(&buf[..n]),
            Ok(SetupMessage::Listener(l)) if self.listener.is_none() => self.listener = Some(l),
            Ok(SetupMessage::End) => self.setup = None,
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            // A second listener or a malformed message cannot come from the runner's own
            // child code: stop the program rather than run it half-watched.
            Ok(SetupMessage::Listener(_)) | Err(_) => {
                self.setup = None;
                self.kill(Stop::SetupChannel);
            }
        }
    }

    /// A call outside the allowlist is waiting on the listener: record it, kill the group.
    /// The call itself never runs (`notify::take` answers with an error after the kill).
    pub(super) fn on_notification(&mut self) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        let child = self.child;
        let taken = crate::notify::take(&listener, || {
            if let Some(child) = child {
                let _ = kill(Pid::from_raw(-child.as_raw()), Signal::SIGKILL);
                let _ = kill(child, Signal::SIGKILL);
            }
        });
        match taken {
            Ok(Some(call)) => {
                if let Some(bytes) = call.allocation_over(self.settings.limits.address_space_bytes)
                {
                    self.kill(Stop::Allocation { bytes });
                } else {
                    if self.violation.is_none() {
                        self.violation = Some(call.violation());
                    }
                    self.kill(Stop::Violation);
                }
            }
            Ok(None) => {}
            Err(_) => self.kill(Stop::SetupChannel),
        }
        // Kept until the process is reaped: closing it early would let the kernel answer
        // later forbidden calls ENOSYS instead of holding them for the kill.
        self.listener = Some(listener);
    }

    pub(super) fn running(&self) -> bool {
        self.child.is_some() && self.exit.is_none() && !self.lost
    }

    pub(super) fn drained(&self) -> bool {
        self.setup.is_none()
            && self.stdout.as_ref().is_none_or(|c| c.pipe.is_none())
            && self.stderr.as_ref().is_none_or(|c| c.pipe.is_none())
    }

    pub(super) fn kill(&mut self, why: Stop) {
        if !self.running() {
            // Ended already, while what it wrote is still being read: a capture that fails
            // or an output over its cap still decides (else a loaded runner that reaps first
            // would pass off a lost output as `ok`), but a stop that only ends a live program
            // (the match over, a cancel) does not rewrite how it ended.
            if self.child.is_some()
                && self.stop.is_none()
                && matches!(why, Stop::Supervisor { .. } | Stop::Output { .. })
            {
                self.stop = Some(why);
            }
            return;
        }
        if self.stop.is_none() {
            self.stop = Some(why);
        }
        self.kill_group();
        // ESRCH: the leader has exited and waits to be reaped; nothing else can fail here.
        let _ = self.signal(Signal::SIGKILL);
    }

    /// SIGKILL to the process group while its leader is not reaped: until then the group's id
    /// cannot be reused, so the signal reaches only what the program left behind. ESRCH (an
    /// empty group, or a child that has not yet called setsid) is the expected outcome.
    fn kill_group(&self) {
        if let (Some(child), true) = (self.child, self.exit.is_none() && !self.lost) {
            let _ = kill(Pid::from_raw(-child.as_raw()), Signal::SIGKILL);
        }
    }

    /// A signal to the child through its pidfd: never to a pid that may have been reused.
    fn signal(&self, signal: Signal) -> Result<(), Errno> {
        let Some(fd) = &self.pidfd else {
            return Err(Errno::ESRCH);
        };
        // SAFETY: pidfd_send_signal with a pidfd this process owns, a NULL siginfo and flags 0.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0u32,
            )
        };
        if r < 0 { Err(Errno::last()) } else { Ok(()) }
    }

    /// SIGSTOP or SIGCONT at the referee's request. `Ok(false)`: the player has ended.
    pub(super) fn pause(&mut self, action: Action) -> Result<bool, Errno> {
        // A player the supervisor has killed, or one that has exited but whose SIGCHLD is not
        // read yet, has ended too: a signal to it would still be delivered, and a SIGCONT
        // would count a turn it never played (the referee, seeing its pipe close, asks for
        // the next turn before the reap). One window stays: between a program's closing its
        // descriptors and its becoming a zombie, it cannot be told from a live one.
        if !self.running() || self.stop.is_some() || self.pidfd.as_ref().is_some_and(has_ended) {
            return Ok(false);
        }
        let signal = match action {
            Action::Stop => Signal::SIGSTOP,
            Action::Cont => Signal::SIGCONT,
        };
        match self.signal(signal) {
            Ok(()) => {
                let now = Instant::now();
                match action {
                    Action::Stop => {
                        self.paused_since.get_or_insert(now);
                    }
                    Action::Cont => {
                        if let Some(t) = self.paused_since.take() {
                            self.held += now.duration_since(t);
                        }
                    }
                }
                self.paused = action == Action::Stop;
                Ok(true)
            }
            Err(Errno::ESRCH) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Collects the exit of the child, which has ended (a zombie): first the rest of its
    /// process group is killed, then the leader is reaped through its pidfd.
    pub(super) fn reap(&mut self) {
        self.kill_group();
        let Some(child) = self.child else { return };
        // The pid still names the zombie until it is reaped, so it is a safe fallback.
        self.exit = self
            .pidfd
            .as_ref()
            .and_then(wait_pidfd)
            .or_else(|| wait_pid(child));
        // An exit that could not be collected is not waited for again; the verdict says the
        // exit status was never observed.
        self.lost = self.exit.is_none();
        self.ended = Some(Instant::now());
    }

    /// Deadlines and sampling; returns when this process next needs attention.
    pub(super) fn tick(&mut self, now: Instant) -> Option<Instant> {
        if !self.running() {
            return None;
        }
        // Time held stopped by the referee does not count: the deadline moves with it.
        let held = self.held
            + self
                .paused_since
                .map_or(Duration::ZERO, |t| now.duration_since(t));
        let wall_end = self.start + held + Duration::from_millis(self.settings.limits.wall_ms);
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
        let Some(child) = self.child else { return };
        if self.stat_file.is_none() {
            self.stat_file = StatFile::open(child);
        }
        let Some(stat) = self.stat_file.as_ref().and_then(|f| group_stat(child, f)) else {
            return;
        };
        let (cpu_ms, rss_kib) = (stat.cpu_ms, stat.rss_kib);
        self.peak_rss_kib = self.peak_rss_kib.max(rss_kib);
        self.peak_vsize_bytes = self.peak_vsize_bytes.max(stat.vsize_bytes);
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
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use super::*;

    #[test]
    fn a_multi_threaded_process_does_not_fork() {
        // The test harness runs this on a thread of its own: this process has at least two.
        let extra = std::thread::spawn(|| std::thread::sleep(Duration::from_millis(500)));
        let spec = crate::spec::RunSpec {
            program: vec!["/usr/bin/python3.11".into()],
            ..crate::spec::RunSpec::default()
        };
        let profile = crate::profile::Profile::load(None).unwrap();
        let settings = Settings::resolve(&spec, &profile, None).unwrap();
        let null = || OwnedFd::from(File::open("/dev/null").unwrap());
        let wiring = Wiring {
            stdin: null(),
            stdout: StdoutTo::Capture(Sink::Discard),
            stderr: Sink::Discard,
            handed_on: Vec::new(),
        };
        let p = Proc::spawn(settings, wiring);
        assert!(p.child.is_none(), "it forked");
        let report = p.finish(false);
        assert_eq!(report.status, crate::report::Status::SandboxError);
        assert!(
            report
                .reason
                .contains("threads and forks only when it has one"),
            "{}",
            report.reason
        );
        extra.join().unwrap();
    }
}
