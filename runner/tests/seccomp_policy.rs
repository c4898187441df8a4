//! The seccomp filter the runner embeds behaves as `policies/seccomp/x86_64.json` says.
//!
//! Over 600 lines on purpose: one test binary for the whole policy, its tests sharing the table
//! of one call per rule, the model of the JSON that predicts each call's verdict, and the
//! harness that runs raw calls through the runner.
//!
//! Every check goes through the real binary: the runner compiles the JSON at build time,
//! installs it in the child and execs `/usr/bin/python3`, which makes raw system calls with
//! `ctypes` (`syscall(2)` through libc, so no libc wrapper or vDSO gets in the way). No
//! filter is ever installed in this test process.
//!
//! - `every_allowlisted_rule_is_reachable`: one harmless call per rule of filter `main`,
//!   with arguments built to satisfy that rule's conditions; the run must end `ok`.
//! - `denied_syscalls_kill_the_program`: calls outside the allowlist, one run each; each
//!   must end `policy_violation` before the next line prints, with the report naming that
//!   call's number (the supervisor's listener saw it) and saying it was not executed.
//! - `argument_conditions_are_enforced`: clone, fcntl, ioctl, prlimit64, socket, socketpair, clone3
//!   and threads, one run each.
//! - `x32_syscall_numbers_are_killed`: the x32 guard the build script puts in front kills
//!   by SIGSYS in the kernel; the listener never sees those numbers.
//! - `policy_file_is_commented_and_its_digest_is_reported`: comments and sha256.
//!
//! For every sandboxed case the verdict the JSON predicts (evaluated here from the parsed
//! file) is also checked against the verdict written in the test, so a test case and the
//! policy cannot drift apart silently.

// clippy.toml lets tests panic and expect, but only inside `#[test]` functions; the helpers
// here are test code too, and a panic in them is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use common::{RUNNER, sha256_hex};

const PYTHON: &str = "/usr/bin/python3";
const POLICY_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../policies/seccomp/x86_64.json"
);
const SIGSYS: i64 = 31;
const X32: i64 = 0x4000_0000;

// ---------------------------------------------------------------------------------------
// The table: syscall name -> number (libc::SYS_*) and harmless default arguments.
// ---------------------------------------------------------------------------------------

/// A raw call: number and arguments as Python expressions. Most arguments are plain
/// integers; `BUF` is the address of a zeroed 4 KiB buffer, `ZTS` of a zeroed timespec.
#[derive(Debug, Clone)]
struct Call {
    nr: i64,
    args: Vec<String>,
}

fn c(nr: libc::c_long, args: &[&str]) -> Option<Call> {
    Some(Call {
        nr,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
    })
}

