//! The runner's command line, parsed by hand.
//!
//! The runner starts once per sandbox, on the critical path of every match. clap's derive built
//! its whole command model (every flag with its help and conflicts) at each start, which cost
//! about a tenth of a millisecond, a tenth of the runner's own work over a bare fork and exec
//! (docs/PERFORMANCE.md). The grammar is small and fixed: two commands, long flags that take
//! `--flag VALUE` or `--flag=VALUE`, and the program after `--`. Errors and help say what
//! clap said.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::str::FromStr;

use runner::units::{Secs, Size};

pub const MAIN_HELP: &str = "\
Runs a program under Landlock, seccomp and rlimits, and reports how it ended.

Usage: runner <COMMAND>

Commands:
  run     Run a program in the sandbox and write its report
  policy  Print the effective policy this runner would apply
  help    Print this message or the help of the given command

Options:
  -h, --help     Print help
  -V, --version  Print version
";

pub const RUN_HELP: &str = "\
Run a program in the sandbox and write its report

Usage: runner run [OPTIONS] [-- <PROGRAM>...]

Arguments:
  [PROGRAM]...  The program (an absolute path) and its arguments

Options:
      --spec <FILE>             The whole run as one JSON document (then no other run flag and no program)
      --wall-time <SECS>        Wall-clock limit (seconds, or 500ms, 2s, 1m)
      --cpu-time <SECS>         CPU-time limit
      --memory <SIZE>           Resident-memory limit (bytes, or KiB/MiB/GiB)
      --output-limit <SIZE>     Cap on each of standard output and standard error
      --file-size-limit <SIZE>  Largest file the program may write
      --open-files <N>          Open file descriptors
      --disk-limit <SIZE>       Bytes the writable paths may hold in all
      --disk-inodes <N>         Entries (files, directories) the writable paths may hold in all
      --ro <PATH>               Grant read access to a path (repeatable)
      --rx <PATH>               Grant read and execute access to a path (repeatable)
      --rw <PATH>               Grant read and write access to a path (repeatable)
      --report <FILE>           Write the JSON report here (default: standard output)
      --stdout <FILE>           Save the program's standard output here
      --stderr <FILE>           Save the program's standard error here
      --stdin <FILE>            Feed this file to the program's standard input (default: /dev/null)
      --inherit-stdin           Hand the runner's own standard input to the program (only when asked: the default is /dev/null)
      --cwd <DIR>               Working directory (default: the first --rw directory, else /)
      --env <NAME=VALUE>        Add an environment variable NAME=VALUE (repeatable)
      --profile <FILE>          Sandbox profile to use instead of the embedded one
      --termination-log <FILE>  Write the short summary here (default: /dev/termination-log when writable)
  -h, --help                    Print help
";

pub const POLICY_HELP: &str = "\
Print the effective policy this runner would apply

Usage: runner policy [OPTIONS]

Options:
      --json            Machine-readable JSON instead of text
      --profile <FILE>  Profile to show instead of the embedded one
      --oci-seccomp     Print the container-wide seccomp profile (OCI format, for a Kubernetes Localhost profile) generated from the same policy files
      --seccomp-bpf     Print the seccomp program `runner run` installs with the profile's default limits, as `tcpdump -ddd` prints BPF: the instruction count, then `code jt jf k` a line
  -h, --help            Print help
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Cli {
    Run(Box<RunArgs>),
    Policy(PolicyArgs),
    /// Print this text and succeed.
    Help(&'static str),
    Version,
}

/// `runner run`'s flags, as given.
#[derive(Debug, Default)]
pub struct RunArgs {
    pub spec: Option<PathBuf>,
    pub wall_time: Option<Secs>,
    pub cpu_time: Option<Secs>,
    pub memory: Option<Size>,
    pub output_limit: Option<Size>,
    pub file_size_limit: Option<Size>,
    pub open_files: Option<u64>,
    pub disk_limit: Option<Size>,
    pub disk_inodes: Option<u64>,
    pub ro: Vec<PathBuf>,
    pub rx: Vec<PathBuf>,
    pub rw: Vec<PathBuf>,
    pub report: Option<PathBuf>,
    pub stdout: Option<PathBuf>,
    pub stderr: Option<PathBuf>,
    pub stdin: Option<PathBuf>,
    pub inherit_stdin: bool,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    pub profile: Option<PathBuf>,
    pub termination_log: Option<PathBuf>,
    pub program: Vec<String>,
}

/// `runner policy`'s flags.
#[derive(Debug, Default)]
pub struct PolicyArgs {
    pub json: bool,
    pub profile: Option<PathBuf>,
    pub oci_seccomp: bool,
    pub seccomp_bpf: bool,
}

/// A command line the runner refuses: the message, then where to read more.
#[derive(Debug)]
pub struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "error: {}\n\nFor more information, try '--help'.",
            self.0
        )
    }
}

