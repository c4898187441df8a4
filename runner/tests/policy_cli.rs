//! `runner policy` as a machine and a pipe use it: its JSON carries its version, and a reader
//! that goes away ends the output quietly instead of a panic (issue 15, points 1 and 2).

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};

#[test]
fn the_policy_json_carries_its_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(["policy", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "runner policy --json failed: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], runner::policy::POLICY_VERSION);
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    for args in [
        &["policy"][..],
        &["policy", "--json"],
        &["policy", "--oci-seccomp"],
    ] {
        // Standard output is a pipe whose reader is already gone: the first write fails with
        // EPIPE (the documents are smaller than a pipe's buffer, so a reader closing later
        // would never be noticed).
        let (reader, writer) = nix::unistd::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_runner"))
            .args(args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