/// Every syscall this test knows, with arguments that make the call fail early (EBADF,
/// EFAULT, EINVAL) or succeed without effect. `None` for a name nobody has added yet: a new
/// rule in the JSON fails the test until it is given a number and harmless arguments here.
fn call(name: &str) -> Option<Call> {
    use libc::*;
    match name {
        // --- file descriptors and I/O
        "read" => c(SYS_read, &["-1", "0", "0"]),
        "write" => c(SYS_write, &["-1", "0", "0"]),
        "readv" => c(SYS_readv, &["-1", "0", "0"]),
        "writev" => c(SYS_writev, &["-1", "0", "0"]),
        "pread64" => c(SYS_pread64, &["-1", "0", "0", "0"]),
        "pwrite64" => c(SYS_pwrite64, &["-1", "0", "0", "0"]),
        "lseek" => c(SYS_lseek, &["-1", "0", "0"]),
        "close" => c(SYS_close, &["-1"]),
        // first > last: EINVAL, nothing closed
        "close_range" => c(SYS_close_range, &["1000", "999", "0"]),
        "dup" => c(SYS_dup, &["-1"]),
        "dup2" => c(SYS_dup2, &["-1", "-1"]),
        "dup3" => c(SYS_dup3, &["-1", "-1", "0"]),
        "fcntl" => c(SYS_fcntl, &["-1", "1"]),
        "ioctl" => c(SYS_ioctl, &["-1", "0", "0"]),
        "pipe2" => c(SYS_pipe2, &["0", "0"]),
        "fsync" => c(SYS_fsync, &["-1"]),
        "fdatasync" => c(SYS_fdatasync, &["-1"]),
        "fadvise64" => c(SYS_fadvise64, &["-1", "0", "0", "0"]),
        // bad descriptors: EBADF
        "sendfile" => c(SYS_sendfile, &["-1", "-1", "0", "0"]),
        "ftruncate" => c(SYS_ftruncate, &["-1", "0"]),
        "truncate" => c(SYS_truncate, &["0", "0"]),
        // nfds < 0: EINVAL
        "select" => c(SYS_select, &["-1", "0", "0", "0", "ZTS"]),
        "pselect6" => c(SYS_pselect6, &["-1", "0", "0", "0", "ZTS", "0"]),
        "poll" => c(SYS_poll, &["0", "0", "0"]),
        "ppoll" => c(SYS_ppoll, &["0", "0", "ZTS", "0", "8"]),
        "epoll_create1" => c(SYS_epoll_create1, &["-1"]),
        "epoll_ctl" => c(SYS_epoll_ctl, &["-1", "0", "-1", "0"]),
        // maxevents 0: EINVAL
        "epoll_wait" => c(SYS_epoll_wait, &["-1", "0", "0", "0"]),
        "epoll_pwait" => c(SYS_epoll_pwait, &["-1", "0", "0", "0", "0", "8"]),
        // --- paths (a NULL path is EFAULT before any lookup)
        "openat" => c(SYS_openat, &["-1", "0", "0", "0"]),
        "open" => c(SYS_open, &["0", "0", "0"]),
        "newfstatat" => c(SYS_newfstatat, &["-1", "0", "0", "0"]),
        "fstat" => c(SYS_fstat, &["-1", "0"]),
        "stat" => c(SYS_stat, &["0", "0"]),
        "lstat" => c(SYS_lstat, &["0", "0"]),
        "statx" => c(SYS_statx, &["-1", "0", "0", "0", "0"]),
        "access" => c(SYS_access, &["0", "0"]),
        "faccessat" => c(SYS_faccessat, &["-1", "0", "0"]),
        "faccessat2" => c(SYS_faccessat2, &["-1", "0", "0", "0"]),
        "readlink" => c(SYS_readlink, &["0", "0", "0"]),
        "readlinkat" => c(SYS_readlinkat, &["-1", "0", "0", "0"]),
        "getdents64" => c(SYS_getdents64, &["-1", "0", "0"]),
        "getcwd" => c(SYS_getcwd, &["0", "0"]),
        "chdir" => c(SYS_chdir, &["0"]),
        "fchdir" => c(SYS_fchdir, &["-1"]),
        "mkdir" => c(SYS_mkdir, &["0", "0"]),
        "mkdirat" => c(SYS_mkdirat, &["-1", "0", "0"]),
        "rmdir" => c(SYS_rmdir, &["0"]),
        "unlink" => c(SYS_unlink, &["0"]),
        "unlinkat" => c(SYS_unlinkat, &["-1", "0", "0"]),
        "rename" => c(SYS_rename, &["0", "0"]),
        "renameat" => c(SYS_renameat, &["-1", "0", "-1", "0"]),
        "renameat2" => c(SYS_renameat2, &["-1", "0", "-1", "0", "0"]),
        // --- memory (zero lengths: EINVAL or a no-op)
        "brk" => c(SYS_brk, &["0"]),
        "mmap" => c(SYS_mmap, &["0", "0", "0", "0", "-1", "0"]),
        "munmap" => c(SYS_munmap, &["0", "0"]),
        "mremap" => c(SYS_mremap, &["0", "0", "0", "0", "0"]),
        "mprotect" => c(SYS_mprotect, &["0", "0", "0"]),
        "madvise" => c(SYS_madvise, &["0", "0", "0"]),
        // --- threads; clone's flags come from the rule's conditions (CLONE_THREAD without
        // CLONE_SIGHAND is EINVAL, so nothing is created)
        "clone" => c(SYS_clone, &["0", "0", "0", "0", "0"]),
        // NULL args: ENOSYS from the enosys filter, EINVAL if it ever reached the kernel
        "clone3" => c(SYS_clone3, &["0", "0"]),
        // an invalid futex op: ENOSYS from futex itself
        "futex" => c(SYS_futex, &["0", "127", "0", "0", "0", "0"]),
        // wrong length: EINVAL, the registered list is kept
        "set_robust_list" => c(SYS_set_robust_list, &["0", "0"]),
        // rseq already registered by glibc; a NULL/0 registration is EINVAL
        "rseq" => c(SYS_rseq, &["0", "0", "0", "0"]),
        // clears the main thread's clear_child_tid, which nobody joins on
        "set_tid_address" => c(SYS_set_tid_address, &["0"]),
        "gettid" => c(SYS_gettid, &[]),
        "sched_yield" => c(SYS_sched_yield, &[]),
        "sched_getaffinity" => c(SYS_sched_getaffinity, &["0", "0", "0"]),
        "exit" => c(SYS_exit, &["0"]),
        "exit_group" => c(SYS_exit_group, &["0"]),
        // --- signals and time
        // signal 0: EINVAL
        "rt_sigaction" => c(SYS_rt_sigaction, &["0", "0", "0", "8"]),
        // NULL set: just reads (into NULL), changes nothing
        "rt_sigprocmask" => c(SYS_rt_sigprocmask, &["0", "0", "0", "8"]),
        "rt_sigreturn" => c(SYS_rt_sigreturn, &[]),
        "sigaltstack" => c(SYS_sigaltstack, &["0", "0"]),
        // signal 0 to itself: a permission probe
        "kill" => c(SYS_kill, &["PID", "0"]),
        "tgkill" => c(SYS_tgkill, &["PID", "TID", "0"]),
        "tkill" => c(SYS_tkill, &["TID", "0"]),
        // with no restart pending: EINTR
        "restart_syscall" => c(SYS_restart_syscall, &[]),
        // cancels an alarm that was never set
        "alarm" => c(SYS_alarm, &["0"]),
        // which = 99: EINVAL
        "setitimer" => c(SYS_setitimer, &["99", "0", "0"]),
        "getitimer" => c(SYS_getitimer, &["99", "0"]),
        "clock_gettime" => c(SYS_clock_gettime, &["0", "0"]),
        "clock_getres" => c(SYS_clock_getres, &["0", "0"]),
        "clock_nanosleep" => c(SYS_clock_nanosleep, &["0", "0", "0", "0"]),
        "nanosleep" => c(SYS_nanosleep, &["0", "0"]),
        "gettimeofday" => c(SYS_gettimeofday, &["0", "0"]),
        // --- identity and system information
        "getpid" => c(SYS_getpid, &[]),
        "getppid" => c(SYS_getppid, &[]),
        "getuid" => c(SYS_getuid, &[]),
        "geteuid" => c(SYS_geteuid, &[]),
        "getgid" => c(SYS_getgid, &[]),
        "getegid" => c(SYS_getegid, &[]),
        // size 0: only counts the groups
        "getgroups" => c(SYS_getgroups, &["0", "0"]),
        "uname" => c(SYS_uname, &["0"]),
        "sysinfo" => c(SYS_sysinfo, &["0"]),
        "getrusage" => c(SYS_getrusage, &["0", "0"]),
        "times" => c(SYS_times, &["0"]),
        "getrandom" => c(SYS_getrandom, &["0", "0", "0"]),
        "getrlimit" => c(SYS_getrlimit, &["7", "0"]),
        // pid 0, RLIMIT_NOFILE, no new and no old limit: a no-op returning 0
        "prlimit64" => c(SYS_prlimit64, &["0", "7", "0", "0"]),
        // code 0: EINVAL
        "arch_prctl" => c(SYS_arch_prctl, &["0", "0"]),
        // NULL filename: EFAULT before anything is looked up
        "execve" => c(SYS_execve, &["0", "0", "0"]),
        // --- sockets (the domain comes from the rule's condition)
        "socket" => c(SYS_socket, &["0", "1", "0"]),
        // type 0xdead: EINVAL
        "socketpair" => c(SYS_socketpair, &["0", "0xdead", "0", "0"]),
        "shutdown" => c(SYS_shutdown, &["-1", "0"]),
        "getsockopt" => c(SYS_getsockopt, &["-1", "0", "0", "0", "0"]),
        "getsockname" => c(SYS_getsockname, &["-1", "0", "0"]),
        "getpeername" => c(SYS_getpeername, &["-1", "0", "0"]),
        "sendto" => c(SYS_sendto, &["-1", "0", "0", "0", "0", "0"]),
        "recvfrom" => c(SYS_recvfrom, &["-1", "0", "0", "0", "0", "0"]),
        "sendmsg" => c(SYS_sendmsg, &["-1", "0", "0"]),
        "recvmsg" => c(SYS_recvmsg, &["-1", "0", "0"]),

        // --- not allowlisted (the deny list); arguments harmless in case one gets through
        "ptrace" => c(SYS_ptrace, &["0xffff", "0", "0", "0"]),
        "mount" => c(SYS_mount, &["0", "0", "0", "0", "0"]),
        "umount2" => c(SYS_umount2, &["0", "0"]),
        // no flags: a no-op
        "unshare" => c(SYS_unshare, &["0"]),
        "setns" => c(SYS_setns, &["-1", "0"]),
        "bpf" => c(SYS_bpf, &["-1", "0", "0"]),
        "io_uring_setup" => c(SYS_io_uring_setup, &["0", "0"]),
        "io_uring_enter" => c(SYS_io_uring_enter, &["-1", "0", "0", "0", "0", "0"]),
        "io_uring_register" => c(SYS_io_uring_register, &["-1", "0", "0", "0"]),
        "perf_event_open" => c(SYS_perf_event_open, &["0", "0", "-1", "-1", "0"]),
        "userfaultfd" => c(SYS_userfaultfd, &["-1"]),
        "keyctl" => c(SYS_keyctl, &["-1", "0", "0", "0", "0"]),
        "add_key" => c(SYS_add_key, &["0", "0", "0", "0", "0"]),
        "request_key" => c(SYS_request_key, &["0", "0", "0", "0"]),
        // 0xffffffff: query only
        "personality" => c(SYS_personality, &["0xffffffff"]),
        "process_vm_readv" => c(SYS_process_vm_readv, &["0", "0", "0", "0", "0", "0"]),
        "process_vm_writev" => c(SYS_process_vm_writev, &["0", "0", "0", "0", "0", "0"]),
        "kexec_load" => c(SYS_kexec_load, &["0", "0", "0", "0"]),
        "kexec_file_load" => c(SYS_kexec_file_load, &["-1", "-1", "0", "0", "0"]),
        "init_module" => c(SYS_init_module, &["0", "0", "0"]),
        "finit_module" => c(SYS_finit_module, &["-1", "0", "0"]),
        "delete_module" => c(SYS_delete_module, &["0", "0"]),
        // wrong magic: EINVAL
        "reboot" => c(SYS_reboot, &["0", "0", "0", "0"]),
        "swapon" => c(SYS_swapon, &["0", "0"]),
        "swapoff" => c(SYS_swapoff, &["0"]),
        "chroot" => c(SYS_chroot, &["0"]),
        "pivot_root" => c(SYS_pivot_root, &["0", "0"]),
        // -1: EINVAL
        "setuid" => c(SYS_setuid, &["-1"]),
        "setgid" => c(SYS_setgid, &["-1"]),
        // all -1: nothing changes
        "setresuid" => c(SYS_setresuid, &["-1", "-1", "-1"]),
        "setgroups" => c(SYS_setgroups, &["0", "0"]),
        "capset" => c(SYS_capset, &["0", "0"]),
        "fork" => c(SYS_fork, &[]),
        "vfork" => c(SYS_vfork, &[]),
        "execveat" => c(SYS_execveat, &["-1", "0", "0", "0", "0"]),
        "memfd_create" => c(SYS_memfd_create, &["0", "0"]),
        "kcmp" => c(SYS_kcmp, &["0", "0", "-1", "0", "0"]),
        "pidfd_open" => c(SYS_pidfd_open, &["0", "0"]),
        "pidfd_getfd" => c(SYS_pidfd_getfd, &["-1", "-1", "0"]),
        "pidfd_send_signal" => c(SYS_pidfd_send_signal, &["-1", "0", "0", "0"]),
        "open_by_handle_at" => c(SYS_open_by_handle_at, &["-1", "0", "0"]),
        "name_to_handle_at" => c(SYS_name_to_handle_at, &["-1", "0", "0", "0", "0"]),
        "chmod" => c(SYS_chmod, &["0", "0"]),
        "fchmod" => c(SYS_fchmod, &["-1", "0"]),
        "chown" => c(SYS_chown, &["0", "-1", "-1"]),
        "symlink" => c(SYS_symlink, &["0", "0"]),
        "link" => c(SYS_link, &["0", "0"]),
        "mknod" => c(SYS_mknod, &["0", "0", "0"]),
        // PR_GET_DUMPABLE: a read
        "prctl" => c(SYS_prctl, &["3", "0", "0", "0", "0"]),
        // op 0xff: EINVAL
        "seccomp" => c(SYS_seccomp, &["0xff", "0", "0"]),
        "connect" => c(SYS_connect, &["-1", "0", "0"]),
        "bind" => c(SYS_bind, &["-1", "0", "0"]),
        "listen" => c(SYS_listen, &["-1", "0"]),
        "accept4" => c(SYS_accept4, &["-1", "0", "0", "0"]),
        "wait4" => c(SYS_wait4, &["-1", "0", "1", "0"]),
        "fsopen" => c(SYS_fsopen, &["0", "0"]),
        "open_tree" => c(SYS_open_tree, &["-1", "0", "0"]),
        "move_mount" => c(SYS_move_mount, &["-1", "0", "-1", "0", "0"]),
        "fanotify_init" => c(SYS_fanotify_init, &["0", "0"]),
        "iopl" => c(SYS_iopl, &["0"]),
        "ioperm" => c(SYS_ioperm, &["0", "0", "0"]),
        "landlock_create_ruleset" => c(SYS_landlock_create_ruleset, &["0", "0", "1"]),
        "msync" => c(SYS_msync, &["0", "0", "0"]),
        "mlock" => c(SYS_mlock, &["0", "0"]),
        "mbind" => c(SYS_mbind, &["0", "0", "0", "0", "0", "0"]),
        "sched_setaffinity" => c(SYS_sched_setaffinity, &["0", "0", "0"]),
        "setpriority" => c(SYS_setpriority, &["99", "0", "0"]),
        "syslog" => c(SYS_syslog, &["0", "0", "0"]),
        "clock_settime" => c(SYS_clock_settime, &["0", "0"]),
        _ => None,
    }
}

