//! The child: everything between fork and exec, one function whose steps are the list in
//! docs/RUNNER.md, in the same order. Every system call goes through [`Sys`], so the tests
//! can run the same sequence against a recording fake. A step that fails is reported through
//! the setup channel and the child exits without running the program: the sandbox fails closed.

use std::convert::Infallible;
use std::os::fd::{AsRawFd, RawFd};

use nix::errno::Errno;

use super::readback::{Mismatch, Observed};
use super::sys::{Kernel, Sys};
use super::{ChildFds, Failure, Plan, Step};
use crate::confine;
use crate::profile::SeccompDefault;

/// The path the Landlock probe opens: never granted (see `Plan::prepare`), readable by every
/// uid, so only Landlock can refuse it.
pub(super) const PROBE_DIR: &std::ffi::CStr = c"/";

/// Room for /proc/self/status (about 1.5 KiB on Linux 6).
const STATUS_MAX: usize = 4096;

/// The child. Applies every step in order and execs; on any failure it writes the failed
/// step to the setup channel and exits 127 without running the program.
///
/// Runs between fork and exec: it allocates nothing (every buffer comes from
/// [`Plan::prepare`] or the stack) and never panics.
pub(crate) fn enter(plan: &Plan, fds: &ChildFds) -> ! {
    let failure = match harden_and_exec(&mut Kernel, plan, fds) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    let record = failure.encode();
    // Nothing is left to do if the parent cannot hear us: it then reports that the program's
    // setup never said what it applied, which is a sandbox error too.
    let _ = Kernel.send(fds.setup.as_raw_fd(), &record);
    // SAFETY: _exit ends the process without running the parent's atexit handlers or
    // flushing its copied stdio buffers, which is exactly what a forked child must do.
    unsafe { libc::_exit(127) }
}

