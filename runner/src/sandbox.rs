//! The sandbox: everything the child does between `fork` and `exec`, and the parent-side
//! preparation that keeps that window short.
//!
//! [`Plan::prepare`] runs in the parent before the fork: it resolves paths, builds the Landlock
//! ruleset, decodes the seccomp filters and lays out argv and envp as C arrays, so the child
//! only makes system calls. [`enter`] is the child: one function whose steps are the list in
//! `docs/SANDBOX.md`, in the same order. A step that fails is reported through the setup pipe
//! and the child exits without running the program: the sandbox fails closed.

use std::convert::Infallible;
use std::ffi::{CString, c_char};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope,
};
use nix::errno::Errno;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::unistd::{Gid, Uid};

use crate::confine::{self, Confinement, Namespaces};

/// The steps of the child, in order. The number is what crosses the setup pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    Session = 1,
    ParentDeath = 2,
    Stdio = 3,
    CloseFds = 4,
    Rlimits = 5,
    OomScore = 6,
    Identity = 7,
    Capabilities = 8,
    NoNewPrivs = 9,
    WorkDir = 10,
    Landlock = 11,
    Seccomp = 12,
    Exec = 13,
    Mounts = 14,
    PivotRoot = 15,
}

impl Step {
    pub fn from_u8(n: u8) -> Option<Self> {
        use Step::*;
        [
            Session,
            ParentDeath,
            Stdio,
            CloseFds,
            Rlimits,
            OomScore,
            Identity,
            Capabilities,
            NoNewPrivs,
            WorkDir,
            Landlock,
            Seccomp,
            Exec,
            Mounts,
            PivotRoot,
        ]
        .into_iter()
        .find(|s| *s as u8 == n)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Session => "creating a new session",
            Self::ParentDeath => "arming the parent-death signal",
            Self::Stdio => "connecting standard streams",
            Self::CloseFds => "closing inherited file descriptors",
            Self::Rlimits => "setting resource limits",
            Self::OomScore => "setting oom_score_adj to 1000",
            Self::Identity => "dropping to the unprivileged uid/gid",
            Self::Capabilities => "dropping every capability set",
            Self::NoNewPrivs => "setting no_new_privs",
            Self::WorkDir => "entering the working directory",
            Self::Landlock => "enforcing the Landlock ruleset",
            Self::Seccomp => "loading the seccomp filter",
            Self::Exec => "executing the program",
            Self::Mounts => "building the sandbox's root of bind mounts",
            Self::PivotRoot => "entering the sandbox's root (pivot_root)",
        }
    }
}

/// Extra detail for failures that have no errno.
pub const DETAIL_NONE: u8 = 0;
pub const DETAIL_CAPS_LEFT: u8 = 2;
pub const DETAIL_PARENT_GONE: u8 = 3;

/// A failed child step: what crosses the setup pipe (6 bytes: step, detail, errno).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub detail: u8,
    pub errno: i32,
}

impl Failure {
    const LEN: usize = 6;

    fn new(step: Step, errno: Errno) -> Self {
        Self {
            step,
            detail: DETAIL_NONE,
            errno: errno as i32,
        }
    }

    fn encode(self) -> [u8; Self::LEN] {
        let e = self.errno.to_le_bytes();
        [self.step as u8, self.detail, e[0], e[1], e[2], e[3]]
    }

    /// Decodes what the child wrote; `None` when it is not a failure record.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let b: [u8; Self::LEN] = bytes.get(..Self::LEN)?.try_into().ok()?;
        Some(Self {
            step: Step::from_u8(b[0])?,
            detail: b[1],
            errno: i32::from_le_bytes([b[2], b[3], b[4], b[5]]),
        })
    }

    pub fn message(self) -> String {
        let why = match self.detail {
            DETAIL_CAPS_LEFT => "a capability set is still not empty".to_owned(),
            DETAIL_PARENT_GONE => "the runner exited first".to_owned(),
            _ => Errno::from_raw(self.errno).desc().to_owned(),
        };
        format!(
            "sandbox setup failed while {}: {why}; the program was not run",
            self.step.describe()
        )
    }
}