fn must_call(name: &str) -> Call {
    call(name).unwrap_or_else(|| {
        panic!(
            "syscall {name:?} has no entry in call() in runner/tests/seccomp_policy.rs: add its \
             number (libc::SYS_{name}) and harmless arguments"
        )
    })
}

/// Allowlisted calls that cannot be made harmlessly from Python, with the reason and where
/// they are exercised anyway.
const SKIPPED: &[(&str, &str)] = &[
    (
        "exit",
        "ends the calling thread under Python's feet; exercised by every thread that finishes \
         (threads_start_and_join and the reachability program end a threading.Thread)",
    ),
    (
        "exit_group",
        "ends the program; exercised by every run that reports `ok` (Python exits through it)",
    ),
    (
        "rt_sigreturn",
        "called by hand it restores a garbage signal frame; exercised by the reachability \
         program, whose SIGUSR1 handler returns through it",
    ),
];

/// Not on the allowlist, one sandboxed run each: (label, syscall, argument overrides).
/// Overrides replace the default arguments of `call()` when the rule of interest is a
/// condition rather than the syscall itself.
const DENIED: &[(&str, &str, &[&str])] = &[
    ("ptrace", "ptrace", &[]),
    ("mount", "mount", &[]),
    ("umount2", "umount2", &[]),
    ("unshare", "unshare", &[]),
    ("setns", "setns", &[]),
    ("bpf", "bpf", &[]),
    ("io_uring_setup", "io_uring_setup", &[]),
    ("io_uring_enter", "io_uring_enter", &[]),
    ("io_uring_register", "io_uring_register", &[]),
    ("perf_event_open", "perf_event_open", &[]),
    ("userfaultfd", "userfaultfd", &[]),
    ("keyctl", "keyctl", &[]),
    ("add_key", "add_key", &[]),
    ("request_key", "request_key", &[]),
    ("personality", "personality", &[]),
    ("process_vm_readv", "process_vm_readv", &[]),
    ("process_vm_writev", "process_vm_writev", &[]),
    ("kexec_load", "kexec_load", &[]),
    ("kexec_file_load", "kexec_file_load", &[]),
    ("init_module", "init_module", &[]),
    ("finit_module", "finit_module", &[]),
    ("delete_module", "delete_module", &[]),
    ("reboot", "reboot", &[]),
    ("swapon", "swapon", &[]),
    ("swapoff", "swapoff", &[]),
    ("chroot", "chroot", &[]),
    ("pivot_root", "pivot_root", &[]),
    ("setuid", "setuid", &[]),
    ("setgid", "setgid", &[]),
    ("setresuid", "setresuid", &[]),
    ("setgroups", "setgroups", &[]),
    ("capset", "capset", &[]),
    ("fork", "fork", &[]),
    ("vfork", "vfork", &[]),
    ("execveat", "execveat", &[]),
    ("memfd_create", "memfd_create", &[]),
    ("kcmp", "kcmp", &[]),
    ("pidfd_open", "pidfd_open", &[]),
    ("pidfd_getfd", "pidfd_getfd", &[]),
    ("pidfd_send_signal", "pidfd_send_signal", &[]),
    ("open_by_handle_at", "open_by_handle_at", &[]),
    ("name_to_handle_at", "name_to_handle_at", &[]),
    ("chmod", "chmod", &[]),
    ("fchmod", "fchmod", &[]),
    ("chown", "chown", &[]),
    ("symlink", "symlink", &[]),
    ("link", "link", &[]),
    ("mknod", "mknod", &[]),
    ("prctl", "prctl", &[]),
    ("seccomp", "seccomp", &[]),
    ("connect", "connect", &[]),
    ("bind", "bind", &[]),
    ("listen", "listen", &[]),
    ("accept4", "accept4", &[]),
    ("wait4", "wait4", &[]),
    ("fsopen", "fsopen", &[]),
    ("open_tree", "open_tree", &[]),
    ("move_mount", "move_mount", &[]),
    ("fanotify_init", "fanotify_init", &[]),
    ("iopl", "iopl", &[]),
    ("ioperm", "ioperm", &[]),
    ("landlock_create_ruleset", "landlock_create_ruleset", &[]),
    ("msync", "msync", &[]),
    ("mlock", "mlock", &[]),
    ("mbind", "mbind", &[]),
    ("sched_setaffinity", "sched_setaffinity", &[]),
    ("setpriority", "setpriority", &[]),
    ("syslog", "syslog", &[]),
    ("clock_settime", "clock_settime", &[]),
    // socket is allowlisted for AF_UNIX only (and then answered ENOSYS): other families die
    ("socket(AF_INET)", "socket", &["2", "1", "0"]),
    ("socket(AF_INET6)", "socket", &["10", "1", "0"]),
    ("socket(AF_NETLINK)", "socket", &["16", "3", "0"]),
    ("socket(AF_PACKET)", "socket", &["17", "3", "0"]),
];

