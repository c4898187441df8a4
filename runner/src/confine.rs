//! File-system confinement: which mechanism keeps a program to its granted paths, chosen by the
//! profile's `confinement` field and never by what the kernel happens to offer.
//!
//! `landlock` (the default profile) is the Landlock ruleset of [`crate::sandbox`]. `namespaces`
//! is for kernels that lack Landlock, first of all gVisor (google/gvisor#13439): the child is
//! created in new user, mount, PID, network and IPC namespaces and its root becomes a read-only
//! tmpfs holding only bind mounts of the granted paths. Each Landlock duty has its namespace
//! counterpart:
//!
//! | Landlock | namespaces |
//! | --- | --- |
//! | file-system rights on the granted paths | only the granted paths exist; `ro`/`rx` mounts read-only, `rw` mounts `noexec`; all `nosuid`, and `nodev` but a device granted by name |
//! | TCP bind/connect denied | a network namespace with no interface up |
//! | signal scoping | a PID namespace of its own: nothing outside it can be named |
//! | abstract unix socket scoping | abstract sockets belong to the network namespace |
//!
//! What it cannot copy: Landlock tells `execve` from `mmap(PROT_EXEC)`, a mount cannot, so
//! `ro` paths (shared libraries must be mappable) are executable at mount granularity; only
//! what the `ro` trees hold can be run, and the seccomp filter still forbids a new process.
//!
//! Namespaces have to be created by the parent: a process cannot move itself into a new PID
//! namespace, so [`fork`] is `clone` with the namespace flags, the parent writes the child's
//! uid and gid maps (it owns the new user namespace) and only then lets the child go on
//! ([`enter`]). If any of this is refused (a kernel without unprivileged user namespaces, a
//! runc pod's seccomp profile, which has no `mount`), the program does not run.

use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::sys::statvfs::FsFlags;
use nix::unistd::{ForkResult, Gid, Pid, Uid};
use serde::{Deserialize, Serialize};

use crate::sandbox::Access3;

/// The mechanism that confines the program to its granted paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confinement {
    /// A Landlock ruleset at the profile's minimum ABI or above (the default profile).
    Landlock,
    /// User, mount, PID, network and IPC namespaces with a root of bind mounts (gVisor).
    Namespaces,
}

impl Confinement {
    pub fn name(self) -> &'static str {
        match self {
            Self::Landlock => "landlock",
            Self::Namespaces => "namespaces",
        }
    }
}

/// Why the namespace plan could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("granted path {0} is not absolute or not normalised")]
    Path(PathBuf),
    #[error("granted path {0} is under {STAGING}, where the sandbox's root is built")]
    Staging(PathBuf),
    #[error("granted path {path}: {source}")]
    Inspect { path: PathBuf, source: Errno },
    #[error("creating the synchronisation pipe: {0}")]
    Pipe(Errno),
    #[error("a path contains a NUL byte")]
    Nul(#[from] std::ffi::NulError),
}

/// Where the new root is built before `pivot_root`. It must exist in every image and nothing
/// is ever granted under it; it is covered by the tmpfs, so the program never sees it.
const STAGING: &str = "/proc";

/// What the read-back opens under `namespaces`: the staging directory, which exists in every
/// image (the pod's /proc) and which no grant may be under, so inside the new root it is absent
/// (ENOENT) exactly when the program's root is the one built here.
pub const PROBE_ABSENT: &CStr = c"/proc";

/// The namespaces the child is created in. No UTS or cgroup namespace: the host name and the
/// cgroup path tell nothing the pod's own walls do not already hide.
const CLONE_FLAGS: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC;

#[derive(Debug)]
struct Bind {
    source: CString,
    /// Under [`STAGING`].
    target: CString,
    dir: bool,
    /// The remount flags: the access's own plus every flag the source mount already has (a
    /// user namespace may not clear them, so leaving one out would fail the remount).
    flags: libc::c_ulong,
}

/// Everything the child needs for the namespace steps, prepared in the parent.
#[derive(Debug)]
pub struct Namespaces {
    staging: CString,
    /// Directories to create under the staging root, parents first.
    mkdirs: Vec<CString>,
    /// Parents before children, so a grant inside another grant is mounted on top of it.
    binds: Vec<Bind>,
    /// The ids the program has, inside the namespace the same numbers as outside.
    uid: Uid,
    gid: Gid,
    /// The parent is root: it may map freely, and the child may empty its groups.
    privileged: bool,
    /// Read by the child: a byte once the maps are written, end of file if the parent died.
    sync_r: OwnedFd,
    /// Written by the parent, closed by the child first thing.
    sync_w: Option<OwnedFd>,
}

fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is NULL or a NUL-terminated string that outlives the call; data,
    // when given, is a string as the file systems used here expect.
    Errno::result(unsafe {
        libc::mount(
            ptr(source),
            target.as_ptr(),
            ptr(fstype),
            flags,
            ptr(data).cast(),
        )
    })
    .map(drop)
}

/// One granted path's rights, merged over the three lists as Landlock unions its rules.
#[derive(Debug, Default, Clone, Copy)]
struct Rights {
    exec: bool,
    write: bool,
}

impl Namespaces {
    /// `identity` is `Some` when the runner is root and the program drops to those ids.
    pub fn prepare(access: &Access3, identity: Option<(Uid, Gid)>) -> Result<Self, ConfineError> {
        let mut paths: Vec<(PathBuf, Rights)> = Vec::new();
        let lists = [
            (&access.ro, Rights::default()),
            (
                &access.rx,
                Rights {
                    exec: true,
                    write: false,
                },
            ),
            (
                &access.rw,
                Rights {
                    exec: false,
                    write: true,
                },
            ),
        ];
        for (list, rights) in lists {
            for path in list {
                let normal = path.is_absolute()
                    && path
                        .components()
                        .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
                if !normal || path == Path::new("/") {
                    return Err(ConfineError::Path(path.clone()));
                }
                if path.starts_with(STAGING) {
                    return Err(ConfineError::Staging(path.clone()));
                }
                match paths.iter_mut().find(|(p, _)| p == path) {
                    Some((_, r)) => {
                        r.exec |= rights.exec;
                        r.write |= rights.write;
                    }
                    None => paths.push((path.clone(), rights)),
                }
            }
        }
        paths.sort_by_key(|(p, _)| p.components().count());

        let staged = |p: &Path| -> Result<CString, ConfineError> {
            let mut s = STAGING.as_bytes().to_vec();
            s.extend_from_slice(p.as_os_str().as_encoded_bytes());
            Ok(CString::new(s)?)
        };
        let mut mkdirs: Vec<CString> = Vec::new();
        let mut binds = Vec::new();
        for (path, rights) in &paths {
            let inspect = |source| ConfineError::Inspect {
                path: path.clone(),
                source,
            };
            let meta = std::fs::metadata(path)
                .map_err(|e| inspect(Errno::from_raw(e.raw_os_error().unwrap_or(0))))?;
            let dir = meta.is_dir();
            let existing = nix::sys::statvfs::statvfs(path).map_err(inspect)?.flags();
            let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_NOSUID;
            // A device node granted by name (/dev/null, /dev/urandom) must open; anything
            // else gets nodev, so no device node reachable below a grant ever opens.
            if !std::os::unix::fs::FileTypeExt::is_char_device(&meta.file_type()) {
                flags |= libc::MS_NODEV;
            }
            for (st, ms) in [
                (FsFlags::ST_RDONLY, libc::MS_RDONLY),
                (FsFlags::ST_NOEXEC, libc::MS_NOEXEC),
                (FsFlags::ST_NOATIME, libc::MS_NOATIME),
                (FsFlags::ST_NODIRATIME, libc::MS_NODIRATIME),
                (FsFlags::ST_RELATIME, libc::MS_RELATIME),
            ] {
                if existing.contains(st) {
                    flags |= ms;
                }
            }
            if !rights.write {
                flags |= libc::MS_RDONLY;
            }
            if rights.write && !rights.exec {
                flags |= libc::MS_NOEXEC;
            }
            let mut parents: Vec<&Path> = path.ancestors().skip(1).collect();
            parents.reverse();
            let own = if dir { Some(path.as_path()) } else { None };
            for p in parents.into_iter().skip(1).chain(own) {
                let c = staged(p)?;
                if !mkdirs.contains(&c) {
                    mkdirs.push(c);
                }
            }
            binds.push(Bind {
                source: CString::new(path.as_os_str().as_encoded_bytes())?,
                target: staged(path)?,
                dir,
                flags,
            });
        }
        let (sync_r, sync_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(ConfineError::Pipe)?;
        let privileged = Uid::effective().is_root();
        let (uid, gid) = identity.unwrap_or((Uid::effective(), Gid::effective()));
        Ok(Self {
            staging: CString::new(STAGING)?,
            mkdirs,
            binds,
            uid,
            gid,
            privileged,
            sync_r,
            sync_w: Some(sync_w),
        })
    }
}

/// Creates the child: a plain `fork` for Landlock, `clone` into new namespaces otherwise. In
/// the parent, the namespaced child's uid and gid maps are written before it may go on; if
/// that fails the child is killed and reaped and the error says which write was refused.
///
/// # Safety
/// As `fork`: the caller must be single-threaded, and the child may only make system calls
/// until it execs or exits.
pub unsafe fn fork(ns: Option<&mut Namespaces>) -> Result<ForkResult, String> {
    let Some(ns) = ns else {
        // SAFETY: the caller's contract is fork's.
        return unsafe { nix::unistd::fork() }.map_err(|e| format!("fork failed: {e}"));
    };
    // SAFETY: clone without CLONE_VM and with a NULL stack behaves as fork: the child gets a
    // copy of the address space and continues here on its own copy of the stack. The
    // caller's contract (single-threaded, the child only makes system calls) is fork's.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::c_ulong::try_from(CLONE_FLAGS | libc::SIGCHLD).unwrap_or(0),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0usize,
        )
    };
    if ret < 0 {
        return Err(format!(
            "cannot create the sandbox's user, mount, PID, network and IPC namespaces (clone: {}); \
             the profile's confinement is `namespaces` and nothing runs without it",
            Errno::last()
        ));
    }
    if ret == 0 {
        // The child's copy of the write end closes here (one close, nothing allocated), so
        // that if the parent dies before releasing it, its read in [`released`] ends at EOF.
        drop(ns.sync_w.take());
        return Ok(ForkResult::Child);
    }
    let child = Pid::from_raw(i32::try_from(ret).unwrap_or(i32::MAX));
    let maps = write_maps(child, ns);
    // The child reads the byte (or end of file, if the maps failed) from its own copy.
    let sync_w = ns.sync_w.take();
    let result = match (&maps, &sync_w) {
        (Ok(()), Some(w)) => nix::unistd::write(w, &[1]).map(drop).map_err(|e| {
            format!("cannot release the sandbox's child: {e}; the program was not run")
        }),
        (Ok(()), None) => Err("the namespace plan was used twice".to_owned()),
        (Err(e), _) => Err(format!(
            "cannot map the sandbox's user namespace: {e}; the program was not run"
        )),
    };
    drop(sync_w);
    if let Err(e) = result {
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
        return Err(e);
    }
    Ok(ForkResult::Parent { child })
}