trait OrStep<T> {
    fn step(self, step: Step) -> Result<T, Failure>;
}

impl<T> OrStep<T> for nix::Result<T> {
    fn step(self, step: Step) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(step, e))
    }
}

/// Why the parent could not prepare a plan.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(
        "Landlock is not available in this kernel (ABI probe: {0}); the runner never runs without it"
    )]
    LandlockUnavailable(Errno),
    #[error("Landlock ABI {found} is below the profile's minimum {min}; nothing runs without it")]
    LandlockTooOld { found: u32, min: u32 },
    #[error("building the Landlock ruleset: {0}")]
    Landlock(#[from] landlock::RulesetError),
    #[error("Landlock path {path}: {source}")]
    LandlockPath {
        path: PathBuf,
        source: landlock::PathFdError,
    },
    #[error("moving the Landlock ruleset descriptor: {0}")]
    Descriptor(Errno),
    #[error("argument or environment contains a NUL byte")]
    Nul(#[from] std::ffi::NulError),
    #[error("preparing the `namespaces` confinement: {0}")]
    Confine(#[from] confine::ConfineError),
}

/// Paths the program may reach, by kind of access.
#[derive(Debug, Clone, Default)]
pub struct Access3 {
    pub ro: Vec<PathBuf>,
    pub rx: Vec<PathBuf>,
    pub rw: Vec<PathBuf>,
}

/// An rlimit to set, soft and hard.
#[derive(Debug, Clone, Copy)]
pub struct Rlimit {
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
    /// The profile lets the runtime refuse it (`rlimits_runtime_may_refuse`): EPERM skips it.
    pub may_refuse: bool,
}

/// Everything the child needs, prepared before the fork.
#[derive(Debug)]
pub struct Plan {
    program: CString,
    /// Own the strings `argv_ptrs` and `envp_ptrs` point into; never read directly.
    #[allow(dead_code)]
    argv: Vec<CString>,
    #[allow(dead_code)]
    envp: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    envp_ptrs: Vec<*const c_char>,
    cwd: CString,
    rlimits: Vec<Rlimit>,
    identity: Option<(Uid, Gid)>,
    /// The Landlock ruleset, built and checked in the parent, at a descriptor number above
    /// any the child places (see [`HIGH_FD`]); None when the profile's confinement is
    /// `namespaces`.
    ruleset: Option<OwnedFd>,
    /// The namespace plan when the profile's confinement is `namespaces`:
    /// [`crate::confine::fork`] creates the child in them.
    pub namespaces: Option<Namespaces>,
    filters: [(&'static str, Vec<seccompiler::sock_filter>); 2],
    /// What `getppid` returns while the supervisor lives: its pid, or 0 in a PID namespace
    /// of the child's own (the parent is outside it).
    parent: nix::unistd::Pid,
    /// 0 when no Landlock is applied (confinement `namespaces`).
    pub landlock_abi: u32,
}

/// The descriptors the child starts from.
#[derive(Debug)]
pub struct ChildFds {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// Write end of the setup pipe (close-on-exec: it closes by itself when exec succeeds).
    pub setup: OwnedFd,
    /// Descriptors handed on to the program at fixed numbers (for the referee's pipes).
    pub handed_on: Vec<(RawFd, OwnedFd)>,
}

/// Descriptors the parent hands to a child are moved to numbers at or above this first, so
/// that placing them at their targets (0, 1, 2, then 3, 4, ... for the referee) can never
/// overwrite one that is still to be placed.
pub const HIGH_FD: RawFd = 1000;

/// The highest Landlock ABI of this kernel, straight from the kernel.
pub fn kernel_landlock_abi() -> Result<u32, Errno> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a NULL attribute, size 0 and the VERSION flag, landlock_create_ruleset
    // only returns the ABI version; it reads no memory and creates no descriptor.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        Err(Errno::last())
    } else {
        u32::try_from(v).map_err(|_| Errno::EINVAL)
    }
}

impl Plan {
    /// Resolves everything the child will need. `identity` is `Some` only when the runner
    /// runs as root and must drop to an unprivileged user.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare(
        argv: &[String],
        env: &[(String, String)],
        cwd: &Path,
        access: &Access3,
        rlimits: Vec<Rlimit>,
        identity: Option<(Uid, Gid)>,
        min_landlock_abi: u32,
        confinement: Confinement,
    ) -> Result<Self, PrepareError> {
        let (abi, ruleset, namespaces) = match confinement {
            Confinement::Landlock => {
                let (abi, ruleset) = landlock_ruleset(access, min_landlock_abi)?;
                (abi, Some(ruleset), None)
            }
            Confinement::Namespaces => (0, None, Some(Namespaces::prepare(access, identity)?)),
        };
        let argv: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()?;
        let envp: Vec<CString> = env
            .iter()
            .map(|(k, v)| CString::new(format!("{k}={v}")))
            .collect::<Result<_, _>>()?;
        let program = argv.first().cloned().unwrap_or_default();
        let argv_ptrs = argv
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let envp_ptrs = envp
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        Ok(Self {
            program,
            argv,
            envp,
            argv_ptrs,
            envp_ptrs,
            cwd: CString::new(cwd.as_os_str().as_encoded_bytes())?,
            rlimits,
            identity,
            ruleset,
            parent: if namespaces.is_some() {
                nix::unistd::Pid::from_raw(0)
            } else {
                nix::unistd::getpid()
            },
            namespaces,
            filters: crate::profile::seccomp_filters(),
            landlock_abi: abi,
        })
    }
}

/// The kernel's Landlock ABI, checked against the profile's minimum, and the ruleset built
/// for it at a descriptor number above any the child places.
fn landlock_ruleset(access: &Access3, min_abi: u32) -> Result<(u32, OwnedFd), PrepareError> {
    let abi = kernel_landlock_abi().map_err(PrepareError::LandlockUnavailable)?;
    if abi < min_abi {
        return Err(PrepareError::LandlockTooOld {
            found: abi,
            min: min_abi,
        });
    }
    let ruleset: Option<OwnedFd> = build_ruleset(abi, access)?.into();
    let ruleset = ruleset.ok_or(PrepareError::LandlockUnavailable(Errno::ENOSYS))?;
    let ruleset = nix::fcntl::fcntl(&ruleset, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(HIGH_FD))
        .map(|n| {
            // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
            unsafe { OwnedFd::from_raw_fd(n) }
        })
        .map_err(PrepareError::Descriptor)?;
    Ok((abi, ruleset))
}

/// Builds (in the parent) the ruleset the child will enforce. Every right of the kernel's ABI is
/// handled, so anything not granted below is denied; `HardRequirement` turns any right the
/// kernel cannot enforce into an error instead of a silent downgrade.
fn build_ruleset(abi_num: u32, access: &Access3) -> Result<RulesetCreated, PrepareError> {
    let abi = ABI::from(i32::try_from(abi_num).unwrap_or(i32::MAX));
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))?;
    if abi_num >= 4 {
        // Handled with no rule granting a port: TCP bind and connect are denied outright.
        ruleset = ruleset.handle_access(AccessNet::from_all(abi))?;
    }
    if abi_num >= 6 {
        // No signals to, and no abstract unix sockets of, anything outside this sandbox.
        ruleset = ruleset.scope(Scope::from_all(abi))?;
    }
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let grants = [
        (&access.ro, read),
        (&access.rx, read | AccessFs::Execute),
        (&access.rw, AccessFs::from_all(abi) & !AccessFs::Execute),
    ];
    let mut created = ruleset.create()?;
    for (paths, rights) in grants {
        for path in paths {
            let fd = PathFd::new(path).map_err(|source| PrepareError::LandlockPath {
                path: path.clone(),
                source,
            })?;
            let is_dir = std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false);
            let rights = if is_dir {
                rights
            } else {
                rights & AccessFs::from_file(abi)
            };
            created = created.add_rule(PathBeneath::new(fd, rights))?;
        }
    }
    Ok(created)
}