// ---------------------------------------------------------------------------------------
// The policy file, and what it predicts for a call.
// ---------------------------------------------------------------------------------------

fn policy_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        std::fs::read(POLICY_PATH).unwrap_or_else(|e| panic!("reading {POLICY_PATH}: {e}"))
    })
}

fn policy() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_slice(policy_bytes()).unwrap_or_else(|e| panic!("{POLICY_PATH}: {e}"))
    })
}

fn rules(filter: &str) -> &'static [Value] {
    policy()[filter]["filter"]
        .as_array()
        .unwrap_or_else(|| panic!("{POLICY_PATH}: filter {filter:?} has no rule list"))
}

fn rule_name(rule: &Value) -> &str {
    rule["syscall"]
        .as_str()
        .unwrap_or_else(|| panic!("rule without a syscall name: {rule}"))
}

fn allowlisted_names() -> BTreeSet<&'static str> {
    rules("main").iter().map(rule_name).collect()
}

/// One argument condition of a rule, parsed.
#[derive(Debug)]
struct Cond {
    index: usize,
    dword: bool,
    op: Op,
    val: u64,
}

#[derive(Debug)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq(u64),
}

fn conds(rule: &Value) -> Vec<Cond> {
    let Some(args) = rule.get("args") else {
        return Vec::new();
    };
    let args = args
        .as_array()
        .unwrap_or_else(|| panic!("args must be a list: {rule}"));
    args.iter()
        .map(|a| {
            let op = match &a["op"] {
                Value::String(s) => match s.as_str() {
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    other => panic!("operator {other:?} unknown to this test: {rule}"),
                },
                Value::Object(o) => match o.get("masked_eq").and_then(Value::as_u64) {
                    Some(mask) if o.len() == 1 => Op::MaskedEq(mask),
                    _ => panic!("operator unknown to this test: {rule}"),
                },
                other => panic!("operator {other} unknown to this test: {rule}"),
            };
            let dword = match a["type"].as_str() {
                Some("dword") => true,
                Some("qword") => false,
                other => panic!("argument type {other:?} unknown to this test: {rule}"),
            };
            Cond {
                index: usize::try_from(a["index"].as_u64().expect("arg index")).expect("arg index"),
                dword,
                op,
                val: a["val"].as_u64().expect("arg val is an unsigned integer"),
            }
        })
        .collect()
}

