//! The supervisor: the parent half of the runner. It is never sandboxed. It resolves a spec
//! into settings, forks the child (see [`crate::sandbox`]), watches it — wall clock, CPU time,
//! resident memory, output — reaps it and every other child it inherits (it may be PID 1),
//! turns SIGTERM/SIGINT into a cancellation, and returns exactly one report.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::resource::Resource;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{ForkResult, Gid, Pid, Uid};

use crate::control::{Action, Control};
use crate::profile::{Profile, SECCOMP_SHA256};
use crate::report::{AppliedLimits, Enforcement, MemorySignal, Report, Status};
use crate::sandbox::{Access3, ChildFds, Failure, HIGH_FD, Plan, Rlimit};
use crate::spec::{RunSpec, SpecError};

/// How often the supervisor samples the child's resident size and CPU time. At first-touch
/// speeds (a few GB/s) this bounds the overshoot past the memory limit to tens of MiB; the
/// address-space backstop bounds it absolutely.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// How often the writable paths are measured against the disk budget while the program runs:
/// a walk of up to the entry budget (10,000 by default) costs milliseconds.
const DISK_EVERY: Duration = Duration::from_millis(250);
/// After the child exits, how long to keep draining pipes that something else still holds.
const DRAIN_GRACE: Duration = Duration::from_millis(500);
/// Bytes of standard error kept in memory to quote the last line in the report's reason.
const STDERR_TAIL: usize = 512;

/// Where a program's standard input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdinFrom {
    /// A file the runner opens (`/dev/null` unless the spec names one).
    File(PathBuf),
    /// The runner's own standard input, only when the spec asks for it.
    Inherit,
}

/// A spec resolved against a profile: everything needed to run, nothing left optional.
#[derive(Debug, Clone)]
pub struct Settings {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub access: Access3,
    pub limits: AppliedLimits,
    pub stack_bytes: u64,
    pub identity: Option<(Uid, Gid)>,
    pub min_landlock_abi: u32,
    pub stdin: StdinFrom,
    pub stdout: Option<PathBuf>,
    pub stderr: Option<PathBuf>,
    pub profile_sha256: String,
}

fn canonical_or_self(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned())
}

impl Settings {
    /// Resolves a spec against a profile. `report` is where the report will be written:
    /// refused when the program could write there.
    pub fn resolve(
        spec: &RunSpec,
        profile: &Profile,
        report: Option<&Path>,
    ) -> Result<Self, SpecError> {
        let bad = |m: String| Err(SpecError::Invalid(m));
        let pl = &profile.limits;
        let l = &spec.limits;
        let memory = l.memory.unwrap_or(pl.memory).bytes();
        let limits = AppliedLimits {
            wall_ms: l.wall_time.unwrap_or(pl.wall_time).as_millis(),
            cpu_ms: l.cpu_time.unwrap_or(pl.cpu_time).as_millis(),
            memory_bytes: memory,
            address_space_bytes: memory.saturating_add(pl.address_space_headroom.bytes()),
            output_bytes: l.output.unwrap_or(pl.output).bytes(),
            file_size_bytes: l.file_size.unwrap_or(pl.file_size).bytes(),
            open_files: l.open_files.unwrap_or(pl.open_files),
            disk_bytes: l.disk.unwrap_or(pl.disk).bytes(),
            disk_inodes: l.disk_inodes.unwrap_or(pl.disk_inodes),
        };

        // Profile paths are defaults for several systems: missing ones grant nothing and are
        // skipped. Paths the caller names must exist: a typo must not silently lose a grant.
        let existing = |v: &[PathBuf]| v.iter().filter(|p| p.exists()).cloned().collect::<Vec<_>>();
        let mut access = Access3 {
            ro: existing(&profile.paths.ro),
            rx: existing(&profile.paths.rx),
            rw: existing(&profile.paths.rw),
        };
        for (given, into) in [
            (&spec.paths.ro, &mut access.ro),
            (&spec.paths.rx, &mut access.rx),
            (&spec.paths.rw, &mut access.rw),
        ] {
            for p in given {
                if !p.exists() {
                    return bad(format!("path {} does not exist", p.display()));
                }
                into.push(p.clone());
            }
        }
        let program = PathBuf::from(&spec.program[0]);
        if !program.is_file() {
            return bad(format!("program {} is not a file", program.display()));
        }
        access.rx.push(program);

        // The report and the captured output must live where the program cannot write.
        let rw_dirs: Vec<PathBuf> = spec.paths.rw.iter().map(|p| canonical_or_self(p)).collect();
        for (what, path) in [
            ("report", report),
            ("stdout", spec.stdout.as_deref()),
            ("stderr", spec.stderr.as_deref()),
        ] {
            let Some(dir) = path.and_then(Path::parent) else {
                continue;
            };
            let dir = canonical_or_self(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            });
            if let Some(rw) = rw_dirs.iter().find(|rw| dir.starts_with(rw)) {
                return bad(format!(
                    "the {what} file would be inside the writable path {}: the program could tamper with it",
                    rw.display()
                ));
            }
        }