/// The child. Applies every step in order and execs; on any failure it writes the failed
/// step to the setup pipe and exits 127 without running the program.
///
/// Runs between fork and exec of a single-threaded parent: no locks are held, but it still
/// allocates as little as it can (all buffers come from [`Plan::prepare`]) and never panics.
pub fn enter(plan: &mut Plan, fds: &ChildFds) -> ! {
    let failure = match harden_and_exec(plan, fds) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    let record = failure.encode();
    // SAFETY: writing a 6-byte stack buffer to a descriptor we own; the result is ignored
    // because there is nothing left to do if the parent cannot hear us.
    let _ = unsafe { libc::write(fds.setup.as_raw_fd(), record.as_ptr().cast(), record.len()) };
    // SAFETY: _exit ends the process without running the parent's atexit handlers or
    // flushing its copied stdio buffers, which is exactly what a forked child must do.
    unsafe { libc::_exit(127) }
}

/// The hardening sequence. Read it top to bottom against docs/SANDBOX.md.
fn harden_and_exec(plan: &mut Plan, fds: &ChildFds) -> Result<Infallible, Failure> {
    // 1. A session of its own, so the program and anything it starts form one process group
    //    the supervisor kills as a whole; and death with the supervisor (PR_SET_PDEATHSIG),
    //    checked against the race where the parent died before the prctl.
    nix::unistd::setsid().step(Step::Session)?;
    arm_parent_death(plan.parent)?;
    //    In namespaces of its own, the child waits for the parent to write its uid and gid
    //    maps; the byte is also the proof the parent outlived the prctl.
    if let Some(ns) = plan.namespaces.as_mut() {
        confine::released(ns).map_err(confine_failure)?;
    }
    reset_signals().step(Step::Session)?;

    // 2. Standard streams onto the capture pipes and the stdin file; descriptors handed on
    //    moved to their documented numbers.
    for (fd, target) in [(&fds.stdin, 0), (&fds.stdout, 1), (&fds.stderr, 2)] {
        dup2_exact(fd.as_raw_fd(), target).step(Step::Stdio)?;
    }
    for (target, fd) in &fds.handed_on {
        dup2_exact(fd.as_raw_fd(), *target).step(Step::Stdio)?;
    }

    // 3. Every other inherited descriptor closes at exec. Marked close-on-exec rather than
    //    closed now because the Landlock ruleset and the setup pipe are still needed; nothing
    //    runs between here and exec but the steps below.
    close_from(3, fds.handed_on.iter().map(|(t, _)| *t)).step(Step::CloseFds)?;

    // 4. The environment: execve below passes only the allowlisted envp built before the
    //    fork, so nothing of the runner's environment (KUBERNETES_*, secrets) reaches the
    //    program.

    // 5. Resource limits: address space, CPU, file size, open files, stack, core 0,
    //    memlock 0, message queues 0, ... (see `Settings::rlimits` in supervise/settings.rs for the values).
    //    Never above the limit the runner was started with: lowering needs no privilege and
    //    keeps the profile's ceiling, and a runtime may start the container below it (gVisor
    //    reports RLIMIT_SIGPENDING as 0, and raising it to 64 would be refused).
    for r in &plan.rlimits {
        let (_, hard_now) = getrlimit(r.resource).step(Step::Rlimits)?;
        match setrlimit(r.resource, r.soft.min(hard_now), r.hard.min(hard_now)) {
            Err(Errno::EPERM) if r.may_refuse => {}
            other => other.step(Step::Rlimits)?,
        }
    }
    // The OOM killer's first choice, so a memory bomb takes itself down and not the runner.
    write_file(c"/proc/self/oom_score_adj", b"1000").step(Step::OomScore)?;

    //    Confinement `namespaces` (the profile's choice where there is no Landlock): the
    //    program's ids, then a root holding only the granted paths, entered with pivot_root.
    //    Here, while the child still has CAP_SYS_ADMIN in its own user namespace; step 6
    //    empties every set afterwards.
    if let Some(ns) = &plan.namespaces {
        confine::enter(ns).map_err(confine_failure)?;
    }

    // 6. Identity and capabilities: drop to the unprivileged uid/gid when started as root,
    //    empty every capability set, then verify they are empty.
    drop_privileges(plan)?;

    // 7. no_new_privs: exec can never grant privileges (setuid bits, file capabilities), and
    //    it lets an unprivileged process install Landlock and seccomp.
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(Failure::new(Step::NoNewPrivs, Errno::last()));
    }

    // The working directory, entered as the sandbox user before Landlock narrows the view.
    nix::unistd::chdir(plan.cwd.as_c_str()).step(Step::WorkDir)?;

    // 8. Landlock: file system rights from the profile and the spec, TCP bind/connect denied,
    //    signals and abstract unix sockets scoped to the sandbox. The ruleset was built with
    //    every right of the kernel's ABI handled and HardRequirement, so it is enforced in
    //    full or this call fails.
    //    Absent exactly when the profile's confinement is `namespaces` (entered above).
    if let Some(ruleset) = &plan.ruleset {
        // SAFETY: landlock_restrict_self takes a ruleset descriptor we own and flags 0.
        if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0u32) }
            != 0
        {
            return Err(Failure::new(Step::Landlock, Errno::last()));
        }
    }

    // 9. seccomp, last, so the filter need not allow any of the calls above: the ENOSYS
    //    filter for clone3, then the allowlist that kills everything else.
    for (_, filter) in &plan.filters {
        seccompiler::apply_filter(filter)
            .map_err(|_| Failure::new(Step::Seccomp, Errno::last()))?;
    }

    // 10. exec. Only returns on failure.
    // SAFETY: program, argv and envp are NUL-terminated C strings owned by `plan`, and the
    // pointer arrays end with NULL, as execve requires.
    unsafe {
        libc::execve(
            plan.program.as_ptr(),
            plan.argv_ptrs.as_ptr(),
            plan.envp_ptrs.as_ptr(),
        )
    };
    Err(Failure::new(Step::Exec, Errno::last()))
}

