//! Naming a forbidden system call: the seccomp user-notification listener.
//!
//! The allowlist's default action is `SECCOMP_RET_USER_NOTIF` (policies/seccomp/x86_64.json,
//! `"mismatch_action": "user_notif"`). The child installs it with
//! `SECCOMP_FILTER_FLAG_NEW_LISTENER` as its last step before exec and sends the listener to
//! the supervisor over the setup channel (`SCM_RIGHTS` on a `SOCK_SEQPACKET` pair). When the
//! program makes a call the allowlist does not admit, the kernel stops the calling thread
//! before the call runs and queues a notification; the supervisor reads it, records the call
//! with its decoded arguments, kills the process group and answers `EPERM`. The call is never
//! executed: the listener never answers with `SECCOMP_USER_NOTIF_FLAG_CONTINUE`, and if the
//! supervisor is gone the kernel fails every pending and later call with `ENOSYS` (and the
//! program dies with it through `PR_SET_PDEATHSIG`). x32 and foreign-architecture numbers never
//! reach the listener: the build script's guard kills them in the kernel.
//!
//! The child half ([`install_with_listener`], [`send_listener`]) runs between fork and exec:
//! it allocates nothing (stack buffers only) and only makes system calls.

use std::fmt::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::report::Violation;

/// The one payload byte that travels with the listener, so a record is never empty.
const LISTENER_TAG: u8 = b'L';
/// Room for one `SCM_RIGHTS` message carrying one descriptor (`CMSG_SPACE(4)` is 24 on
/// x86_64; the margin keeps a peer's extra descriptors detectable through `MSG_CTRUNC`).
const CMSG_BUF: usize = 64;

/// `size_of::<RawFd>()`, as the CMSG macros take it.
const FD_BYTES: u32 = 4;

#[repr(C, align(8))]
struct CmsgBuf([u8; CMSG_BUF]);

/// The setup channel between the supervisor and one child: a close-on-exec `SOCK_SEQPACKET`
/// pair, so a failure record and the listener arrive as separate messages. `(supervisor, child)`.
pub fn setup_channel() -> nix::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: socketpair writes two descriptors into the array we pass.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(Errno::last());
    }
    // SAFETY: both descriptors are new and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Child side: installs `filter` and returns its listener descriptor (close-on-exec).
pub fn install_with_listener(filter: &[seccompiler::sock_filter]) -> Result<RawFd, Errno> {
    let prog = libc::sock_fprog {
        len: u16::try_from(filter.len()).map_err(|_| Errno::E2BIG)?,
        filter: filter.as_ptr().cast_mut().cast(),
    };
    // SAFETY: `prog` points at `filter`, which outlives the call; the kernel copies the
    // program. seccomp(2) with SET_MODE_FILTER reads only that structure.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &raw const prog,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    RawFd::try_from(fd).map_err(|_| Errno::EBADF)
}

/// Child side: sends `listener` over the setup channel, with stack buffers only.
pub fn send_listener(channel: RawFd, listener: RawFd) -> Result<(), Errno> {
    let tag = [LISTENER_TAG];
    let mut iov = libc::iovec {
        iov_base: tag.as_ptr().cast_mut().cast(),
        iov_len: tag.len(),
    };
    let mut control = CmsgBuf([0; CMSG_BUF]);
    // SAFETY: CMSG_SPACE and CMSG_LEN are arithmetic on a constant size.
    let (space, len) = unsafe {
        (
            libc::CMSG_SPACE(FD_BYTES) as usize,
            libc::CMSG_LEN(FD_BYTES) as usize,
        )
    };
    if space > CMSG_BUF {
        return Err(Errno::EMSGSIZE);
    }
    // SAFETY: msghdr is plain data; zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: msg_control points at `space` bytes of an 8-aligned buffer, so the first header
    // fits and CMSG_DATA lies inside it; the descriptor is copied unaligned.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        if cmsg.is_null() {
            return Err(Errno::EMSGSIZE);
        }
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = len;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), listener);
    }
    // SAFETY: every pointer in `msg` refers to a live stack buffer of the stated length.
    let sent = unsafe { libc::sendmsg(channel, &raw const msg, libc::MSG_NOSIGNAL) };
    if sent != 1 {
        return Err(if sent < 0 {
            Errno::last()
        } else {
            Errno::EMSGSIZE
        });
    }
    Ok(())
}

