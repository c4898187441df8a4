//! `runner policy` as a machine and a pipe use it: its JSON carries its version, and a reader
//! that goes away ends the output quietly instead of a panic (issue 15, points 1 and 2).

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};

/// `runner ARGS`' standard output; a failure fails the test with its standard error.
fn runner_stdout(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "runner {args:?} failed: {stderr}");
    out.stdout
}

#[test]
fn the_policy_json_carries_its_version() {
    let v: serde_json::Value =
        serde_json::from_slice(&runner_stdout(&["policy", "--json"])).unwrap();
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

/// `runner policy --seccomp-bpf` prints the program the child installs, not a program like it:
/// a sandboxed interpreter is stopped with ptrace and its filter read back from the kernel
/// (PTRACE_SECCOMP_GET_FILTER, which needs root).
#[test]
fn the_printed_seccomp_program_is_the_one_the_kernel_holds() {
    let text = String::from_utf8(runner_stdout(&["policy", "--seccomp-bpf"])).unwrap();
    let mut lines = text.lines();
    let count: usize = lines.next().unwrap().parse().unwrap();
    let printed: Vec<[u32; 4]> = lines
        .map(|l| {
            let v: Vec<u32> = l.split(' ').map(|n| n.parse().unwrap()).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect();
    assert_eq!(printed.len(), count, "{text}");

    // The program sleeps until the runner is killed below (its parent-death signal ends it).
    let mut runner = Command::new(env!("CARGO_BIN_EXE_runner"))
        .args([
            "run",
            "--wall-time",
            "20",
            "--",
            "/usr/bin/python3.11",
            "-I",
            "-S",
            "-c",
        ])
        .arg("import time; time.sleep(30)")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let children = format!("/proc/{0}/task/{0}/children", runner.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let pid = loop {
        let listed = std::fs::read_to_string(&children).unwrap_or_default();
        if let Some(pid) = listed.split_whitespace().next() {
            let pid: libc::pid_t = pid.parse().unwrap();
            // Past exec: the interpreter, not the runner's child still hardening.
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            if exe.to_string_lossy().contains("python3") {
                break pid;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the program never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let installed = read_filter(pid);
    runner.kill().unwrap();
    runner.wait().unwrap();
    let installed = installed.unwrap_or_else(|e| panic!("reading the installed filter: {e}"));
    assert_eq!(printed, installed);
}

/// The seccomp filter `pid` installed last (index 0), read with ptrace: the runner's, which
/// installs one, after whatever the test's own environment may have installed before.
fn read_filter(pid: libc::pid_t) -> Result<Vec<[u32; 4]>, nix::errno::Errno> {
    use nix::errno::Errno;
    const PTRACE_SECCOMP_GET_FILTER: libc::c_uint = 0x420c;
    // SAFETY: PTRACE_SEIZE and PTRACE_INTERRUPT take no pointers.
    if unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, 0) } < 0 {
        return Err(Errno::last());
    }
    // SAFETY: as above.
    if unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0, 0) } < 0 {
        return Err(Errno::last());
    }
    let mut status = 0;
    // SAFETY: waitpid writes one int to a valid pointer.
    if unsafe { libc::waitpid(pid, &raw mut status, libc::__WALL) } != pid {
        return Err(Errno::last());
    }
    let mut buf = vec![
        libc::sock_filter {
            code: 0,
            jt: 0,
            jf: 0,
            k: 0
        };
        4096
    ];
    // SAFETY: the buffer holds 4096 instructions, more than BPF_MAXINSNS, the most the kernel
    // copies out.
    let n = unsafe { libc::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, buf.as_mut_ptr()) };
    if n < 0 {
        return Err(Errno::last());
    }
    buf.truncate(usize::try_from(n).unwrap());
    // SAFETY: PTRACE_DETACH takes no pointers.
    unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, 0, 0) };
    Ok(buf
        .iter()
        .map(|i| [u32::from(i.code), u32::from(i.jt), u32::from(i.jf), i.k])
        .collect())
}
