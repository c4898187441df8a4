//! The system calls of the child, behind one trait: [`Kernel`] makes them, and the tests put a
//! recording fake in its place (as youki does) to check the order of the steps without root.
//!
//! Every method runs between fork and exec: none allocates, and each returns the errno of the
//! call that failed, read right after that call and before anything else can overwrite it.

use std::ffi::{CStr, c_char};
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::sys::resource::Resource;

use crate::confine::{self, Namespaces};

/// What the child asks of the kernel, one method per kind of call, in the vocabulary of the
/// steps (see `harden_and_exec`).
pub trait Sys {
    fn setsid(&mut self) -> Result<(), Errno>;
    /// PR_SET_PDEATHSIG with SIGKILL.
    fn set_parent_death_signal(&mut self) -> Result<(), Errno>;
    fn getppid(&mut self) -> libc::pid_t;
    /// Default dispositions for the signals Rust or the supervisor changed, an empty mask.
    fn reset_signals(&mut self) -> Result<(), Errno>;
    /// Places `fd` at `target` without close-on-exec.
    fn dup_to(&mut self, fd: RawFd, target: RawFd) -> Result<(), Errno>;
    /// Marks descriptors `first..=last` close-on-exec.
    fn cloexec_range(&mut self, first: RawFd, last: RawFd) -> Result<(), Errno>;
    /// The hard limit the process has now.
    fn hard_rlimit(&mut self, resource: Resource) -> Result<u64, Errno>;
    fn set_rlimit(&mut self, resource: Resource, soft: u64, hard: u64) -> Result<(), Errno>;
    /// Confinement `namespaces`: waits for the parent to map the user namespace
    /// ([`confine::released`]).
    fn await_release(&mut self, ns: &Namespaces) -> Result<(), confine::Failed>;
    /// Confinement `namespaces`: the ids, the root of bind mounts, pivot_root
    /// ([`confine::enter`]).
    fn enter_namespaces(&mut self, ns: &Namespaces) -> Result<(), confine::Failed>;
    /// Writes `data` to the file at `path` (a /proc knob).
    fn write_file(&mut self, path: &CStr, data: &[u8]) -> Result<(), Errno>;
    /// Opens a file read-only and close-on-exec.
    fn open_read(&mut self, path: &CStr) -> Result<RawFd, Errno>;
    /// Reads a file from offset 0 into `buf`; /proc files are generated anew by each read at 0.
    fn read_at_start(&mut self, fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno>;
    /// PR_CAPBSET_DROP.
    fn drop_bounding(&mut self, cap: u32) -> Result<(), Errno>;
    fn clear_groups(&mut self) -> Result<(), Errno>;
    fn setresgid(&mut self, gid: libc::gid_t) -> Result<(), Errno>;
    fn setresuid(&mut self, uid: libc::uid_t) -> Result<(), Errno>;
    /// PR_CAP_AMBIENT_CLEAR_ALL.
    fn clear_ambient(&mut self) -> Result<(), Errno>;
    /// capset with the effective, permitted and inheritable sets empty.
    fn clear_capabilities(&mut self) -> Result<(), Errno>;
    fn set_no_new_privs(&mut self) -> Result<(), Errno>;
    fn chdir(&mut self, dir: &CStr) -> Result<(), Errno>;
    fn landlock_restrict_self(&mut self, ruleset: RawFd) -> Result<(), Errno>;
    fn seccomp_filter(&mut self, filter: &[seccompiler::sock_filter]) -> Result<(), Errno>;
    /// The allowlist, installed with a user-notification listener (`crate::notify`).
    fn seccomp_filter_with_listener(
        &mut self,
        filter: &[seccompiler::sock_filter],
    ) -> Result<RawFd, Errno>;
    /// Hands the listener to the supervisor over the setup channel (SCM_RIGHTS).
    fn send_listener(&mut self, channel: RawFd, listener: RawFd) -> Result<(), Errno>;
    fn close(&mut self, fd: RawFd);
    /// Opens `path` as a directory and closes it again: Ok means it was allowed.
    fn probe_open_dir(&mut self, path: &CStr) -> Result<(), Errno>;
    /// Writes a record to the setup pipe in one call.
    fn send(&mut self, fd: RawFd, record: &[u8]) -> Result<(), Errno>;
    /// execve; returns only on failure.
    fn exec(&mut self, program: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> Errno;
}

/// The real kernel.
#[derive(Debug, Default)]
pub struct Kernel;

/// The result of a call returning -1 and errno on failure.
fn check(ret: libc::c_long) -> Result<(), Errno> {
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

impl Sys for Kernel {
    fn setsid(&mut self) -> Result<(), Errno> {
        // SAFETY: setsid has no arguments.
        check(unsafe { libc::setsid() }.into())
    }

    fn set_parent_death_signal(&mut self) -> Result<(), Errno> {
        // SAFETY: prctl with integer arguments only.
        check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) }.into())
    }

