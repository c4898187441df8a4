//! `runner`: the container entrypoint. Thin: parse, resolve, supervise, write the report.
//! Exit codes are defined in `runner::exit` and documented in docs/RUNNER.md.
//!
//! The entry point is C's `main`, not Rust's (`no_main`). The runner starts once per sandbox,
//! on the critical path of every match, and std's start-up before `fn main` is mostly for a
//! stack-overflow message: it reads /proc/self/maps to find the main thread's guard page,
//! and maps an alternate signal stack with handlers for it, 15 system calls on every start
//! (the read of /proc/self/maps alone took 36 µs in a traced timeline, perf, 2026-11-26).
//! [`main`] does itself the two parts of that start-up the runner relies on: standard
//! descriptors that are open, and SIGPIPE ignored.
//! A stack overflow still ends the runner (SIGSEGV at the kernel's guard gap), without the
//! message.
#![cfg_attr(not(test), no_main)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use runner::exit::RunnerExit;
use runner::profile::Profile;
use runner::report::Status;
use runner::spec::{AnySpec, Limits, Paths, RunSpec};
use runner::supervise::{self, OutputDir, Settings};

mod args;
use args::{Cli, PolicyArgs, RunArgs};

impl RunArgs {
    fn into_spec(self) -> Result<AnySpec, String> {
        if let Some(path) = &self.spec {
            if !self.program.is_empty() {
                return Err("give either --spec or a program after --, not both".into());
            }
            return AnySpec::from_file(path).map_err(|e| e.to_string());
        }
        if self.program.is_empty() {
            return Err("no program: give `-- PROGRAM [ARGS...]` or `--spec FILE`".into());
        }
        let env = self
            .env
            .iter()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| format!("--env {kv:?}: expected NAME=VALUE"))
            })
            .collect::<Result<_, _>>()?;
        let spec = RunSpec {
            version: runner::spec::SPEC_VERSION,
            program: self.program,
            limits: Limits {
                wall_time: self.wall_time,
                cpu_time: self.cpu_time,
                memory: self.memory,
                output: self.output_limit,
                file_size: self.file_size_limit,
                open_files: self.open_files,
                disk: self.disk_limit,
                disk_inodes: self.disk_inodes,
            },
            paths: Paths {
                ro: self.ro,
                rx: self.rx,
                rw: self.rw,
            },
            env,
            cwd: self.cwd,
            stdin: self.stdin,
            inherit_stdin: self.inherit_stdin,
            report: self.report,
            stdout: self.stdout,
            stderr: self.stderr,
            termination_log: self.termination_log,
            profile: self.profile,
        };
        spec.validate().map_err(|e| e.to_string())?;
        Ok(AnySpec::Run(spec))
    }
}

const DEFAULT_TERMINATION_LOG: &str = "/dev/termination-log";

fn termination_log_path(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_owned());
    }
    let p = Path::new(DEFAULT_TERMINATION_LOG);
    nix::unistd::access(p, nix::unistd::AccessFlags::W_OK)
        .ok()
        .map(|()| p.to_owned())
}

/// A refused spec: nothing ran, so there is no report; say why on stderr and, so the
/// launcher can read it from the Pod status, in the termination log.
fn refuse(msg: &str, termination_log: Option<&Path>) -> u8 {
    eprintln!("runner: {msg}");
    if let Some(p) = termination_log_path(termination_log)
        && let Err(e) =
            supervise::write_termination_log(p.as_path(), &format!("runner: bad spec: {msg}"))
    {
        eprintln!(
            "runner: cannot write the termination log {}: {e}",
            p.display()
        );
    }
    RunnerExit::BadSpec.code()
}

/// What a run produced, single program or match, ready to be written.
struct Outcome {
    text: Result<String, serde_json::Error>,
    summary: String,
    status: Status,
}

fn run(args: RunArgs, signals: &nix::sys::signalfd::SignalFd) -> u8 {
    let tlog_flag = args.termination_log.clone();
    let spec = match args.into_spec() {
        Ok(s) => s,
        Err(e) => return refuse(&e, tlog_flag.as_deref()),
    };
    let (report_path, tlog, profile_path) = match &spec {
        AnySpec::Run(s) => (
            s.report.clone(),
            s.termination_log.clone(),
            s.profile.clone(),
        ),
        AnySpec::Match(m) => (
            m.report.clone(),
            m.termination_log.clone(),
            m.profile.clone(),
        ),
    };
    let tlog = termination_log_path(tlog.as_deref());
    let profile = match Profile::load(profile_path.as_deref()) {
        Ok(p) => p,
        Err(e) => return refuse(&e.to_string(), tlog.as_deref()),
    };
    // The report's directory is opened now, before any fork: the report lands there whatever
    // the path to it has become by the end of the run.
    let report_to = match report_path.as_deref().map(OutputDir::of_file).transpose() {
        Ok(r) => r,
        Err(e) => return report_unwritable(&e, tlog.as_deref()),
    };
    let outcome = match &spec {
        AnySpec::Run(s) => {
            let settings = match Settings::resolve(s, &profile, s.report.as_deref()) {
                Ok(s) => s,
                Err(e) => return refuse(&e.to_string(), tlog.as_deref()),
            };
            let r = supervise::run(&settings, signals);
            Outcome {
                text: serde_json::to_string_pretty(&r),
                summary: r.summary_json(),
                status: r.status,
            }
        }
        AnySpec::Match(m) => match runner::matches::run(m, &profile, signals) {
            Ok(r) => Outcome {
                text: serde_json::to_string_pretty(&r),
                summary: r.summary_json(),
                status: r.status,
            },
            Err(e) => return refuse(&e.to_string(), tlog.as_deref()),
        },
    };
    write_outcome(&outcome, report_to.as_ref(), tlog.as_deref())
}

