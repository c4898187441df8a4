//! The attack suite: every hostile program in `tests/attacks/` run through the real `runner`
//! binary, once as root (the runner drops to uid 65532 itself) and once already as uid 65532
//! with no capabilities (as in the pod, where Landlock scoping is all that separates the
//! program from its supervisor).
//!
//! Over 600 lines on purpose: one libtest-mimic binary (`harness = false`), every trial in
//! both modes going through the one harness here (the header, the run through the runner, the
//! checks every report must pass); the attack programs themselves are in `tests/attacks/`.
//!
//! Each program starts with a header the harness reads:
//!
//! ```text
//! # attack: what it tries, in one line
//! # expect: the report status (ok, policy_violation, memory_limit, ...)
//! # runner-args: extra runner flags, overriding the suite's defaults (optional)
//! # args: program arguments; {tcp_port} {udp_port} {secret} {scratch} {report_dir} {report}
//! #       {data} {outside} are filled in (optional)
//! # exit-code: N        the program's exit status in the report (optional)
//! # signal: SIGNAME     the signal in the report (optional)
//! # memory-signal: rss_sampler   (optional)
//! # violation: socket(AF_INET, SOCK_STREAM   the start of the forbidden call as the report
//! #       decodes it (required with `expect: policy_violation`, so a kill during an import
//! #       fails); `kernel` for x32 and foreign-architecture numbers, which the kernel kills
//! #       by SIGSYS before the supervisor can see them
//! # stdout: exact standard output (optional; or a sibling NAME.out file)
//! # stderr-contains: text (optional, repeatable)
//! # reason-contains: text in the report's reason (optional, repeatable)
//! # check: extra checks: tcp udp report-symlink stdout-full stderr-full (optional)
//! ```
//!
//! A program expected to be `ok` checks by itself that its attack failed and exits 0 only then;
//! when an attack succeeds it prints `ESCAPED` and exits 42. Whatever the header says, every
//! trial also checks: the runner exited 0 and wrote a regular-file report with the verdict and
//! the enforcement it claims; no `ESCAPED`, secret or runner environment value in any output;
//! captured output within its cap; every file in scratch within the size limit; the report
//! directory, the outside directory, the secret and the data file untouched; the termination
//! log agreeing with the report.
//!
//! Run: `cargo test -p runner --test attacks` (as root for both modes).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;

use common::{
    Mode, Res, SANDBOX_UID, copy, ensure, head_tail, header_lines, is_root, mkdir, names,
    read_json, read_lossy, repo, stem, temp_dir, write,
};

const PYTHON: &str = "/usr/bin/python3.11";

/// Limits small enough to keep the suite fast; a header's `runner-args` overrides them.
const DEFAULT_LIMITS: &[(&str, &str)] = &[
    ("--wall-time", "5"),
    ("--cpu-time", "2"),
    ("--memory", "128MiB"),
    ("--output-limit", "64KiB"),
    ("--file-size-limit", "1MiB"),
];

/// Values set in the runner's own environment that must never reach the program.
const RUNNER_ENV: &[(&str, &str)] = &[
    ("SECRET_TOKEN", "env-secret-5f1d9c0b7a"),
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
    ("AWS_SECRET_ACCESS_KEY", "env-secret-aws-3e8c1f"),
];

const SECRET_CONTENT: &str = "file-secret-9b2e77c4d1 (the program must never see this)\n";
const CANARY_CONTENT: &str = "canary: nothing may change me\n";
const DATA_CONTENT: &str = "alpha beta gamma\ndelta epsilon zeta\neta theta iota\n";
/// The runner's own standard input in every trial: the program must never see it unless
/// the run asks for it (`--inherit-stdin`).
const RUNNER_STDIN_CONTENT: &str = "runner-stdin-7e3a9c51 (only --inherit-stdin hands this on)\n";
const VICTIM_CONTENT: &str = "victim: the runner must not write through a symlink\n";

const CHECKS: &[&str] = &["tcp", "udp", "report-symlink", "stdout-full", "stderr-full"];

// ---------------------------------------------------------------------------------------------
// Modes (`common::Mode`)

impl Mode {
    /// The uid the program must run as.
    fn program_uid(self) -> u32 {
        if is_root() || self != Mode::Root {
            SANDBOX_UID
        } else {
            // SAFETY: geteuid has no preconditions and cannot fail.
            unsafe { libc::geteuid() }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Attack programs and their headers

#[derive(Debug, Clone, Default)]
struct Header {
    attack: String,
    expect: String,
    runner_args: Vec<String>,
    args: Vec<String>,
    exit_code: Option<i32>,
    signal: Option<String>,
    memory_signal: Option<String>,
    violation: Option<String>,
    stdout: Option<String>,
    stderr_contains: Vec<String>,
    reason_contains: Vec<String>,
    checks: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct Program {
    name: String,
    path: PathBuf,
    header: Header,
}

fn attacks_dir() -> PathBuf {
    repo().join("tests/attacks")
}

fn parse_header(path: &Path) -> Res<Header> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Header::default();
    for (key, value) in header_lines(&text) {
        let words = || value.split_whitespace().map(str::to_owned);
        match key {
            "attack" => h.attack = value.to_owned(),
            "expect" => h.expect = value.to_owned(),
            "runner-args" => h.runner_args.extend(words()),
            "args" => h.args.extend(words()),
            "exit-code" => {
                h.exit_code = Some(
                    value
                        .parse()
                        .map_err(|e| format!("{}: exit-code {value:?}: {e}", path.display()))?,
                );
            }
            "signal" => h.signal = Some(value.to_owned()),
            "memory-signal" => h.memory_signal = Some(value.to_owned()),
            "violation" => h.violation = Some(value.to_owned()),
            "stdout" => h.stdout = Some(format!("{value}\n")),
            "stderr-contains" => h.stderr_contains.push(value.to_owned()),
            "reason-contains" => h.reason_contains.push(value.to_owned()),
            "check" => h.checks.extend(words()),
            other => return Err(format!("{}: unknown header key {other:?}", path.display())),
        }
    }
    ensure!(
        !h.attack.is_empty(),
        "{}: missing `# attack:` line",
        path.display()
    );
    ensure!(
        h.expect.parse::<runner::report::Status>().is_ok(),
        "{}: `# expect: {}` is not a report status",
        path.display(),
        h.expect
    );
    ensure!(
        (h.expect == "policy_violation") == h.violation.is_some(),
        "{}: `# violation:` goes with `# expect: policy_violation`, and only there",
        path.display()
    );
    if let Some(c) = h.checks.iter().find(|c| !CHECKS.contains(&c.as_str())) {
        return Err(format!("{}: unknown check {c:?}", path.display()));
    }
    let out = path.with_extension("out");
    if out.exists() {
        ensure!(
            h.stdout.is_none(),
            "{}: both `# stdout:` and {}",
            path.display(),
            out.display()
        );
        h.stdout = Some(fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?);
    }
    Ok(h)
}

fn load_programs() -> Res<Vec<Program>> {
    let dir = attacks_dir();
    let mut programs = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("py") {
            continue;
        }
        let name = stem(&path)?;
        let header = parse_header(&path)?;
        programs.push(Program { name, path, header });
    }
    programs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(programs)
}

// ---------------------------------------------------------------------------------------------
// One trial's world: fresh directories, listeners, files the program must not touch

struct World {
    _tmp: tempfile::TempDir,
    prog_dir: PathBuf,
    scratch: PathBuf,
    report_dir: PathBuf,
    report: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
    tlog: PathBuf,
    outside: PathBuf,
    secret: PathBuf,
    data: PathBuf,
    runner_in: PathBuf,
    runner_out: PathBuf,
    runner_err: PathBuf,
    tcp: TcpListener,
    udp: UdpSocket,
}

impl World {
    /// Everything is reachable by uid 65532 through plain permissions (directories 0777,
    /// the secret 0644): only the sandbox keeps the program out, never DAC.
    fn new() -> Res<Self> {
        let tmp = temp_dir("attack-")?;
        let root = tmp.path().to_owned();
        let prog_dir = root.join("prog");
        let scratch = root.join("scratch");
        let report_dir = root.join("report");
        let outside = root.join("outside");
        let secret_dir = root.join("secret");
        mkdir(&prog_dir, 0o755)?;
        mkdir(&scratch, 0o777)?;
        mkdir(&report_dir, 0o777)?;
        mkdir(&outside, 0o777)?;
        mkdir(&secret_dir, 0o755)?;
        let secret = secret_dir.join("secret.txt");
        write(&secret, SECRET_CONTENT, 0o644)?;
        write(&outside.join("canary"), CANARY_CONTENT, 0o666)?;
        let data = prog_dir.join("data.txt");
        write(&data, DATA_CONTENT, 0o666)?;
        let tlog = report_dir.join("termination-log");
        write(&tlog, "", 0o666)?;
        let runner_in = root.join("runner-stdin.txt");
        write(&runner_in, RUNNER_STDIN_CONTENT, 0o600)?;
        let tcp = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("tcp bind: {e}"))?;
        tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("udp bind: {e}"))?;
        udp.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(Self {
            report: report_dir.join("report.json"),
            stdout: report_dir.join("stdout.txt"),
            stderr: report_dir.join("stderr.txt"),
            runner_in,
            runner_out: root.join("runner-stdout.txt"),
            runner_err: root.join("runner-stderr.txt"),
            _tmp: tmp,
            prog_dir,
            scratch,
            report_dir,
            tlog,
            outside,
            secret,
            data,
            tcp,
            udp,
        })
    }

