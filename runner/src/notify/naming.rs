//! Naming a stopped call for a report: its name, its arguments decoded (flags, constants,
//! descriptors) and a sentence a player understands.

use std::fmt::Write as _;

use crate::report::Violation;

/// Names call `nr` with `args` for a report.
pub fn describe(nr: u32, args: &[u64; 6]) -> Violation {
    let name = crate::syscalls::name(nr);
    let call = name.map_or_else(|| format!("syscall {nr}"), str::to_owned);
    let decoded = format!("{call}({})", decode_args(name.unwrap_or(""), args));
    let tried = sentence(name.unwrap_or(""), args);
    Violation {
        call,
        nr,
        decoded,
        sentence: tried.to_owned(),
    }
}

const CLONE_THREAD: u64 = 0x0001_0000;

/// What the program tried, in words a player understands.
fn sentence(name: &str, args: &[u64; 6]) -> &'static str {
    match name {
        "clone" if args[0] & CLONE_THREAD != 0 => {
            "tried to start a thread in new namespaces (only plain threads are allowed)"
        }
        "fork" | "vfork" | "clone" | "clone3" => "tried to start a process",
        "execveat" => "tried to run another program",
        "socket" | "socketpair" => {
            if args[0] == 2 || args[0] == 10 {
                "tried to open a network socket"
            } else {
                "tried to open a socket of a kind the sandbox refuses (only AF_UNIX pairs)"
            }
        }
        "bind" | "connect" | "listen" | "accept" | "accept4" => "tried to use a network socket",
        "ptrace" | "process_vm_readv" | "process_vm_writev" | "pidfd_open" | "pidfd_getfd"
        | "pidfd_send_signal" | "kcmp" => "tried to inspect or control another process",
        "setuid" | "setgid" | "setreuid" | "setregid" | "setresuid" | "setresgid" | "setgroups"
        | "setfsuid" | "setfsgid" | "capset" | "setsid" | "setpgid" => {
            "tried to change its identity or session"
        }
        "mount" | "umount2" | "chroot" | "pivot_root" | "unshare" | "setns" | "open_tree"
        | "move_mount" | "fsopen" | "fsmount" | "open_by_handle_at" | "name_to_handle_at" => {
            "tried to change its view of the system (mounts, namespaces, handles)"
        }
        "fcntl" => {
            "tried a descriptor operation the sandbox refuses (file locks, leases, I/O signals, pipe sizes)"
        }
        "ioctl" => "tried a device control (ioctl) the sandbox refuses",
        "prlimit64" | "setrlimit" => "tried to change resource limits or read another process's",
        "chmod" | "fchmod" | "fchmodat" | "fchmodat2" | "chown" | "fchown" | "lchown"
        | "fchownat" | "link" | "linkat" | "symlink" | "symlinkat" | "mknod" | "mknodat" => {
            "tried a file-system operation the sandbox refuses (permissions, owners, links, device nodes)"
        }
        "seccomp" | "prctl" | "personality" => "tried to change its own sandbox settings",
        _ => "made a system call the sandbox forbids",
    }
}

fn decode_args(name: &str, a: &[u64; 6]) -> String {
    match name {
        "fork" | "vfork" => String::new(),
        "clone" => format!("flags={}", clone_flags(a[0])),
        "unshare" => clone_flags(a[0]),
        "setns" => format!("{}, {}", fd(a[0]), clone_flags(a[1])),
        "socket" | "socketpair" => format!(
            "{}, {}, {}",
            lookup(a[0], DOMAINS).unwrap_or_else(|| a[0].to_string()),
            socket_type(a[1]),
            a[2]
        ),
        "fcntl" => format!(
            "{}, {}, {:#x}",
            fd(a[0]),
            lookup(a[1], FCNTL).unwrap_or_else(|| a[1].to_string()),
            a[2]
        ),
        "ioctl" => format!(
            "{}, {}",
            fd(a[0]),
            lookup(a[1], IOCTL).unwrap_or_else(|| format!("{:#x}", a[1]))
        ),
        "kill" | "tgkill" | "tkill" | "ptrace" | "prlimit64" | "pidfd_open" | "setuid"
        | "setgid" | "setpgid" | "setresuid" | "setresgid" | "setreuid" | "setregid"
        | "personality" | "prctl" => {
            // Small integer arguments: pids, requests, resources, options, ids.
            shown(name, a, |v| v.to_string())
        }
        _ => shown(name, a, |v| format!("{v:#x}")),
    }
}

