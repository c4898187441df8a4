//! Creating the sandboxed child: the one place the runner makes a process.
//!
//! With Landlock (the default profile) the child is made as `posix_spawn` makes one:
//! `clone(CLONE_VM | CLONE_VFORK)` onto a stack of its own. It shares the parent's memory
//! until it execs, and the parent waits until then. A `fork` would copy the parent's page
//! tables, make every page the parent or the child then writes fault and be copied, and
//! tear the copy down again at the exec. That was about a tenth of the runner's start
//! (perf, 2026-11-26), for an address space the child only reads.
//!
//! The child runs the hardening steps, which write nothing but their own stack, and execs.
//! The parent is suspended meanwhile: there is no second thread to race with. The child
//! never waits for the parent. Its setup messages (the listener, the read-back record, a
//! failure) are a few bytes into a socket's buffer, so the child cannot block on a parent
//! that is not running yet.
//!
//! What sharing the memory exposes: until its exec, the child is the supervisor's memory
//! under the program's uid, so a process of that uid that could read or write another's
//! memory would reach the supervisor through it. The programs already running (the other
//! players of a match) cannot: Landlock grants them no `/proc`, and seccomp has no `ptrace`,
//! `process_vm_readv` or `process_vm_writev` (the cheaters `proc_peek`, `ptrace` and `vm_read`
//! try each, and the attack `fs_proc_parent_mem` the runner itself). A forked child was
//! exposed the same way, with a copy.
//!
//! In `namespaces` confinement the parent must write the child's uid and gid maps while
//! the child waits, which a suspended parent cannot do. So that child is a real copy, made
//! by [`crate::confine::fork`].

use std::ffi::c_void;
use std::mem::ManuallyDrop;

use nix::errno::Errno;
use nix::unistd::{ForkResult, Pid};

use crate::sandbox::{ChildFds, Plan};

/// The child's stack: the hardening steps use a few KiB (the largest frame holds a 4 KiB
/// buffer for /proc/self/status). Only the pages it touches are ever allocated.
const STACK_BYTES: usize = 256 * 1024;

/// Whether [`spawn`] returns only once the child has exec'd or exited, as the vfork-style
/// child does: everything the child sends on its setup channel is then already there, and
/// the supervisor reads it at once instead of waiting for the channel to close.
pub(crate) fn returns_after_exec(plan: &Plan) -> bool {
    plan.namespaces.is_none()
}

/// Creates the child, which runs [`crate::sandbox::enter`] with `plan` and `fds` (and execs
/// or exits in it: it never returns), and returns the child's pid to the parent once the
/// child has exec'd or exited.
///
/// # Safety
/// The caller must be single-threaded: the child runs in the parent's memory (or a copy of
/// it) and must find no lock held.
pub(crate) unsafe fn spawn(plan: &mut Plan, fds: &ChildFds) -> Result<Pid, String> {
    if plan.namespaces.is_some() {
        // SAFETY: the caller's contract is fork's.
        return match unsafe { crate::confine::fork(plan.namespaces.as_mut()) }? {
            ForkResult::Child => crate::sandbox::enter(plan, fds),
            ForkResult::Parent { child } => Ok(child),
        };
    }
    let plan = &*plan;
    // SAFETY: the caller's contract; `enter` allocates nothing and writes only to its own
    // stack before it execs or exits.
    unsafe { vfork(|| crate::sandbox::enter(plan, fds)) }
}

/// `clone(CLONE_VM | CLONE_VFORK)` running `child` on a stack of its own.
///
/// # Safety
/// As [`spawn`], and `child` may only make system calls and write to its own stack.
unsafe fn vfork<F: FnOnce()>(child: F) -> Result<Pid, String> {
    let stack = Stack::map().map_err(|e| format!("cannot map the child's stack: {e}"))?;
    let mut slot = ManuallyDrop::new(child);
    // SAFETY: `stack.top()` is the 16-byte-aligned end of a mapping this function owns
    // until after the clone returns, which with CLONE_VFORK is after the child has exec'd
    // or exited, so the child's stack outlives its use. `slot` lives in this frame for as
    // long too, and `trampoline::<F>` reads it exactly once, in the child.
    let ret = unsafe {
        libc::clone(
            trampoline::<F>,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw mut slot).cast::<c_void>(),
        )
    };
    if ret < 0 {
        let e = Errno::last();
        // SAFETY: no child ran, so the closure was never read out of the slot.
        unsafe { ManuallyDrop::drop(&mut slot) };
        return Err(format!("cannot create the sandbox's process (clone: {e})"));
    }
    // The child took the closure out of the slot, so it is not dropped here (it holds only
    // borrows).
    Ok(Pid::from_raw(ret))
}

/// The child's first frame, on its own stack.
extern "C" fn trampoline<F: FnOnce()>(arg: *mut c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `ManuallyDrop<F>` slot, which stays untouched while the
    // parent is suspended (CLONE_VFORK); it is read once, here, and never dropped there.
    let child = unsafe { std::ptr::read(arg.cast::<ManuallyDrop<F>>()) };
    ManuallyDrop::into_inner(child)();
    // `child` execs or exits; were it ever to return, the child still must not run on.
    // SAFETY: _exit ends the child without running anything of the parent's.
    unsafe { libc::_exit(127) }
}

/// An anonymous mapping for the child's stack, with its lowest page inaccessible so an
/// overflow faults instead of writing over the parent's memory below it.
struct Stack {
    base: *mut c_void,
}

impl Stack {
    fn map() -> Result<Self, Errno> {
        // SAFETY: an anonymous private mapping at an address the kernel picks; no existing
        // memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                STACK_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let stack = Self { base };
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(base, page_size(), libc::PROT_NONE) } != 0 {
            return Err(Errno::last()); // `stack` unmaps it
        }
        Ok(stack)
    }

    fn top(&self) -> *mut c_void {
        // STACK_BYTES is a multiple of 16, and the mapping is page-aligned.
        self.base.wrapping_byte_add(STACK_BYTES)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping `map` made, no longer used: the child has exec'd or exited.
        unsafe { libc::munmap(self.base, STACK_BYTES) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}