/// One message read from the setup channel by the supervisor.
#[derive(Debug)]
pub enum SetupMessage {
    /// The child is gone or exec'd (its end closed on exec).
    End,
    /// Bytes of a failure record.
    Bytes(usize),
    /// The child's seccomp listener.
    Listener(OwnedFd),
}

/// Supervisor side: reads one message. Descriptors arrive close-on-exec; a message with more
/// or other ancillary data than one listener is refused.
pub fn recv_setup(channel: &OwnedFd, buf: &mut [u8]) -> Result<SetupMessage, Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = CmsgBuf([0; CMSG_BUF]);
    // SAFETY: msghdr is plain data; zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_BUF;
    // SAFETY: every pointer in `msg` refers to a live buffer of the stated length.
    let n = unsafe {
        libc::recvmsg(
            channel.as_raw_fd(),
            &raw mut msg,
            libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(Errno::last());
    }
    let n = usize::try_from(n).map_err(|_| Errno::EINVAL)?;
    let mut fds: [Option<OwnedFd>; 2] = [None, None];
    let mut count = 0usize;
    // SAFETY: the kernel filled `msg_controllen` bytes of the control buffer; the CMSG
    // macros walk only within it, and each SCM_RIGHTS descriptor is a new one we now own.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let header = data.offset_from(cmsg.cast::<u8>()).unsigned_abs();
                let n_fds = ((*cmsg).cmsg_len - header) / size_of::<RawFd>();
                for i in 0..n_fds {
                    let fd = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                    if let Some(slot) = fds.get_mut(count) {
                        *slot = Some(OwnedFd::from_raw_fd(fd));
                    } else {
                        libc::close(fd);
                    }
                    count += 1;
                }
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    // A record cut to the buffer (MSG_TRUNC: SOCK_SEQPACKET drops the rest) or ancillary data
    // beyond one listener is refused, never half-read.
    if msg.msg_flags & (libc::MSG_CTRUNC | libc::MSG_TRUNC) != 0 || count > 1 {
        return Err(Errno::EMSGSIZE);
    }
    match fds[0].take() {
        Some(fd) if n == 1 && buf[0] == LISTENER_TAG => Ok(SetupMessage::Listener(fd)),
        Some(_) => Err(Errno::EBADMSG),
        None if n == 0 => Ok(SetupMessage::End),
        None => Ok(SetupMessage::Bytes(n)),
    }
}

/// A stopped call: its number and raw arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub nr: u32,
    pub args: [u64; 6],
}

impl Call {
    /// The length asked for, when this is an allocation the guard stopped (`mmap` length,
    /// `mremap` new length) larger than `address_space`: one request the kernel's RLIMIT_AS
    /// refuses on its own, whatever else is mapped. A memory verdict, not a violation.
    pub fn allocation_over(&self, address_space: u64) -> Option<u64> {
        let len = match i64::from(self.nr) {
            libc::SYS_mmap => self.args[1],
            libc::SYS_mremap => self.args[2],
            _ => return None,
        };
        (len > address_space).then_some(len)
    }

    /// The call, named for a report.
    pub fn violation(&self) -> Violation {
        describe(self.nr, &self.args)
    }
}

/// Supervisor side: takes the pending notification off `listener`, answers it `EPERM` after
/// the caller's process group was killed by `kill_group`, and returns the call.
/// `Ok(None)` when the caller died before the notification could be read.
pub fn take(listener: &OwnedFd, kill_group: impl FnOnce()) -> Result<Option<Call>, Errno> {
    // SAFETY: seccomp_notif is plain data; the kernel requires it zeroed.
    let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: NOTIF_RECV writes one seccomp_notif into the structure we pass.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &raw mut notif,
        )
    };
    if r < 0 {
        return match Errno::last() {
            // The caller was killed between the notification and this read.
            Errno::ENOENT => Ok(None),
            e => Err(e),
        };
    }
    // Killed before it is answered, so no thread of the program runs on past the forbidden
    // call; the answer only releases the (dying) caller, and is an error, never CONTINUE.
    kill_group();
    let resp = libc::seccomp_notif_resp {
        id: notif.id,
        val: 0,
        error: -libc::EPERM,
        flags: 0,
    };
    // SAFETY: NOTIF_SEND reads one seccomp_notif_resp. ENOENT (the caller already died) is
    // the expected answer and is ignored.
    let _ = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &raw const resp,
        )
    };
    let nr = u32::try_from(notif.data.nr).unwrap_or(u32::MAX);
    Ok(Some(Call {
        nr,
        args: notif.data.args,
    }))
}

