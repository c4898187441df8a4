//! Compiles `policies/seccomp/<arch>.json` into BPF at build time and embeds it, with the
//! policy text and the default sandbox profile. Any problem fails the build, in every
//! profile: there is no fallback filter.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use seccompiler::TargetArch;

// The same digest code as the runner's reports use.
#[path = "src/digest.rs"]
mod digest;
use digest::sha256_hex;

// `front` and `check_same` (one filter's tree) are what `merge` and `check_merged` are built
// from; tests/seccomp_dispatch.rs tests them on their own.
#[path = "build/bpf.rs"]
#[allow(dead_code)]
mod bpf;
#[path = "build/dispatch.rs"]
#[allow(dead_code)]
mod dispatch;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let policies = manifest.join("../policies");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").map_err(|e| e.to_string())?;
    if arch != "x86_64" {
        return Err(format!(
            "no seccomp policy for target arch {arch}: add policies/seccomp/{arch}.json"
        ));
    }
    let seccomp_path = policies.join("seccomp/x86_64.json");
    let profile_path = policies.join("sandbox/default.toml");
    let container_path = policies.join("seccomp/container.json");
    println!("cargo:rerun-if-changed={}", seccomp_path.display());
    println!("cargo:rerun-if-changed={}", container_path.display());
    println!("cargo:rerun-if-changed={}", profile_path.display());

    let text = read(&seccomp_path)?;
    check_comments(&text, &seccomp_path)?;
    let compilable = user_notif_as_sentinel(&text, &seccomp_path)?;
    let map = seccompiler::compile_from_json(compilable.as_bytes(), TargetArch::x86_64)
        .map_err(|e| format!("{}: {e}", seccomp_path.display()))?;
    let mut out = String::new();
    let _ = writeln!(out, "/// The seccomp policy JSON as committed.");
    let _ = writeln!(
        out,
        "pub const SECCOMP_JSON: &str = include_str!({:?});",
        canonical(&seccomp_path)?
    );
    let _ = writeln!(out, "/// sha256 of [`SECCOMP_JSON`].");
    let _ = writeln!(
        out,
        "pub const SECCOMP_SHA256: &str = {:?};",
        sha256_hex(text.as_bytes())
    );
    let compiled = |name: &str| -> Result<Vec<bpf::Insn>, String> {
        let prog = map
            .get(name)
            .ok_or_else(|| format!("{}: filter {name:?} is missing", seccomp_path.display()))?;
        Ok(prog.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect())
    };
    let enosys = compiled("enosys")?;
    let mut main = compiled("main")?;
    sentinel_to_user_notif(&mut main, &seccomp_path)?;
    no_user_notif(&enosys, &seccomp_path)?;
    // The enosys filter's argument rules alone: what the calls it checks run in the merged
    // program (the others are decided by the tree).
    let enosys_slow = {
        let text = argument_rules_only(&compilable, "enosys", &seccomp_path, |_| true)?;
        let map = seccompiler::compile_from_json(text.as_bytes(), TargetArch::x86_64)
            .map_err(|e| format!("{}: {e}", seccomp_path.display()))?;
        let prog = map
            .get("enosys")
            .ok_or_else(|| format!("{}: filter \"enosys\" is missing", seccomp_path.display()))?;
        prog.iter()
            .map(|i| (i.code, i.jt, i.jf, i.k))
            .collect::<Vec<bpf::Insn>>()
    };
    let guarded = ["mmap", "mremap"]
        .iter()
        .map(|name| syscall_number(name, &seccomp_path))
        .collect::<Result<Vec<u32>, String>>()?;
    // The calls whose arguments the main filter checks, by number.
    let checked = argument_rules_only(&compilable, "main", &seccomp_path, |_| true)?;
    let mut checked_names: Vec<(String, u32)> = Vec::new();
    for name in rule_names(&checked, &seccomp_path)? {
        let nr = syscall_number(&name, &seccomp_path)?;
        checked_names.push((name, nr));
    }
    // The two filters as the runner installed them before they were merged (the x32 guard in
    // front of `main`), for the unit test of the allocation guard in the merged program.
    let two_main: Vec<bpf::Insn> = X32_PREFIX.iter().chain(&main).copied().collect();
    let _ = writeln!(
        out,
        "/// The enosys filter alone (seccompiler's linear program).\n#[cfg(test)]\n\
         pub const TWO_FILTERS_ENOSYS: &[(u16, u8, u8, u32)] = &{enosys:?};"
    );
    let _ = writeln!(
        out,
        "/// The main filter alone: the x32 guard and seccompiler's linear program.\n\
         #[cfg(test)]\npub const TWO_FILTERS_MAIN: &[(u16, u8, u8, u32)] = &{two_main:?};"
    );
    // One program for each of the profile's `seccomp_default`s, each proven to decide what
    // the two filters decide together when installed one after the other (build/dispatch.rs).
    for (name, kill) in [("NOTIFY", false), ("KILL_PROCESS", true)] {
        let mode = |p: &[bpf::Insn]| {
            dispatch::map_returns(p, |k| {
                if kill && k == RET_USER_NOTIF {
                    dispatch::RET_KILL_PROCESS
                } else {
                    k
                }
            })
        };
        let (enosys, enosys_slow, main) = (mode(&enosys), mode(&enosys_slow), mode(&main));
        // The main filter's argument rules for the given numbers alone.
        let slow_for = |numbers: &[u32]| -> Result<Vec<bpf::Insn>, String> {
            let keep: Vec<&str> = checked_names
                .iter()
                .filter(|(_, nr)| numbers.contains(nr))
                .map(|(name, _)| name.as_str())
                .collect();
            let text = argument_rules_only(&compilable, "main", &seccomp_path, |name| {
                keep.contains(&name)
            })?;
            let mut slow = compile_main(&text, &seccomp_path)?;
            sentinel_to_user_notif(&mut slow, &seccomp_path)?;
            Ok(mode(&slow))
        };
        // The allocation guard is only put into the notify program.
        let routed: &[u32] = if kill { &[] } else { &guarded };
        let (front, guard_at) = dispatch::merge(&enosys, &enosys_slow, &main, &slow_for, routed)
            .map_err(|e| format!("{}: {e}", seccomp_path.display()))?;
        let mut insns: Vec<bpf::Insn> = X32_PREFIX.to_vec();
        insns.extend(front);
        let linear: Vec<bpf::Insn> = X32_PREFIX.iter().chain(&main).copied().collect();
        dispatch::check_merged(&enosys, &linear, &insns)
            .map_err(|e| format!("{}: {e}", seccomp_path.display()))?;
        let _ = writeln!(
            out,
            "/// The seccomp program for `seccomp_default = {:?}`: (code, jt, jf, k) instructions.",
            name.to_lowercase()
        );
        let _ = writeln!(
            out,
            "pub const FILTER_{name}: &[(u16, u8, u8, u32)] = &{insns:?};"
        );
        if !kill {
            let _ = writeln!(
                out,
                "/// Where in [`FILTER_NOTIFY`] a call arrives once the enosys rules let it \
                 through: the allocation guard's place."
            );
            let _ = writeln!(
                out,
                "pub const FILTER_NOTIFY_GUARD_AT: usize = {};",
                guard_at + X32_PREFIX.len()
            );
        }
    }
    // The container's other calls (the supervisor's own, the runtime's last steps): never
    // installed by the runner, only merged into the container-wide profile; compiled here so
    // a misspelt name fails the build too.
    let container = read(&container_path)?;
    check_comments(&container, &container_path)?;
    seccompiler::compile_from_json(container.as_bytes(), TargetArch::x86_64)
        .map_err(|e| format!("{}: {e}", container_path.display()))?;
    let _ = writeln!(
        out,
        "/// The container's calls besides the program's: the supervisor's and the runtime's."
    );
    let _ = writeln!(
        out,
        "pub const CONTAINER_JSON: &str = include_str!({:?});",
        canonical(&container_path)?
    );
    let profile = read(&profile_path)?;
    let _ = writeln!(
        out,
        "/// The default sandbox profile as committed (the runner reads `PROFILE_JSON`; tests \
         compare the two).\n#[cfg(test)]"
    );
    let _ = writeln!(
        out,
        "pub const PROFILE_TOML: &str = include_str!({:?});",
        canonical(&profile_path)?
    );
    // The same document as JSON, which the runner reads at every start: parsing TOML took
    // a twentieth of the runner's own start-up, JSON a fraction of that.
    let value: toml::Value =
        toml::from_str(&profile).map_err(|e| format!("{}: {e}", profile_path.display()))?;
    let json = serde_json::to_string(&value).map_err(|e| e.to_string())?;
    let _ = writeln!(
        out,
        "/// `PROFILE_TOML` as JSON, converted by the build (the same values, faster to read)."
    );
    let _ = writeln!(out, "pub const PROFILE_JSON: &str = {json:?};");
    let _ = writeln!(out, "/// sha256 of `PROFILE_TOML`.");
    let _ = writeln!(
        out,
        "pub const PROFILE_SHA256: &str = {:?};",
        sha256_hex(profile.as_bytes())
    );

    let dest =
        PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?).join("embedded_policy.rs");
    fs::write(&dest, out).map_err(|e| format!("{}: {e}", dest.display()))
}