    fn install(&self, program: &Path, name: &str) -> Res<PathBuf> {
        let dest = self.prog_dir.join(format!("{name}.py"));
        copy(program, &dest)?;
        Ok(dest)
    }

    fn fill(&self, s: &str) -> Res<String> {
        let port = |r: std::io::Result<std::net::SocketAddr>| {
            r.map(|a| a.port().to_string()).map_err(|e| e.to_string())
        };
        Ok(s.replace("{tcp_port}", &port(self.tcp.local_addr())?)
            .replace("{udp_port}", &port(self.udp.local_addr())?)
            .replace("{secret}", &self.secret.display().to_string())
            .replace("{scratch}", &self.scratch.display().to_string())
            .replace("{report_dir}", &self.report_dir.display().to_string())
            .replace("{report}", &self.report.display().to_string())
            .replace("{data}", &self.data.display().to_string())
            .replace("{outside}", &self.outside.display().to_string()))
    }

    /// The runner's flags: report and capture files, the grants, the limits.
    fn runner_args(&self, script: &Path, extra: &[String]) -> Res<Vec<String>> {
        let mut limits: Vec<(String, String)> = DEFAULT_LIMITS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut rest = Vec::new();
        let mut it = extra.iter();
        while let Some(flag) = it.next() {
            let flag = self.fill(flag)?;
            if let Some(slot) = limits.iter_mut().find(|(k, _)| *k == flag) {
                slot.1 = self.fill(it.next().ok_or_else(|| format!("{flag} needs a value"))?)?;
            } else {
                rest.push(flag);
            }
        }
        let p = |p: &Path| p.display().to_string();
        let mut args: Vec<String> = vec![
            "run".into(),
            "--report".into(),
            p(&self.report),
            "--stdout".into(),
            p(&self.stdout),
            "--stderr".into(),
            p(&self.stderr),
            "--termination-log".into(),
            p(&self.tlog),
            "--rw".into(),
            p(&self.scratch),
            "--ro".into(),
            p(script),
            "--ro".into(),
            p(&self.data),
        ];
        for (k, v) in limits {
            args.push(k);
            args.push(v);
        }
        args.extend(rest);
        Ok(args)
    }

    /// Starts the runner with the output redirected to files, secrets in its environment and
    /// data on its standard input, which the program must see only when the run asks.
    fn spawn(&self, mode: Mode, args: &[String]) -> Res<std::process::Child> {
        let mut cmd = mode.command();
        cmd.args(mode.args(args)).envs(RUNNER_ENV.iter().copied());
        self.redirect(&mut cmd)?;
        cmd.spawn().map_err(|e| format!("spawn runner: {e}"))
    }

    /// Starts the runner as uid 65532 under a filter that refuses what `without` names, as a
    /// platform lacking it would.
    fn spawn_without(&self, without: common::Without, args: &[String]) -> Res<std::process::Child> {
        let mut cmd = Mode::Uid65532.command();
        common::under(&mut cmd, without);
        cmd.args(args);
        self.redirect(&mut cmd)?;
        cmd.spawn().map_err(|e| format!("spawn runner: {e}"))
    }

    /// Points the runner's standard streams at this world's files, so `context` can show them.
    fn redirect(&self, cmd: &mut std::process::Command) -> Res {
        let input = fs::File::open(&self.runner_in).map_err(|e| e.to_string())?;
        let out = fs::File::create(&self.runner_out).map_err(|e| e.to_string())?;
        let err = fs::File::create(&self.runner_err).map_err(|e| e.to_string())?;
        cmd.stdin(input).stdout(out).stderr(err);
        Ok(())
    }

    /// What to print when a trial fails: everything needed to see why.
    fn context(&self, status: Option<ExitStatus>) -> String {
        format!(
            "runner exit: {status:?}\n--- report ({})\n{}\n--- program stdout\n{}\n--- program stderr\n{}\n--- runner stdout\n{}\n--- runner stderr\n{}",
            self.report.display(),
            read_lossy(&self.report),
            head_tail(&read_lossy(&self.stdout), 1000),
            head_tail(&read_lossy(&self.stderr), 1500),
            head_tail(&read_lossy(&self.runner_out), 1000),
            head_tail(&read_lossy(&self.runner_err), 1500),
        )
    }
}

