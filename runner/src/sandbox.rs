//! The sandbox: everything the child does between `fork` and `exec`, and the parent-side
//! preparation that keeps that window short.
//!
//! [`Plan::prepare`] runs in the parent before the fork: it resolves paths, builds the Landlock
//! ruleset, decodes the seccomp program and lays out argv and envp as C arrays, so the child
//! only makes system calls. The child is in `sandbox/child.rs`: one function whose steps are
//! the list in docs/RUNNER.md, in the same order, making its calls through the seam in
//! `sandbox/sys.rs`; `sandbox/readback.rs` is what it reads back before exec.

mod child;
mod readback;
mod sys;
#[cfg(test)]
mod tests_order;

use std::ffi::{CString, c_char};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope,
};
use nix::errno::Errno;
use nix::sys::resource::Resource;
use nix::unistd::{Gid, Uid};

use crate::confine::{self, Confinement, Namespaces};
use crate::profile::SeccompDefault;

pub(crate) use child::enter;
pub use readback::{Expected, Mismatch, Observed, proven};

crate::coded_enum! {
    /// The steps of the child, in order. The number is what crosses the setup channel, between
    /// two halves of one binary, so the compiler numbers them; from 1, so that a zeroed record
    /// is never a failure.
    pub enum Step {
        Session = 1 => "creating a new session",
        ParentDeath => "arming the parent-death signal",
        Stdio => "connecting standard streams",
        CloseFds => "closing inherited file descriptors",
        Rlimits => "setting resource limits",
        OomScore => "setting oom_score_adj to 1000",
        Identity => "dropping to the unprivileged uid/gid",
        Capabilities => "dropping every capability set",
        NoNewPrivs => "setting no_new_privs",
        WorkDir => "entering the working directory",
        Landlock => "enforcing the Landlock ruleset",
        Seccomp => "loading the seccomp filter",
        Exec => "executing the program",
        ReadBack => "reading back what was applied",
        /// After Seccomp: sending the filter's listener to the supervisor.
        SeccompListener => "handing the seccomp listener to the supervisor",
        /// Within Seccomp: the seccomp program, installed with its listener.
        SeccompNotify => "loading the seccomp allowlist with a listener for the supervisor (seccomp user notification, which gVisor does not support: its profile must name seccomp_default = \"kill_process\"; a runtime profile that already holds a listener gives EBUSY)",
        /// Confinement `namespaces`: the root of bind mounts.
        Mounts => "building the sandbox's root of bind mounts",
        /// Confinement `namespaces`: entering that root.
        PivotRoot => "entering the sandbox's root (pivot_root)",
    }
    /// What the child was doing at this step, for the failure's message.
    pub fn describe;
}

/// A failed child step: what crosses the setup channel (6 bytes: the step, then its cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub cause: Cause,
}

/// Why a step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The step's system call failed.
    Errno(Errno),
    /// The runner was gone before the child could be tied to it.
    ParentGone,
    /// The read-back found the sandbox short of the plan.
    Mismatch(Mismatch),
}

impl Failure {
    const LEN: usize = 6;
    // The cause's kind, the record's second byte; its last four are the errno or the mismatch.
    const ERRNO: u8 = 0;
    const PARENT_GONE: u8 = 1;
    const MISMATCH: u8 = 2;

    fn new(step: Step, errno: Errno) -> Self {
        Self {
            step,
            cause: Cause::Errno(errno),
        }
    }

    /// The child's parent is not the runner that planned it.
    fn parent_gone() -> Self {
        Self {
            step: Step::ParentDeath,
            cause: Cause::ParentGone,
        }
    }

    /// The read-back found `m`.
    fn mismatch(m: Mismatch) -> Self {
        Self {
            step: Step::ReadBack,
            cause: Cause::Mismatch(m),
        }
    }

    fn encode(self) -> [u8; Self::LEN] {
        let (kind, value) = match self.cause {
            Cause::Errno(e) => (Self::ERRNO, e as i32),
            Cause::ParentGone => (Self::PARENT_GONE, 0),
            Cause::Mismatch(m) => (Self::MISMATCH, i32::from(m.code())),
        };
        let v = value.to_le_bytes();
        [self.step.code(), kind, v[0], v[1], v[2], v[3]]
    }