fn confine_failure(f: confine::Failed) -> Failure {
    match f {
        confine::Failed::Release => Failure {
            step: Step::ParentDeath,
            detail: DETAIL_PARENT_GONE,
            errno: 0,
        },
        confine::Failed::Identity(e) => Failure::new(Step::Identity, e),
        confine::Failed::Mount(e) => Failure::new(Step::Mounts, e),
        confine::Failed::PivotRoot(e) => Failure::new(Step::PivotRoot, e),
    }
}

fn arm_parent_death(parent: nix::unistd::Pid) -> Result<(), Failure> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
        return Err(Failure::new(Step::ParentDeath, Errno::last()));
    }
    if nix::unistd::getppid() != parent {
        return Err(Failure {
            step: Step::ParentDeath,
            detail: DETAIL_PARENT_GONE,
            errno: 0,
        });
    }
    Ok(())
}

/// The parent blocks the signals it reads through a signalfd, and Rust ignores SIGPIPE;
/// both would be inherited through exec, so the program starts from a clean slate.
fn reset_signals() -> nix::Result<()> {
    use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
    for sig in [Signal::SIGPIPE, Signal::SIGXFSZ, Signal::SIGXCPU] {
        // SAFETY: installing SIG_DFL runs no handler code.
        unsafe { signal(sig, SigHandler::SigDfl) }?;
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}

fn dup2_exact(fd: RawFd, target: RawFd) -> nix::Result<()> {
    if fd == target {
        // Already in place; dup2 would keep its close-on-exec flag, so clear it explicitly.
        // SAFETY: fcntl on a descriptor number with integer arguments.
        return Errno::result(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }).map(drop);
    }
    // SAFETY: dup2 on descriptor numbers; the new descriptor has close-on-exec cleared.
    Errno::result(unsafe { libc::dup2(fd, target) }).map(drop)
}