        let cwd = match &spec.cwd {
            Some(c) => c.clone(),
            None => spec
                .paths
                .rw
                .iter()
                .find(|p| p.is_dir())
                .cloned()
                .unwrap_or_else(|| PathBuf::from("/")),
        };
        // Later sources override earlier ones: profile set, passed-through names, the
        // writable working directory as HOME and TMPDIR, then the spec's own variables.
        let mut env: BTreeMap<String, String> = profile.env.set.clone();
        for name in &profile.env.pass {
            if let Ok(v) = std::env::var(name) {
                env.insert(name.clone(), v);
            }
        }
        if rw_dirs
            .iter()
            .any(|rw| canonical_or_self(&cwd).starts_with(rw))
        {
            let dir = cwd.display().to_string();
            env.insert("HOME".into(), dir.clone());
            env.insert("TMPDIR".into(), dir);
        }
        env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let env = env.into_iter().collect();

        let identity = nix::unistd::geteuid().is_root().then(|| {
            (
                Uid::from_raw(profile.identity.uid),
                Gid::from_raw(profile.identity.gid),
            )
        });
        Ok(Self {
            argv: spec.program.clone(),
            env,
            cwd,
            access,
            limits,
            stack_bytes: profile.limits.stack.bytes(),
            identity,
            min_landlock_abi: profile.min_landlock_abi,
            stdin: match (&spec.stdin, spec.inherit_stdin) {
                (_, true) => StdinFrom::Inherit,
                (Some(p), false) => StdinFrom::File(p.clone()),
                (None, false) => StdinFrom::File(PathBuf::from("/dev/null")),
            },
            stdout: spec.stdout.clone(),
            stderr: spec.stderr.clone(),
            profile_sha256: profile.sha256.clone(),
        })
    }

    /// The rlimits of step 5, from the applied limits.
    fn rlimits(&self) -> Vec<Rlimit> {
        let l = &self.limits;
        // RLIMIT_CPU counts whole seconds: it is the backstop (SIGXCPU, then SIGKILL a second
        // later even if the program handles SIGXCPU); the sampler enforces the exact limit.
        // A second past the limit, because the kernel's RLIMIT_CPU accounting can run ahead
        // of the measured CPU time: a program making many short system calls got SIGXCPU at
        // 1.75 s of a 2 s limit (`cpu_syscalls_under_limit`).
        let cpu_s = l.cpu_ms.div_ceil(1000).max(1) + 1;
        let r = |resource, soft, hard| Rlimit {
            resource,
            soft,
            hard,
        };
        let same = |resource, v| Rlimit {
            resource,
            soft: v,
            hard: v,
        };
        vec![
            same(Resource::RLIMIT_AS, l.address_space_bytes),
            r(Resource::RLIMIT_CPU, cpu_s, cpu_s + 1),
            // One byte over the limit: a file that reaches limit+1 proves a write went past
            // the limit, which is what the post-run scan looks for (Python ignores SIGXFSZ).
            same(Resource::RLIMIT_FSIZE, l.file_size_bytes.saturating_add(1)),
            same(Resource::RLIMIT_NOFILE, l.open_files),
            same(Resource::RLIMIT_STACK, self.stack_bytes),
            same(Resource::RLIMIT_CORE, 0),
            same(Resource::RLIMIT_MEMLOCK, 0),
            same(Resource::RLIMIT_MSGQUEUE, 0),
            same(Resource::RLIMIT_LOCKS, 0),
            same(Resource::RLIMIT_RTPRIO, 0),
            same(Resource::RLIMIT_RTTIME, 0),
            same(Resource::RLIMIT_SIGPENDING, 64),
        ]
    }

    /// A report with everything known before the run.
    fn blank_report(&self) -> Report {
        let (uid, gid) = self.identity.map_or_else(
            || {
                (
                    nix::unistd::geteuid().as_raw(),
                    nix::unistd::getegid().as_raw(),
                )
            },
            |(u, g)| (u.as_raw(), g.as_raw()),
        );
        let mut report = Report::not_run(String::new());
        report.limits = self.limits.clone();
        report.enforced = Enforcement {
            runner_version: env!("CARGO_PKG_VERSION").to_owned(),
            landlock_abi: None,
            landlock_status: "not_applied".into(),
            seccomp_policy_sha256: SECCOMP_SHA256.to_owned(),
            profile_sha256: self.profile_sha256.clone(),
            uid,
            gid,
            no_new_privs: false,
            capabilities_dropped: false,
        };
        report
    }
}

