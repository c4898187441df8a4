//! The runner's process entry (`runner/src/bin/runner/main.rs`): what it does before any
//! command. Its `main` is C's, so the runner itself opens a closed standard descriptor on
//! /dev/null, as std's start-up would have: otherwise the first descriptor the runner opens
//! (its signalfd) would take the number, and a document meant for standard output would be
//! written into it.

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Output, Stdio};

/// Runs the runner with `args` and the standard descriptors in `closed` closed.
fn with_closed(closed: &'static [i32], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runner"));
    cmd.args(args).stderr(Stdio::piped());
    // SAFETY: between fork and exec the closure only calls close(2), which is
    // async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            for &fd in closed {
                libc::close(fd);
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn a_closed_standard_output_takes_the_document_to_dev_null_not_into_a_descriptor_of_the_runner() {
    for closed in [&[1][..], &[0, 1], &[0, 1, 2]] {
        let out = with_closed(closed, &["policy"]);
        assert!(
            out.status.success(),
            "closed {closed:?}: {:?}, stderr {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_run_with_its_standard_output_closed_still_ends_with_its_report() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "this test runs a sandbox, which needs root (the CI runs the suites as root)"
    );
    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("ran");
    let report = dir.path().join("report.json");
    let args = [
        "run",
        "--stdout",
        ran.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--",
        "/usr/bin/python3.11",
        "-I",
        "-S",
        "-c",
        "print('ran')",
    ];
    let out = with_closed(&[0, 1], &args);
    assert!(
        out.status.success(),
        "{:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\n");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["status"], "ok", "{r}");
    // And with the report on the closed standard output: /dev/null takes it.
    let to_stdout: Vec<&str> = args[..3].iter().chain(&args[5..]).copied().collect();
    let out = with_closed(&[1], &to_stdout);
    assert!(
        out.status.success(),
        "{:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