/// Marks every descriptor from `first` up close-on-exec, except those in `keep`.
fn close_from(first: RawFd, keep: impl Iterator<Item = RawFd> + Clone) -> nix::Result<()> {
    let mut start = first;
    let mut keep_sorted = [0 as RawFd; 64];
    let mut n = 0;
    for k in keep.filter(|&k| k >= first).take(keep_sorted.len()) {
        keep_sorted[n] = k;
        n += 1;
    }
    keep_sorted[..n].sort_unstable();
    for &k in &keep_sorted[..n] {
        if k > start {
            close_range_cloexec(start, k - 1)?;
        }
        start = k + 1;
    }
    close_range_cloexec(start, RawFd::MAX)
}

fn close_range_cloexec(first: RawFd, last: RawFd) -> nix::Result<()> {
    let (Ok(first), Ok(last)) = (libc::c_uint::try_from(first), libc::c_uint::try_from(last))
    else {
        return Err(Errno::EINVAL);
    };
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on descriptors.
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            last,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })
    .map(drop)
}

fn write_file(path: &std::ffi::CStr, data: &[u8]) -> nix::Result<()> {
    // SAFETY: open of a NUL-terminated path; the descriptor is closed below.
    let fd = Errno::result(unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) })?;
    // SAFETY: writing from a valid buffer of the given length to the descriptor just opened.
    let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    let err = Errno::last();
    // SAFETY: closing the descriptor opened above, exactly once.
    unsafe { libc::close(fd) };
    if usize::try_from(n).ok() == Some(data.len()) {
        Ok(())
    } else {
        Err(err)
    }
}

