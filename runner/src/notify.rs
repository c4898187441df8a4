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
//! it allocates nothing (stack buffers only) and only makes system calls. The allocation guard
//! the filter carries is in `alloc_guard`, the naming of a stopped call for a report in `naming`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::report::Violation;

mod alloc_guard;
mod naming;

pub use alloc_guard::with_allocation_guard;
pub use naming::{describe, reason};

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

#[cfg(test)]
mod tests {
    use super::*;

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
