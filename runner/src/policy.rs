//! `runner policy`: the effective policy, readable by a reviewer without reading Rust.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::confine::Confinement;
use crate::profile::{
    CONTAINER_JSON, Profile, ProfileError, SECCOMP_JSON, SECCOMP_SHA256, SeccompDefault,
};
use crate::sandbox::kernel_landlock_abi;

/// One rule of the seccomp JSON, flattened for display.
struct Rule {
    filter: String,
    syscall: String,
    condition: String,
    comment: String,
}

fn rules(doc: &Value) -> Vec<Rule> {
    let mut out = Vec::new();
    let Some(filters) = doc.as_object() else {
        return out;
    };
    for (name, f) in filters {
        for r in f
            .get("filter")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cond = r
                .get("args")
                .and_then(Value::as_array)
                .map(|args| {
                    args.iter()
                        .map(|a| {
                            let op = match &a["op"] {
                                Value::String(s) => s.clone(),
                                Value::Object(o) => {
                                    o.iter().map(|(k, v)| format!("{k}({v})")).collect()
                                }
                                other => other.to_string(),
                            };
                            let why = a.get("comment").and_then(Value::as_str).unwrap_or("");
                            format!("arg{} {op} {} ({why})", a["index"], a["val"])
                        })
                        .collect::<Vec<_>>()
                        .join(" and ")
                })
                .unwrap_or_default();
            out.push(Rule {
                filter: name.clone(),
                syscall: r["syscall"].as_str().unwrap_or("?").to_owned(),
                condition: cond,
                comment: r
                    .get("comment")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            });
        }
    }
    out
}

/// The container-wide seccomp profile (OCI format, for a Kubernetes `Localhost` profile),
/// generated from the same files as the runner's own filter so the two cannot drift: every
/// call the sandboxed program may make (`main`), plus the supervisor's own calls. Argument
/// conditions are left to the inner filter; clone3 answers ENOSYS here too so glibc falls back
/// to clone; anything else fails with EPERM; only the x86_64 ABI is admitted (no x32, no i386).
pub fn oci_profile() -> Value {
    let mut names: Vec<String> = [SECCOMP_JSON, CONTAINER_JSON]
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .flat_map(|doc| rules(&doc))
        .filter(|r| r.filter != "enosys" && r.syscall != "clone3")
        .map(|r| r.syscall)
        .collect();
    names.sort();
    names.dedup();
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            { "names": names, "action": "SCMP_ACT_ALLOW" },
            { "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 },
        ],
    })
}

/// [`oci_profile`] as the text committed under policies/kubernetes/seccomp/.
pub fn oci_profile_text() -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(&oci_profile()).unwrap_or_default()
    )
}

/// Why `runner policy --seccomp-bpf` printed nothing.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Program(#[from] crate::sandbox::PrepareError),
}

/// The seccomp program `runner run` installs under this profile with its default limits (the
/// allocation guard at the profile's address-space limit included), in the form `tcpdump -ddd`
/// prints a BPF program: the instruction count, then `code jt jf k` in decimal, one
/// instruction a line. The bytes the kernel is given, for a reviewer's disassembler and for
/// bench/hardening_floor.c, which installs the same program.
pub fn seccomp_bpf_text(profile_path: Option<&Path>) -> Result<String, BpfError> {
    let profile = Profile::load(profile_path)?;
    let limits = crate::spec::Limits::default().resolve(&profile.limits);
    let program =
        crate::sandbox::seccomp_program(profile.seccomp_default, Some(limits.address_space_bytes))?;
    let mut s = format!("{}\n", program.len());
    for i in &program {
        let _ = writeln!(s, "{} {} {} {}", i.code, i.jt, i.jf, i.k);
    }
    Ok(s)
}

/// The version of `runner policy --json`'s document.
pub const POLICY_VERSION: u32 = 1;

/// The effective policy, as text for a reviewer or as JSON (`version` [`POLICY_VERSION`]).
pub fn render(profile_path: Option<&Path>, as_json: bool) -> Result<String, ProfileError> {
    let profile = Profile::load(profile_path)?;
    let doc: Value = serde_json::from_str(SECCOMP_JSON).unwrap_or(Value::Null);
    let kernel_abi = kernel_landlock_abi().ok();
    if as_json {
        let v = json!({
            "version": POLICY_VERSION,
            "runner_version": env!("CARGO_PKG_VERSION"),
            "profile": profile,
            "profile_sha256": profile.sha256,
            "landlock": { "kernel_abi": kernel_abi, "min_abi": profile.min_landlock_abi },
            "seccomp": {
                "sha256": SECCOMP_SHA256,
                "x32_syscalls": "kill_process",
                "default": profile.seccomp_default,
                "filters": doc,
            },
        });
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ));
    }
    Ok(render_text(&profile, &doc, kernel_abi))
}

