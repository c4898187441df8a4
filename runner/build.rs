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

#[path = "build/dispatch.rs"]
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
    for (name, required) in [("main", true), ("enosys", true)] {
        let Some(prog) = map.get(name) else {
            if required {
                return Err(format!(
                    "{}: filter {name:?} is missing",
                    seccomp_path.display()
                ));
            }
            continue;
        };
        let compiled: Vec<dispatch::Insn> =
            prog.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect();
        let mut insns: Vec<dispatch::Insn> = Vec::new();
        if name == "main" {
            // The x32 guard, then the decision tree in front of the calls whose arguments
            // are checked (build/dispatch.rs), proven to decide as the linear allowlist does.
            let slow = compile_main(
                &argument_rules_only(&compilable, &seccomp_path)?,
                &seccomp_path,
            )?;
            let front = dispatch::front(&compiled, &slow)
                .map_err(|e| format!("{}: {e}", seccomp_path.display()))?;
            let linear: Vec<dispatch::Insn> = X32_PREFIX.iter().chain(&compiled).copied().collect();
            insns.extend(X32_PREFIX);
            insns.extend(front);
            dispatch::check_same(&linear, &insns)
                .map_err(|e| format!("{}: {e}", seccomp_path.display()))?;
            sentinel_to_user_notif(&mut insns, &seccomp_path)?;
        } else {
            insns = compiled;
        }
        let _ = writeln!(out, "/// Filter {name:?}: (code, jt, jf, k) instructions.");
        let _ = writeln!(
            out,
            "pub const FILTER_{}: &[(u16, u8, u8, u32)] = &{insns:?};",
            name.to_uppercase()
        );
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

/// `SECCOMP_RET_USER_NOTIF`: the kernel stops the calling thread and tells the holder of the
/// filter's listener, which never lets the call through (see runner/src/notify.rs).
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
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

/// The policy with the main filter's rules cut down to those that check arguments: the
/// program the decision tree sends those calls to.
fn argument_rules_only(compilable: &str, path: &Path) -> Result<String, String> {
    let mut doc: serde_json::Value =
        serde_json::from_str(compilable).map_err(|e| format!("{}: {e}", path.display()))?;
    let rules = doc
        .get_mut("main")
        .and_then(|m| m.get_mut("filter"))
        .and_then(|f| f.as_array_mut())
        .ok_or_else(|| format!("{}: the main filter has no rule list", path.display()))?;
    rules.retain(|r| {
        r.get("args")
            .and_then(|a| a.as_array())
            .is_some_and(|a| !a.is_empty())
    });
    serde_json::to_string(&doc).map_err(|e| e.to_string())
}

/// Compiles the main filter of a policy text.
fn compile_main(text: &str, path: &Path) -> Result<Vec<dispatch::Insn>, String> {
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