/// One line each: the program's ids map to the same numbers outside. An unprivileged parent
/// owns the new namespace and may map its own ids only, once `setgroups` is denied; a root
/// parent keeps `setgroups` so the child can empty its supplementary groups.
fn write_maps(child: Pid, ns: &Namespaces) -> Result<(), String> {
    let write = |name: &str, text: String| {
        let path = format!("/proc/{child}/{name}");
        std::fs::write(&path, text).map_err(|e| format!("{path}: {e}"))
    };
    if !ns.privileged {
        write("setgroups", "deny".to_owned())?;
    }
    write("gid_map", format!("{0} {0} 1\n", ns.gid))?;
    write("uid_map", format!("{0} {0} 1\n", ns.uid))
}

/// A failed namespace step in the child: which, and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// The parent died (or could not map) before releasing the child.
    Release,
    Identity(Errno),
    Mount(Errno),
    PivotRoot(Errno),
}

/// The child's first namespace step, right after arming the parent-death signal (its own copy
/// of the write end was closed by [`fork`]): wait for the
/// parent's maps. A byte proves the parent was alive after the signal was armed (inside the
/// new PID namespace `getppid` is 0 whatever happens to the parent).
pub fn released(ns: &Namespaces) -> Result<(), Failed> {
    let mut b = [0u8; 1];
    match nix::unistd::read(&ns.sync_r, &mut b) {
        Ok(1) => Ok(()),
        _ => Err(Failed::Release),
    }
}