/// Why the supervisor stopped a program itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
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
}

/// Where a captured stream's bytes go.
#[derive(Debug)]
pub enum Sink {
    /// Counted and dropped.
    Discard,
    /// Written to a file as they arrive.
    File(File),
    /// Kept in memory (bounded by the cap): the referee's result.
    Memory(Vec<u8>),
}

/// One captured stream: a pipe read end, where its bytes go, a byte cap.
#[derive(Debug)]
struct Capture {
    name: &'static str,
    pipe: Option<OwnedFd>,
    sink: Sink,
    cap: u64,
    bytes: u64,
    truncated: bool,
    tail: Vec<u8>,
}

impl Capture {
    fn new(name: &'static str, pipe: OwnedFd, sink: Sink, cap: u64) -> Self {
        Self {
            name,
            pipe: Some(pipe),
            sink,
            cap,
            bytes: 0,
            truncated: false,
            tail: Vec::new(),
        }
    }

    /// Reads what is there. Returns true when the stream went over its cap. Bytes past the
    /// cap are read and dropped, so the runner's memory stays flat whatever the program writes.
    fn pump(&mut self, buf: &mut [u8]) -> bool {
        let Some(fd) = &self.pipe else { return false };
        match nix::unistd::read(fd, buf) {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                let chunk = &buf[..n];
                let room =
                    usize::try_from(self.cap.saturating_sub(self.bytes)).unwrap_or(usize::MAX);
                let kept = &chunk[..n.min(room)];
                match &mut self.sink {
                    Sink::File(f) => {
                        if f.write_all(kept).is_err() {
                            self.sink = Sink::Discard;
                        }
                    }
                    Sink::Memory(v) => v.extend_from_slice(kept),
                    Sink::Discard => {}
                }
                if self.name == "stderr" {
                    self.tail.extend_from_slice(kept);
                    let excess = self.tail.len().saturating_sub(STDERR_TAIL);
                    self.tail.drain(..excess);
                }
                self.bytes += n as u64;
                if self.bytes > self.cap {
                    self.truncated = true;
                    return true;
                }
            }
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(_) => self.pipe = None,
        }
        false
    }
}

/// What the child's exit looked like.
#[derive(Debug, Clone, Copy)]
struct Exit {
    status: libc::c_int,
    rusage: libc::rusage,
}

/// Blocks the signals the supervisor handles through a signalfd. Call first thing in
/// `main`, before anything can be interrupted: a SIGTERM that arrives early must still end
/// in a `cancelled` report rather than a runner killed with no report.
pub fn take_signals() -> nix::Result<SignalFd> {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        set.add(s);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
}

pub(crate) fn pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
}

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