impl Cond {
    fn holds(&self, arg: u64) -> bool {
        let (x, v) = if self.dword {
            (arg & 0xffff_ffff, self.val & 0xffff_ffff)
        } else {
            (arg, self.val)
        };
        match self.op {
            Op::Eq => x == v,
            Op::Ne => x != v,
            Op::Lt => x < v,
            Op::Le => x <= v,
            Op::Gt => x > v,
            Op::Ge => x >= v,
            Op::MaskedEq(m) => x & m == v,
        }
    }

    /// Changes `arg` as little as possible so that the condition holds.
    fn satisfy(&self, arg: u64) -> u64 {
        match self.op {
            Op::Eq => self.val,
            Op::MaskedEq(m) => (arg & !m) | (self.val & m),
            Op::Ne | Op::Ge | Op::Le if self.holds(arg) => arg,
            Op::Ne | Op::Gt => self.val.wrapping_add(1),
            Op::Lt => self.val.wrapping_sub(1),
            Op::Ge | Op::Le => self.val,
        }
    }
}

/// A Python argument expression as the register value the kernel will see, when it is a
/// plain integer (`None` for symbolic addresses like `BUF`).
fn numeric(expr: &str) -> Option<u64> {
    let (neg, body) = match expr.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, expr),
    };
    let v = match body.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => body.parse::<u64>().ok()?,
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Runs; the program goes on.
    Allow,
    /// Fails with ENOSYS without reaching the kernel; the program goes on.
    Enosys,
    /// Stopped before it runs and handed to the supervisor (the main filter's user_notif),
    /// which names it in the report and kills the program.
    Refused,
    /// Killed in the kernel by SIGSYS, unseen by the supervisor: x32 numbers.
    KernelKill,
}

/// Whether some rule of `filter` for `name` matches these arguments.
fn filter_matches(filter: &str, name: &str, args: &[String]) -> bool {
    rules(filter)
        .iter()
        .filter(|r| rule_name(r) == name)
        .any(|r| {
            conds(r).iter().all(|c| {
                let expr = args.get(c.index).map_or("0", String::as_str);
                let v = numeric(expr).unwrap_or_else(|| {
                    panic!(
                        "{name}: argument {} ({expr}) is conditioned on but not a number",
                        c.index
                    )
                });
                c.holds(v)
            })
        })
}

/// What the JSON predicts. The kernel runs every installed filter and keeps the most
/// severe action: errno (enosys) before user_notif (main) before allow; a call main does not
/// list is therefore never answered ENOSYS, only refused.
fn predicted(name: &str, args: &[String]) -> Verdict {
    assert_eq!(policy()["main"]["match_action"], "allow");
    assert_eq!(policy()["main"]["mismatch_action"], "user_notif");
    assert_eq!(policy()["enosys"]["match_action"]["errno"], libc::ENOSYS);
    assert_eq!(policy()["enosys"]["mismatch_action"], "allow");
    if !filter_matches("main", name, args) {
        Verdict::Refused
    } else if filter_matches("enosys", name, args) {
        Verdict::Enosys
    } else {
        Verdict::Allow
    }
}

// ---------------------------------------------------------------------------------------
// Running Python in the sandbox.
// ---------------------------------------------------------------------------------------

/// Shared by every program: `sc(nr, *args)` returns `(result, errno)`.
const PRELUDE: &str = r#"
import ctypes, os, sys
_libc = ctypes.CDLL(None, use_errno=True)
_sc = _libc.syscall
_sc.restype = ctypes.c_long
def sc(nr, *args):
    ctypes.set_errno(0)
    r = _sc(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return r, ctypes.get_errno()
_buf = ctypes.create_string_buffer(4096)
_zts = ctypes.create_string_buffer(16)
BUF = ctypes.addressof(_buf)
ZTS = ctypes.addressof(_zts)
PID = os.getpid()
TID = _sc(ctypes.c_long(SYS_GETTID))
def say(*a):
    print(*a, flush=True)
"#;

struct Outcome {
    label: String,
    program: String,
    report: Value,
    stdout: String,
    stderr: String,
    runner_stderr: String,
}

impl Outcome {
    fn status(&self) -> &str {
        self.report["status"].as_str().unwrap_or("?")
    }

    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    fn describe(&self) -> String {
        format!(
            "--- {}\nprogram:\n{}\nreport:\n{}\nprogram stdout:\n{}\nprogram stderr:\n{}\nrunner stderr:\n{}",
            self.label,
            self.program,
            serde_json::to_string_pretty(&self.report).unwrap_or_default(),
            self.stdout,
            self.stderr,
            self.runner_stderr
        )
    }
}

/// Runs `body` (after the prelude) under the runner and collects everything it left behind.
fn sandbox(label: &str, body: &str) -> Outcome {
    let prelude = PRELUDE.replace("SYS_GETTID", &libc::SYS_gettid.to_string());
    let program = format!("{prelude}\n{body}\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |f: &str| dir.path().join(f);
    let out = Command::new(RUNNER)
        .arg("run")
        .arg("--report")
        .arg(p("report.json"))
        .arg("--stdout")
        .arg(p("stdout"))
        .arg("--stderr")
        .arg(p("stderr"))
        .arg("--termination-log")
        .arg(p("termination-log"))
        .args(["--", PYTHON, "-I", "-S", "-c", &program])
        .output()
        .expect("starting the runner");
    let read = |f: &str| std::fs::read_to_string(p(f)).unwrap_or_default();
    let runner_stderr = format!(
        "(exit {:?}) {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_str(&read("report.json")).unwrap_or(Value::Null);
    Outcome {
        label: label.to_owned(),
        program,
        report,
        stdout: read("stdout"),
        stderr: read("stderr"),
        runner_stderr,
    }
}

/// Runs every case, a few at a time, and returns the outcomes in order.
fn sandbox_all(cases: Vec<(String, String)>) -> Vec<Outcome> {
    let width = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let mut outcomes = Vec::with_capacity(cases.len());
    for chunk in cases.chunks(width) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|(label, body)| s.spawn(move || sandbox(label, body)))
                .collect();
            outcomes.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("sandbox thread")),
            );
        });
    }
    outcomes
}

fn py_args(args: &[String]) -> String {
    args.iter().map(|a| format!(", {a}")).collect()
}