fn refuse<T>(msg: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(msg.into()))
}

/// Parses the whole command line, the program's name first.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, UsageError> {
    let mut args = args.into_iter().skip(1);
    let Some(command) = args.next() else {
        return refuse(format!("a command is required\n\n{MAIN_HELP}"));
    };
    match utf8(&command)? {
        "run" => parse_run(args),
        "policy" => parse_policy(args),
        "-h" | "--help" => Ok(Cli::Help(MAIN_HELP)),
        "-V" | "--version" => Ok(Cli::Version),
        "help" => match args.next().as_deref().map(utf8).transpose()? {
            None => Ok(Cli::Help(MAIN_HELP)),
            Some("run") => Ok(Cli::Help(RUN_HELP)),
            Some("policy") => Ok(Cli::Help(POLICY_HELP)),
            Some(other) => refuse(format!("unrecognized command '{other}'")),
        },
        other => refuse(format!(
            "unrecognized command '{other}' (the commands are run and policy)"
        )),
    }
}

fn utf8(arg: &OsStr) -> Result<&str, UsageError> {
    arg.to_str()
        .ok_or_else(|| UsageError(format!("invalid UTF-8 in argument {arg:?}")))
}

/// One flag of a command: its name with its value's name, as help and errors write it, and
/// whether it may be given more than once.
struct Flag {
    name: &'static str,
    value: Option<&'static str>,
    repeatable: bool,
}

impl Flag {
    fn shown(&self) -> String {
        match self.value {
            Some(v) => format!("{} <{v}>", self.name),
            None => self.name.to_owned(),
        }
    }
}

const RUN_FLAGS: &[Flag] = &[
    flag("--spec", "FILE"),
    flag("--wall-time", "SECS"),
    flag("--cpu-time", "SECS"),
    flag("--memory", "SIZE"),
    flag("--output-limit", "SIZE"),
    flag("--file-size-limit", "SIZE"),
    flag("--open-files", "N"),
    flag("--disk-limit", "SIZE"),
    flag("--disk-inodes", "N"),
    repeatable("--ro", "PATH"),
    repeatable("--rx", "PATH"),
    repeatable("--rw", "PATH"),
    flag("--report", "FILE"),
    flag("--stdout", "FILE"),
    flag("--stderr", "FILE"),
    flag("--stdin", "FILE"),
    switch("--inherit-stdin"),
    flag("--cwd", "DIR"),
    repeatable("--env", "NAME=VALUE"),
    flag("--profile", "FILE"),
    flag("--termination-log", "FILE"),
];

const POLICY_FLAGS: &[Flag] = &[
    switch("--json"),
    flag("--profile", "FILE"),
    switch("--oci-seccomp"),
    switch("--seccomp-bpf"),
];

/// A flag with a value, given at most once.
const fn flag(name: &'static str, value: &'static str) -> Flag {
    Flag {
        name,
        value: Some(value),
        repeatable: false,
    }
}

/// A flag with a value, given as often as wanted (the values add up).
const fn repeatable(name: &'static str, value: &'static str) -> Flag {
    Flag {
        repeatable: true,
        ..flag(name, value)
    }
}

/// A flag without a value.
const fn switch(name: &'static str) -> Flag {
    Flag {
        name,
        value: None,
        repeatable: false,
    }
}

/// The flags of one command as they come: each known flag with its value (a flag without a
/// value gets an empty one), in order, and the arguments after `--`.
struct Given<'f> {
    flags: Vec<(&'f Flag, OsString)>,
    rest: Vec<OsString>,
}

impl Given<'_> {
    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(f, _)| f.name == name)
    }
}

/// Splits `args` into known flags and what follows `--`. `-h`/`--help` anywhere before `--`
/// asks for `help`. A flag given twice is refused unless it is repeatable.
fn split<'f>(
    mut args: impl Iterator<Item = OsString>,
    known: &'f [Flag],
    help: &'static str,
) -> Result<Result<Given<'f>, &'static str>, UsageError> {
    let mut given = Given {
        flags: Vec::new(),
        rest: Vec::new(),
    };
    while let Some(arg) = args.next() {
        if arg == "--" {
            given.rest = args.collect();
            break;
        }
        let text = utf8(&arg)?;
        if text == "-h" || text == "--help" {
            return Ok(Err(help));
        }
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(OsString::from(v))),
            _ => (text, None),
        };
        let Some(f) = known.iter().find(|f| f.name == name) else {
            return refuse(if name.starts_with('-') {
                format!("unexpected argument '{name}' found")
            } else {
                format!("unexpected argument '{name}' found: the program goes after `--`")
            });
        };
        let value = match (f.value, inline) {
            (None, None) => OsString::new(),
            (None, Some(_)) => return refuse(format!("{} takes no value", f.name)),
            (Some(_), Some(v)) => v,
            (Some(_), None) => args
                .next()
                .ok_or_else(|| UsageError(format!("a value is required for '{}'", f.shown())))?,
        };
        if !f.repeatable && given.has(f.name) {
            return refuse(format!(
                "the argument '{}' cannot be used multiple times",
                f.shown()
            ));
        }
        given.flags.push((f, value));
    }
    Ok(Ok(given))
}

