//! A bot path is data, not a capability (issue 15, point 6): the launcher may run as root, so
//! a player file that is a symbolic link, a FIFO, a device or a directory is refused with a
//! message naming the file, and nothing of what a link points at is read or shown.

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn play(dir: &Path, bot: &str) -> Output {
    let greedy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bots/greedy.py");
    let mut child = Command::new(env!("CARGO_BIN_EXE_launcher"))
        .args(["play", "--output", "json", bot])
        .arg(greedy)
        .current_dir(dir)
        .env("LAUNCHER_WORK_DIR", dir.join("work"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run launcher");
    // A launcher that blocks opening a FIFO would hang the suite: give it a deadline.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the launcher hung on {bot}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn refused(out: &Output, file: &str, why: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "ran: {stdout}{stderr}");
    assert!(stderr.contains(file), "the file is not named: {stderr}");
    assert!(stderr.contains(why), "the reason is not given: {stderr}");
    assert!(
        !stdout.contains("match_id"),
        "an outcome was printed: {stdout}"
    );
}

#[test]
fn a_bot_path_that_is_a_link_to_a_secret_is_refused_and_the_secret_never_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "root:TOPSECRETHASH:19000::::::\n").expect("write");
    std::os::unix::fs::symlink(&secret, dir.path().join("bot.py")).expect("symlink");
    let out = play(dir.path(), "bot.py");
    refused(&out, "bot.py", "symbolic link");
    let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
    assert!(!String::from_utf8_lossy(&all).contains("TOPSECRET"));
    assert!(
        !dir.path().join("work").exists()
            || walk_has(&dir.path().join("work"), b"TOPSECRET").is_none(),
        "the secret was copied into a match"
    );
}

#[test]
fn a_bot_path_that_is_a_fifo_is_refused_without_hanging() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("bot.py");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    refused(&play(dir.path(), "bot.py"), "bot.py", "a FIFO");
}

#[test]
fn a_bot_path_that_is_a_device_or_a_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    refused(&play(dir.path(), "/dev/zero"), "/dev/zero", "a device");
    std::fs::create_dir(dir.path().join("bots.py")).expect("mkdir");
    refused(&play(dir.path(), "bots.py"), "bots.py", "a directory");
}

fn walk_has(dir: &Path, needle: &[u8]) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if let Some(hit) = walk_has(&p, needle) {
                return Some(hit);
            }
        } else if std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            return Some(p);
        }
    }
    None
}