/// A program that prints `before`, makes one call, prints `after r errno`.
fn one_call(nr: i64, args: &[String]) -> String {
    format!(
        "say('before')\nr, e = sc({nr}{})\nsay('after', r, e)\n",
        py_args(args)
    )
}

/// The number `one_call` put in a program.
fn called_nr(program: &str) -> Option<i64> {
    let rest = program.split("say('before')\nr, e = sc(").nth(1)?;
    rest.split([',', ')']).next()?.trim().parse().ok()
}

/// Checks the outcome of a program built by `one_call` against an expected verdict.
fn check_verdict(o: &Outcome, want: Verdict) -> Result<(), String> {
    let lines = o.lines();
    let after = lines.iter().find(|l| l.starts_with("after"));
    let fail = |why: String| Err(format!("{}: {why}\n{}", o.label, o.describe()));
    if !lines.contains(&"before") {
        return fail("the program never reached the call".into());
    }
    match want {
        Verdict::Refused | Verdict::KernelKill => {
            if o.status() != "policy_violation" {
                return fail(format!("status {}, expected policy_violation", o.status()));
            }
            if let Some(a) = after {
                return fail(format!("the call returned ({a}) instead of being refused"));
            }
            let v = &o.report["violation"];
            if want == Verdict::KernelKill {
                if o.report["signal"].as_i64() != Some(SIGSYS)
                    || o.report["signal_name"] != "SIGSYS"
                {
                    return fail(format!(
                        "signal {} {}, expected 31 (SIGSYS)",
                        o.report["signal"], o.report["signal_name"]
                    ));
                }
                if !v.is_null() {
                    return fail(format!("a kernel kill was named: {v}"));
                }
                return Ok(());
            }
            let nr = called_nr(&o.program);
            if nr.is_none() || v["nr"].as_i64() != nr {
                return fail(format!(
                    "the report names {v}, expected the call number {nr:?}"
                ));
            }
            if o.report["signal_name"] != "SIGKILL" {
                return fail(format!(
                    "signal_name {}, expected the supervisor's SIGKILL",
                    o.report["signal_name"]
                ));
            }
            let reason = o.report["reason"].as_str().unwrap_or("");
            let decoded = v["decoded"].as_str().unwrap_or("?");
            if !reason.contains(decoded) || !reason.contains("not executed") {
                return fail(format!("the reason does not name the call: {reason}"));
            }
        }
        Verdict::Allow | Verdict::Enosys => {
            if o.status() != "ok" {
                return fail(format!("status {}, expected ok", o.status()));
            }
            let Some(a) = after else {
                return fail("no line after the call".into());
            };
            let enosys = *a == format!("after -1 {}", libc::ENOSYS);
            if want == Verdict::Enosys && !enosys {
                return fail(format!(
                    "expected -1/ENOSYS from the enosys filter, got {a}"
                ));
            }
            if want == Verdict::Allow && enosys {
                return fail(format!("expected the call to reach the kernel, got {a}"));
            }
        }
    }
    Ok(())
}

fn assert_all(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------
// 1. Reachability.
// ---------------------------------------------------------------------------------------

/// The arguments for `rule`: the defaults from `call()`, changed so every condition holds.
fn args_for_rule(rule: &Value) -> Call {
    let name = rule_name(rule);
    let mut call = must_call(name);
    for cond in conds(rule) {
        if call.args.len() <= cond.index {
            call.args.resize(cond.index + 1, "0".to_owned());
        }
        let cur = numeric(&call.args[cond.index]).unwrap_or_else(|| {
            panic!(
                "{name}: default argument {} is conditioned on but not a number",
                cond.index
            )
        });
        call.args[cond.index] = format!("0x{:x}", cond.satisfy(cur));
    }
    for cond in conds(rule) {
        let v = numeric(&call.args[cond.index]).expect("just written");
        assert!(
            cond.holds(v),
            "{name}: cannot build arguments satisfying every condition of {rule}"
        );
    }
    call
}

#[test]
fn every_allowlisted_rule_is_reachable() {
    let skipped: BTreeSet<&str> = SKIPPED.iter().map(|(n, _)| *n).collect();
    let allow = allowlisted_names();
    for name in &skipped {
        assert!(
            allow.contains(name),
            "SKIPPED lists {name}, which is not allowlisted"
        );
    }

    let mut body = String::new();
    let mut expected = Vec::new();
    for (i, rule) in rules("main").iter().enumerate() {
        let name = rule_name(rule);
        // A name missing from the table fails here, skipped or not.
        let c = args_for_rule(rule);
        if skipped.contains(name) {
            continue;
        }
        assert_ne!(
            predicted(name, &c.args),
            Verdict::Refused,
            "rule {i} ({name}): the arguments built for it do not match it"
        );
        let _ = writeln!(
            body,
            "r, e = sc({}{})\nsay('rule', {i}, {}, r, e)",
            c.nr,
            py_args(&c.args),
            c.nr
        );
        expected.push((i, name, c));
    }
    // rt_sigreturn: a Python-level handler is run by a C handler that returns through the
    // restorer, i.e. rt_sigreturn. exit: a finished thread leaves through it.
    body.push_str(
        "import signal, threading\n\
         hit = []\n\
         signal.signal(signal.SIGUSR1, lambda *a: hit.append(1))\n\
         os.kill(os.getpid(), signal.SIGUSR1)\n\
         assert hit == [1], hit\n\
         say('implicit rt_sigreturn')\n\
         t = threading.Thread(target=lambda: None)\n\
         t.start(); t.join()\n\
         say('implicit exit')\n\
         say('done')\n",
    );

    let o = sandbox("reachability", &body);
    let lines = o.lines();
    let mut printed = BTreeSet::new();
    for l in &lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.first() == Some(&"rule") {
            printed.insert(f[1].parse::<usize>().expect("rule index"));
        }
    }
    let missing: Vec<String> = expected
        .iter()
        .filter(|(i, _, _)| !printed.contains(i))
        .map(|(i, name, c)| format!("rule {i}: {name}(nr {}, args {:?})", c.nr, c.args))
        .collect();
    assert!(
        o.status() == "ok" && missing.is_empty() && lines.last() == Some(&"done"),
        "status {} (want ok); {} allowlisted call(s) never returned, the first is the one that \
         was refused: {missing:#?}\n{}",
        o.status(),
        missing.len(),
        o.describe()
    );
    for want in ["implicit rt_sigreturn", "implicit exit"] {
        assert!(lines.contains(&want), "{want} missing\n{}", o.describe());
    }
    // Calls the enosys filter answers must not have reached the kernel.
    for (i, name, c) in &expected {
        if predicted(name, &c.args) == Verdict::Enosys {
            let want = format!("rule {i} {} -1 {}", c.nr, libc::ENOSYS);
            assert!(
                lines.contains(&want.as_str()),
                "rule {i} ({name}) should fail with ENOSYS\n{}",
                o.describe()
            );
        }
    }
    eprintln!(
        "reachability: {} of {} rules called, {} skipped, wall {} ms",
        expected.len(),
        rules("main").len(),
        rules("main").len() - expected.len(),
        o.report["wall_ms"]
    );
}