/// Runs before seccompiler's own filter. seccompiler checks AUDIT_ARCH but not the x32 ABI,
/// whose syscalls arrive with AUDIT_ARCH_X86_64 and bit 30 set in the number: without this,
/// `syscall(0x40000000 | nr)` would be matched against rules written for other numbers.
const X32_PREFIX: [(u16, u8, u8, u32); 6] = [
    (0x20, 0, 0, 4),           // ld [arch]
    (0x15, 1, 0, 0xC000_003E), // jeq AUDIT_ARCH_X86_64 ? skip next : next
    (0x06, 0, 0, 0x8000_0000), // ret KILL_PROCESS
    (0x20, 0, 0, 0),           // ld [nr]
    (0x35, 0, 1, 0x4000_0000), // jge __X32_SYSCALL_BIT ? next : skip next
    (0x06, 0, 0, 0x8000_0000), // ret KILL_PROCESS
];

/// `SECCOMP_RET_USER_NOTIF` ([`dispatch::RET_USER_NOTIF`]): the kernel stops the calling
/// thread and tells the holder of the filter's listener, which never lets the call through
/// (see runner/src/notify.rs).
use dispatch::RET_USER_NOTIF;
/// seccompiler has no user-notification action, so `"user_notif"` is compiled as
/// `{"trace": SENTINEL}` and every `ret TRACE|SENTINEL` is then rewritten to `ret USER_NOTIF`.
/// The policy may use `trace` nowhere itself, so nothing else can carry that return value.
const SENTINEL: u32 = 0x5ec1;
const RET_TRACE: u32 = 0x7ff0_0000;