fn render_text(p: &Profile, doc: &Value, kernel_abi: Option<u32>) -> String {
    let mut s = String::new();
    let l = &p.limits;
    let list = |v: &[std::path::PathBuf]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(s, "runner {} — effective policy", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(s, "\nProfile (sha256 {})", p.sha256);
    let _ = writeln!(
        s,
        "  identity when started as root: uid {} gid {}, no supplementary groups",
        p.identity.uid, p.identity.gid
    );
    match p.confinement {
        Confinement::Landlock => {
            let _ = writeln!(
                s,
                "  confinement: landlock, minimum ABI {}; this kernel: {}; below the minimum nothing runs",
                p.min_landlock_abi,
                kernel_abi.map_or("unavailable".to_owned(), |a| a.to_string())
            );
        }
        Confinement::Namespaces => {
            let _ = writeln!(
                s,
                "  confinement: namespaces (user, mount, PID, network, IPC; a root of bind mounts of the\n               granted paths), no Landlock; where they cannot be created nothing runs"
            );
        }
    }
    if !p.rlimits_runtime_may_refuse.is_empty() {
        let _ = writeln!(
            s,
            "  limits the runtime may refuse to set: {}",
            p.rlimits_runtime_may_refuse.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "  limits: wall {}, CPU {}, memory {} (address-space backstop +{}), output {} per stream,",
        l.wall_time, l.cpu_time, l.memory, l.address_space_headroom, l.output
    );
    let _ = writeln!(
        s,
        "          file size {}, open files {}, stack {}, core 0, memlock 0, msgqueue 0,",
        l.file_size, l.open_files, l.stack
    );
    let _ = writeln!(
        s,
        "          writable paths {} and {} entries in all",
        l.disk, l.disk_inodes
    );
    let _ = writeln!(s, "  read only:      {}", list(&p.paths.ro));
    let _ = writeln!(
        s,
        "  read + execute: {} (+ the program named in the run)",
        list(&p.paths.rx)
    );
    let _ = writeln!(
        s,
        "  read + write:   {} (+ the --rw paths of the run)",
        list(&p.paths.rw)
    );
    let _ = writeln!(
        s,
        "  network: TCP bind and connect denied by Landlock; sockets refused by seccomp"
    );
    let _ = writeln!(
        s,
        "  scoping: no signals to, no abstract unix sockets of, anything outside the sandbox"
    );
    let env: Vec<String> = p.env.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(
        s,
        "  environment: {}; passed through when set: {}",
        env.join(" "),
        p.env.pass.join(" ")
    );
    let _ = writeln!(
        s,
        "\nSeccomp (policies/seccomp/x86_64.json, sha256 {SECCOMP_SHA256})"
    );
    let _ = writeln!(
        s,
        "  non-x86_64 architectures and x32 syscall numbers: the process is killed in the kernel (kill_process)"
    );
    match p.seccomp_default {
        SeccompDefault::Notify => {
            let _ = writeln!(
                s,
                "  the profile's seccomp_default is notify: user_notif, the call is stopped before it runs and handed to the runner, which names it in the report and kills the program; it is never executed"
            );
            let _ = writeln!(
                s,
                "  allocation guard (added at run time, after the enosys rules, before the allowlist): mmap or mremap asking for more than the address-space backstop in one request is stopped the same way and judged memory_limit, unless the enosys rules refuse it (their ENOSYS stands)"
            );
        }
        SeccompDefault::KillProcess => {
            let _ = writeln!(
                s,
                "  the profile's seccomp_default is kill_process: every user_notif below is compiled as kill_process, the kernel kills the program with SIGSYS before the call runs (policy_violation; the call is not named); no allocation guard (an allocation over the backstop is ENOMEM)"
            );
        }
    }
    let _ = writeln!(
        s,
        "  the two filters below are one program, built and proven at compile time and installed once: every call gets what the kernel would answer with both installed, enosys first, i.e. the stronger of their two answers (kill_process, then errno, then user_notif, then allow)"
    );
    for (name, f) in doc.as_object().into_iter().flatten() {
        let _ = writeln!(
            s,
            "  filter {name}: on a listed call {}, otherwise {}",
            f["match_action"], f["mismatch_action"]
        );
    }
    for r in rules(doc) {
        let cond = if r.condition.is_empty() {
            String::new()
        } else {
            format!(" when {}", r.condition)
        };
        let _ = writeln!(
            s,
            "    [{}] {:<18} {}{cond}",
            r.filter, r.syscall, r.comment
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_localhost_profile_is_generated_from_the_policy() {
        let committed = include_str!("../../policies/kubernetes/seccomp/game-sandbox.json");
        assert!(
            committed == oci_profile_text(),
            "policies/kubernetes/seccomp/game-sandbox.json is stale: regenerate it with\n  runner policy --oci-seccomp > policies/kubernetes/seccomp/game-sandbox.json"
        );
        let p = oci_profile();
        let allowed: Vec<&str> = p["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for needed in [
            "read",
            "execve",
            "clone",
            "wait4",
            "landlock_restrict_self",
            "seccomp",
            "signalfd4",
            // The seccomp listener: the child's seccomp(NEW_LISTENER) above, its sendmsg over
            // the setup socketpair, the supervisor's recvmsg and NOTIF_RECV/SEND ioctls.
            "socketpair",
            "sendmsg",
            "recvmsg",
            "ioctl",
        ] {
            assert!(allowed.contains(&needed), "{needed}");
        }
        for denied in [
            "ptrace",
            "mount",
            "bpf",
            "io_uring_setup",
            "unshare",
            "clone3",
            "keyctl",
        ] {
            assert!(!allowed.contains(&denied), "{denied}");
        }
    }

    #[test]
    fn text_names_every_rule_and_the_defaults() {
        let p = Profile::embedded().unwrap();
        let doc: Value = serde_json::from_str(SECCOMP_JSON).unwrap();
        let text = render_text(&p, &doc, Some(7));
        for needle in [
            "kill_process",
            "user_notif",
            "never executed",
            "allocation guard",
            "clone3",
            "CLONE_THREAD",
            "x32",
            "/usr/lib/python3.11",
            "minimum ABI 6",
        ] {
            assert!(text.contains(needle), "missing {needle}");
        }
        assert_eq!(text.matches("\n    [").count(), rules(&doc).len());
    }
}
