//! The sandbox profile (policies/sandbox/*.toml) and the embedded seccomp policy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::confine::Confinement;
use crate::units::{Secs, Size};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_policy.rs"));
}

pub use embedded::{CONTAINER_JSON, PROFILE_SHA256, SECCOMP_JSON, SECCOMP_SHA256};

/// The compiled seccomp program for `default`, installed once: it decides what the policy's
/// two filters, `enosys` then `main`, would decide together if installed one after the other
/// (runner/build.rs merges them and proves it; with `kill_process`, every USER_NOTIF of `main`
/// is a KILL_PROCESS before the merge).
pub fn seccomp_filter(default: SeccompDefault) -> Vec<seccompiler::sock_filter> {
    let insns = match default {
        SeccompDefault::Notify => embedded::FILTER_NOTIFY,
        SeccompDefault::KillProcess => embedded::FILTER_KILL_PROCESS,
    };
    insns
        .iter()
        .map(|&(code, jt, jf, k)| seccompiler::sock_filter { code, jt, jf, k })
        .collect()
}

/// Where in the `notify` program a call arrives once the `enosys` rules have let it through:
/// the place of the allocation guard (`notify::with_allocation_guard`), so a request those
/// rules refuse keeps their ERRNO.
pub const ALLOCATION_GUARD_AT: usize = embedded::FILTER_NOTIFY_GUARD_AT;

/// The two filters as they were installed before the build merged them (seccompiler's
/// programs, the x32 guard in front of `main`): what the merged program is compared with.
#[cfg(test)]
pub fn two_filters() -> [Vec<seccompiler::sock_filter>; 2] {
    [embedded::TWO_FILTERS_ENOSYS, embedded::TWO_FILTERS_MAIN].map(|insns| {
        insns
            .iter()
            .map(|&(code, jt, jf, k)| seccompiler::sock_filter { code, jt, jf, k })
            .collect()
    })
}

/// The limits a profile may let the runtime refuse: what each guards is out of reach anyway
/// (the seccomp allowlist has no mq_open, no sched_setscheduler, no rt_sigqueueinfo, no flock
/// and kills fcntl locks; RLIMIT_RTPRIO 0 is still set).
pub const REFUSABLE_RLIMITS: [&str; 4] = [
    "RLIMIT_MSGQUEUE",
    "RLIMIT_RTTIME",
    "RLIMIT_SIGPENDING",
    "RLIMIT_LOCKS",
];

/// How a call outside the seccomp allowlist ends: the profile names it, the runner applies
/// exactly that (never one in place of the other), and the report says which was in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeccompDefault {
    /// `SECCOMP_RET_USER_NOTIF`: the call stops before it runs and the supervisor names it in
    /// the report (`crate::notify`). Needs `SECCOMP_FILTER_FLAG_NEW_LISTENER`, which gVisor
    /// refuses (EINVAL).
    Notify,
    /// `SECCOMP_RET_KILL_PROCESS`: the kernel kills the program with SIGSYS before the call
    /// runs; the verdict is still `policy_violation`, but the call is not named, and an
    /// allocation over the address-space limit is an ENOMEM the program sees, not a
    /// `memory_limit` stop.
    KillProcess,
}