    /// Decodes what the child wrote; `None` when it is not a failure record.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let b: [u8; Self::LEN] = bytes.get(..Self::LEN)?.try_into().ok()?;
        let value = i32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        let cause = match b[1] {
            Self::ERRNO => Cause::Errno(Errno::from_raw(value)),
            Self::PARENT_GONE => Cause::ParentGone,
            Self::MISMATCH => Cause::Mismatch(Mismatch::from_code(u8::try_from(value).ok()?)?),
            _ => return None,
        };
        Some(Self {
            step: Step::from_code(b[0])?,
            cause,
        })
    }

    pub fn message(self) -> String {
        let why = match self.cause {
            Cause::Errno(e) => e.desc(),
            Cause::ParentGone => "the runner exited first",
            Cause::Mismatch(m) => m.describe(),
        };
        format!(
            "sandbox setup failed while {}: {why}; the program was not run",
            self.step.describe()
        )
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
    #[error("a Landlock path or ruleset descriptor: {0}")]
    Descriptor(Errno),
    #[error("argument or environment contains a NUL byte")]
    Nul(#[from] std::ffi::NulError),
    #[error(
        "{0} grants the whole file system: nothing would be left for the Landlock read-back to probe"
    )]
    RootGranted(PathBuf),
    #[error(
        "the embedded seccomp filter does not start with the x32 guard; cannot add the allocation guard"
    )]
    AllocationGuard,
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
    /// The one seccomp program (`profile::seccomp_filter`), with the allocation guard for
    /// `notify`.
    filter: Vec<seccompiler::sock_filter>,
    /// The profile's choice: with `notify` the program is installed with a listener that
    /// goes to the supervisor; with `kill_process` its default action is the kernel's kill.
    seccomp_default: SeccompDefault,
    /// What `getppid` returns while the supervisor lives: its pid, or 0 in a PID namespace
    /// of the child's own (the parent is outside it).
    parent: libc::pid_t,
    /// What the child must read back before exec.
    pub expected: Expected,
    /// 0 when no Landlock is applied (confinement `namespaces`).
    pub landlock_abi: u32,
}

/// The descriptors the child starts from.
#[derive(Debug)]
pub struct ChildFds {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// The child's end of the setup channel (`notify::setup_channel`, close-on-exec: it closes
    /// by itself when exec succeeds). Carries a failure record or the seccomp listener.
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
        seccomp_default: SeccompDefault,
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
        let address_space = rlimits
            .iter()
            .find(|r| r.resource == Resource::RLIMIT_AS)
            .map(|r| r.soft);
        let filter = seccomp_program(seccomp_default, address_space)?;
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
                0
            } else {
                nix::unistd::getpid().as_raw()
            },
            namespaces,
            filter,
            seccomp_default,
            expected: Expected {
                uid: identity.map_or_else(|| nix::unistd::geteuid().as_raw(), |(u, _)| u.as_raw()),
                gid: identity.map_or_else(|| nix::unistd::getegid().as_raw(), |(_, g)| g.as_raw()),
                no_groups: identity.is_some(),
                confinement,
            },
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