// ---------------------------------------------------------------------------------------
// 2. Denial.
// ---------------------------------------------------------------------------------------

#[test]
fn denied_syscalls_kill_the_program() {
    assert!(DENIED.len() >= 25);
    let allow = allowlisted_names();
    let mut cases = Vec::new();
    for (label, name, overrides) in DENIED {
        let mut c = must_call(name);
        if !overrides.is_empty() {
            c.args = overrides.iter().map(|a| (*a).to_owned()).collect();
        } else {
            // An unconditional denial: the name must not be allowlisted at all.
            assert!(
                !allow.contains(name),
                "{name} is on the deny list of this test but allowlisted in {POLICY_PATH}"
            );
        }
        assert_eq!(
            predicted(name, &c.args),
            Verdict::Refused,
            "{label}: the JSON would not kill this call"
        );
        cases.push(((*label).to_owned(), one_call(c.nr, &c.args)));
    }
    let outcomes = sandbox_all(cases);
    let failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| check_verdict(o, Verdict::Refused).err())
        .collect();
    assert_all(&failures);
}

// ---------------------------------------------------------------------------------------
// 3. Argument conditions.
// ---------------------------------------------------------------------------------------

#[test]
fn argument_conditions_are_enforced() {
    use libc::{
        CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER,
        CLONE_NEWUTS, CLONE_THREAD, ENOSYS, SYS_prlimit64,
    };
    let s = |v: u64| format!("0x{v:x}");
    // glibc's fork(): CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
    let fork_flags = 0x0100_0000 | 0x0020_0000 | 17;
    let mut cases: Vec<(String, &str, Vec<String>, Verdict)> = vec![
        (
            "clone with fork flags (no CLONE_THREAD)".into(),
            "clone",
            vec![
                s(fork_flags),
                "0".into(),
                "0".into(),
                "0".into(),
                "0".into(),
            ],
            Verdict::Refused,
        ),
        (
            "fcntl(0, F_GETLK, buf)".into(),
            "fcntl",
            vec!["0".into(), "5".into(), "BUF".into()],
            Verdict::Refused,
        ),
        (
            "fcntl(0, F_SETLK, buf)".into(),
            "fcntl",
            vec!["0".into(), "6".into(), "BUF".into()],
            Verdict::Refused,
        ),
        (
            "fcntl(0, F_SETPIPE_SZ, 1 MiB)".into(),
            "fcntl",
            vec!["0".into(), "1031".into(), "0x100000".into()],
            Verdict::Refused,
        ),
        (
            "fcntl(0, F_GETFD) with a high bit set above the 32-bit command".into(),
            "fcntl",
            vec!["0".into(), "0x100000001".into()],
            Verdict::Allow,
        ),
        (
            "fcntl(0, F_GETFL)".into(),
            "fcntl",
            vec!["0".into(), "3".into()],
            Verdict::Allow,
        ),
        (
            "ioctl(0, TIOCSTI)".into(),
            "ioctl",
            vec!["0".into(), "0x5412".into(), "BUF".into()],
            Verdict::Refused,
        ),
        (
            "ioctl(0, TIOCSETD)".into(),
            "ioctl",
            vec!["0".into(), "0x5423".into(), "BUF".into()],
            Verdict::Refused,
        ),
        (
            "ioctl(0, TCGETS, buf)".into(),
            "ioctl",
            vec!["0".into(), "0x5401".into(), "BUF".into()],
            Verdict::Allow,
        ),
        (
            "prlimit64(pid 1, RLIMIT_NOFILE, NULL, &old)".into(),
            "prlimit64",
            vec!["1".into(), "7".into(), "0".into(), "BUF".into()],
            Verdict::Refused,
        ),
        (
            "prlimit64(0, RLIMIT_NOFILE, &new, NULL)".into(),
            "prlimit64",
            // new_limit: any non-NULL address; the kill comes before it is read
            vec!["0".into(), "7".into(), "0x1000".into(), "0".into()],
            Verdict::Refused,
        ),
        (
            "socketpair(AF_INET)".into(),
            "socketpair",
            vec!["2".into(), "1".into(), "0".into(), "BUF".into()],
            Verdict::Refused,
        ),
        (
            "socket(AF_UNIX)".into(),
            "socket",
            vec!["1".into(), "1".into(), "0".into()],
            Verdict::Enosys,
        ),
        (
            "clone3(NULL, 0)".into(),
            "clone3",
            vec!["0".into(), "0".into()],
            Verdict::Enosys,
        ),
    ];
    // CLONE_THREAD with each namespace flag: the second condition of the clone rule.
    for (flag, bit) in [
        ("CLONE_NEWUSER", CLONE_NEWUSER),
        ("CLONE_NEWNS", CLONE_NEWNS),
        ("CLONE_NEWPID", CLONE_NEWPID),
        ("CLONE_NEWNET", CLONE_NEWNET),
        ("CLONE_NEWUTS", CLONE_NEWUTS),
        ("CLONE_NEWIPC", CLONE_NEWIPC),
        ("CLONE_NEWCGROUP", CLONE_NEWCGROUP),
    ] {
        let flags = u64::try_from(CLONE_THREAD | bit).expect("flag");
        cases.push((
            format!("clone(CLONE_THREAD|{flag})"),
            "clone",
            vec![s(flags), "0".into(), "0".into(), "0".into(), "0".into()],
            Verdict::Refused,
        ));
    }

    let mut runs = Vec::new();
    for (label, name, args, want) in &cases {
        assert_eq!(
            predicted(name, args),
            *want,
            "{label}: the JSON predicts otherwise; test or policy is wrong"
        );
        runs.push((label.clone(), one_call(must_call(name).nr, args)));
    }
    // prlimit64 read-back: the value is the runner's open-files limit.
    runs.push((
        "prlimit64(0, RLIMIT_NOFILE, NULL, &old) reads the limit".into(),
        format!(
            "r, e = sc({SYS_prlimit64}, 0, 7, 0, BUF)\n\
             say('nofile', r, e, int.from_bytes(_buf.raw[0:8], 'little'))\n"
        ),
    ));
    // Python's own socket module: a clean OSError(ENOSYS), no socket.
    runs.push((
        "socket.socket(AF_UNIX) raises ENOSYS".into(),
        "import socket\n\
         try:\n    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n    say('created')\n\
         except OSError as err:\n    say('oserror', err.errno)\n"
            .into(),
    ));
    // Threads: clone3 says ENOSYS, glibc falls back to clone with CLONE_THREAD.
    runs.push((
        "threads start and join".into(),
        "import threading\n\
         seen = []\n\
         def work():\n    seen.append(threading.get_native_id())\n\
         ts = [threading.Thread(target=work) for _ in range(4)]\n\
         for t in ts: t.start()\n\
         for t in ts: t.join()\n\
         say('threads', len(seen), len(set(seen)), threading.get_native_id() not in seen)\n"
            .into(),
    ));

    let outcomes = sandbox_all(runs);
    let mut failures = Vec::new();
    for (o, (_, _, _, want)) in outcomes.iter().zip(&cases) {
        if let Err(e) = check_verdict(o, *want) {
            failures.push(e);
        }
    }
    let extra = &outcomes[cases.len()..];
    let expect_ok_line = |o: &Outcome, line: &str| -> Result<(), String> {
        if o.status() == "ok" && o.lines().contains(&line) {
            Ok(())
        } else {
            Err(format!(
                "{}: expected status ok and the line {line:?}\n{}",
                o.label,
                o.describe()
            ))
        }
    };
    let nofile = outcomes[cases.len()].report["limits"]["open_files"]
        .as_u64()
        .unwrap_or(u64::MAX);
    for (o, line) in extra.iter().zip([
        format!("nofile 0 0 {nofile}"),
        format!("oserror {ENOSYS}"),
        "threads 4 4 True".to_owned(),
    ]) {
        if let Err(e) = expect_ok_line(o, &line) {
            failures.push(e);
        }
    }
    assert_all(&failures);
}