fn sandbox_error(mut report: Report, reason: String) -> Report {
    report.status = Status::SandboxError;
    report.reason = reason;
    report
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
    settings: Settings,
    report: Report,
    child: Option<Pid>,
    start: Instant,
    ended: Option<Instant>,
    stop: Option<Stop>,
    /// Stop this process at this instant (players, once the referee is done).
    stop_at: Option<Instant>,
    /// Stopped (SIGSTOP) at the referee's request and not continued since.
    paused: bool,
    peak_rss_kib: u64,
    next_sample: Instant,
    next_disk: Instant,
    setup: Option<OwnedFd>,
    setup_bytes: Vec<u8>,
    landlock_abi: u32,
    stdout: Option<Capture>,
    stderr: Option<Capture>,
    exit: Option<Exit>,
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
        )
        .map_err(|e| format!("{e}; the program was not run"))?;
        self.start = Instant::now();
        // SAFETY: the runner is single-threaded (no thread is ever started), so the child may
        // run arbitrary code; it only runs `sandbox::enter`, which execs or _exits.
        let child = match unsafe { nix::unistd::fork() } {
            Ok(ForkResult::Child) => crate::sandbox::enter(&mut plan, &fds),
            Ok(ForkResult::Parent { child }) => child,
            Err(e) => return Err(format!("fork failed: {e}")),
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

    fn running(&self) -> bool {
        self.child.is_some() && self.exit.is_none()
    }

    fn drained(&self) -> bool {
        self.setup.is_none()
            && self.stdout.as_ref().is_none_or(|c| c.pipe.is_none())
            && self.stderr.as_ref().is_none_or(|c| c.pipe.is_none())
    }

    fn kill(&mut self, why: Stop) {
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
    fn pause(&mut self, action: Action) -> &'static str {
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
    fn tick(&mut self, now: Instant) -> Option<Instant> {
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
        report.enforced.landlock_abi = Some(self.landlock_abi);
        report.enforced.landlock_status = "fully_enforced".into();
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

/// After the primary process (the referee) ends, how long the others get to exit by themselves.
const MATCH_OVER_GRACE: Duration = Duration::from_millis(500);
/// Poll slots that are not a process's streams.
const SIGNALS: usize = usize::MAX;
const CONTROL: usize = usize::MAX - 1;

/// Supervises processes until every one has exited and its pipes are drained. When
/// `primary` is given and that process ends, the others are continued if the referee had
/// stopped them, and stopped for good after a short grace. `control` carries the referee's
/// stop and continue requests for the processes it names.
/// Returns true when the cgroup's OOM killer struck during the run.
pub fn supervise(
    procs: &mut [Proc],
    primary: Option<usize>,
    signals: &SignalFd,
    mut control: Option<&mut Control>,
) -> bool {
    // The runner may not be PID 1 (local use): become the reaper of anything the programs
    // orphan, so nothing escapes the final process-group kill by being re-parented.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let oom_before = cgroup_oom_kills();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        if procs.iter().all(|p| {
            !p.running()
                && (p.drained() || p.ended.is_some_and(|t| now.duration_since(t) > DRAIN_GRACE))
        }) {
            break;
        }
        if let Some(i) = primary
            && !procs[i].running()
        {
            for (j, p) in procs.iter_mut().enumerate() {
                if j != i && p.stop_at.is_none() {
                    // A stopped player could not see its input close and leave on its own.
                    if p.paused {
                        p.pause(Action::Cont);
                    }
                    p.stop_at = Some(now + MATCH_OVER_GRACE);
                }
            }
        }
        let next = procs
            .iter_mut()
            .filter_map(|p| p.tick(now))
            .min()
            .unwrap_or(now + DRAIN_GRACE);
        let wait = next
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let timeout = PollTimeout::try_from(wait.as_millis()).unwrap_or(PollTimeout::MAX);

        // (process index, or SIGNALS or CONTROL; which stream)
        let mut who: Vec<(usize, u8)> = vec![(SIGNALS, 0)];
        let mut pfds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if let Some(fd) = control.as_ref().and_then(|c| c.fd()) {
            pfds.push(PollFd::new(fd, PollFlags::POLLIN));
            who.push((CONTROL, 0));
        }
        for (i, p) in procs.iter().enumerate() {
            let streams = [
                (0u8, p.setup.as_ref()),
                (1, p.stdout.as_ref().and_then(|c| c.pipe.as_ref())),
                (2, p.stderr.as_ref().and_then(|c| c.pipe.as_ref())),
            ];
            for (tag, fd) in streams {
                if let Some(fd) = fd {
                    pfds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                    who.push((i, tag));
                }
            }
        }
        let polled = poll(&mut pfds, timeout);
        let ready: Vec<(usize, u8)> = pfds
            .iter()
            .zip(&who)
            .filter(|(p, _)| p.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, w)| *w)
            .collect();
        drop(pfds);
        match polled {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => {
                // Cannot watch: stop everything rather than run unwatched.
                procs.iter_mut().for_each(|p| p.kill(Stop::Wall));
                std::thread::sleep(SAMPLE_EVERY);
            }
        }
        for (i, tag) in ready {
            if i == SIGNALS {
                handle_signals(procs, signals);
                continue;
            }
            if i == CONTROL {
                if let Some(c) = control.as_deref_mut() {
                    for request in c.read(&mut buf) {
                        match request {
                            Ok((j, action)) => {
                                c.answer(procs.get_mut(j).map_or("gone", |p| p.pause(action)));
                            }
                            Err(why) => c.answer(&format!("error {why}")),
                        }
                    }
                }
                continue;
            }
            let p = &mut procs[i];
            match tag {
                0 => {
                    if let Some(fd) = &p.setup {
                        match nix::unistd::read(fd, &mut buf[..16]) {
                            Ok(0) | Err(_) => p.setup = None,
                            Ok(n) => p.setup_bytes.extend_from_slice(&buf[..n]),
                        }
                    }
                }
                1 => {
                    if p.stdout.as_mut().is_some_and(|c| c.pump(&mut buf)) {
                        p.kill(Stop::Output { stream: "stdout" });
                    }
                }
                _ => {
                    if p.stderr.as_mut().is_some_and(|c| c.pump(&mut buf)) {
                        p.kill(Stop::Output { stream: "stderr" });
                    }
                }
            }
        }
    }
    oom_before.is_some() && cgroup_oom_kills() > oom_before
}

