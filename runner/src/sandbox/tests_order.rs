//! The child's step sequence run against a recording fake of [`Sys`]: the order of the calls,
//! that a failed step stops everything after it, and that the read-back refuses to exec on a
//! shortfall. No root and no fork needed; the attack suite proves the same through the binary.

use std::ffi::{CStr, c_char};
use std::os::fd::{OwnedFd, RawFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::unistd::{Gid, Uid};

use super::child::harden_and_exec;
use super::readback::{Mismatch, Observed};
use super::sys::Sys;
use super::{Access3, ChildFds, Failure, Plan, Rlimit, Step};
use crate::confine::{self, Confinement, Namespaces};
use crate::profile::SeccompDefault;

/// A /proc/self/status as the kernel prints it, with the sets and ids given.
fn status(cap_bnd: &str, cap_eff: &str, uid: u32, nnp: u8, seccomp: u8) -> String {
    format!(
        "Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\nGroups:\t\n\
CapInh:\t0000000000000000\nCapPrm:\t{cap_eff}\nCapEff:\t{cap_eff}\nCapBnd:\t{cap_bnd}\n\
CapAmb:\t0000000000000000\nNoNewPrivs:\t{nnp}\nSeccomp:\t{seccomp}\n"
    )
}

const EMPTY: &str = "0000000000000000";

/// Records every call by name; fails the one named in `fail`; serves `statuses` in order.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
    fail: Option<(&'static str, Errno)>,
    statuses: Vec<String>,
    probe_allowed: bool,
    probed: Option<std::ffi::CString>,
    sent: Vec<Vec<u8>>,
}

impl Recorder {
    fn call(&mut self, name: &'static str) -> Result<(), Errno> {
        self.calls.push(name.to_owned());
        match self.fail {
            Some((n, e)) if n == name => Err(e),
            _ => Ok(()),
        }
    }

    /// The calls with runs of the same call folded into `name*count`.
    fn folded(&self) -> Vec<String> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for c in &self.calls {
            match out.last_mut() {
                Some((last, n)) if last == c => *n += 1,
                _ => out.push((c.clone(), 1)),
            }
        }
        out.into_iter()
            .map(|(c, n)| if n == 1 { c } else { format!("{c}*{n}") })
            .collect()
    }
}

impl Sys for Recorder {
    fn setsid(&mut self) -> Result<(), Errno> {
        self.call("setsid")
    }
    fn set_parent_death_signal(&mut self) -> Result<(), Errno> {
        self.call("pdeathsig")
    }
    fn getppid(&mut self) -> libc::pid_t {
        self.calls.push("getppid".into());
        nix::unistd::getpid().as_raw()
    }
    fn reset_signals(&mut self) -> Result<(), Errno> {
        self.call("reset_signals")
    }
    fn dup_to(&mut self, _: RawFd, _: RawFd) -> Result<(), Errno> {
        self.call("dup_to")
    }
    fn cloexec_range(&mut self, _: RawFd, _: RawFd) -> Result<(), Errno> {
        self.call("cloexec_range")
    }
    fn hard_rlimit(&mut self, _: nix::sys::resource::Resource) -> Result<u64, Errno> {
        self.call("getrlimit").map(|()| u64::MAX)
    }
    fn set_rlimit(&mut self, _: nix::sys::resource::Resource, _: u64, _: u64) -> Result<(), Errno> {
        self.call("setrlimit")
    }
    fn await_release(&mut self, _: &Namespaces) -> Result<(), confine::Failed> {
        self.call("await_release")
            .map_err(|_| confine::Failed::Release)
    }
    fn enter_namespaces(&mut self, _: &Namespaces) -> Result<(), confine::Failed> {
        self.call("enter_namespaces")
            .map_err(confine::Failed::Mount)
    }
    fn write_file(&mut self, _: &CStr, _: &[u8]) -> Result<(), Errno> {
        self.call("oom_score_adj")
    }
    fn open_read(&mut self, _: &CStr) -> Result<RawFd, Errno> {
        self.call("open_status").map(|()| 7)
    }
    fn read_at_start(&mut self, _: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
        self.call("read_status")?;
        let text = self.statuses.remove(0);
        buf[..text.len()].copy_from_slice(text.as_bytes());
        Ok(text.len())
    }
    fn drop_bounding(&mut self, _: u32) -> Result<(), Errno> {
        self.call("capbset_drop")
    }
    fn clear_groups(&mut self) -> Result<(), Errno> {
        self.call("setgroups")
    }
    fn setresgid(&mut self, _: libc::gid_t) -> Result<(), Errno> {
        self.call("setresgid")
    }
    fn setresuid(&mut self, _: libc::uid_t) -> Result<(), Errno> {
        self.call("setresuid")
    }
    fn clear_ambient(&mut self) -> Result<(), Errno> {
        self.call("ambient_clear")
    }
    fn clear_capabilities(&mut self) -> Result<(), Errno> {
        self.call("capset")
    }
    fn set_no_new_privs(&mut self) -> Result<(), Errno> {
        self.call("no_new_privs")
    }
    fn chdir(&mut self, _: &CStr) -> Result<(), Errno> {
        self.call("chdir")
    }
    fn landlock_restrict_self(&mut self, _: RawFd) -> Result<(), Errno> {
        self.call("landlock")
    }
    fn seccomp_filter(&mut self, _: &[seccompiler::sock_filter]) -> Result<(), Errno> {
        self.call("seccomp")
    }
    fn seccomp_filter_with_listener(
        &mut self,
        _: &[seccompiler::sock_filter],
    ) -> Result<RawFd, Errno> {
        self.call("seccomp_listener")?;
        Ok(99)
    }
    fn send_listener(&mut self, _: RawFd, listener: RawFd) -> Result<(), Errno> {
        self.call("send_listener")?;
        assert_eq!(listener, 99, "the listener the filter returned");
        Ok(())
    }
    fn close(&mut self, fd: RawFd) {
        self.calls.push(format!("close {fd}"));
    }
    fn probe_open_dir(&mut self, path: &CStr) -> Result<(), Errno> {
        self.call("probe")?;
        self.probed = Some(path.to_owned());
        if self.probe_allowed {
            Ok(())
        } else if path == c"/proc" {
            Err(Errno::ENOENT)
        } else {
            Err(Errno::EACCES)
        }
    }
    fn send(&mut self, _: RawFd, record: &[u8]) -> Result<(), Errno> {
        self.call("send")?;
        self.sent.push(record.to_vec());
        Ok(())
    }
    fn exec(&mut self, _: &CStr, _: &[*const c_char], _: &[*const c_char]) -> Errno {
        self.calls.push("exec".into());
        Errno::ENOENT
    }
}

