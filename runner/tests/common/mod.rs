//! What the runner's integration-test harnesses share (`mod common;` in each): the error type
//! and `ensure!`, the two ways of starting the runner, file helpers that report the path on
//! failure, and the `# key: value` headers of test programs.

// Each test binary compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub(crate) const RUNNER: &str = env!("CARGO_BIN_EXE_runner");
pub(crate) const SETPRIV: &str = "/usr/bin/setpriv";
pub(crate) const SANDBOX_UID: u32 = 65532;

/// A check's outcome: the error is the message the failed trial prints.
pub(crate) type Res<T = ()> = Result<T, String>;

/// `ensure!(cond, "format", args...)`: returns `Err(format!(...))` unless `cond` holds.
// Unused, like the re-export below, where a harness asserts instead (seccomp_policy).
#[allow(unused_macros)]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}
#[allow(unused_imports)]
pub(crate) use ensure;

// ---------------------------------------------------------------------------------------------
// Modes

/// How the runner is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The runner as the test runs it (as root it drops every program to uid 65532 itself).
    Root,
    /// The runner already uid 65532 with no capabilities, through setpriv, as in the pod.
    Uid65532,
    /// As `Uid65532`, on a kernel without Landlock as under gVisor: a seccomp filter installed
    /// before the runner starts answers every Landlock call ENOSYS, and the runner runs with
    /// `policies/sandbox/namespaces.toml`. Not in `ALL`: the attack suite adds it.
    Namespaces,
}

/// What the filter around the runner refuses (a kernel or runtime without the feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Without {
    /// landlock_create_ruleset, landlock_add_rule, landlock_restrict_self answer ENOSYS.
    Landlock,
    /// As `Landlock`, and `clone` with CLONE_NEWUSER answers EPERM (a runc pod's profile).
    LandlockAndNamespaces,
    /// As `Landlock`, and `seccomp` with SECCOMP_FILTER_FLAG_NEW_LISTENER answers EINVAL, as
    /// gVisor's runsc does (google/gvisor#14627).
    LandlockAndListener,
}

/// The BPF programs for [`Without`]; everything else is allowed.
pub(crate) fn without_filter(without: Without) -> Vec<seccompiler::BpfProgram> {
    use seccompiler::SeccompCmpArgLen;
    let landlock = [
        libc::SYS_landlock_create_ruleset,
        libc::SYS_landlock_add_rule,
        libc::SYS_landlock_restrict_self,
    ]
    .map(|nr| (nr, vec![]));
    let mut filters = vec![refusing(landlock.into(), libc::ENOSYS)];
    if without == Without::LandlockAndListener {
        filters.push(refusing_when(
            libc::SYS_seccomp,
            (1, SeccompCmpArgLen::Dword),
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            libc::EINVAL,
        ));
    }
    if without == Without::LandlockAndNamespaces {
        filters.push(refusing_when(
            libc::SYS_clone,
            (0, SeccompCmpArgLen::Qword),
            libc::CLONE_NEWUSER as u64,
            libc::EPERM,
        ));
    }
    filters
}

/// `nr` answers `errno` when its argument `arg` (index and width) has every bit of `bits` set.
// The filters are constants: one that does not build is a bug here that every run shows.
#[allow(clippy::expect_used)]
fn refusing_when(
    nr: i64,
    arg: (u8, seccompiler::SeccompCmpArgLen),
    bits: u64,
    errno: i32,
) -> seccompiler::BpfProgram {
    use seccompiler::{SeccompCmpOp, SeccompCondition, SeccompRule};
    let cond = SeccompCondition::new(arg.0, arg.1, SeccompCmpOp::MaskedEq(bits), bits)
        .expect("a seccomp condition");
    let rule = SeccompRule::new(vec![cond]).expect("a seccomp rule");
    refusing([(nr, vec![rule])].into(), errno)
}

/// The calls `rules` matches answer `errno`; everything else is allowed.
#[allow(clippy::expect_used)]
fn refusing(
    rules: std::collections::BTreeMap<i64, Vec<seccompiler::SeccompRule>>,
    errno: i32,
) -> seccompiler::BpfProgram {
    use seccompiler::{SeccompAction, SeccompFilter};
    let arch = std::env::consts::ARCH
        .try_into()
        .expect("a seccompiler arch");
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno.cast_unsigned()),
        arch,
    )
    .expect("a seccomp filter");
    filter.try_into().expect("a BPF program")
}

/// Starts `cmd` under the [`Without`] filter: installed in the forked child before it execs,
/// so the runner and everything it starts inherit it.
pub(crate) fn under(cmd: &mut Command, without: Without) {
    use std::os::unix::process::CommandExt as _;
    let filters = without_filter(without);
    // SAFETY: the closure runs between fork and exec; it only calls prctl and seccomp on
    // programs built before the fork, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            for f in &filters {
                seccompiler::apply_filter(f).map_err(|_| std::io::Error::last_os_error())?;
            }
            Ok(())
        });
    }
}