fn handle_signals(procs: &mut [Proc], signals: &SignalFd) {
    while let Ok(Some(info)) = signals.read_signal() {
        let sig = i32::try_from(info.ssi_signo)
            .ok()
            .and_then(|s| Signal::try_from(s).ok());
        let sender = i32::try_from(info.ssi_pid).ok();
        match sig {
            Some(Signal::SIGCHLD) | None => {}
            // Only the outside can cancel: the programs' signals cannot reach the runner
            // (Landlock scoping); ignoring their pids is the second fence.
            Some(s) if !procs.iter().any(|p| p.child.map(Pid::as_raw) == sender) => {
                procs.iter_mut().for_each(|p| p.kill(Stop::Cancel(s)));
            }
            Some(_) => {}
        }
    }
    reap_all(procs);
}

/// Runs one program under the sandbox and returns its report. Never panics; every path
/// returns a report.
pub fn run(settings: &Settings, signals: &SignalFd) -> Report {
    let blank = settings.blank_report();
    let io = (|| -> std::io::Result<_> {
        let stdin = match &settings.stdin {
            StdinFrom::File(p) => OwnedFd::from(File::open(p)?),
            StdinFrom::Inherit => std::io::stdin().as_fd().try_clone_to_owned()?,
        };
        let sink = |p: &Option<PathBuf>| {
            p.as_deref()
                .map(create_sink)
                .transpose()
                .map(|f| f.map_or(Sink::Discard, Sink::File))
        };
        Ok((stdin, sink(&settings.stdout)?, sink(&settings.stderr)?))
    })();
    let (stdin, stdout, stderr) = match io {
        Ok(v) => v,
        Err(e) => {
            return sandbox_error(
                blank,
                format!("cannot open the program's standard streams: {e}"),
            );
        }
    };
    let wiring = Wiring {
        stdin,
        stdout: StdoutTo::Capture(stdout),
        stderr,
        handed_on: Vec::new(),
    };
    let mut procs = [Proc::spawn(settings.clone(), wiring)];
    let oom_kill = supervise(&mut procs, None, signals, None);
    let [p] = procs;
    p.finish(oom_kill)
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

/// Reaps every exited child (the runner may be PID 1 and inherit orphans), recording the
/// exits of the supervised processes.
fn reap_all(procs: &mut [Proc]) {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 writes to the two valid out-pointers it is given.
        let pid = unsafe { libc::wait4(-1, &mut status, libc::WNOHANG, &mut rusage) };
        if pid <= 0 {
            return;
        }
        if let Some(p) = procs
            .iter_mut()
            .find(|p| p.child.map(Pid::as_raw) == Some(pid))
        {
            p.exit = Some(Exit { status, rusage });
            p.ended = Some(Instant::now());
        }
    }
}