fn plan() -> Plan {
    plan_with(Confinement::Landlock, SeccompDefault::Notify)
}

fn plan_with(confinement: Confinement, seccomp_default: SeccompDefault) -> Plan {
    let access = Access3 {
        ro: vec![],
        rx: vec![PathBuf::from("/usr/bin/python3.11")],
        rw: vec![],
    };
    let rlimits = vec![
        Rlimit {
            resource: nix::sys::resource::Resource::RLIMIT_CORE,
            soft: 0,
            hard: 0,
            may_refuse: false,
        };
        2
    ];
    Plan::prepare(
        &["/usr/bin/python3.11".to_owned()],
        &[],
        std::path::Path::new("/tmp"),
        &access,
        rlimits,
        Some((Uid::from_raw(65532), Gid::from_raw(65532))),
        u32::from(confinement == Confinement::Landlock),
        confinement,
        seccomp_default,
    )
    .unwrap()
}

fn fds() -> ChildFds {
    let fd = || -> OwnedFd { std::fs::File::open("/dev/null").unwrap().into() };
    ChildFds {
        stdin: fd(),
        stdout: fd(),
        stderr: fd(),
        setup: fd(),
        handed_on: vec![(3, fd())],
    }
}

/// Root's status before the drop (two bounding capabilities), then the sandboxed one.
fn recorder(after: String) -> Recorder {
    Recorder {
        statuses: vec![status("0000000000000005", EMPTY, 0, 0, 0), after],
        ..Recorder::default()
    }
}

fn sandboxed() -> String {
    status(EMPTY, EMPTY, 65532, 1, 2)
}