// ---------------------------------------------------------------------------------------
// 4. x32.
// ---------------------------------------------------------------------------------------

#[test]
fn x32_syscall_numbers_are_killed() {
    let cases: Vec<(&str, i64, &[&str])> = vec![
        ("x32 getpid (0x40000000|39)", X32 | libc::SYS_getpid, &[]),
        (
            "x32 write (0x40000000|1)",
            X32 | libc::SYS_write,
            &["1", "BUF", "0"],
        ),
        (
            "x32 read (0x40000000|0)",
            X32 | libc::SYS_read,
            &["-1", "0", "0"],
        ),
        // were it allowed, this would exit 0 and the run would report ok
        (
            "x32 exit_group (0x40000000|231)",
            X32 | libc::SYS_exit_group,
            &["0"],
        ),
        // x32's own rt_sigaction number, which is not an x86_64 number at all
        (
            "x32 rt_sigaction (0x40000000|512)",
            X32 | 512,
            &["0", "0", "0", "8"],
        ),
    ];
    let runs = cases
        .iter()
        .map(|(label, nr, args)| {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            ((*label).to_owned(), one_call(*nr, &args))
        })
        .collect();
    let failures: Vec<String> = sandbox_all(runs)
        .iter()
        .filter_map(|o| check_verdict(o, Verdict::KernelKill).err())
        .collect();
    assert_all(&failures);
}

// ---------------------------------------------------------------------------------------
// 5. The file itself and its digest.
// ---------------------------------------------------------------------------------------

#[test]
fn policy_file_is_commented_and_its_digest_is_reported() {
    // Every rule, and every argument condition, says why it is there.
    let filters = policy().as_object().expect("top level is an object");
    assert_eq!(
        filters.keys().map(String::as_str).collect::<Vec<_>>(),
        ["enosys", "main"],
        "filters in {POLICY_PATH}"
    );
    let mut uncommented = Vec::new();
    for name in filters.keys() {
        for (i, rule) in rules(name).iter().enumerate() {
            let has = |v: &Value| v["comment"].as_str().is_some_and(|c| !c.trim().is_empty());
            if !has(rule) {
                uncommented.push(format!("{name} rule {i} ({})", rule_name(rule)));
            }
            for (j, a) in rule["args"].as_array().into_iter().flatten().enumerate() {
                if !has(a) {
                    uncommented.push(format!("{name} rule {i} ({}) arg {j}", rule_name(rule)));
                }
            }
        }
    }
    assert!(uncommented.is_empty(), "no comment: {uncommented:#?}");

    let want = sha256_hex(policy_bytes());

    let out = Command::new(RUNNER)
        .args(["policy", "--json"])
        .output()
        .expect("runner policy --json");
    assert!(out.status.success(), "runner policy --json: {out:?}");
    let shown: Value = serde_json::from_slice(&out.stdout).expect("policy JSON");
    assert_eq!(
        shown["seccomp"]["sha256"],
        want.as_str(),
        "runner policy --json"
    );
    assert_eq!(
        &shown["seccomp"]["filters"],
        policy(),
        "the embedded policy text differs from {POLICY_PATH}"
    );
    assert_eq!(shown["seccomp"]["x32_syscalls"], "kill_process");

    let o = sandbox("digest", "say('hello')");
    assert_eq!(o.status(), "ok", "{}", o.describe());
    assert_eq!(
        o.report["enforced"]["seccomp_policy_sha256"],
        want.as_str(),
        "report digest\n{}",
        o.describe()
    );
}

/// The table and the lists are consistent with each other and with the file, without
/// running anything: a new allowlist rule without a table entry fails here first.
#[test]
fn every_rule_has_a_number_and_the_deny_list_is_disjoint() {
    let unknown: Vec<&str> = allowlisted_names()
        .into_iter()
        .chain(rules("enosys").iter().map(rule_name))
        .filter(|n| call(n).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "syscalls in {POLICY_PATH} unknown to call() in this test: {unknown:?}"
    );
    let deny: BTreeSet<&str> = DENIED.iter().map(|(_, n, _)| *n).collect();
    let overlap: Vec<&str> = DENIED
        .iter()
        .filter(|(_, n, o)| o.is_empty() && allowlisted_names().contains(n))
        .map(|(_, n, _)| *n)
        .collect();
    assert!(
        overlap.is_empty(),
        "allowlisted yet on the deny list: {overlap:?}"
    );
    assert!(deny.len() >= 25);
    assert!(Path::new(PYTHON).exists(), "{PYTHON} is needed");
}