/// Count of OOM kills in the container's cgroup (v2), when there is one to read.
fn cgroup_oom_kills() -> Option<u64> {
    let text = std::fs::read_to_string("/sys/fs/cgroup/memory.events").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

fn last_line(tail: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(tail);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let clean: String = line.chars().filter(|c| !c.is_control()).take(200).collect();
    Some(clean)
}

/// What the supervisor observed, for [`verdict`].
#[derive(Debug, Clone)]
struct Facts {
    stop: Option<Stop>,
    exit: Option<libc::c_int>,
    cpu_ms: u64,
    max_rss_kib: u64,
    file_over: bool,
    /// (bytes, entries) the writable paths held after the run, when over the disk budget.
    disk_over: Option<(u64, u64)>,
    /// Why the scan of the writable paths could not finish.
    scan_unfinished: Option<String>,
    oom_kill: bool,
}

struct Verdict {
    status: Status,
    reason: String,
    memory_signal: Option<MemorySignal>,
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

fn fmt_bytes(b: u64) -> String {
    crate::units::Size(b).to_string()
}

/// The verdict, from facts in a fixed precedence: a cancellation, the sampler's memory stop,
/// then the measured peak memory, then the supervisor's other stops (it knows why it killed),
/// the measured CPU time, what the exit status proves, and what the run left behind.
fn verdict(f: &Facts, l: &AppliedLimits, stderr_last: Option<String>) -> Verdict {
    let v = |status, reason: String| Verdict {
        status,
        reason,
        memory_signal: None,
    };
    let mem = |signal, reason: String| Verdict {
        status: Status::MemoryLimit,
        reason,
        memory_signal: Some(signal),
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
        Some(Stop::Cancel(s)) => {
            return v(
                Status::Cancelled,
                format!("the run was cancelled ({s}) before the program ended"),
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
            return v(
                Status::PolicyViolation,
                "the program made a system call the sandbox forbids (killed by SIGSYS): starting processes, network sockets, ptrace and the like are not allowed".into(),
            );
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

/// Writes the report atomically: a temporary file in the same directory, created with
/// O_EXCL|O_NOFOLLOW, fsynced, renamed over the target (rename replaces a symlink planted
/// there instead of following it), then the directory fsynced.
pub fn write_report_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("report path has no file name"))?;
    let dir_fd = File::open(dir)?;
    let tmp_name = format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id());
    let tmp = dir.join(&tmp_name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    let result = (|| {
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        dir_fd.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
        }
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
        let mut f = facts(Some(exited(1)));
        f.max_rss_kib = 100_000;
        assert_eq!(
            verdict(&f, &l, None).memory_signal,
            Some(MemorySignal::PeakRss)
        );
    }

    #[test]
    fn proc_stat_reads_this_process() {
        let (_, rss) = group_stat(nix::unistd::getpid()).unwrap();
        assert!(rss > 0);
    }

    #[test]
    fn atomic_write_replaces_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "untouched").unwrap();
        let report = dir.path().join("report.json");
        std::os::unix::fs::symlink(&target, &report).unwrap();
        write_report_atomically(&report, "{}").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "{}");
        assert!(
            !std::fs::symlink_metadata(&report)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn last_line_is_clean_and_short() {
        assert_eq!(
            last_line(b"Traceback\n  x\nValueError: bad\n\n").as_deref(),
            Some("ValueError: bad")
        );
        assert_eq!(last_line(b"\x1b[31mred\x07").as_deref(), Some("[31mred"));
        assert_eq!(last_line(b"").as_deref(), None);
    }
}