/// The calls every plan makes, folded as [`Recorder::folded`] prints them, with the ones only
/// some plans make put in where they run: `release` once the parent is known alive, `mounts`
/// once /proc/self/status is open, `filters` between chdir and the read-back.
fn steps(
    release: &[&'static str],
    mounts: &[&'static str],
    filters: &[&'static str],
) -> Vec<&'static str> {
    [
        &["setsid", "pdeathsig", "getppid"][..],
        release,
        &[
            "reset_signals",
            "dup_to*4",
            "cloexec_range",
            "getrlimit",
            "setrlimit",
            "getrlimit",
            "setrlimit",
            "oom_score_adj",
            "open_status",
        ],
        mounts,
        &[
            "read_status",
            "capbset_drop*2",
            "setgroups",
            "setresgid",
            "setresuid",
            "pdeathsig",
            "getppid",
            "ambient_clear",
            "capset",
            "no_new_privs",
            "chdir",
        ],
        filters,
        &["probe", "read_status", "send", "exec"],
    ]
    .concat()
}

#[test]
fn the_steps_run_in_the_documented_order() {
    let mut sys = recorder(sandboxed());
    let failure = harden_and_exec(&mut sys, &plan(), &fds()).unwrap_err();
    assert_eq!(
        failure.step,
        Step::Exec,
        "only exec itself failed (the fake's ENOENT)"
    );
    let want = steps(
        &[],
        &[],
        &["landlock", "seccomp_listener", "send_listener", "close 99"],
    );
    assert_eq!(sys.folded(), want);
    let observed = Observed::decode(&sys.sent[0]).unwrap();
    assert_eq!(observed.uids, [65532; 4]);
    assert!(observed.no_new_privs);
}

#[test]
fn a_failed_step_stops_everything_after_it() {
    let kill_process = plan_with(Confinement::Landlock, SeccompDefault::KillProcess);
    for (call, step, plan) in [
        ("setsid", Step::Session, &plan()),
        ("setrlimit", Step::Rlimits, &plan()),
        ("setresuid", Step::Identity, &plan()),
        ("capset", Step::Capabilities, &plan()),
        ("no_new_privs", Step::NoNewPrivs, &plan()),
        ("landlock", Step::Landlock, &plan()),
        // The one install without a listener: `kill_process`.
        ("seccomp", Step::Seccomp, &kill_process),
        ("seccomp_listener", Step::SeccompNotify, &plan()),
        ("send_listener", Step::SeccompListener, &plan()),
        ("send", Step::ReadBack, &plan()),
    ] {
        let mut sys = recorder(sandboxed());
        sys.fail = Some((call, Errno::EPERM));
        let failure = harden_and_exec(&mut sys, plan, &fds()).unwrap_err();
        assert_eq!(failure, Failure::new(step, Errno::EPERM), "{call}");
        assert_eq!(sys.calls.last().map(String::as_str), Some(call), "{call}");
    }
}

#[test]
fn a_read_back_shortfall_is_sent_and_never_execs() {
    for (after, probe_allowed, want) in [
        (
            status(EMPTY, "0000000000000001", 65532, 1, 2),
            false,
            Mismatch::Capabilities,
        ),
        (
            status(EMPTY, EMPTY, 65532, 0, 2),
            false,
            Mismatch::NoNewPrivs,
        ),
        (status(EMPTY, EMPTY, 65532, 1, 0), false, Mismatch::Seccomp),
        (status(EMPTY, EMPTY, 0, 1, 2), false, Mismatch::Uid),
        (sandboxed(), true, Mismatch::Landlock),
    ] {
        let mut sys = recorder(after);
        sys.probe_allowed = probe_allowed;
        let failure = harden_and_exec(&mut sys, &plan(), &fds()).unwrap_err();
        assert_eq!(failure, Failure::mismatch(want));
        assert!(!sys.calls.iter().any(|c| c == "exec"), "{want:?}");
        let observed = Observed::decode(&sys.sent[0]).unwrap();
        assert_eq!(observed.mismatch(&plan().expected), Some(want));
    }
    let mut sys = recorder("Name:\tx\n".into());
    let failure = harden_and_exec(&mut sys, &plan(), &fds()).unwrap_err();
    assert_eq!(failure, Failure::mismatch(Mismatch::Status));
    assert!(sys.sent.is_empty());
}

#[test]
fn namespaces_and_kill_process_run_their_own_steps_in_order() {
    // The fake's getppid answers the runner's pid; in a PID namespace of its own the child's
    // parent is 0, and only the release byte proves the parent alive.
    let mut plan = plan_with(Confinement::Namespaces, SeccompDefault::KillProcess);
    plan.parent = nix::unistd::getpid().as_raw();
    let mut sys = recorder(sandboxed());
    let failure = harden_and_exec(&mut sys, &plan, &fds()).unwrap_err();
    assert_eq!(failure.step, Step::Exec, "only exec itself failed");
    let want = steps(
        &["await_release"],
        // After open_status: the new root hides /proc.
        &["enter_namespaces"],
        // No Landlock; the one program kills, so no listener is made or sent.
        &["seccomp"],
    );
    assert_eq!(sys.folded(), want);
    assert_eq!(sys.probed.as_deref(), Some(c"/proc"));

    for (call, step) in [
        ("await_release", Step::ParentDeath),
        ("enter_namespaces", Step::Mounts),
    ] {
        let mut sys = recorder(sandboxed());
        sys.fail = Some((call, Errno::EPERM));
        let failure = harden_and_exec(&mut sys, &plan, &fds()).unwrap_err();
        assert_eq!(failure.step, step, "{call}");
        assert_eq!(sys.calls.last().map(String::as_str), Some(call), "{call}");
    }

    // /proc found inside the new root: the confinement is not what was planned.
    let mut sys = recorder(sandboxed());
    sys.probe_allowed = true;
    let failure = harden_and_exec(&mut sys, &plan, &fds()).unwrap_err();
    assert_eq!(failure, Failure::mismatch(Mismatch::Confinement));
    assert!(!sys.calls.iter().any(|c| c == "exec"));
}