/// The seccomp program the child installs: the profile's (`profile::seccomp_filter`), and for
/// `notify` the allocation guard (`notify::with_allocation_guard`) at the address-space limit
/// the child will set, when it sets one.
pub fn seccomp_program(
    default: SeccompDefault,
    address_space: Option<u64>,
) -> Result<Vec<seccompiler::sock_filter>, PrepareError> {
    let filter = crate::profile::seccomp_filter(default);
    match (default, address_space) {
        (SeccompDefault::Notify, Some(limit)) => crate::notify::with_allocation_guard(
            &filter,
            crate::profile::ALLOCATION_GUARD_AT,
            limit,
        )
        .ok_or(PrepareError::AllocationGuard),
        // No allocation guard with `kill_process`: it only has meaning for a supervisor that
        // can see the request, so an allocation over RLIMIT_AS is the kernel's ENOMEM, as
        // without it.
        _ => Ok(filter),
    }
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
    // The read-back's Landlock probe opens `/`, which only Landlock can refuse: it must not
    // be granted itself.
    let root = nix::sys::stat::stat("/").map(|s| (s.st_dev, s.st_ino));
    for (paths, rights) in grants {
        for path in paths {
            let fd = PathFd::new(path).map_err(|source| PrepareError::LandlockPath {
                path: path.clone(),
                source,
            })?;
            // What was opened, not the path again.
            let st = nix::sys::stat::fstat(&fd).map_err(PrepareError::Descriptor)?;
            if root == Ok((st.st_dev, st.st_ino)) {
                return Err(PrepareError::RootGranted(path.clone()));
            }
            let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_round_trips_through_the_pipe_format() {
        let f = Failure::mismatch(Mismatch::Capabilities);
        assert_eq!(Failure::decode(&f.encode()), Some(f));
        assert!(f.message().contains("a capability set is not empty"));
        let f = Failure::new(Step::Exec, Errno::EACCES);
        assert_eq!(Failure::decode(&f.encode()), Some(f));
        assert!(f.message().contains("executing the program"));
        // What a runtime without seccomp user notification (gVisor: EINVAL) reports.
        let f = Failure::new(Step::SeccompNotify, Errno::EINVAL);
        assert_eq!(Failure::decode(&f.encode()), Some(f));
        let m = f.message();
        assert!(
            m.contains("listener") && m.contains("gVisor") && m.contains("not run"),
            "{m}"
        );
        // The namespaces confinement's steps.
        for (step, says) in [
            (Step::Mounts, "root of bind mounts"),
            (Step::PivotRoot, "pivot_root"),
        ] {
            let f = Failure::new(step, Errno::EPERM);
            assert_eq!(Failure::decode(&f.encode()), Some(f));
            assert!(f.message().contains(says), "{}", f.message());
        }
        let f = Failure::parent_gone();
        assert_eq!(Failure::decode(&f.encode()), Some(f));
        let m = f.message();
        assert!(m.contains("the runner exited first"), "{m}");
        // Every step and every mismatch crosses; a failure record starts with a step number
        // under 64, never with the read-back's tag.
        for step in Step::ALL {
            assert!((1..64).contains(&step.code()), "{step:?}");
            let f = Failure::new(step, Errno::EPERM);
            assert_eq!(Failure::decode(&f.encode()), Some(f));
        }
        for m in Mismatch::ALL {
            let f = Failure::mismatch(m);
            assert_eq!(Failure::decode(&f.encode()), Some(f));
            assert!(f.message().contains(m.describe()), "{}", f.message());
        }
        assert_eq!(Failure::decode(&[0, 0, 0, 0, 0, 0]), None);
        assert_eq!(Failure::decode(&[1, 0]), None);
        // Neither an unknown kind nor an unknown mismatch is taken for a failure.
        assert_eq!(Failure::decode(&[1, 3, 0, 0, 0, 0]), None);
        assert_eq!(Failure::decode(&[1, 2, 99, 0, 0, 0]), None);
    }

    #[test]
    fn granting_the_root_itself_is_refused() {
        let access = Access3 {
            ro: vec![PathBuf::from("/usr/../")],
            ..Access3::default()
        };
        let e = Plan::prepare(
            &["/x".into()],
            &[],
            Path::new("/"),
            &access,
            vec![],
            None,
            1,
            Confinement::Landlock,
            SeccompDefault::Notify,
        )
        .unwrap_err();
        assert!(matches!(e, PrepareError::RootGranted(_)), "{e}");
    }

    #[test]
    fn kill_process_compiles_every_notify_as_a_kill_and_adds_no_guard() {
        let ret = |prog: &[seccompiler::sock_filter], k: u32| {
            prog.iter().filter(|i| i.code == 0x06 && i.k == k).count()
        };
        let notify = crate::profile::seccomp_filter(SeccompDefault::Notify);
        assert!(ret(&notify, libc::SECCOMP_RET_USER_NOTIF) > 0);
        let killing = crate::profile::seccomp_filter(SeccompDefault::KillProcess);
        assert_eq!(ret(&killing, libc::SECCOMP_RET_USER_NOTIF), 0);
        assert!(ret(&killing, libc::SECCOMP_RET_KILL_PROCESS) > 0);
        let rlimits = vec![Rlimit {
            resource: Resource::RLIMIT_AS,
            soft: 1 << 30,
            hard: 1 << 30,
            may_refuse: false,
        }];
        let plan = |default| {
            Plan::prepare(
                &["/x".into()],
                &[],
                Path::new("/"),
                &Access3::default(),
                rlimits.clone(),
                None,
                1,
                Confinement::Landlock,
                default,
            )
            .unwrap()
        };
        assert_eq!(
            plan(SeccompDefault::KillProcess).filter,
            killing,
            "no allocation guard"
        );
        assert_eq!(
            plan(SeccompDefault::Notify).filter.len(),
            notify.len() + 14,
            "the allocation guard"
        );
    }

    #[test]
    fn this_kernel_has_landlock() {
        assert!(kernel_landlock_abi().unwrap() >= 1);
    }
}