fn parse_run(args: impl Iterator<Item = OsString>) -> Result<Cli, UsageError> {
    let given = match split(args, RUN_FLAGS, RUN_HELP)? {
        Ok(g) => g,
        Err(help) => return Ok(Cli::Help(help)),
    };
    let conflict = |a: &Flag, b: &Flag| -> Result<(), UsageError> {
        refuse(format!(
            "the argument '{}' cannot be used with '{}'",
            a.shown(),
            b.shown()
        ))
    };
    if let Some((spec, _)) = given.flags.iter().find(|(f, _)| f.name == "--spec")
        && let Some((other, _)) = given.flags.iter().find(|(f, _)| f.name != "--spec")
    {
        conflict(spec, other)?;
    }
    if let Some((stdin, _)) = given.flags.iter().find(|(f, _)| f.name == "--stdin")
        && let Some((inherit, _)) = given
            .flags
            .iter()
            .find(|(f, _)| f.name == "--inherit-stdin")
    {
        conflict(stdin, inherit)?;
    }
    let mut r = RunArgs::default();
    for (f, v) in given.flags {
        let path = || PathBuf::from(&v);
        match f.name {
            "--spec" => r.spec = Some(path()),
            "--wall-time" => r.wall_time = Some(value(f, &v)?),
            "--cpu-time" => r.cpu_time = Some(value(f, &v)?),
            "--memory" => r.memory = Some(value(f, &v)?),
            "--output-limit" => r.output_limit = Some(value(f, &v)?),
            "--file-size-limit" => r.file_size_limit = Some(value(f, &v)?),
            "--open-files" => r.open_files = Some(value(f, &v)?),
            "--disk-limit" => r.disk_limit = Some(value(f, &v)?),
            "--disk-inodes" => r.disk_inodes = Some(value(f, &v)?),
            "--ro" => r.ro.push(path()),
            "--rx" => r.rx.push(path()),
            "--rw" => r.rw.push(path()),
            "--report" => r.report = Some(path()),
            "--stdout" => r.stdout = Some(path()),
            "--stderr" => r.stderr = Some(path()),
            "--stdin" => r.stdin = Some(path()),
            "--inherit-stdin" => r.inherit_stdin = true,
            "--cwd" => r.cwd = Some(path()),
            "--env" => r.env.push(value(f, &v)?),
            "--profile" => r.profile = Some(path()),
            _ => r.termination_log = Some(path()),
        }
    }
    r.program = given
        .rest
        .iter()
        .map(|a| utf8(a).map(str::to_owned))
        .collect::<Result<_, _>>()?;
    Ok(Cli::Run(Box::new(r)))
}

fn parse_policy(args: impl Iterator<Item = OsString>) -> Result<Cli, UsageError> {
    let given = match split(args, POLICY_FLAGS, POLICY_HELP)? {
        Ok(g) => g,
        Err(help) => return Ok(Cli::Help(help)),
    };
    if let Some(extra) = given.rest.first() {
        return refuse(format!("unexpected argument {extra:?} found"));
    }
    let mut p = PolicyArgs::default();
    for (f, v) in &given.flags {
        match f.name {
            "--json" => p.json = true,
            "--profile" => p.profile = Some(PathBuf::from(v)),
            "--seccomp-bpf" => p.seccomp_bpf = true,
            _ => p.oci_seccomp = true,
        }
    }
    // --oci-seccomp is the container-wide profile, whatever the runner's profile; the program
    // is the runner's profile's, in one form.
    let alone: &[(&str, &[&str])] = &[
        ("--oci-seccomp", &["--oci-seccomp"]),
        ("--seccomp-bpf", &["--seccomp-bpf", "--profile"]),
    ];
    for (name, with) in alone {
        if given.flags.iter().any(|(f, _)| f.name == *name)
            && let Some((other, _)) = given.flags.iter().find(|(f, _)| !with.contains(&f.name))
        {
            return refuse(format!(
                "the argument '{name}' cannot be used with '{}'",
                other.shown()
            ));
        }
    }
    Ok(Cli::Policy(p))
}

/// A flag's value read as its type, or the refusal naming the flag, the value and why.
fn value<T: FromStr>(f: &Flag, v: &OsStr) -> Result<T, UsageError>
where
    T::Err: std::fmt::Display,
{
    let text = utf8(v)?;
    text.parse()
        .map_err(|e| UsageError(format!("invalid value '{text}' for '{}': {e}", f.shown())))
}

#[cfg(test)]
mod tests;