/// Step 6. The bounding set goes first: dropping from it needs CAP_SETPCAP, which the uid
/// change takes away. The uid change clears permitted, effective and ambient by itself; they
/// are cleared again explicitly, and all five sets are then read back and must be empty.
/// The parent-death signal is re-armed because a credential change clears it.
fn drop_privileges(plan: &Plan) -> Result<(), Failure> {
    use caps::CapSet;
    let caps_err = |_| Failure::new(Step::Capabilities, Errno::last());
    for cap in caps::all() {
        if caps::has_cap(None, CapSet::Bounding, cap).map_err(caps_err)? {
            caps::drop(None, CapSet::Bounding, cap).map_err(caps_err)?;
        }
    }
    if let Some((uid, gid)) = plan.identity {
        nix::unistd::setgroups(&[]).step(Step::Identity)?;
        nix::unistd::setresgid(gid, gid, gid).step(Step::Identity)?;
        nix::unistd::setresuid(uid, uid, uid).step(Step::Identity)?;
        arm_parent_death(plan.parent)?;
    }
    for set in [
        CapSet::Ambient,
        CapSet::Effective,
        CapSet::Inheritable,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(caps_err)?;
    }
    for set in [
        CapSet::Bounding,
        CapSet::Ambient,
        CapSet::Effective,
        CapSet::Inheritable,
        CapSet::Permitted,
    ] {
        if !caps::read(None, set).map_err(caps_err)?.is_empty() {
            return Err(Failure {
                step: Step::Capabilities,
                detail: DETAIL_CAPS_LEFT,
                errno: 0,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_round_trips_through_the_pipe_format() {
        let f = Failure {
            step: Step::Landlock,
            detail: DETAIL_CAPS_LEFT,
            errno: 0,
        };
        assert_eq!(Failure::decode(&f.encode()), Some(f));
        let f = Failure::new(Step::Exec, Errno::EACCES);
        assert_eq!(Failure::decode(&f.encode()), Some(f));
        assert!(f.message().contains("executing the program"));
        assert_eq!(Failure::decode(&[0, 0, 0, 0, 0, 0]), None);
        assert_eq!(Failure::decode(&[1, 0]), None);
    }

    #[test]
    fn this_kernel_has_landlock() {
        assert!(kernel_landlock_abi().unwrap() >= 1);
    }
}