impl SeccompDefault {
    pub fn name(self) -> &'static str {
        match self {
            Self::Notify => "notify",
            Self::KillProcess => "kill_process",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid profile {origin}: {source}")]
    Parse {
        origin: String,
        source: toml::de::Error,
    },
    #[error("invalid profile {origin}: {why}")]
    Invalid { origin: String, why: String },
    /// The build's JSON form of the embedded profile did not read back: a build defect.
    #[error("the embedded profile's JSON form does not read back: {0}")]
    EmbeddedJson(#[source] serde_json::Error),
}

/// A sandbox profile: defaults every run starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub version: u32,
    /// What keeps the program to its granted paths: `landlock`, or `namespaces` where the
    /// kernel has no Landlock (gVisor). Named, never inferred from the kernel.
    pub confinement: Confinement,
    /// 0 exactly when `confinement` is `namespaces`, which applies no Landlock at all.
    pub min_landlock_abi: u32,
    /// How a call outside the allowlist ends: `notify` (named by the supervisor) or
    /// `kill_process` (SIGSYS from the kernel, for runtimes without seccomp user notification
    /// such as gVisor).
    pub seccomp_default: SeccompDefault,
    /// Resource limits the container runtime may refuse to set, each one's purpose covered by
    /// another wall (gVisor cannot set RLIMIT_MSGQUEUE, RLIMIT_RTTIME, RLIMIT_SIGPENDING or
    /// RLIMIT_LOCKS). A refusal of any other limit still stops the run.
    #[serde(default)]
    pub rlimits_runtime_may_refuse: Vec<String>,
    pub identity: Identity,
    pub limits: ProfileLimits,
    pub paths: ProfilePaths,
    pub env: ProfileEnv,
    /// sha256 of the profile text, filled in when loaded.
    #[serde(skip)]
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

/// The profile's defaults for what a run's [`crate::spec::Limits`] leaves out (resolved by
/// [`crate::spec::Limits::resolve`]), and the stack and address-space headroom no request sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileLimits {
    pub wall_time: Secs,
    pub cpu_time: Secs,
    pub memory: Size,
    pub address_space_headroom: Size,
    pub output: Size,
    pub file_size: Size,
    pub open_files: u64,
    pub stack: Size,
    /// Bytes and entries the writable paths may hold in all.
    pub disk: Size,
    pub disk_inodes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePaths {
    #[serde(default)]
    pub ro: Vec<PathBuf>,
    #[serde(default)]
    pub rx: Vec<PathBuf>,
    #[serde(default)]
    pub rw: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileEnv {
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub pass: Vec<String>,
}

impl Profile {
    /// The profile compiled into this runner, read from the JSON form the build made of
    /// `PROFILE_TOML` (the same values; a test compares them) and checked as any profile is.
    pub fn embedded() -> Result<Self, ProfileError> {
        let p = serde_json::from_str(embedded::PROFILE_JSON).map_err(ProfileError::EmbeddedJson)?;
        Self::checked(p, "(embedded default)", PROFILE_SHA256.to_owned())
    }

    pub fn from_file(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let sha = crate::sha256_hex(text.as_bytes());
        Self::parse(&text, &path.display().to_string(), sha)
    }

    /// A profile given as text (the launcher checks the one its cluster settings ship).
    pub fn from_text(text: &str, origin: &str) -> Result<Self, ProfileError> {
        Self::parse(text, origin, crate::sha256_hex(text.as_bytes()))
    }

    /// The embedded profile, or the file named.
    pub fn load(path: Option<&Path>) -> Result<Self, ProfileError> {
        path.map_or_else(Self::embedded, Self::from_file)
    }

    fn parse(text: &str, origin: &str, sha256: String) -> Result<Self, ProfileError> {
        let p: Self = toml::from_str(text).map_err(|source| ProfileError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
        Self::checked(p, origin, sha256)
    }

    /// What a profile must hold beyond its shape.
    fn checked(mut p: Self, origin: &str, sha256: String) -> Result<Self, ProfileError> {
        p.sha256 = sha256;
        let invalid = |why: String| {
            Err(ProfileError::Invalid {
                origin: origin.to_owned(),
                why,
            })
        };
        if p.version != 1 {
            return invalid(format!("version {} is not supported", p.version));
        }
        match (p.confinement, p.min_landlock_abi) {
            (Confinement::Landlock, 0) => {
                return invalid(
                    "min_landlock_abi must be at least 1 when confinement is `landlock`".into(),
                );
            }
            (Confinement::Namespaces, n) if n != 0 => {
                return invalid(format!(
                    "min_landlock_abi is {n} but confinement `namespaces` applies no Landlock: \
                     set it to 0"
                ));
            }
            _ => {}
        }
        if let Some(r) = p
            .rlimits_runtime_may_refuse
            .iter()
            .find(|r| !REFUSABLE_RLIMITS.contains(&r.as_str()))
        {
            return invalid(format!(
                "rlimits_runtime_may_refuse names {r}: only {} may be left to the runtime",
                REFUSABLE_RLIMITS.join(", ")
            ));
        }
        if p.identity.uid == 0 || p.identity.gid == 0 {
            return invalid("identity must not be root".into());
        }
        let paths = p.paths.ro.iter().chain(&p.paths.rx).chain(&p.paths.rw);
        if let Some(rel) = paths.into_iter().find(|p| !p.is_absolute()) {
            return invalid(format!("path {} must be absolute", rel.display()));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_profile_is_valid() {
        let p = Profile::embedded().unwrap();
        assert!(
            p.min_landlock_abi >= 6,
            "scoping is what keeps a same-uid program from signalling the runner"
        );
        assert_eq!(p.identity.uid, 65532);
        assert!(
            p.paths.rw.iter().all(|p| p == Path::new("/dev/null")),
            "nothing writable by default"
        );
        assert!(
            !p.paths
                .ro
                .iter()
                .any(|p| p == Path::new("/etc") || p == Path::new("/proc") || p == Path::new("/"))
        );
    }

    #[test]
    fn the_embedded_json_holds_the_same_profile_as_the_toml() {
        let from_toml = Profile::parse(
            embedded::PROFILE_TOML,
            "(embedded default)",
            PROFILE_SHA256.to_owned(),
        )
        .unwrap();
        assert_eq!(Profile::embedded().unwrap(), from_toml);
    }

    #[test]
    fn embedded_filters_start_with_the_x32_guard() {
        for default in [SeccompDefault::Notify, SeccompDefault::KillProcess] {
            let prog = seccomp_filter(default);
            // ld nr; jge 0x40000000 -> kill
            assert_eq!((prog[4].code, prog[4].k), (0x35, 0x4000_0000));
            assert_eq!(prog[5].k, 0x8000_0000);
        }
        const { assert!(ALLOCATION_GUARD_AT > 6) };
        assert!(ALLOCATION_GUARD_AT < seccomp_filter(SeccompDefault::Notify).len());
    }

    #[test]
    fn profile_rejects_unknown_keys_and_root() {
        let text = Profile::embedded().map(|_| embedded::PROFILE_TOML).unwrap();
        let e = Profile::parse(&text.replace("uid = 65532", "uid = 0"), "t", String::new())
            .unwrap_err();
        assert!(e.to_string().contains("root"), "{e}");
        let e = Profile::parse(&format!("{text}\nextra = 1\n"), "t", String::new()).unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
    }

    #[test]
    fn confinement_is_named_and_agrees_with_the_landlock_minimum() {
        let text = embedded::PROFILE_TOML;
        assert_eq!(
            Profile::embedded().unwrap().confinement,
            Confinement::Landlock
        );
        let ns = text.replace("confinement = \"landlock\"", "confinement = \"namespaces\"");
        let e = Profile::parse(&ns, "t", String::new()).unwrap_err();
        assert!(e.to_string().contains("set it to 0"), "{e}");
        let ns = ns.replace("min_landlock_abi = 6", "min_landlock_abi = 0");
        assert_eq!(
            Profile::parse(&ns, "t", String::new()).unwrap().confinement,
            Confinement::Namespaces
        );
        let e = Profile::parse(
            &ns.replace("\"namespaces\"", "\"landlock\""),
            "t",
            String::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("at least 1"), "{e}");
        let e = Profile::parse(
            &ns.replace("\"namespaces\"", "\"chroot\""),
            "t",
            String::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("chroot"), "{e}");
        assert_eq!(
            Profile::embedded().unwrap().seccomp_default,
            SeccompDefault::Notify
        );
        let kill = text.replace(
            "seccomp_default = \"notify\"",
            "seccomp_default = \"kill_process\"",
        );
        assert_eq!(
            Profile::parse(&kill, "t", String::new())
                .unwrap()
                .seccomp_default,
            SeccompDefault::KillProcess
        );
        for bad in ["seccomp_default = \"errno\"\n", ""] {
            let t = text.replace("seccomp_default = \"notify\"\n", bad);
            let e = Profile::parse(&t, "t", String::new()).unwrap_err();
            assert!(e.to_string().contains("seccomp_default"), "{e}");
        }
        let missing = text.replace("confinement = \"landlock\"\n", "");
        let e = Profile::parse(&missing, "t", String::new()).unwrap_err();
        assert!(e.to_string().contains("confinement"), "{e}");
    }
}