/// The child, after its resource limits and before its capabilities are dropped (it needs
/// `CAP_SYS_ADMIN` in its own user namespace for the mounts): takes the program's ids, builds
/// the new root and pivots into it. Only system calls on buffers prepared by [`Namespaces::prepare`].
pub fn enter(ns: &Namespaces) -> Result<(), Failed> {
    // The ids first: files created in the staging tmpfs need an owner mapped in the namespace,
    // and a root runner's child still has uid 0 outside, which is mapped to nothing.
    if ns.privileged {
        nix::unistd::setgroups(&[]).map_err(Failed::Identity)?;
    }
    nix::unistd::setresgid(ns.gid, ns.gid, ns.gid).map_err(Failed::Identity)?;
    nix::unistd::setresuid(ns.uid, ns.uid, ns.uid).map_err(Failed::Identity)?;

    // Nothing mounted here propagates back to the pod's mounts, nor theirs to here.
    mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None).map_err(Failed::Mount)?;
    mount(
        Some(c"tmpfs"),
        &ns.staging,
        Some(c"tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(c"mode=0755,size=64k,nr_inodes=1024"),
    )
    .map_err(Failed::Mount)?;
    for d in &ns.mkdirs {
        match nix::unistd::mkdir(
            d.as_c_str(),
            nix::sys::stat::Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(Failed::Mount(e)),
        }
    }
    for b in &ns.binds {
        if !b.dir {
            // O_RDONLY: an existing file on a read-only bind below is opened, not refused.
            let fd = nix::fcntl::open(
                b.target.as_c_str(),
                nix::fcntl::OFlag::O_CREAT
                    | nix::fcntl::OFlag::O_RDONLY
                    | nix::fcntl::OFlag::O_CLOEXEC
                    | nix::fcntl::OFlag::O_NOFOLLOW,
                nix::sys::stat::Mode::from_bits_truncate(0o644),
            )
            .map_err(Failed::Mount)?;
            drop(fd);
        }
        // Not recursive: a mount below a granted directory stays hidden rather than appearing
        // with flags of its own (a user namespace refuses this if it would uncover anything).
        mount(Some(&b.source), &b.target, None, libc::MS_BIND, None).map_err(Failed::Mount)?;
        mount(None, &b.target, None, b.flags, None).map_err(Failed::Mount)?;
    }
    let sealed = libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV;
    mount(None, &ns.staging, None, sealed | libc::MS_NOEXEC, None).map_err(Failed::Mount)?;
    // pivot_root(".", "."): the old root ends up on top of the new one and is detached at once,
    // so no directory for it is needed and nothing of it stays reachable.
    nix::unistd::chdir(ns.staging.as_c_str()).map_err(Failed::PivotRoot)?;
    // SAFETY: pivot_root and umount2 take NUL-terminated paths that outlive the calls.
    Errno::result(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) })
        .map_err(Failed::PivotRoot)?;
    // SAFETY: as above.
    Errno::result(unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) })
        .map_err(Failed::PivotRoot)?;
    nix::unistd::chdir(c"/").map_err(Failed::PivotRoot)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(ro: &[&str], rx: &[&str], rw: &[&str]) -> Access3 {
        let v = |l: &[&str]| l.iter().map(PathBuf::from).collect();
        Access3 {
            ro: v(ro),
            rx: v(rx),
            rw: v(rw),
        }
    }

    #[test]
    fn binds_go_parents_first_with_the_rights_merged() {
        let ns = Namespaces::prepare(
            &access(
                &["/usr/lib", "/etc/hostname"],
                &["/usr/bin/env"],
                &["/usr/lib"],
            ),
            None,
        )
        .unwrap();
        let targets: Vec<_> = ns
            .binds
            .iter()
            .map(|b| b.target.to_str().unwrap())
            .collect();
        assert_eq!(
            targets,
            ["/proc/usr/lib", "/proc/etc/hostname", "/proc/usr/bin/env"]
        );
        let lib = &ns.binds[0];
        assert!(lib.dir);
        assert_eq!(lib.flags & libc::MS_NOEXEC, libc::MS_NOEXEC, "rw is noexec");
        assert_eq!(ns.binds[2].flags & libc::MS_RDONLY, libc::MS_RDONLY);
        assert_eq!(ns.binds[2].flags & libc::MS_NOEXEC, 0, "rx executes");
        let dirs: Vec<_> = ns.mkdirs.iter().map(|d| d.to_str().unwrap()).collect();
        assert_eq!(
            dirs,
            ["/proc/usr", "/proc/usr/lib", "/proc/etc", "/proc/usr/bin"]
        );
    }

    #[test]
    fn refuses_paths_that_would_escape_or_hide_the_root() {
        for bad in ["/usr/../etc", "relative", "/"] {
            let e = Namespaces::prepare(&access(&[bad], &[], &[]), None).unwrap_err();
            assert!(matches!(e, ConfineError::Path(_)), "{bad}: {e}");
        }
        let e = Namespaces::prepare(&access(&["/proc/self"], &[], &[]), None).unwrap_err();
        assert!(matches!(e, ConfineError::Staging(_)), "{e}");
    }
}