/// The main filter's mismatch action may be `"user_notif"` (and nothing else may be): the
/// JSON stays the policy, the build maps the one action seccompiler lacks.
fn user_notif_as_sentinel(text: &str, path: &Path) -> Result<String, String> {
    let mut doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    if text.contains("\"trace\"") {
        return Err(format!(
            "{}: the trace action is reserved for compiling user_notif",
            path.display()
        ));
    }
    let Some(filters) = doc.as_object_mut() else {
        return Err(format!("{}: top level must be an object", path.display()));
    };
    for (name, filter) in filters.iter_mut() {
        for key in ["match_action", "mismatch_action"] {
            if filter.get(key).and_then(|a| a.as_str()) != Some("user_notif") {
                continue;
            }
            if name != "main" || key != "mismatch_action" {
                return Err(format!(
                    "{}: user_notif is only supported as the main filter's mismatch_action",
                    path.display()
                ));
            }
            filter[key] = serde_json::json!({ "trace": SENTINEL });
        }
    }
    serde_json::to_string(&doc).map_err(|e| e.to_string())
}

/// The policy with the rules of `filter` cut down to those that check arguments, of the calls
/// `keep` names: what the decision tree sends those calls to.
fn argument_rules_only(
    compilable: &str,
    filter: &str,
    path: &Path,
    keep: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let mut doc: serde_json::Value =
        serde_json::from_str(compilable).map_err(|e| format!("{}: {e}", path.display()))?;
    let rules = doc
        .get_mut(filter)
        .and_then(|m| m.get_mut("filter"))
        .and_then(|f| f.as_array_mut())
        .ok_or_else(|| format!("{}: filter {filter:?} has no rule list", path.display()))?;
    rules.retain(|r| {
        r.get("args")
            .and_then(|a| a.as_array())
            .is_some_and(|a| !a.is_empty())
            && r.get("syscall").and_then(|s| s.as_str()).is_some_and(&keep)
    });
    serde_json::to_string(&doc).map_err(|e| e.to_string())
}

