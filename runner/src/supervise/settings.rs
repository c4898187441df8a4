//! Settings: a spec resolved against a profile, everything a run needs with nothing left
//! optional, and what follows from them before the fork (rlimits, the blank report).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::sys::resource::Resource;
use nix::unistd::{Gid, Uid};

use super::files::{OutputDir, parent_of};
use crate::confine::Confinement;
use crate::profile::{Profile, SECCOMP_SHA256, SeccompDefault};
use crate::report::{AppliedLimits, Enforcement, Report};
use crate::sandbox::{Access3, Rlimit};
use crate::spec::{RunSpec, SpecError};

/// Where a program's standard input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdinFrom {
    /// A file the runner opens (`/dev/null` unless the spec names one).
    File(PathBuf),
    /// The runner's own standard input, only when the spec asks for it.
    Inherit,
}

/// A spec resolved against a profile: everything needed to run, nothing left optional.
#[derive(Debug, Clone)]
pub struct Settings {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub access: Access3,
    pub limits: AppliedLimits,
    pub stack_bytes: u64,
    pub identity: Option<(Uid, Gid)>,
    pub min_landlock_abi: u32,
    pub confinement: Confinement,
    pub seccomp_default: SeccompDefault,
    /// Names from the profile's `rlimits_runtime_may_refuse`.
    pub rlimits_runtime_may_refuse: Vec<String>,
    pub stdin: StdinFrom,
    pub stdout: Option<PathBuf>,
    pub stderr: Option<PathBuf>,
    pub profile_sha256: String,
}

fn canonical_or_self(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned())
}

impl Settings {
    /// Resolves a spec against a profile. `report` is where the report will be written:
    /// refused when the program could write there.
    pub fn resolve(
        spec: &RunSpec,
        profile: &Profile,
        report: Option<&Path>,
    ) -> Result<Self, SpecError> {
        let bad = |m: String| Err(SpecError::Invalid(m));
        let limits = spec.limits.resolve(&profile.limits);

        // Profile paths are defaults for several systems: missing ones grant nothing and are
        // skipped. Paths the caller names must exist: a typo must not silently lose a grant.
        let existing = |v: &[PathBuf]| v.iter().filter(|p| p.exists()).cloned().collect::<Vec<_>>();
        let mut access = Access3 {
            ro: existing(&profile.paths.ro),
            rx: existing(&profile.paths.rx),
            rw: existing(&profile.paths.rw),
        };
        for (given, into) in [
            (&spec.paths.ro, &mut access.ro),
            (&spec.paths.rx, &mut access.rx),
            (&spec.paths.rw, &mut access.rw),
        ] {
            for p in given {
                if !p.exists() {
                    return bad(format!("path {} does not exist", p.display()));
                }
                // The same path twice in one list is the same rule twice: the ruleset is
                // built with one open, two fstat, the rule and a close for each.
                if !into.contains(p) {
                    into.push(p.clone());
                }
            }
        }
        let program = PathBuf::from(&spec.program[0]);
        if !program.is_file() {
            return bad(format!("program {} is not a file", program.display()));
        }
        if !access.rx.contains(&program) {
            access.rx.push(program);
        }

        // The report and the captured output must live where the program cannot write: judged
        // on the opened directory (or the nearest one that exists), by device and inode.
        let rw_dirs: Vec<PathBuf> = spec.paths.rw.iter().map(|p| canonical_or_self(p)).collect();
        for (what, path) in [
            ("report", report),
            ("stdout", spec.stdout.as_deref()),
            ("stderr", spec.stderr.as_deref()),
        ] {
            let Some(path) = path else { continue };
            let dir = OutputDir::nearest(parent_of(path)).map_err(|e| {
                SpecError::Invalid(format!(
                    "the {what} file's directory {} cannot be opened: {e}",
                    parent_of(path).display()
                ))
            })?;
            let inside = dir.within(&spec.paths.rw).map_err(|e| {
                SpecError::Invalid(format!(
                    "cannot check where the {what} file's directory {} lies: {e}",
                    parent_of(path).display()
                ))
            })?;
            if let Some(rw) = inside {
                return bad(format!(
                    "the {what} file would be inside the writable path {}: the program could tamper with it",
                    rw.display()
                ));
            }
        }

        let cwd = match &spec.cwd {
            Some(c) => c.clone(),
            None => spec
                .paths
                .rw
                .iter()
                .find(|p| p.is_dir())
                .cloned()
                .unwrap_or_else(|| PathBuf::from("/")),
        };
        // Later sources override earlier ones: profile set, passed-through names, the
        // writable working directory as HOME and TMPDIR, then the spec's own variables.
        let mut env: BTreeMap<String, String> = profile.env.set.clone();
        for name in &profile.env.pass {
            if let Ok(v) = std::env::var(name) {
                env.insert(name.clone(), v);
            }
        }
        if rw_dirs
            .iter()
            .any(|rw| canonical_or_self(&cwd).starts_with(rw))
        {
            let dir = cwd.display().to_string();
            env.insert("HOME".into(), dir.clone());
            env.insert("TMPDIR".into(), dir);
        }
        env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let env = env.into_iter().collect();

        let identity = nix::unistd::geteuid().is_root().then(|| {
            (
                Uid::from_raw(profile.identity.uid),
                Gid::from_raw(profile.identity.gid),
            )
        });
        Ok(Self {
            argv: spec.program.clone(),
            env,
            cwd,
            access,
            limits,
            stack_bytes: profile.limits.stack.bytes(),
            identity,
            min_landlock_abi: profile.min_landlock_abi,
            confinement: profile.confinement,
            seccomp_default: profile.seccomp_default,
            rlimits_runtime_may_refuse: profile.rlimits_runtime_may_refuse.clone(),
            stdin: match (&spec.stdin, spec.inherit_stdin) {
                (_, true) => StdinFrom::Inherit,
                (Some(p), false) => StdinFrom::File(p.clone()),
                (None, false) => StdinFrom::File(PathBuf::from("/dev/null")),
            },
            stdout: spec.stdout.clone(),
            stderr: spec.stderr.clone(),
            profile_sha256: profile.sha256.clone(),
        })
    }