/// The profile the `Namespaces` mode runs with.
pub(crate) fn namespaces_profile() -> PathBuf {
    repo().join("policies/sandbox/namespaces.toml")
}

impl Mode {
    pub(crate) const ALL: [Mode; 2] = [Mode::Root, Mode::Uid65532];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Root => "root",
            Mode::Uid65532 => "uid65532",
            Mode::Namespaces => "namespaces",
        }
    }

    /// Why this mode cannot run here, if it cannot.
    pub(crate) fn unavailable(self) -> Option<String> {
        match self {
            Mode::Root => None,
            Mode::Uid65532 | Mode::Namespaces if !is_root() => Some(format!(
                "{} mode needs the tests to run as root (setpriv changes the uid)",
                self.name()
            )),
            Mode::Uid65532 | Mode::Namespaces if !Path::new(SETPRIV).exists() => {
                Some(format!("{} mode needs {SETPRIV}", self.name()))
            }
            Mode::Uid65532 | Mode::Namespaces => None,
        }
    }

    /// The runner's arguments in this mode: `Namespaces` names its profile after `run`.
    pub(crate) fn args(self, args: &[String]) -> Vec<String> {
        let mut v = args.to_vec();
        if self == Mode::Namespaces && v.first().is_some_and(|a| a == "run") {
            v.splice(
                1..1,
                [
                    "--profile".to_owned(),
                    namespaces_profile().display().to_string(),
                ],
            );
        }
        v
    }

    /// The command that starts the runner in this mode.
    pub(crate) fn command(self) -> Command {
        match self {
            Mode::Root => Command::new(RUNNER),
            Mode::Uid65532 | Mode::Namespaces => {
                let mut c = Command::new(SETPRIV);
                c.args([
                    "--reuid",
                    "65532",
                    "--regid",
                    "65532",
                    "--clear-groups",
                    "--inh-caps=-all",
                    "--bounding-set=-all",
                    "--",
                    RUNNER,
                ]);
                if self == Mode::Namespaces {
                    under(&mut c, Without::Landlock);
                }
                c
            }
        }
    }
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

// ---------------------------------------------------------------------------------------------
// Files

/// The repository's root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh temporary directory, 0755 (not mkdtemp's 0700) so that uid 65532 can reach inside.
pub(crate) fn temp_dir(prefix: &str) -> Res<tempfile::TempDir> {
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    chmod(tmp.path(), 0o755)?;
    Ok(tmp)
}

pub(crate) fn chmod(path: &Path, mode: u32) -> Res {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// Creates one directory, which must not exist yet, with this mode.
pub(crate) fn mkdir(path: &Path, mode: u32) -> Res {
    fs::create_dir(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
    chmod(path, mode)
}

/// Creates a directory and any missing parent; the last one gets this mode.
pub(crate) fn mkdir_all(path: &Path, mode: u32) -> Res {
    fs::create_dir_all(path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
    chmod(path, mode)
}

pub(crate) fn write(path: &Path, text: &str, mode: u32) -> Res {
    fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    chmod(path, mode)
}

/// Copies a file, world-readable (0644).
pub(crate) fn copy(from: &Path, to: &Path) -> Res {
    fs::copy(from, to).map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))?;
    chmod(to, 0o644)
}

pub(crate) fn read(path: &Path) -> Res<Vec<u8>> {
    fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))
}

/// A file's text, invalid UTF-8 replaced; empty when it cannot be read.
pub(crate) fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

pub(crate) fn read_json(path: &Path) -> Res<Value> {
    serde_json::from_slice(&read(path)?).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

/// The names in a directory.
pub(crate) fn names(dir: &Path) -> Res<BTreeSet<String>> {
    fs::read_dir(dir)
        .map_err(|e| format!("list {}: {e}", dir.display()))?
        .map(|e| {
            e.map(|e| e.file_name().to_string_lossy().into_owned())
                .map_err(|e| e.to_string())
        })
        .collect()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first and the last `n` characters of a long text, for failure messages.
pub(crate) fn head_tail(text: &str, n: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 2 * n {
        return text.to_owned();
    }
    let head: String = chars[..n].iter().collect();
    let tail: String = chars[chars.len() - n..].iter().collect();
    format!("{head}\n[... {} bytes ...]\n{tail}", text.len())
}

// ---------------------------------------------------------------------------------------------
// Test programs

/// A test program's name: its file name without `.py`.
pub(crate) fn stem(path: &Path) -> Res<String> {
    Ok(path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| format!("{}: bad name", path.display()))?
        .to_owned())
}

/// The `# key: value` lines a test program starts with, keys and values trimmed: up to the
/// first line that is not a comment, skipping comment lines without a colon.
pub(crate) fn header_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .map_while(|line| line.strip_prefix('#'))
        .filter_map(|rest| rest.trim().split_once(':'))
        .map(|(key, value)| (key.trim(), value.trim()))
}