/// The calls the main filter of a policy text names, each once.
fn rule_names(text: &str, path: &Path) -> Result<Vec<String>, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names: Vec<String> = doc["main"]["filter"]
        .as_array()
        .ok_or_else(|| format!("{}: the main filter has no rule list", path.display()))?
        .iter()
        .filter_map(|r| r.get("syscall").and_then(|s| s.as_str()).map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Compiles the main filter of a policy text.
fn compile_main(text: &str, path: &Path) -> Result<Vec<bpf::Insn>, String> {
    let map = seccompiler::compile_from_json(text.as_bytes(), TargetArch::x86_64)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let main = map
        .get("main")
        .ok_or_else(|| format!("{}: filter \"main\" is missing", path.display()))?;
    Ok(main.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect())
}

/// Rewrites the sentinel returns of the compiled main filter to `ret USER_NOTIF`; fails unless
/// the filter returns USER_NOTIF or KILL_PROCESS for a call it does not list, so a policy
/// edit cannot quietly change what an unlisted call meets.
fn sentinel_to_user_notif(insns: &mut [(u16, u8, u8, u32)], path: &Path) -> Result<(), String> {
    const BPF_RET_K: u16 = 0x06;
    let mut rewritten = 0;
    for insn in insns.iter_mut() {
        if insn.0 == BPF_RET_K && insn.3 == RET_TRACE | SENTINEL {
            insn.3 = RET_USER_NOTIF;
            rewritten += 1;
        }
    }
    let returns_trace = insns
        .iter()
        .any(|i| i.0 == BPF_RET_K && i.3 & 0xffff_0000 == RET_TRACE);
    if returns_trace {
        return Err(format!("{}: main filter returns TRACE", path.display()));
    }
    if rewritten == 0 {
        return Err(format!(
            "{}: main filter's mismatch_action must be user_notif",
            path.display()
        ));
    }
    Ok(())
}

/// Fails if `prog` can return USER_NOTIF: only the main filter may (see
/// [`user_notif_as_sentinel`]), so only its returns are rewritten for `kill_process`.
fn no_user_notif(prog: &[bpf::Insn], path: &Path) -> Result<(), String> {
    if prog
        .iter()
        .any(|i| i.0 == 0x06 && i.3 & 0xffff_0000 == RET_USER_NOTIF)
    {
        return Err(format!(
            "{}: the enosys filter returns USER_NOTIF",
            path.display()
        ));
    }
    Ok(())
}

/// The number of the call `name` on x86_64, as seccompiler knows it.
fn syscall_number(name: &str, path: &Path) -> Result<u32, String> {
    let text = format!(
        r#"{{"g": {{"mismatch_action": "allow", "match_action": "kill_process",
            "filter": [{{"syscall": "{name}"}}]}}}}"#
    );
    let map = seccompiler::compile_from_json(text.as_bytes(), TargetArch::x86_64)
        .map_err(|e| format!("{}: {name}: {e}", path.display()))?;
    let prog: Vec<bpf::Insn> = map
        .get("g")
        .ok_or("seccompiler lost a filter")?
        .iter()
        .map(|i| (i.code, i.jt, i.jf, i.k))
        .collect();
    let kill = Ok(bpf::Class::Ret(dispatch::RET_KILL_PROCESS));
    (0..1024)
        .find(|&nr| bpf::classify(&prog, nr) == kill)
        .ok_or_else(|| format!("{}: no number for {name}", path.display()))
}

/// Every rule must say why it is there: the file is read by reviewers, not only compilers.
fn check_comments(text: &str, path: &Path) -> Result<(), String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    let filters = doc
        .as_object()
        .ok_or_else(|| format!("{}: top level must be an object", path.display()))?;
    for (name, filter) in filters {
        let rules = filter
            .get("filter")
            .and_then(|f| f.as_array())
            .ok_or_else(|| format!("{}: filter {name:?} has no rule list", path.display()))?;
        for rule in rules {
            let syscall = rule.get("syscall").and_then(|s| s.as_str()).unwrap_or("?");
            let comment = rule.get("comment").and_then(|c| c.as_str()).unwrap_or("");
            if comment.trim().is_empty() {
                return Err(format!(
                    "{}: rule for {syscall} in {name:?} has no comment saying why",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn canonical(path: &Path) -> Result<String, String> {
    fs::canonicalize(path)
        .map(|p| p.display().to_string())
        .map_err(|e| format!("{}: {e}", path.display()))
}