    /// The rlimits of step 5, from the applied limits.
    pub(super) fn rlimits(&self) -> Vec<Rlimit> {
        let l = &self.limits;
        // RLIMIT_CPU counts whole seconds: it is the backstop (SIGXCPU, then SIGKILL a second
        // later even if the program handles SIGXCPU); the sampler enforces the exact limit.
        // A second past the limit, because the kernel's RLIMIT_CPU accounting can run ahead
        // of the measured CPU time: a program making many short system calls got SIGXCPU at
        // 1.75 s of a 2 s limit (`cpu_syscalls_under_limit`).
        let cpu_s = l.cpu_ms.div_ceil(1000).max(1) + 1;
        let may_refuse = |resource: Resource| {
            self.rlimits_runtime_may_refuse
                .iter()
                .any(|n| format!("{resource:?}") == *n)
        };
        let r = |resource, soft, hard| Rlimit {
            resource,
            soft,
            hard,
            may_refuse: may_refuse(resource),
        };
        let same = |resource, v| r(resource, v, v);
        vec![
            same(Resource::RLIMIT_AS, l.address_space_bytes),
            r(Resource::RLIMIT_CPU, cpu_s, cpu_s + 1),
            // One byte over the limit: a file that reaches limit+1 proves a write went past
            // the limit, which is what the post-run scan looks for (Python ignores SIGXFSZ).
            same(Resource::RLIMIT_FSIZE, l.file_size_bytes.saturating_add(1)),
            same(Resource::RLIMIT_NOFILE, l.open_files),
            same(Resource::RLIMIT_STACK, self.stack_bytes),
            same(Resource::RLIMIT_CORE, 0),
            same(Resource::RLIMIT_MEMLOCK, 0),
            same(Resource::RLIMIT_MSGQUEUE, 0),
            same(Resource::RLIMIT_LOCKS, 0),
            same(Resource::RLIMIT_RTPRIO, 0),
            same(Resource::RLIMIT_RTTIME, 0),
            same(Resource::RLIMIT_SIGPENDING, 64),
        ]
    }

    /// A report with everything known before the run.
    pub(super) fn blank_report(&self) -> Report {
        let (uid, gid) = self.identity.map_or_else(
            || {
                (
                    nix::unistd::geteuid().as_raw(),
                    nix::unistd::getegid().as_raw(),
                )
            },
            |(u, g)| (u.as_raw(), g.as_raw()),
        );
        let mut report = Report::not_run(String::new());
        report.limits = self.limits.clone();
        report.enforced = Enforcement {
            runner_version: env!("CARGO_PKG_VERSION").to_owned(),
            landlock_abi: None,
            landlock_status: "not_applied".into(),
            confinement: None,
            seccomp_default: None,
            seccomp_policy_sha256: SECCOMP_SHA256.to_owned(),
            profile_sha256: self.profile_sha256.clone(),
            uid,
            gid,
            no_new_privs: false,
            capabilities_dropped: false,
        };
        report
    }
}