/// Waits for a child, killing it (and failing) past the deadline.
fn wait_deadline(child: &mut std::process::Child, limit: Duration) -> Res<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Ok(st),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the runner did not finish within {limit:?}: killed by the harness"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("wait: {e}")),
        }
    }
}

/// Seconds from a `--wall-time` value like `5`, `1.5`, `500ms`, `2s`, `1m`.
fn parse_secs(s: &str) -> f64 {
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().unwrap_or(10.0) * mult
}

fn wall_of(args: &[String]) -> Duration {
    let secs = args
        .windows(2)
        .find(|w| w[0] == "--wall-time")
        .map_or(10.0, |w| parse_secs(&w[1]));
    Duration::from_secs_f64(secs)
}

// ---------------------------------------------------------------------------------------------
// Checks

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

fn as_u64(v: &Value, path: &str) -> Res<u64> {
    get(v, path)
        .as_u64()
        .ok_or_else(|| format!("report field {path} is not a number"))
}

/// The report of a run that had to stop before the program ran: exit 3 and `sandbox_error`.
fn sandbox_error_report(w: &World, st: &Res<ExitStatus>) -> Res<Value> {
    let st = st.clone()?;
    ensure!(st.code() == Some(3), "runner exit status {st:?}, want 3");
    let report = read_report(w)?;
    ensure!(
        report["status"] == "sandbox_error",
        "status {}",
        report["status"]
    );
    Ok(report)
}

fn read_report(w: &World) -> Res<Value> {
    let meta = fs::symlink_metadata(&w.report)
        .map_err(|e| format!("no report at {}: {e}", w.report.display()))?;
    ensure!(
        meta.file_type().is_file(),
        "the report is not a regular file: {:?}",
        meta.file_type()
    );
    let v = read_json(&w.report)?;
    ensure!(v["version"] == 3, "report version is {}", v["version"]);
    Ok(v)
}

/// The sandbox the report claims must be the one the policy asks for.
fn check_enforced(report: &Value, mode: Mode) -> Res {
    let e = &report["enforced"];
    let seccomp_default = if mode == Mode::Namespaces {
        "kill_process"
    } else {
        "notify"
    };
    ensure!(
        e["seccomp_default"] == seccomp_default,
        "seccomp_default is {}, the profile names {seccomp_default}",
        e["seccomp_default"]
    );
    if mode == Mode::Namespaces {
        ensure!(
            e["confinement"] == "namespaces",
            "confinement is {}",
            e["confinement"]
        );
        ensure!(
            e["landlock_status"] == "not_applied" && e["landlock_abi"].is_null(),
            "Landlock claimed under the namespaces confinement: {} {}",
            e["landlock_status"],
            e["landlock_abi"]
        );
    } else {
        ensure!(
            e["confinement"] == "landlock",
            "confinement is {}",
            e["confinement"]
        );
        ensure!(
            e["landlock_status"] == "fully_enforced",
            "landlock_status is {}",
            e["landlock_status"]
        );
        ensure!(
            e["landlock_abi"].as_u64().is_some_and(|a| a >= 6),
            "landlock_abi is {} (want >= 6)",
            e["landlock_abi"]
        );
    }
    ensure!(
        e["no_new_privs"] == true,
        "no_new_privs is {}",
        e["no_new_privs"]
    );
    ensure!(
        e["capabilities_dropped"] == true,
        "capabilities_dropped is {}",
        e["capabilities_dropped"]
    );
    let uid = u64::from(mode.program_uid());
    ensure!(e["uid"] == uid, "enforced.uid is {} (want {uid})", e["uid"]);
    if uid == u64::from(SANDBOX_UID) {
        ensure!(e["gid"] == uid, "enforced.gid is {} (want {uid})", e["gid"]);
    }
    for k in ["seccomp_policy_sha256", "profile_sha256"] {
        ensure!(
            e[k].as_str().is_some_and(|s| s.len() == 64),
            "enforced.{k} is {}",
            e[k]
        );
    }
    Ok(())
}

/// Every regular file under a directory, with its size; symlinks are reported as errors. By
/// directory descriptors, so a tree deeper than PATH_MAX is walked too.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) -> Res {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty())
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    walk_at(fd, dir, out)
}