/// The hardening sequence. Read it top to bottom against docs/RUNNER.md.
pub(super) fn harden_and_exec(
    sys: &mut impl Sys,
    plan: &Plan,
    fds: &ChildFds,
) -> Result<Infallible, Failure> {
    let mut status_buf = [0u8; STATUS_MAX];

    // 1. A session of its own, so the program and anything it starts form one process group
    //    the supervisor kills as a whole; and death with the supervisor (PR_SET_PDEATHSIG),
    //    checked against the race where the parent died before the prctl.
    sys.setsid().step(Step::Session)?;
    arm_parent_death(sys, plan.parent)?;
    //    In namespaces of its own, the child waits for the parent to write its uid and gid
    //    maps; the byte is also the proof the parent outlived the prctl (getppid is 0 there).
    if let Some(ns) = &plan.namespaces {
        sys.await_release(ns).map_err(confine_failure)?;
    }
    sys.reset_signals().step(Step::Session)?;

    // 2. Standard streams onto the capture pipes and the stdin file; descriptors handed on
    //    moved to their documented numbers.
    for (fd, target) in [(&fds.stdin, 0), (&fds.stdout, 1), (&fds.stderr, 2)] {
        sys.dup_to(fd.as_raw_fd(), target).step(Step::Stdio)?;
    }
    for (target, fd) in &fds.handed_on {
        sys.dup_to(fd.as_raw_fd(), *target).step(Step::Stdio)?;
    }

    // 3. Every other inherited descriptor closes at exec. Marked close-on-exec rather than
    //    closed now because the Landlock ruleset and the setup channel are still needed; nothing
    //    runs between here and exec but the steps below.
    close_from(sys, 3, &fds.handed_on).step(Step::CloseFds)?;

    // 4. The environment: exec below passes only the allowlisted envp built before the
    //    fork, so nothing of the runner's environment (KUBERNETES_*, secrets) reaches the
    //    program.

    // 5. Resource limits: address space, CPU, file size, open files, stack, core 0,
    //    memlock 0, message queues 0, ... (see `Settings::rlimits` for the values).
    //    Never above the limit the runner was started with: lowering needs no privilege and
    //    keeps the profile's ceiling, and a runtime may start the container below it (gVisor
    //    reports RLIMIT_SIGPENDING as 0, and raising it to 64 would be refused). A limit the
    //    profile lets the runtime refuse (`rlimits_runtime_may_refuse`) may end in EPERM.
    for r in &plan.rlimits {
        let hard_now = sys.hard_rlimit(r.resource).step(Step::Rlimits)?;
        match sys.set_rlimit(r.resource, r.soft.min(hard_now), r.hard.min(hard_now)) {
            Err(Errno::EPERM) if r.may_refuse => {}
            other => other.step(Step::Rlimits)?,
        }
    }
    // The OOM killer's first choice, so a memory bomb takes itself down and not the runner.
    sys.write_file(c"/proc/self/oom_score_adj", b"1000")
        .step(Step::OomScore)?;

    // 6. Identity and capabilities: drop to the unprivileged uid/gid when started as root,
    //    empty every capability set. /proc/self/status is opened now, while it certainly can
    //    be (the `namespaces` root below has no /proc): it says which bounding capabilities to
    //    drop, and it is read back before exec.
    let status = sys
        .open_read(c"/proc/self/status")
        .step(Step::Capabilities)?;
    //    Confinement `namespaces` (the profile's choice where there is no Landlock): the
    //    program's ids, then a root holding only the granted paths, entered with pivot_root.
    //    Here, while the child still has CAP_SYS_ADMIN in its own user namespace; the drop
    //    below empties every set afterwards.
    if let Some(ns) = &plan.namespaces {
        sys.enter_namespaces(ns).map_err(confine_failure)?;
    }
    drop_privileges(sys, plan, status, &mut status_buf)?;

    // 7. no_new_privs: exec can never grant privileges (setuid bits, file capabilities), and
    //    it lets an unprivileged process install Landlock and seccomp.
    sys.set_no_new_privs().step(Step::NoNewPrivs)?;

    // The working directory, entered as the sandbox user before Landlock narrows the view.
    sys.chdir(plan.cwd.as_c_str()).step(Step::WorkDir)?;

    // 8. Landlock: file system rights from the profile and the spec, TCP bind/connect denied,
    //    signals and abstract unix sockets scoped to the sandbox. The ruleset was built with
    //    every right of the kernel's ABI handled and HardRequirement, so it is enforced in
    //    full or this call fails. Absent exactly when the profile's confinement is
    //    `namespaces` (entered above).
    if let Some(ruleset) = &plan.ruleset {
        sys.landlock_restrict_self(ruleset.as_raw_fd())
            .step(Step::Landlock)?;
    }

    // 9. seccomp, last, so the filter need not allow any of the calls above: one program,
    //    built from the policy's two filters (ENOSYS for clone3 and the like, then the
    //    allowlist) and deciding what they would decide together, installed once with its
    //    listener, which goes to the supervisor at once: a call outside the allowlist stops
    //    before it runs, and the supervisor names it and kills (notify.rs). Sent before the
    //    read-back, so no later call can wait on a listener nobody holds. With the profile's
    //    `seccomp_default = "kill_process"` the program kills instead (the build compiled one
    //    so) and there is no listener.
    match plan.seccomp_default {
        SeccompDefault::Notify => {
            let listener = sys
                .seccomp_filter_with_listener(&plan.filter)
                .step(Step::SeccompNotify)?;
            sys.send_listener(fds.setup.as_raw_fd(), listener)
                .step(Step::SeccompListener)?;
            sys.close(listener);
        }
        SeccompDefault::KillProcess => sys.seccomp_filter(&plan.filter).step(Step::Seccomp)?,
    }

    // 10. Read back what the kernel applied, send it to the supervisor, and refuse to exec on
    //     any shortfall. Only calls the seccomp filter allows (pread, open, write). The probe
    //     is the confinement's: `/` refused by Landlock, or the staging /proc absent from the
    //     namespaces' root.
    let probe_path = if plan.namespaces.is_some() {
        confine::PROBE_ABSENT
    } else {
        PROBE_DIR
    };
    let probe = match sys.probe_open_dir(probe_path) {
        Ok(()) => 0,
        Err(e) => e as i32,
    };
    let n = sys
        .read_at_start(status, &mut status_buf)
        .step(Step::ReadBack)?;
    let observed = status_buf
        .get(..n)
        .filter(|_| n < STATUS_MAX)
        .and_then(|text| Observed::parse_status(text, probe))
        .ok_or(Failure::mismatch(Mismatch::Status))?;
    sys.send(fds.setup.as_raw_fd(), &observed.encode())
        .step(Step::ReadBack)?;
    if let Some(m) = observed.mismatch(&plan.expected) {
        return Err(Failure::mismatch(m));
    }

    // 11. exec. Only returns on failure.
    Err(Failure::new(
        Step::Exec,
        sys.exec(&plan.program, &plan.argv_ptrs, &plan.envp_ptrs),
    ))
}