fn report_unwritable(e: &std::io::Error, tlog: Option<&Path>) -> u8 {
    eprintln!("runner: cannot write the report: {e}");
    if let Some(p) = tlog
        && let Err(t) =
            supervise::write_termination_log(p, &format!("runner: cannot write the report: {e}"))
    {
        eprintln!(
            "runner: cannot write the termination log {}: {t}",
            p.display()
        );
    }
    RunnerExit::ReportWrite.code()
}

fn write_outcome(
    outcome: &Outcome,
    report_to: Option<&(OutputDir, OsString)>,
    tlog: Option<&Path>,
) -> u8 {
    let text = match &outcome.text {
        Ok(t) => format!("{t}\n"),
        Err(e) => {
            eprintln!("runner: cannot serialise the report: {e}");
            return RunnerExit::ReportWrite.code();
        }
    };
    let written = match report_to {
        Some((dir, name)) => dir.write_atomically(name, text.as_bytes()),
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
    };
    if let Err(e) = written {
        return report_unwritable(&e, tlog);
    }
    if let Some(p) = &tlog
        && let Err(e) = supervise::write_termination_log(p, &outcome.summary)
    {
        eprintln!(
            "runner: cannot write the termination log {}: {e}",
            p.display()
        );
    }
    if outcome.status == Status::SandboxError {
        RunnerExit::SandboxSetup.code()
    } else {
        RunnerExit::Reported.code()
    }
}

/// The process's entry point, called by the C library's start-up with the arguments and
/// environment already in place for `std::env` (glibc hands them to std's initialiser).
#[cfg(not(test))]
// SAFETY: the one symbol named `main` in the binary: the C runtime's entry point calls it.
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    if let Err(e) = standard_streams() {
        // If standard error is what could not be opened, the status alone says it.
        eprintln!("runner: cannot set up the standard streams: {e}");
        return RunnerExit::SandboxSetup.code().into();
    }
    let code = run_command();
    // std flushes standard output on the way out of a Rust `main`; C's exit does not know
    // about std's buffer. Every writer flushes already; this is the last word.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    code.into()
}

/// What std's start-up would have done for the runner: a closed descriptor 0, 1 or 2 is
/// opened on /dev/null (else the first descriptor the runner opens would take its number,
/// and the report meant for standard output would be written into it), and SIGPIPE is
/// ignored (a report reader that went away is a write error, not the runner's death). The
/// child puts SIGPIPE back to its default before it execs.
#[cfg(not(test))]
fn standard_streams() -> nix::Result<()> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::BorrowedFd;
    // SAFETY: 0, 1 and 2 are only polled here, never closed or owned; poll answers POLLNVAL
    // for a number that is not open.
    let fds = [0, 1, 2].map(|n| unsafe { BorrowedFd::borrow_raw(n) });
    let mut pfds = fds.map(|fd| PollFd::new(fd, PollFlags::empty()));
    poll(&mut pfds, PollTimeout::ZERO)?;
    for p in &pfds {
        if p.revents().is_some_and(|r| r.contains(PollFlags::POLLNVAL)) {
            // open takes the lowest free number, and the closed ones are filled in order,
            // 0 to 2, so this is the one just polled. Kept open for the process's life, as
            // std does.
            let fd = nix::fcntl::open(
                "/dev/null",
                nix::fcntl::OFlag::O_RDWR,
                nix::sys::stat::Mode::empty(),
            )?;
            std::mem::forget(fd);
        }
    }
    // SAFETY: SIG_IGN installs no handler code; the runner has one thread.
    unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigIgn,
        )
    }?;
    Ok(())
}

// The unit tests link the test harness's `main` instead of the one above.
#[cfg_attr(test, allow(dead_code))]
fn run_command() -> u8 {
    // First, before anything can be interrupted: a SIGTERM from here on becomes a report.
    let signals = match supervise::take_signals() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("runner: cannot set up signal handling: {e}");
            return RunnerExit::SandboxSetup.code();
        }
    };
    let cli = match args::parse(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return RunnerExit::BadSpec.code();
        }
    };
    match cli {
        Cli::Run(args) => run(*args, &signals),
        Cli::Help(text) => emit(text),
        Cli::Version => emit(concat!("runner ", env!("CARGO_PKG_VERSION"), "\n")),
        Cli::Policy(PolicyArgs {
            oci_seccomp: true, ..
        }) => emit(&runner::policy::oci_profile_text()),
        Cli::Policy(PolicyArgs {
            seccomp_bpf: true,
            profile,
            ..
        }) => match runner::policy::seccomp_bpf_text(profile.as_deref()) {
            Ok(text) => emit(&text),
            Err(e) => {
                eprintln!("runner: {e}");
                RunnerExit::BadSpec.code()
            }
        },
        Cli::Policy(PolicyArgs { json, profile, .. }) => {
            match runner::policy::render(profile.as_deref(), json) {
                Ok(text) => emit(&text),
                Err(e) => {
                    eprintln!("runner: {e}");
                    RunnerExit::BadSpec.code()
                }
            }
        }
    }
}

/// Writes a document to standard output. A reader that went away (`runner policy | head`)
/// ends the output, not the command; any other failure is said.
fn emit(text: &str) -> u8 {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("runner: cannot write to standard output: {e}");
            1
        }
    }
}