/// The arguments the call takes (registers past them hold leftovers); for a call this table
/// does not know, every argument up to the last non-zero one.
fn shown(name: &str, a: &[u64; 6], show: impl Fn(u64) -> String) -> String {
    let n = arity(name).unwrap_or_else(|| a.iter().rposition(|&v| v != 0).map_or(0, |i| i + 1));
    a[..n]
        .iter()
        .map(|&v| show(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Argument counts of the calls a program is most likely to be refused (x86_64 ABI).
fn arity(name: &str) -> Option<usize> {
    Some(match name {
        "setsid" | "vhangup" | "inotify_init" => 0,
        "chroot" | "personality" | "setuid" | "setgid" | "unshare" | "userfaultfd" | "acct"
        | "iopl" | "inotify_init1" => 1,
        "flock" | "chmod" | "fchmod" | "link" | "symlink" | "pidfd_open" | "clock_settime"
        | "fanotify_init" | "io_uring_setup" | "memfd_create" | "setgroups" | "setns"
        | "setpgid" | "pivot_root" | "umount2" | "kill" | "capset" | "setreuid" | "setregid"
        | "sethostname" | "setdomainname" | "delete_module" | "swapon" | "listen" | "fsopen"
        | "msgget" => 2,
        "chown" | "fchown" | "lchown" | "fchmodat" | "symlinkat" | "mknod" | "bpf"
        | "finit_module" | "init_module" | "open_by_handle_at" | "rt_sigqueueinfo" | "seccomp"
        | "setresuid" | "setresgid" | "tgkill" | "pidfd_getfd" | "syslog" | "ioperm" | "bind"
        | "connect" | "accept" | "fsmount" | "open_tree" | "semget" | "shmget" | "timer_create"
        | "set_mempolicy" | "lookup_dcookie" => 3,
        "mknodat" | "ptrace" | "prlimit64" | "pidfd_send_signal" | "reboot" | "quotactl"
        | "kexec_load" | "request_key" | "tee" | "vmsplice" | "accept4" | "mq_open"
        | "migrate_pages" => 4,
        "execveat" | "add_key" | "kcmp" | "keyctl" | "mount" | "name_to_handle_at"
        | "perf_event_open" | "prctl" | "fchownat" | "linkat" | "fanotify_mark" | "fsconfig"
        | "move_mount" => 5,
        "process_vm_readv" | "process_vm_writev" | "splice" | "mbind" | "move_pages" => 6,
        _ => return None,
    })
}

fn fd(v: u64) -> String {
    // Descriptors are ints: -1 arrives sign-extended or as 0xffffffff.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    let n = v as u32 as i32;
    n.to_string()
}

fn lookup(v: u64, table: &[(u64, &str)]) -> Option<String> {
    table
        .iter()
        .find(|&&(k, _)| k == v)
        .map(|&(_, n)| n.to_owned())
}

fn flags(mut v: u64, table: &[(u64, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for &(bit, name) in table {
        if v & bit == bit {
            out.push(name.to_owned());
            v &= !bit;
        }
    }
    if v != 0 {
        out.push(format!("{v:#x}"));
    }
    out
}

fn clone_flags(v: u64) -> String {
    let signal = v & 0xff;
    let mut parts = flags(v & !0xff, CLONE);
    if signal != 0 {
        parts.push(
            nix::sys::signal::Signal::try_from(signal as i32)
                .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_owned()),
        );
    }
    if parts.is_empty() {
        "0".to_owned()
    } else {
        parts.join("|")
    }
}

fn socket_type(v: u64) -> String {
    let mut parts = vec![lookup(v & 0xf, SOCK_TYPES).unwrap_or_else(|| (v & 0xf).to_string())];
    parts.extend(flags(v & !0xf, SOCK_FLAGS));
    parts.join("|")
}

const CLONE: &[(u64, &str)] = &[
    (0x0000_0100, "CLONE_VM"),
    (0x0000_0200, "CLONE_FS"),
    (0x0000_0400, "CLONE_FILES"),
    (0x0000_0800, "CLONE_SIGHAND"),
    (0x0000_1000, "CLONE_PIDFD"),
    (0x0000_2000, "CLONE_PTRACE"),
    (0x0000_4000, "CLONE_VFORK"),
    (0x0000_8000, "CLONE_PARENT"),
    (0x0001_0000, "CLONE_THREAD"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0004_0000, "CLONE_SYSVSEM"),
    (0x0008_0000, "CLONE_SETTLS"),
    (0x0010_0000, "CLONE_PARENT_SETTID"),
    (0x0020_0000, "CLONE_CHILD_CLEARTID"),
    (0x0040_0000, "CLONE_DETACHED"),
    (0x0080_0000, "CLONE_UNTRACED"),
    (0x0100_0000, "CLONE_CHILD_SETTID"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
];

const DOMAINS: &[(u64, &str)] = &[
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (10, "AF_INET6"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (38, "AF_ALG"),
    (40, "AF_VSOCK"),
    (44, "AF_XDP"),
];

const SOCK_TYPES: &[(u64, &str)] = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (5, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];

const SOCK_FLAGS: &[(u64, &str)] = &[(0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC")];

const FCNTL: &[(u64, &str)] = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (8, "F_SETOWN"),
    (9, "F_GETOWN"),
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (15, "F_SETOWN_EX"),
    (16, "F_GETOWN_EX"),
    (36, "F_OFD_GETLK"),
    (37, "F_OFD_SETLK"),
    (38, "F_OFD_SETLKW"),
    (1024, "F_SETLEASE"),
    (1025, "F_GETLEASE"),
    (1026, "F_NOTIFY"),
    (1030, "F_DUPFD_CLOEXEC"),
    (1031, "F_SETPIPE_SZ"),
    (1032, "F_GETPIPE_SZ"),
    (1033, "F_ADD_SEALS"),
    (1034, "F_GET_SEALS"),
];

const IOCTL: &[(u64, &str)] = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x540E, "TIOCSCTTY"),
    (0x5412, "TIOCSTI"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541B, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
    (0x5423, "TIOCSETD"),
    (0x541C, "TIOCLINUX"),
];

/// The reason a report gives for a named violation.
pub fn reason(v: &Violation) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "the program {}: {} (a system call the sandbox forbids; it was not executed and the program was killed)",
        v.sentence, v.decoded
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(nr: libc::c_long, args: [u64; 6]) -> Violation {
        describe(u32::try_from(nr).unwrap(), &args)
    }

    #[test]
    fn calls_are_named_with_decoded_arguments() {
        let v = d(libc::SYS_socket, [2, 1, 0, 0, 0, 0]);
        assert_eq!(v.decoded, "socket(AF_INET, SOCK_STREAM, 0)");
        assert_eq!(v.sentence, "tried to open a network socket");
        let v = d(libc::SYS_socket, [16, 3 | 0o2000000, 0, 0, 0, 0]);
        assert_eq!(v.decoded, "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, 0)");
        let v = d(libc::SYS_clone, [0x0120_0011, 0, 0, 0, 0, 0]);
        assert_eq!(
            v.decoded,
            "clone(flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD)"
        );
        assert_eq!(v.sentence, "tried to start a process");
        let v = d(libc::SYS_clone, [0x0001_0000 | 0x0002_0000, 0, 0, 0, 0, 0]);
        assert!(v.sentence.contains("thread in new namespaces"), "{v:?}");
        let v = d(libc::SYS_fcntl, [3, 6, 0x7ffd_0000, 0, 0, 0]);
        assert_eq!(v.decoded, "fcntl(3, F_SETLK, 0x7ffd0000)");
        let v = d(libc::SYS_ioctl, [0, 0x5412, 0x1000, 0, 0, 0]);
        assert_eq!(v.decoded, "ioctl(0, TIOCSTI)");
        let v = d(libc::SYS_ptrace, [16, 1, 0, 0, 15, 1_015_566_544]);
        assert_eq!(
            v.decoded, "ptrace(16, 1, 0, 0)",
            "leftover registers are not arguments"
        );
        assert_eq!(v.call, "ptrace");
        let v = d(libc::SYS_fork, [0; 6]);
        assert_eq!(v.decoded, "fork()");
        let v = describe(9999, &[1, 0, 0, 0, 0, 0]);
        assert_eq!(v.call, "syscall 9999");
        assert_eq!(v.decoded, "syscall 9999(0x1)");
        assert!(reason(&v).contains("not executed"), "{}", reason(&v));
    }
}