fn walk_at(fd: std::os::fd::OwnedFd, path: &Path, out: &mut Vec<(PathBuf, u64)>) -> Res {
    use nix::fcntl::{AtFlags, OFlag};
    use nix::sys::stat::{Mode, SFlag, fstatat};
    use std::os::fd::AsRawFd as _;
    // The descriptor's /proc link is a short path to a directory of any depth.
    let listing = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let names = fs::read_dir(&listing)
        .and_then(|rd| {
            rd.map(|e| e.map(|e| e.file_name()))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for name in names {
        let child = path.join(&name);
        let st = fstatat(&fd, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| format!("{}: {e}", child.display()))?;
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        ensure!(
            kind != SFlag::S_IFLNK,
            "a symlink appeared at {}",
            child.display()
        );
        if kind == SFlag::S_IFDIR {
            let sub = nix::fcntl::openat(
                &fd,
                name.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| format!("{}: {e}", child.display()))?;
            walk_at(sub, &child, out)?;
        } else {
            out.push((child, u64::try_from(st.st_size).unwrap_or(0)));
        }
    }
    Ok(())
}

fn check_output_cap(report: &Value, file: &Path, stream: &str, must_be_full: bool) -> Res {
    let cap = as_u64(report, "limits.output_bytes")?;
    let bytes = as_u64(report, &format!("{stream}_bytes"))?;
    let truncated = report[format!("{stream}_truncated")] == true;
    let len = fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    ensure!(
        len <= cap,
        "captured {stream} holds {len} bytes, over the cap of {cap}"
    );
    if truncated {
        ensure!(
            len == cap,
            "{stream} was truncated but the file holds {len} bytes, not exactly the cap {cap}"
        );
        ensure!(
            bytes > cap,
            "{stream}_bytes {bytes} with truncation under cap {cap}"
        );
    } else {
        ensure!(
            bytes == len,
            "{stream}_bytes is {bytes} but the file holds {len} bytes"
        );
    }
    if must_be_full {
        ensure!(truncated, "{stream}_truncated is false");
    }
    Ok(())
}

fn check_program(w: &World, p: &Program, mode: Mode, exit: ExitStatus) -> Res {
    let h = &p.header;
    ensure!(
        exit.code() == Some(0),
        "runner exit status {exit:?}, want 0 (report written)"
    );
    let report = read_report(w)?;
    let out = read_lossy(&w.stdout);
    let err = read_lossy(&w.stderr);
    for (what, text) in [("stdout", &out), ("stderr", &err)] {
        ensure!(
            !text.contains("ESCAPED"),
            "the program reports an escape on {what}"
        );
    }
    let status = report["status"].as_str().unwrap_or("?");
    ensure!(
        status == h.expect,
        "status is {status:?}, expected {:?} ({}): reason: {}",
        h.expect,
        h.attack,
        report["reason"]
    );
    match h.violation.as_deref() {
        None => ensure!(
            report["violation"].is_null(),
            "a violation in a {status} report: {}",
            report["violation"]
        ),
        // x32 and foreign-architecture numbers: killed in the kernel, never notified.
        Some("kernel") => {
            ensure!(
                report["signal_name"] == "SIGSYS",
                "a kernel-killed policy_violation without SIGSYS: {}",
                report["signal_name"]
            );
            ensure!(
                report["violation"].is_null(),
                "the kernel kill was named: {}",
                report["violation"]
            );
        }
        // Every other forbidden call under the namespaces profile, whose seccomp_default is
        // kill_process (gVisor has no listener): the kernel kills with SIGSYS and nothing names
        // the call. That the attack reached that call is what the other two modes prove, with
        // the same program and the call named.
        Some(_) if mode == Mode::Namespaces => {
            ensure!(
                report["signal_name"] == "SIGSYS",
                "under kill_process a forbidden call ends by SIGSYS, not {}",
                report["signal_name"]
            );
            ensure!(
                report["violation"].is_null(),
                "a call named under kill_process: {}",
                report["violation"]
            );
            ensure!(
                report["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("kill_process") && r.contains("not named")),
                "the reason does not say the call was killed unnamed: {}",
                report["reason"]
            );
        }
        // Every other forbidden call: the supervisor saw it, named it and killed the group.
        Some(want) => {
            let v = &report["violation"];
            let decoded = v["decoded"].as_str().unwrap_or("");
            ensure!(
                decoded.starts_with(want),
                "the report names {decoded:?}, expected a call starting {want:?} (a kill before the attack reached its call fails here): {}",
                report["reason"]
            );
            let call = want.split('(').next().unwrap_or(want);
            ensure!(
                v["call"] == call,
                "violation call {}, expected {call}",
                v["call"]
            );
            ensure!(
                report["signal_name"] == "SIGKILL",
                "a named violation ends by the supervisor's SIGKILL, not {}",
                report["signal_name"]
            );
            ensure!(
                report["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains(decoded) && r.contains("not executed")),
                "the reason does not quote the call: {}",
                report["reason"]
            );
        }
    }
    if let Some(code) = h.exit_code {
        ensure!(
            report["exit_code"] == code,
            "exit_code is {}, expected {code}",
            report["exit_code"]
        );
    }
    if let Some(sig) = &h.signal {
        ensure!(
            report["signal_name"] == sig.as_str(),
            "signal_name is {}, expected {sig}",
            report["signal_name"]
        );
    }
    if let Some(ms) = &h.memory_signal {
        ensure!(
            report["memory_signal"] == ms.as_str(),
            "memory_signal is {}, expected {ms}",
            report["memory_signal"]
        );
    }
    check_enforced(&report, mode)?;

    if let Some(want) = &h.stdout {
        ensure!(
            out == *want,
            "stdout differs:\n  want {want:?}\n  got  {:?}",
            head_tail(&out, 300)
        );
    }
    for needle in &h.stderr_contains {
        ensure!(err.contains(needle.as_str()), "stderr lacks {needle:?}");
    }
    let reason = report["reason"].as_str().unwrap_or("");
    for needle in &h.reason_contains {
        ensure!(
            reason.contains(needle.as_str()),
            "the reason {reason:?} lacks {needle:?}"
        );
    }

    // Secrets: neither the secret file nor the runner's environment in anything produced.
    let everything = [
        out.as_str(),
        err.as_str(),
        &read_lossy(&w.report),
        &read_lossy(&w.runner_out),
        &read_lossy(&w.runner_err),
    ]
    .concat();
    let secret_line = SECRET_CONTENT.trim_end();
    ensure!(
        !everything.contains(secret_line),
        "the secret file's content leaked into the output"
    );
    for (name, value) in RUNNER_ENV {
        ensure!(
            !everything.contains(value),
            "the runner's {name} leaked into the output"
        );
    }
    ensure!(
        !everything.contains(RUNNER_STDIN_CONTENT.trim_end()),
        "the runner's standard input reached the program"
    );

    // Output caps and the captured files.
    check_output_cap(
        &report,
        &w.stdout,
        "stdout",
        h.checks.contains("stdout-full"),
    )?;
    check_output_cap(
        &report,
        &w.stderr,
        "stderr",
        h.checks.contains("stderr-full"),
    )?;

    // Scratch: no file past the size limit (the kernel cuts at limit + 1), no symlink.
    let limit = as_u64(&report, "limits.file_size_bytes")?;
    let mut files = Vec::new();
    walk(&w.scratch, &mut files)?;
    for (path, len) in &files {
        ensure!(
            *len <= limit + 1,
            "{} is {len} bytes, past the file-size limit {limit} + 1",
            path.display()
        );
    }

    // Nothing outside the grants changed.
    let mut expected: BTreeSet<String> =
        ["report.json", "stdout.txt", "stderr.txt", "termination-log"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
    if h.checks.contains("report-symlink") {
        expected.insert("victim".into());
    }
    let found = names(&w.report_dir)?;
    ensure!(
        found == expected,
        "the report directory holds {found:?}, expected {expected:?}"
    );
    let outside = names(&w.outside)?;
    ensure!(
        outside.len() == 1 && outside.contains("canary"),
        "the outside directory holds {outside:?}"
    );
    ensure!(
        read_lossy(&w.outside.join("canary")) == CANARY_CONTENT,
        "the outside canary changed"
    );
    ensure!(
        read_lossy(&w.secret) == SECRET_CONTENT,
        "the secret changed"
    );
    ensure!(read_lossy(&w.data) == DATA_CONTENT, "the data file changed");

    // The termination log carries the same verdict.
    let tlog = read_lossy(&w.tlog);
    let summary: Value = serde_json::from_str(&tlog)
        .map_err(|e| format!("termination log is not JSON ({e}): {tlog:?}"))?;
    ensure!(
        summary["status"] == report["status"],
        "termination log status {} differs from the report's {}",
        summary["status"],
        report["status"]
    );
    ensure!(
        summary["violation"] == report["violation"],
        "termination log violation {} differs from the report's {}",
        summary["violation"],
        report["violation"]
    );

    // Per-attack checks.
    if h.checks.contains("tcp") {
        match w.tcp.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Ok((_, peer)) => return Err(format!("the TCP listener got a connection from {peer}")),
            Err(e) => return Err(format!("TCP accept: {e}")),
        }
    }
    if h.checks.contains("udp") {
        let mut buf = [0u8; 512];
        match w.udp.recv_from(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Ok((n, peer)) => return Err(format!("the UDP socket received {n} bytes from {peer}")),
            Err(e) => return Err(format!("UDP recv: {e}")),
        }
    }
    if h.checks.contains("report-symlink") {
        ensure!(
            read_lossy(&w.report_dir.join("victim")) == VICTIM_CONTENT,
            "the symlink's target was overwritten"
        );
    }
    Ok(())
}

fn run_program(p: &Program, mode: Mode) -> Res {
    let w = World::new()?;
    let script = w.install(&p.path, &p.name)?;
    if p.header.checks.contains("report-symlink") {
        // A symlink already at the report path: the runner must replace it, not follow it.
        let victim = w.report_dir.join("victim");
        write(&victim, VICTIM_CONTENT, 0o666)?;
        std::os::unix::fs::symlink(&victim, &w.report).map_err(|e| e.to_string())?;
    }
    let mut args = w.runner_args(&script, &p.header.runner_args)?;
    args.push("--".into());
    args.push(PYTHON.into());
    args.push(script.display().to_string());
    for a in &p.header.args {
        args.push(w.fill(a)?);
    }
    let mut child = w.spawn(mode, &args)?;
    let status = wait_deadline(&mut child, wall_of(&args) + Duration::from_secs(30));
    let result = status.clone().and_then(|st| check_program(&w, p, mode, st));
    result.map_err(|e| format!("{}: {e}\n{}", p.header.attack, w.context(status.ok())))
}

// ---------------------------------------------------------------------------------------------
// Trials that are not one attack program

/// SIGTERM from outside (the kubelet) while the program sleeps: report `cancelled`.
fn cancel_by_sigterm(mode: Mode) -> Res {
    let w = World::new()?;
    let src = w.prog_dir.join("src.py");
    write(
        &src,
        "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('ESCAPED: not cancelled')\n",
        0o644,
    )?;
    let script = w.install(&src, "sleeper")?;
    let mut args = w.runner_args(&script, &["--wall-time".into(), "30".into()])?;
    args.extend(["--".into(), PYTHON.into(), script.display().to_string()]);
    let mut child = w.spawn(mode, &args)?;
    let started = Instant::now();
    while !read_lossy(&w.stdout).contains("started") {
        if started.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the program never started\n{}", w.context(None)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
    // SAFETY: kill with the pid of our own child (setpriv execs the runner in place); it
    // touches no memory.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    ensure!(sent == 0, "kill(runner, SIGTERM) failed");
    let status = wait_deadline(&mut child, Duration::from_secs(15));
    let check = || -> Res {
        let st = status.clone()?;
        ensure!(st.code() == Some(0), "runner exit status {st:?}, want 0");
        let report = read_report(&w)?;
        ensure!(
            report["status"] == "cancelled",
            "status is {}, want cancelled",
            report["status"]
        );
        ensure!(
            as_u64(&report, "wall_ms")? < 10_000,
            "cancellation took {} ms",
            report["wall_ms"]
        );
        check_enforced(&report, mode)?;
        let tlog: Value = serde_json::from_str(&read_lossy(&w.tlog))
            .map_err(|e| format!("termination log: {e}"))?;
        ensure!(
            tlog["status"] == "cancelled",
            "termination log says {}",
            tlog["status"]
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(status.ok())))
}

/// The report's `enforced` section says what the policy requires, and the program agrees.
fn enforcement(mode: Mode) -> Res {
    let w = World::new()?;
    let src = w.prog_dir.join("src.py");
    write(
        &src,
        "import os\nprint(os.getuid(), os.geteuid(), os.getgid(), os.getegid())\n",
        0o644,
    )?;
    let script = w.install(&src, "whoami")?;
    let mut args = w.runner_args(&script, &[])?;
    args.extend(["--".into(), PYTHON.into(), script.display().to_string()]);
    let mut child = w.spawn(mode, &args)?;
    let status = wait_deadline(&mut child, Duration::from_secs(30));
    let check = || -> Res {
        let st = status.clone()?;
        ensure!(st.code() == Some(0), "runner exit status {st:?}");
        let report = read_report(&w)?;
        ensure!(report["status"] == "ok", "status is {}", report["status"]);
        check_enforced(&report, mode)?;
        let uid = mode.program_uid();
        if uid == SANDBOX_UID {
            let want = format!("{uid} {uid} {uid} {uid}\n");
            let got = read_lossy(&w.stdout);
            ensure!(got == want, "the program sees ids {got:?}, want {want:?}");
        }
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(status.ok())))
}

/// `--inherit-stdin` hands the runner's own standard input on; only then does the program
/// read it (every other trial checks that it does not).
fn stdin_inherited_when_asked(mode: Mode) -> Res {
    let w = World::new()?;
    let script = tiny_program(&w, "import sys\nsys.stdout.write(sys.stdin.read())\n")?;
    let args = python_run(&w, &script, &["--inherit-stdin"])?;
    let mut child = w.spawn(mode, &args)?;
    let status = wait_deadline(&mut child, Duration::from_secs(30));
    let check = || -> Res {
        let st = status.clone()?;
        ensure!(st.code() == Some(0), "runner exit status {st:?}");
        let report = read_report(&w)?;
        ensure!(report["status"] == "ok", "status is {}", report["status"]);
        check_enforced(&report, mode)?;
        let got = read_lossy(&w.stdout);
        ensure!(
            got == RUNNER_STDIN_CONTENT,
            "the program read {got:?} from the inherited stdin"
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(status.ok())))
}

/// A refused command line or spec: exit 2, a message naming the problem, no report, nothing
/// run; and (`tlog`) the reason in the termination log too.
fn refused(
    args_of: impl FnOnce(&World, &Path) -> Res<Vec<String>>,
    needle: &str,
    tlog: bool,
) -> Res {
    let w = World::new()?;
    let src = w.prog_dir.join("src.py");
    write(&src, "print('ESCAPED: ran')\n", 0o644)?;
    let script = w.install(&src, "prog")?;
    let args = args_of(&w, &script)?;
    let mut child = w.spawn(Mode::Root, &args)?;
    let status = wait_deadline(&mut child, Duration::from_secs(30));
    let check = || -> Res {
        let st = status.clone()?;
        ensure!(st.code() == Some(2), "runner exit status {st:?}, want 2");
        let err = read_lossy(&w.runner_err);
        ensure!(
            err.contains(needle),
            "stderr does not mention {needle:?}: {err:?}"
        );
        ensure!(
            !w.report.exists(),
            "a report was written for a refused spec"
        );
        ensure!(
            !read_lossy(&w.stdout).contains("ESCAPED"),
            "the program ran"
        );
        ensure!(
            fs::symlink_metadata(&w.stdout).is_err(),
            "the capture file was created for a refused spec"
        );
        let log = read_lossy(&w.tlog);
        ensure!(
            !tlog || log.contains("bad spec"),
            "the termination log does not say `bad spec`: {log:?}"
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(status.ok())))
}

fn spec_file(w: &World, json: &str) -> Res<Vec<String>> {
    let path = w.prog_dir.join("spec.json");
    write(&path, json, 0o644)?;
    Ok(vec![
        "run".into(),
        "--spec".into(),
        path.display().to_string(),
    ])
}

/// Gives `flag`, already in `args`, the value `value` instead.
fn set_flag(args: &mut [String], flag: &str, value: String) -> Res {
    let i = args
        .iter()
        .position(|x| x == flag)
        .ok_or_else(|| format!("no {flag}"))?;
    *args
        .get_mut(i + 1)
        .ok_or_else(|| format!("{flag} has no value"))? = value;
    Ok(())
}

/// `flag_run` of `python3 script`, the program most attacks run.
fn python_run(w: &World, script: &Path, extra: &[&str]) -> Res<Vec<String>> {
    flag_run(w, script, extra, &[PYTHON, &script.display().to_string()])
}

fn flag_run(w: &World, script: &Path, extra: &[&str], program: &[&str]) -> Res<Vec<String>> {
    let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    let mut args = w.runner_args(script, &extra)?;
    args.push("--".into());
    args.extend(program.iter().map(|s| (*s).to_owned()));
    Ok(args)
}

fn spec_trials() -> Vec<Trial> {
    type ArgsOf = Box<dyn FnOnce(&World, &Path) -> Res<Vec<String>> + Send>;
    let cases: Vec<(&str, &str, ArgsOf)> = vec![
        (
            "unknown_field",
            "sudo",
            Box::new(|w, s| {
                let doc = format!(
                    r#"{{"program":["{PYTHON}","{}"],"report":"{}","sudo":true}}"#,
                    s.display(),
                    w.report.display()
                );
                spec_file(w, &doc)
            }),
        ),
        (
            "unknown_limit",
            "memroy",
            Box::new(|w, s| {
                let doc = format!(
                    r#"{{"program":["{PYTHON}","{}"],"report":"{}","limits":{{"memroy":"1MiB"}}}}"#,
                    s.display(),
                    w.report.display()
                );
                spec_file(w, &doc)
            }),
        ),
        (
            "bad_size_in_spec",
            "12XB",
            Box::new(|w, s| {
                let doc = format!(
                    r#"{{"program":["{PYTHON}","{}"],"report":"{}","limits":{{"memory":"12XB"}}}}"#,
                    s.display(),
                    w.report.display()
                );
                spec_file(w, &doc)
            }),
        ),
        (
            "bad_size_flag",
            "12XB",
            Box::new(|w, s| {
                let mut a = w.runner_args(s, &["--memory".into(), "12XB".into()])?;
                a.extend(["--".into(), PYTHON.into(), s.display().to_string()]);
                Ok(a)
            }),
        ),
        (
            "missing_program",
            "no program",
            Box::new(|w, s| w.runner_args(s, &[])),
        ),
        (
            "empty_program_in_spec",
            "program is empty",
            Box::new(|w, _| {
                let doc = format!(r#"{{"program":[],"report":"{}"}}"#, w.report.display());
                spec_file(w, &doc)
            }),
        ),
        (
            "relative_program",
            "absolute",
            Box::new(|w, s| flag_run(w, s, &[], &["python3.11", &s.display().to_string()])),
        ),
        (
            "relative_rw_path",
            "absolute",
            Box::new(|w, s| python_run(w, s, &["--rw", "scratch"])),
        ),
        (
            "missing_ro_path",
            "does not exist",
            Box::new(|w, s| python_run(w, s, &["--ro", "/nonexistent/attack-suite"])),
        ),
        (
            "forbidden_env",
            "LD_PRELOAD",
            Box::new(|w, s| python_run(w, s, &["--env", "LD_PRELOAD=/tmp/evil.so"])),
        ),
        (
            "report_inside_rw",
            "writable path",
            Box::new(|w, s| {
                let mut a = python_run(w, s, &[])?;
                set_flag(
                    &mut a,
                    "--report",
                    w.scratch.join("report.json").display().to_string(),
                )?;
                Ok(a)
            }),
        ),
        (
            "report_inside_rw_via_symlink",
            "writable path",
            Box::new(|w, s| {
                // The report's directory is a symlink to the scratch: still refused.
                let link = w.prog_dir.join("looks-safe");
                std::os::unix::fs::symlink(&w.scratch, &link).map_err(|e| e.to_string())?;
                let mut a = python_run(w, s, &[])?;
                set_flag(
                    &mut a,
                    "--report",
                    link.join("report.json").display().to_string(),
                )?;
                Ok(a)
            }),
        ),
        (
            "stdin_and_inherit_stdin_flags",
            "cannot be used with",
            Box::new(|w, s| python_run(w, s, &["--stdin", "/dev/null", "--inherit-stdin"])),
        ),
        (
            "stdin_and_inherit_stdin_in_spec",
            "not both",
            Box::new(|w, s| {
                let doc = format!(
                    r#"{{"program":["{PYTHON}","{}"],"report":"{}","termination_log":"{}","stdin":"/dev/null","inherit_stdin":true}}"#,
                    s.display(),
                    w.report.display(),
                    w.tlog.display()
                );
                spec_file(w, &doc)
            }),
        ),
        (
            "stdout_inside_rw",
            "writable path",
            Box::new(|w, s| {
                let mut a = python_run(w, s, &[])?;
                set_flag(
                    &mut a,
                    "--stdout",
                    w.scratch.join("sub/out.txt").display().to_string(),
                )?;
                Ok(a)
            }),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, needle, args_of)| {
            // A value clap itself rejects (--memory 12XB) fails before the runner knows
            // where the termination log is; every other refusal must reach it.
            // A spec file that does not parse cannot say where its termination log is either.
            let tlog = !matches!(
                name,
                "bad_size_flag"
                    | "stdin_and_inherit_stdin_flags"
                    | "stdin_and_inherit_stdin_in_spec"
                    | "unknown_field"
                    | "unknown_limit"
                    | "bad_size_in_spec"
                    | "empty_program_in_spec"
            );
            Trial::test(format!("spec::{name}"), move || {
                refused(args_of, needle, tlog).map_err(Failed::from)
            })
        })
        .collect()
}

fn run_plain(w: &World, args: &[String]) -> Res<ExitStatus> {
    let mut child = w.spawn(Mode::Root, args)?;
    wait_deadline(&mut child, Duration::from_secs(30))
}

fn tiny_program(w: &World, code: &str) -> Res<PathBuf> {
    let src = w.prog_dir.join("src.py");
    write(&src, code, 0o644)?;
    w.install(&src, "prog")
}

/// Where the confinement the profile names cannot be applied, nothing runs: the Landlock
/// profile on a kernel whose Landlock calls answer ENOSYS (gVisor), and the namespaces profile
/// where creating the namespaces is refused as well (a runc pod's seccomp profile).
fn confinement_fails_closed(without: common::Without, profile: Option<&Path>, want: &str) -> Res {
    let w = World::new()?;
    let script = tiny_program(&w, "print('ESCAPED: ran without its confinement')\n")?;
    let profile_args: Vec<String> = profile
        .map(|p| vec!["--profile".to_owned(), p.display().to_string()])
        .unwrap_or_default();
    let extra: Vec<&str> = profile_args.iter().map(String::as_str).collect();
    let args = python_run(&w, &script, &extra)?;
    let mut child = w.spawn_without(without, &args)?;
    let st = wait_deadline(&mut child, Duration::from_secs(30));
    let check = || -> Res {
        let report = sandbox_error_report(&w, &st)?;
        let reason = report["reason"].as_str().unwrap_or("");
        ensure!(
            reason.contains(want),
            "reason does not say {want:?}: {reason}"
        );
        ensure!(
            report["enforced"]["confinement"].is_null()
                && report["enforced"]["landlock_status"] == "not_applied",
            "the report claims a confinement: {}",
            report["enforced"]
        );
        ensure!(
            !read_lossy(&w.stdout).contains("ESCAPED"),
            "the program ran"
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(st.ok())))
}

/// `namespaces.toml` naming `notify` instead, in a file of its own the sandbox user can read.
fn namespaces_profile_notify() -> Res<PathBuf> {
    let text = fs::read_to_string(common::namespaces_profile()).map_err(|e| e.to_string())?;
    let kill = "seccomp_default = \"kill_process\"";
    ensure!(text.contains(kill), "namespaces.toml does not name {kill}");
    let path = std::env::temp_dir().join(format!(
        "runner-attacks-{}-namespaces-notify.toml",
        std::process::id()
    ));
    fs::write(&path, text.replace(kill, "seccomp_default = \"notify\""))
        .map_err(|e| e.to_string())?;
    Ok(path)
}

/// The namespaces profile (`kill_process`) under a filter refusing the listener as gVisor
/// does: the program runs, and a forbidden call ends by SIGSYS, unnamed.
fn kill_process_without_a_listener() -> Res {
    let w = World::new()?;
    let script = tiny_program(
        &w,
        "import socket\nprint('started', flush=True)\nsocket.socket(socket.AF_INET)\nprint('ESCAPED: a socket')\n",
    )?;
    let profile = common::namespaces_profile().display().to_string();
    let args = python_run(&w, &script, &["--profile", &profile])?;
    let mut child = w.spawn_without(common::Without::LandlockAndListener, &args)?;
    let st = wait_deadline(&mut child, Duration::from_secs(30));
    let check = || -> Res {
        let st = st.clone()?;
        ensure!(st.code() == Some(0), "runner exit status {st:?}, want 0");
        let report = read_report(&w)?;
        ensure!(
            report["status"] == "policy_violation"
                && report["signal_name"] == "SIGSYS"
                && report["violation"].is_null(),
            "want an unnamed policy_violation by SIGSYS: {} {} {}",
            report["status"],
            report["signal_name"],
            report["violation"]
        );
        ensure!(
            report["enforced"]["seccomp_default"] == "kill_process"
                && report["enforced"]["confinement"] == "namespaces",
            "enforced: {}",
            report["enforced"]
        );
        let stdout = read_lossy(&w.stdout);
        ensure!(
            stdout.contains("started") && !stdout.contains("ESCAPED"),
            "stdout: {stdout}"
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(st.ok())))
}

/// Exit code 3: a profile whose minimum Landlock ABI this kernel cannot meet. The program must
/// not run, and the report says `sandbox_error` with the reason.
fn exit3_landlock_abi() -> Res {
    let w = World::new()?;
    let script = tiny_program(&w, "print('ESCAPED: ran without the sandbox')\n")?;
    let default = repo().join("policies/sandbox/default.toml");
    let text = fs::read_to_string(&default).map_err(|e| e.to_string())?;
    ensure!(
        text.contains("min_landlock_abi = "),
        "profile format changed"
    );
    let patched: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("min_landlock_abi") {
                "min_landlock_abi = 99".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    let profile = w.prog_dir.join("profile.toml");
    write(&profile, &(patched.join("\n") + "\n"), 0o644)?;
    let args = python_run(&w, &script, &["--profile", &profile.display().to_string()])?;
    let st = run_plain(&w, &args);
    let check = || -> Res {
        let report = sandbox_error_report(&w, &st)?;
        let reason = report["reason"].as_str().unwrap_or("");
        ensure!(
            reason.contains("99"),
            "reason does not name the ABI: {reason}"
        );
        ensure!(
            report["enforced"]["landlock_status"] == "not_applied",
            "landlock_status {}",
            report["enforced"]["landlock_status"]
        );
        ensure!(
            !read_lossy(&w.stdout).contains("ESCAPED"),
            "the program ran"
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(st.ok())))
}

/// Exit code 3: the capture file cannot be created; nothing runs, the report says why.
fn exit3_capture_file() -> Res {
    let w = World::new()?;
    let script = tiny_program(&w, "print('ESCAPED: ran')\n")?;
    let mut args = python_run(&w, &script, &[])?;
    set_flag(
        &mut args,
        "--stdout",
        w.report_dir
            .join("missing-dir/out.txt")
            .display()
            .to_string(),
    )?;
    let st = run_plain(&w, &args);
    let check = || -> Res {
        sandbox_error_report(&w, &st)?;
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(st.ok())))
}

/// Exit code 4: the report cannot be written (its directory is missing).
fn exit4_report_unwritable() -> Res {
    let w = World::new()?;
    let script = tiny_program(&w, "print('hello')\n")?;
    let mut args = python_run(&w, &script, &[])?;
    set_flag(
        &mut args,
        "--report",
        w.report_dir
            .join("missing-dir/report.json")
            .display()
            .to_string(),
    )?;
    let st = run_plain(&w, &args);
    let check = || -> Res {
        let st = st.clone()?;
        ensure!(st.code() == Some(4), "runner exit status {st:?}, want 4");
        let err = read_lossy(&w.runner_err);
        ensure!(err.contains("cannot write the report"), "stderr: {err:?}");
        let tlog = read_lossy(&w.tlog);
        ensure!(
            tlog.contains("cannot write the report"),
            "termination log: {tlog:?}"
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(st.ok())))
}

/// A capture file that fails mid-run (here /dev/full: ENOSPC on every write) stops the program
/// and says so; before, the stream was silently discarded and the run reported `ok`.
fn exit3_capture_write_fails() -> Res {
    let w = World::new()?;
    let script = tiny_program(&w, "print('x' * 100)\n")?;
    let mut args = python_run(&w, &script, &[])?;
    set_flag(&mut args, "--stdout", "/dev/full".into())?;
    let st = run_plain(&w, &args);
    let check = || -> Res {
        let report = sandbox_error_report(&w, &st)?;
        let reason = report["reason"].as_str().unwrap_or_default();
        ensure!(
            reason.contains("could not write the program's standard output to its file"),
            "reason {reason:?}"
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(st.ok())))
}

/// Granting `/` itself would leave the read-back's Landlock probe nothing to be refused: the
/// run is refused before the fork, and the program never runs.
fn exit3_root_granted() -> Res {
    let w = World::new()?;
    let script = tiny_program(&w, "print('ESCAPED: ran')\n")?;
    let args = python_run(&w, &script, &["--ro", "/"])?;
    let st = run_plain(&w, &args);
    let check = || -> Res {
        let report = sandbox_error_report(&w, &st)?;
        let reason = report["reason"].as_str().unwrap_or_default();
        ensure!(
            reason.contains("grants the whole file system"),
            "reason {reason:?}"
        );
        ensure!(
            !read_lossy(&w.stdout).contains("ESCAPED"),
            "the program ran"
        );
        Ok(())
    };
    check().map_err(|e| format!("{e}\n{}", w.context(st.ok())))
}

fn infrastructure_trials() -> Vec<Trial> {
    let t = |name: &str, f: fn() -> Res| Trial::test(name, move || f().map_err(Failed::from));
    vec![
        t("exit::3_landlock_abi_below_minimum", exit3_landlock_abi),
        t("exit::3_capture_file_unwritable", exit3_capture_file),
        t("exit::3_capture_write_fails", exit3_capture_write_fails),
        t("exit::3_root_granted", exit3_root_granted),
        t("exit::4_report_not_writable", exit4_report_unwritable),
    ]
}

// ---------------------------------------------------------------------------------------------

fn moded(name: String, mode: Mode, f: impl FnOnce() -> Res + Send + 'static) -> Trial {
    Trial::ignorable_test(name, move || {
        if let Some(why) = mode.unavailable() {
            return Ok(Completion::ignored_with(why));
        }
        f().map(|()| Completion::Completed).map_err(Failed::from)
    })
}

/// Attack programs whose expectations are Landlock's own answers, or the allocation guard's
/// (which only `seccomp_default = "notify"` has), that the namespaces profile gives differently
/// (listed, never silently skipped; each still runs in the other two modes). Everything else in
/// the suite runs in the `namespaces` mode too.
const NAMESPACES_DIFFER: &[(&str, &str)] = &[
    (
        "abort_self",
        "the program is PID 1 of its own PID namespace, which ignores a default-action signal it sends itself: abort() ends in SIGSEGV, not SIGABRT",
    ),
    (
        "sigstop_self",
        "PID 1 of a PID namespace cannot SIGSTOP itself: it runs on, and the wall clock ends it",
    ),
    (
        "kill_runner",
        "getppid() is 0 in a PID namespace of its own: the runner cannot be named, and pid 0 is the program's own group",
    ),
    ("kill_runner_tgkill", "as kill_runner"),
    (
        "prlimit_runner",
        "as kill_runner: prlimit(0) is the program itself",
    ),
    (
        "fs_etc_files",
        "listing / shows the granted paths' mount points on the tmpfs root (tmp, usr, lib64, dev, etc) and nothing else",
    ),
    (
        "fs_dotdot_report_dir",
        "a granted path's parent lists the other granted mount points (prog, scratch); the report directory does not exist there",
    ),
    (
        "fs_proc_self",
        "there is no /proc in the sandbox's root at all",
    ),
    (
        "dev_other",
        "a mount's read-only flag does not cover device nodes: /dev/urandom, granted read-only, opens for writing, which unprivileged only stirs the pool (no entropy credited)",
    ),
    (
        "exec_ldso_scratch_binary",
        "scratch is mounted noexec: the loader cannot even map the copy (runtime_error, not policy_violation)",
    ),
    (
        "exec_ldso_sh",
        "/bin/sh does not exist in the sandbox's root: No such file, not Permission denied",
    ),
    (
        "ok_read_data",
        "writing the read-only data file fails with EROFS (a read-only mount), which the honest program does not expect",
    ),
    (
        "mem_single_over_backstop",
        "the namespaces profile's seccomp_default is kill_process, which has no allocation guard: the allocation over the backstop is the kernel's ENOMEM, the program catches the MemoryError (memory_limit needs notify)",
    ),
    (
        "mem_mmap_over_backstop",
        "as mem_single_over_backstop: without the allocation guard the mmap fails with ENOMEM in the program, not memory_limit",
    ),
];

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    match load_programs() {
        Ok(programs) => {
            for p in programs {
                if let Some((_, why)) = NAMESPACES_DIFFER.iter().find(|(n, _)| *n == p.name) {
                    let why = format!("the namespaces confinement answers differently: {why}");
                    trials.push(Trial::ignorable_test(
                        format!("attack::{}::{}", p.name, Mode::Namespaces.name()),
                        move || Ok(Completion::ignored_with(why)),
                    ));
                }
                let ns = !NAMESPACES_DIFFER.iter().any(|(n, _)| *n == p.name);
                for mode in Mode::ALL.into_iter().chain(ns.then_some(Mode::Namespaces)) {
                    let p = p.clone();
                    trials.push(moded(
                        format!("attack::{}::{}", p.name, mode.name()),
                        mode,
                        move || run_program(&p, mode),
                    ));
                }
            }
        }
        Err(e) => trials.push(Trial::test("attack::headers", move || Err(e.into()))),
    }
    trials.push(moded(
        "confinement::landlock_profile_without_landlock_fails_closed".into(),
        Mode::Namespaces,
        || {
            confinement_fails_closed(
                common::Without::Landlock,
                None,
                "Landlock is not available in this kernel",
            )
        },
    ));
    trials.push(moded(
        "confinement::namespaces_profile_without_namespaces_fails_closed".into(),
        Mode::Namespaces,
        || {
            confinement_fails_closed(
                common::Without::LandlockAndNamespaces,
                Some(&common::namespaces_profile()),
                "cannot create the sandbox's user, mount, PID, network and IPC namespaces",
            )
        },
    ));
    // gVisor refuses the seccomp listener: a profile naming `notify` fails closed there rather
    // than falling back to kill_process, and the namespaces profile, naming kill_process,
    // runs (its whole attack mode runs under this filter's Landlock half; this adds the
    // listener refusal).
    trials.push(moded(
        "confinement::notify_profile_without_a_listener_fails_closed".into(),
        Mode::Namespaces,
        || {
            let profile = namespaces_profile_notify()?;
            let result = confinement_fails_closed(
                common::Without::LandlockAndListener,
                Some(&profile),
                "loading the seccomp allowlist with a listener for the supervisor",
            );
            let _ = fs::remove_file(&profile);
            result
        },
    ));
    trials.push(moded(
        "confinement::kill_process_profile_without_a_listener_runs".into(),
        Mode::Namespaces,
        kill_process_without_a_listener,
    ));
    trials.push(moded(
        "sandbox::enforced::namespaces".into(),
        Mode::Namespaces,
        || enforcement(Mode::Namespaces),
    ));
    for mode in Mode::ALL {
        trials.push(moded(
            format!("sandbox::cancel_sigterm::{}", mode.name()),
            mode,
            move || cancel_by_sigterm(mode),
        ));
        trials.push(moded(
            format!("sandbox::enforced::{}", mode.name()),
            mode,
            move || enforcement(mode),
        ));
        trials.push(moded(
            format!("sandbox::stdin_inherited_when_asked::{}", mode.name()),
            mode,
            move || stdin_inherited_when_asked(mode),
        ));
    }
    trials.extend(spec_trials());
    trials.extend(infrastructure_trials());
    libtest_mimic::run(&args, trials).exit();
}