    fn getppid(&mut self) -> libc::pid_t {
        // SAFETY: getppid has no arguments and cannot fail.
        unsafe { libc::getppid() }
    }

    fn reset_signals(&mut self) -> Result<(), Errno> {
        for sig in [libc::SIGPIPE, libc::SIGXFSZ, libc::SIGXCPU] {
            // SAFETY: installing SIG_DFL runs no handler code.
            if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
                return Err(Errno::last());
            }
        }
        // SAFETY: a zeroed sigset_t is a valid set; sigemptyset makes it the empty one.
        let mut empty: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `empty` is a valid sigset_t to initialise.
        unsafe { libc::sigemptyset(&raw mut empty) };
        // SAFETY: sigprocmask reads the set given and writes no old set (NULL).
        check(
            unsafe { libc::sigprocmask(libc::SIG_SETMASK, &raw const empty, std::ptr::null_mut()) }
                .into(),
        )
    }

    fn dup_to(&mut self, fd: RawFd, target: RawFd) -> Result<(), Errno> {
        if fd == target {
            // Already in place; dup2 would keep its close-on-exec flag, so clear it explicitly.
            // SAFETY: fcntl on a descriptor number with integer arguments.
            return check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }.into());
        }
        // SAFETY: dup2 on descriptor numbers; the new descriptor has close-on-exec cleared.
        check(unsafe { libc::dup2(fd, target) }.into())
    }

    fn cloexec_range(&mut self, first: RawFd, last: RawFd) -> Result<(), Errno> {
        let (Ok(first), Ok(last)) = (libc::c_uint::try_from(first), libc::c_uint::try_from(last))
        else {
            return Err(Errno::EINVAL);
        };
        // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on descriptors.
        check(unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first,
                last,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        })
    }

    fn hard_rlimit(&mut self, resource: Resource) -> Result<u64, Errno> {
        nix::sys::resource::getrlimit(resource).map(|(_, hard)| hard)
    }

    fn set_rlimit(&mut self, resource: Resource, soft: u64, hard: u64) -> Result<(), Errno> {
        nix::sys::resource::setrlimit(resource, soft, hard)
    }

    fn await_release(&mut self, ns: &Namespaces) -> Result<(), confine::Failed> {
        confine::released(ns)
    }

    fn enter_namespaces(&mut self, ns: &Namespaces) -> Result<(), confine::Failed> {
        confine::enter(ns)
    }

    fn write_file(&mut self, path: &CStr, data: &[u8]) -> Result<(), Errno> {
        // SAFETY: open of a NUL-terminated path; the descriptor is closed below.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: writing from a valid buffer of the given length to the descriptor just opened.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        let result = if n < 0 {
            Err(Errno::last())
        } else if n.cast_unsigned() == data.len() {
            Ok(())
        } else {
            Err(Errno::EIO)
        };
        // SAFETY: closing the descriptor opened above, exactly once.
        unsafe { libc::close(fd) };
        result
    }

    fn open_read(&mut self, path: &CStr) -> Result<RawFd, Errno> {
        // SAFETY: open of a NUL-terminated path; the caller owns the descriptor.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 { Err(Errno::last()) } else { Ok(fd) }
    }

    fn read_at_start(&mut self, fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
        // SAFETY: pread into a valid, writable buffer of the given length.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        usize::try_from(n).map_err(|_| Errno::last())
    }

    fn drop_bounding(&mut self, cap: u32) -> Result<(), Errno> {
        // SAFETY: prctl with integer arguments only.
        check(
            unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) }.into(),
        )
    }

    fn clear_groups(&mut self) -> Result<(), Errno> {
        // SAFETY: setgroups with size 0 reads no memory.
        check(unsafe { libc::setgroups(0, std::ptr::null()) }.into())
    }

    fn setresgid(&mut self, gid: libc::gid_t) -> Result<(), Errno> {
        // SAFETY: setresgid with integer arguments only.
        check(unsafe { libc::setresgid(gid, gid, gid) }.into())
    }

    fn setresuid(&mut self, uid: libc::uid_t) -> Result<(), Errno> {
        // SAFETY: setresuid with integer arguments only.
        check(unsafe { libc::setresuid(uid, uid, uid) }.into())
    }

    fn clear_ambient(&mut self) -> Result<(), Errno> {
        // SAFETY: prctl with integer arguments only.
        check(
            unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL,
                    0,
                    0,
                    0,
                )
            }
            .into(),
        )
    }

    fn clear_capabilities(&mut self) -> Result<(), Errno> {
        // The capset(2) ABI, version 3: two 32-bit halves of each set.
        #[repr(C)]
        struct Header {
            version: u32,
            pid: libc::c_int,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const VERSION_3: u32 = 0x2008_0522;
        let mut header = Header {
            version: VERSION_3,
            pid: 0,
        };
        let data = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        // SAFETY: capset reads a version-3 header and two data structs, both on the stack.
        check(unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) })
    }

    fn set_no_new_privs(&mut self) -> Result<(), Errno> {
        // SAFETY: prctl with integer arguments only.
        check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }.into())
    }

    fn chdir(&mut self, dir: &CStr) -> Result<(), Errno> {
        // SAFETY: chdir reads a NUL-terminated path.
        check(unsafe { libc::chdir(dir.as_ptr()) }.into())
    }

    fn landlock_restrict_self(&mut self, ruleset: RawFd) -> Result<(), Errno> {
        // SAFETY: landlock_restrict_self takes a ruleset descriptor and flags 0.
        check(unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) })
    }

    fn seccomp_filter(&mut self, filter: &[seccompiler::sock_filter]) -> Result<(), Errno> {
        // seccompiler's apply_filter makes the same single call and allocates nothing, but its
        // error does not keep errno; this keeps it.
        let Ok(len) = libc::c_ushort::try_from(filter.len()) else {
            return Err(Errno::E2BIG);
        };
        let prog = libc::sock_fprog {
            len,
            filter: filter.as_ptr().cast_mut().cast(),
        };
        // SAFETY: seccomp(SET_MODE_FILTER) reads the program, which outlives the call.
        check(unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0u32,
                &raw const prog,
            )
        })
    }

    fn seccomp_filter_with_listener(
        &mut self,
        filter: &[seccompiler::sock_filter],
    ) -> Result<RawFd, Errno> {
        crate::notify::install_with_listener(filter)
    }

    fn send_listener(&mut self, channel: RawFd, listener: RawFd) -> Result<(), Errno> {
        crate::notify::send_listener(channel, listener)
    }

    fn close(&mut self, fd: RawFd) {
        // SAFETY: closing a descriptor this process created and no one else holds.
        unsafe { libc::close(fd) };
    }

    fn probe_open_dir(&mut self, path: &CStr) -> Result<(), Errno> {
        // SAFETY: open of a NUL-terminated path; a descriptor it returns is closed at once.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: closing the descriptor opened above, exactly once.
        unsafe { libc::close(fd) };
        Ok(())
    }

    fn send(&mut self, fd: RawFd, record: &[u8]) -> Result<(), Errno> {
        // SAFETY: writing from a valid buffer of the given length.
        let n = unsafe { libc::write(fd, record.as_ptr().cast(), record.len()) };
        if n < 0 {
            Err(Errno::last())
        } else if n.cast_unsigned() == record.len() {
            Ok(())
        } else {
            Err(Errno::EIO)
        }
    }

    fn exec(&mut self, program: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> Errno {
        if argv.last().is_none_or(|p| !p.is_null()) || envp.last().is_none_or(|p| !p.is_null()) {
            return Errno::EINVAL;
        }
        // SAFETY: program is NUL-terminated; argv and envp are NULL-terminated arrays (checked
        // above) of pointers to NUL-terminated strings that the caller keeps alive.
        unsafe { libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        Errno::last()
    }
}
