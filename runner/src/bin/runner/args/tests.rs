//! The hand-written parser against the grammar its help texts describe.

use super::*;

fn parse_str(args: &[&str]) -> Result<Cli, String> {
    parse(
        std::iter::once("runner")
            .chain(args.iter().copied())
            .map(OsString::from),
    )
    .map_err(|e| e.to_string())
}

fn run(args: &[&str]) -> RunArgs {
    match parse_str(args) {
        Ok(Cli::Run(r)) => *r,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn refused(args: &[&str], needle: &str) {
    match parse_str(args) {
        Err(e) => assert!(e.contains(needle), "{args:?}: {e:?} lacks {needle:?}"),
        Ok(c) => panic!("{args:?} was accepted: {c:?}"),
    }
}

#[test]
fn every_run_flag_reaches_its_field_in_both_spellings() {
    let r = run(&[
        "run",
        "--wall-time",
        "2s",
        "--cpu-time=500ms",
        "--memory",
        "128MiB",
        "--output-limit=1KiB",
        "--file-size-limit",
        "4096",
        "--open-files",
        "64",
        "--disk-limit=1MiB",
        "--disk-inodes=10",
        "--ro",
        "/a",
        "--ro=/b",
        "--rx",
        "/usr",
        "--rw",
        "/tmp/w",
        "--report",
        "/r.json",
        "--stdout",
        "/o",
        "--stderr",
        "/e",
        "--cwd",
        "/tmp/w",
        "--env",
        "A=1",
        "--env=B=2",
        "--profile",
        "/p.toml",
        "--termination-log",
        "/t",
        "--inherit-stdin",
        "--",
        "/usr/bin/python3",
        "-c",
        "--wall-time",
    ]);
    assert_eq!(r.wall_time, Some("2".parse().unwrap()));
    assert_eq!(r.cpu_time, Some("0.5".parse().unwrap()));
    assert_eq!(r.memory, Some(Size::mib(128)));
    assert_eq!(r.output_limit, Some("1KiB".parse().unwrap()));
    assert_eq!(r.file_size_limit, Some("4096".parse().unwrap()));
    assert_eq!((r.open_files, r.disk_inodes), (Some(64), Some(10)));
    assert_eq!(r.disk_limit, Some(Size::mib(1)));
    assert_eq!(r.ro, [PathBuf::from("/a"), PathBuf::from("/b")]);
    assert_eq!((r.rx.len(), r.rw.len()), (1, 1));
    assert_eq!(r.report, Some(PathBuf::from("/r.json")));
    assert_eq!(r.stdout, Some(PathBuf::from("/o")));
    assert_eq!(r.stderr, Some(PathBuf::from("/e")));
    assert_eq!(r.cwd, Some(PathBuf::from("/tmp/w")));
    assert_eq!(r.env, ["A=1", "B=2"]);
    assert_eq!(r.profile, Some(PathBuf::from("/p.toml")));
    assert_eq!(r.termination_log, Some(PathBuf::from("/t")));
    assert!(r.inherit_stdin && r.stdin.is_none() && r.spec.is_none());
    // After `--` every argument is the program's, flags included.
    assert_eq!(r.program, ["/usr/bin/python3", "-c", "--wall-time"]);
}

#[test]
fn a_spec_file_alone_is_accepted() {
    let r = run(&["run", "--spec", "/s.json"]);
    assert_eq!(r.spec, Some(PathBuf::from("/s.json")));
    assert!(r.program.is_empty());
}

#[test]
fn refusals_name_the_flag_and_the_reason() {
    refused(
        &["run", "--memory", "12XB"],
        "invalid value '12XB' for '--memory <SIZE>'",
    );
    refused(&["run", "--wall-time=-1"], "'--wall-time <SECS>'");
    refused(&["run", "--open-files", "many"], "'--open-files <N>'");
    refused(
        &["run", "--spec", "/s", "--memory", "1MiB"],
        "cannot be used with",
    );
    refused(
        &["run", "--memory", "1MiB", "--spec", "/s"],
        "cannot be used with",
    );
    refused(
        &["run", "--stdin", "/dev/null", "--inherit-stdin"],
        "the argument '--stdin <FILE>' cannot be used with '--inherit-stdin'",
    );
    refused(
        &["run", "--memory", "1MiB", "--memory", "2MiB"],
        "multiple times",
    );
    refused(
        &["run", "--memory"],
        "a value is required for '--memory <SIZE>'",
    );
    refused(&["run", "--inherit-stdin=yes"], "takes no value");
    refused(&["run", "--bogus", "1"], "unexpected argument '--bogus'");
    refused(&["run", "/usr/bin/python3"], "after `--`");
    refused(&["walk"], "unrecognized command 'walk'");
    refused(&[], "a command is required");
    refused(
        &["policy", "--oci-seccomp", "--json"],
        "cannot be used with",
    );
    refused(
        &["policy", "--seccomp-bpf", "--json"],
        "'--seccomp-bpf' cannot be used with '--json'",
    );
    refused(
        &["policy", "--profile", "/p.toml", "--oci-seccomp"],
        "'--oci-seccomp' cannot be used with '--profile <FILE>'",
    );
    refused(&["policy", "--", "x"], "unexpected argument");
    refused(&["help", "walk"], "unrecognized command");
}

#[test]
fn help_and_version_are_answers_not_errors() {
    for (args, want) in [
        (&["--help"][..], MAIN_HELP),
        (&["-h"], MAIN_HELP),
        (&["help"], MAIN_HELP),
        (&["help", "run"], RUN_HELP),
        (&["run", "--memory", "1MiB", "--help"], RUN_HELP),
        (&["policy", "-h"], POLICY_HELP),
    ] {
        match parse_str(args) {
            Ok(Cli::Help(text)) => assert_eq!(text, want, "{args:?}"),
            other => panic!("{args:?}: {other:?}"),
        }
    }
    assert!(matches!(parse_str(&["-V"]), Ok(Cli::Version)));
    // After `--`, `--help` is the program's.
    assert_eq!(
        run(&["run", "--", "/p", "--help"]).program,
        ["/p", "--help"]
    );
}

#[test]
fn policy_flags() {
    match parse_str(&["policy", "--json", "--profile=/p.toml"]) {
        Ok(Cli::Policy(p)) => {
            assert!(p.json && !p.oci_seccomp);
            assert_eq!(p.profile, Some(PathBuf::from("/p.toml")));
        }
        other => panic!("{other:?}"),
    }
    match parse_str(&["policy", "--seccomp-bpf", "--profile", "/p.toml"]) {
        Ok(Cli::Policy(p)) => {
            assert!(p.seccomp_bpf && !p.json && !p.oci_seccomp);
            assert_eq!(p.profile, Some(PathBuf::from("/p.toml")));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_str(&["policy", "--oci-seccomp"]),
        Ok(Cli::Policy(PolicyArgs {
            oci_seccomp: true,
            ..
        }))
    ));
}

#[test]
fn every_flag_the_help_lists_is_parsed_and_every_parsed_flag_is_in_the_help() {
    for (flags, help) in [(RUN_FLAGS, RUN_HELP), (POLICY_FLAGS, POLICY_HELP)] {
        for f in flags {
            let line = help
                .lines()
                .find(|l| l.starts_with(&format!("      {} ", f.shown())))
                .unwrap_or_else(|| panic!("{} is not in the help", f.name));
            assert_eq!(line.contains("(repeatable)"), f.repeatable, "{line}");
        }
        let listed = help
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("--"))
            .count();
        // `-h, --help` is the one flag line that starts otherwise.
        assert_eq!(listed, flags.len(), "flags in the help");
    }
}

#[test]
fn a_non_utf8_path_is_kept_and_a_non_utf8_program_is_refused() {
    use std::os::unix::ffi::OsStringExt as _;
    let odd = OsString::from_vec(vec![b'/', 0xff]);
    let args = ["runner", "run", "--ro"].map(OsString::from);
    let cli = parse(
        args.into_iter()
            .chain([odd.clone(), "--".into(), "/p".into()]),
    )
    .unwrap();
    match cli {
        Cli::Run(r) => assert_eq!(r.ro, [PathBuf::from(odd.clone())]),
        other => panic!("{other:?}"),
    }
    let args = ["runner", "run", "--"].map(OsString::from);
    let e = parse(args.into_iter().chain([odd])).unwrap_err();
    assert!(e.to_string().contains("invalid UTF-8"), "{e}");
}