fn confine_failure(f: confine::Failed) -> Failure {
    match f {
        confine::Failed::Release => Failure::parent_gone(),
        confine::Failed::Identity(e) => Failure::new(Step::Identity, e),
        confine::Failed::Mount(e) => Failure::new(Step::Mounts, e),
        confine::Failed::PivotRoot(e) => Failure::new(Step::PivotRoot, e),
    }
}

fn arm_parent_death(sys: &mut impl Sys, parent: libc::pid_t) -> Result<(), Failure> {
    sys.set_parent_death_signal().step(Step::ParentDeath)?;
    if sys.getppid() != parent {
        return Err(Failure::parent_gone());
    }
    Ok(())
}

/// Marks every descriptor from `first` up close-on-exec, except the targets in `keep`.
fn close_from(
    sys: &mut impl Sys,
    first: RawFd,
    keep: &[(RawFd, std::os::fd::OwnedFd)],
) -> Result<(), Errno> {
    let mut start = first;
    let mut keep_sorted = [0 as RawFd; 64];
    let mut n = 0;
    for &(k, _) in keep.iter().filter(|(k, _)| *k >= first) {
        *keep_sorted.get_mut(n).ok_or(Errno::EMFILE)? = k;
        n += 1;
    }
    keep_sorted[..n].sort_unstable();
    for &k in &keep_sorted[..n] {
        if k > start {
            sys.cloexec_range(start, k - 1)?;
        }
        start = k + 1;
    }
    sys.cloexec_range(start, RawFd::MAX)
}

/// Step 6. The bounding set goes first: dropping from it needs CAP_SETPCAP, which the uid
/// change takes away; only the capabilities /proc/self/status lists are dropped, one prctl
/// each. The uid change clears permitted, effective and ambient by itself; they are cleared
/// again explicitly, and step 10 reads all five sets back. The parent-death signal is
/// re-armed because a credential change clears it.
fn drop_privileges(
    sys: &mut impl Sys,
    plan: &Plan,
    status: RawFd,
    buf: &mut [u8; STATUS_MAX],
) -> Result<(), Failure> {
    let n = sys.read_at_start(status, buf).step(Step::Capabilities)?;
    let bounding = buf
        .get(..n)
        .filter(|_| n < STATUS_MAX)
        .and_then(|text| Observed::parse_status(text, 0))
        .ok_or(Failure::mismatch(Mismatch::Status))?
        .cap_bounding;
    for cap in 0..u64::BITS {
        if bounding & (1 << cap) != 0 {
            sys.drop_bounding(cap).step(Step::Capabilities)?;
        }
    }
    if let Some((uid, gid)) = plan.identity {
        sys.clear_groups().step(Step::Identity)?;
        sys.setresgid(gid.as_raw()).step(Step::Identity)?;
        sys.setresuid(uid.as_raw()).step(Step::Identity)?;
        arm_parent_death(sys, plan.parent)?;
    }
    sys.clear_ambient().step(Step::Capabilities)?;
    sys.clear_capabilities().step(Step::Capabilities)?;
    Ok(())
}

trait OrStep<T> {
    fn step(self, step: Step) -> Result<T, Failure>;
}

impl<T> OrStep<T> for Result<T, Errno> {
    fn step(self, step: Step) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(step, e))
    }
}