/// Where the build script's x32 guard ends in the main filter: the allocation guard goes
/// right after it, before seccompiler's own program (which starts by loading the arch again).
const X32_GUARD_LEN: usize = 6;

/// Puts the allocation guard into the compiled main filter: an `mmap` whose length, or an
/// `mremap` whose new length, is over `address_space` (the RLIMIT_AS backstop) returns
/// USER_NOTIF, so the supervisor sees a request the kernel would refuse with ENOMEM (a
/// MemoryError the program could catch or turn into any exit) and decides `memory_limit`.
/// Every such request fails anyway: nothing that works without the guard stops working.
/// Built in the parent before the fork. `None` when the filter does not start with the x32
/// guard the build script emits (the build changed): the caller fails closed.
pub fn with_allocation_guard(
    main: &[seccompiler::sock_filter],
    address_space: u64,
) -> Option<Vec<seccompiler::sock_filter>> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGT_K: u16 = 0x25;
    const RET_K: u16 = 0x06;
    // seccomp_data: nr at 0, args[i] at 16 + 8 i, little-endian (low word first).
    const ARGS: u32 = 16;
    let prefix_ok = main.len() > X32_GUARD_LEN
        && main[X32_GUARD_LEN - 1].code == RET_K
        && main[X32_GUARD_LEN].code == LD_W_ABS
        && main[X32_GUARD_LEN].k == 4;
    if !prefix_ok {
        return None;
    }
    let hi = u32::try_from(address_space >> 32).ok()?;
    let lo = u32::try_from(address_space & 0xffff_ffff).ok()?;
    let nr = |n: libc::c_long| u32::try_from(n).unwrap_or(u32::MAX);
    let ins = |code, jt, jf, k| seccompiler::sock_filter { code, jt, jf, k };
    // Layout: 0 nr; 1-2 dispatch; 3-7 mmap's check; 8-12 mremap's; 13 notify; 14 out (the
    // rest of the filter). A jump offset counts from the next instruction. `d` is how far a
    // check's last instruction is from `notify`: len > limit as 64-bit is hi > HI, or
    // hi == HI and lo > LO.
    let check = |arg: u32, d: u8| {
        let at = ARGS + 8 * arg;
        [
            ins(LD_W_ABS, 0, 0, at + 4), // A = high word of the length
            ins(JGT_K, d + 3, 0, hi),    // above HI: notify
            ins(JEQ_K, 0, d + 3, hi),    // below HI: out
            ins(LD_W_ABS, 0, 0, at),     // A = low word
            ins(JGT_K, d, d + 1, lo),    // above LO: notify, else out
        ]
    };
    let mut guard = vec![
        ins(LD_W_ABS, 0, 0, 0),
        ins(JEQ_K, 1, 0, nr(libc::SYS_mmap)),
        ins(JEQ_K, 5, 11, nr(libc::SYS_mremap)),
    ];
    guard.extend(check(1, 5));
    guard.extend(check(2, 0));
    guard.push(ins(RET_K, 0, 0, libc::SECCOMP_RET_USER_NOTIF));
    let mut out = main[..X32_GUARD_LEN].to_vec();
    out.extend(guard);
    out.extend_from_slice(&main[X32_GUARD_LEN..]);
    Some(out)
}

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

    /// Runs the few BPF instructions the guard and its surroundings use on one call.
    fn run_bpf(prog: &[seccompiler::sock_filter], nr: u32, args: [u64; 6]) -> u32 {
        let word = |off: u32| -> u32 {
            match off {
                0 => nr,
                4 => 0xC000_003E,
                o if (16..64).contains(&o) => {
                    let a = args[usize::try_from((o - 16) / 8).unwrap()];
                    let w = if (o - 16) % 8 == 0 {
                        a & 0xffff_ffff
                    } else {
                        a >> 32
                    };
                    u32::try_from(w).unwrap()
                }
                o => panic!("load at {o}"),
            }
        };
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = &prog[pc];
            pc += 1;
            match i.code {
                0x20 => acc = word(i.k),
                0x06 => return i.k,
                0x15 | 0x25 | 0x35 => {
                    let hit = match i.code {
                        0x15 => acc == i.k,
                        0x25 => acc > i.k,
                        _ => acc >= i.k,
                    };
                    pc += usize::from(if hit { i.jt } else { i.jf });
                }
                other => return 0xdead_0000 | u32::from(other),
            }
        }
    }

    #[test]
    fn the_allocation_guard_notifies_exactly_the_requests_over_the_backstop() {
        let [_, (_, main)] = crate::profile::seccomp_filters();
        // The guard replaces the rest of the filter in this model by a marker return.
        let mut model = main[..X32_GUARD_LEN].to_vec();
        model.push(seccompiler::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 4,
        });
        model.push(seccompiler::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x1234,
        });
        let limit: u64 = (1 << 32) + 5; // a high word to compare, too
        let g = with_allocation_guard(&model, limit).unwrap();
        let mmap = u32::try_from(libc::SYS_mmap).unwrap();
        let mremap = u32::try_from(libc::SYS_mremap).unwrap();
        let notif = libc::SECCOMP_RET_USER_NOTIF;
        for (nr, args, want) in [
            (mmap, [0, limit + 1, 3, 0x22, 0, 0], notif),
            (mmap, [0, limit, 3, 0x22, 0, 0], 0x1234),
            (mmap, [0, 1 << 33, 3, 0x22, 0, 0], notif),
            (mmap, [0, 6, 3, 0x22, 0, 0], 0x1234),
            (mmap, [0, (1 << 32) - 1, 3, 0x22, 0, 0], 0x1234),
            (mremap, [0, 4096, limit + 1, 1, 0, 0], notif),
            (mremap, [0, limit + 1, 4096, 1, 0, 0], 0x1234),
            (0, [0, limit + 1, limit + 1, 0, 0, 0], 0x1234),
        ] {
            assert_eq!(run_bpf(&g, nr, args), want, "nr {nr} args {args:?}");
        }
        // The x32 guard still comes first and the real filter still follows.
        assert!(
            g.iter()
                .zip(&main[..X32_GUARD_LEN])
                .all(|(a, b)| (a.code, a.k) == (b.code, b.k))
        );
        assert!(with_allocation_guard(&main[X32_GUARD_LEN..], limit).is_none());
        let full = with_allocation_guard(&main, limit).unwrap();
        assert_eq!(full.len(), main.len() + 14);
    }

    #[test]
    fn the_listener_crosses_the_setup_channel() {
        let (parent, child) = setup_channel().unwrap();
        let (r, _w) = nix::unistd::pipe().unwrap();
        send_listener(child.as_raw_fd(), r.as_raw_fd()).unwrap();
        nix::unistd::write(&child, b"record").unwrap();
        drop(child);
        let mut buf = [0u8; 16];
        let SetupMessage::Listener(fd) = recv_setup(&parent, &mut buf).unwrap() else {
            panic!("no listener");
        };
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(
            flags & libc::FD_CLOEXEC,
            0,
            "received descriptors close on exec"
        );
        assert!(matches!(
            recv_setup(&parent, &mut buf).unwrap(),
            SetupMessage::Bytes(6)
        ));
        assert_eq!(&buf[..6], b"record");
        assert!(matches!(
            recv_setup(&parent, &mut buf).unwrap(),
            SetupMessage::End
        ));
        // A record longer than the buffer is refused, not cut.
        let (parent, child) = setup_channel().unwrap();
        nix::unistd::write(&child, &[7u8; 32]).unwrap();
        assert_eq!(
            recv_setup(&parent, &mut buf[..16]).unwrap_err(),
            Errno::EMSGSIZE
        );
    }
}
