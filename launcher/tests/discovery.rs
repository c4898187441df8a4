//! The runner and the game are found at run time, never from a path compiled into the binary:
//! a launcher copied out of the checkout and run elsewhere must not find the checkout's runner
//! or game (issue 15, point 5).

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The launcher copied into a fresh directory with two bots, run from there with no
/// discovery variables set.
fn play_from_copy(with_runner: bool) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("launcher");
    std::fs::copy(env!("CARGO_BIN_EXE_launcher"), &exe).expect("copy");
    if with_runner {
        let runner = launcher::local::find_runner(None).expect("runner");
        std::fs::copy(runner, dir.path().join("runner")).expect("copy");
    }
    for bot in ["random.py", "greedy.py"] {
        std::fs::copy(
            workspace().join("examples/bots").join(bot),
            dir.path().join(bot),
        )
        .unwrap_or_else(|e| panic!("copy {bot}: {e}"));
    }
    let out = Command::new(&exe)
        .args(["play", "random.py", "greedy.py"])
        .current_dir(dir.path())
        .env_remove("LAUNCHER_RUNNER")
        .env_remove("LAUNCHER_GAME_DIR")
        .env("LAUNCHER_WORK_DIR", dir.path().join("work"))
        .output()
        .expect("run launcher");
    (out, dir)
}

#[test]
fn a_copied_launcher_does_not_find_the_checkouts_runner() {
    let (out, _dir) = play_from_copy(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("runner binary not found"), "{stderr}");
    let ws = workspace().display().to_string();
    assert!(!stderr.contains(&ws), "the checkout leaked in: {stderr}");
}

#[test]
fn a_copied_launcher_finds_the_runner_next_to_it_but_not_the_checkouts_game() {
    let (out, _dir) = play_from_copy(true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ws = workspace().display().to_string();
    assert!(!stderr.contains(&ws), "the checkout leaked in: {stderr}");
    assert!(
        !stderr.contains("runner binary not found"),
        "the runner next to the binary was not found: {stderr}"
    );
    assert!(
        !Path::new("/opt/game/game").is_dir(),
        "this test needs a machine without the image's /opt/game installed"
    );
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("game directory not found"), "{stderr}");
}

/// The outcome names the game it was played with and that game's digest, so a result can be
/// traced to the exact referee that produced it: a changed game gives another digest.
#[test]
fn the_outcome_names_the_game_directory_and_its_digest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let game = tmp.path().join("game-copy");
    let copy = Command::new("cp")
        .arg("-r")
        .arg(workspace().join("image/game"))
        .arg(&game)
        .status()
        .expect("cp");
    assert!(copy.success());
    let play = |id: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_launcher"))
            .args(["play", "-o", "json", "--match-id", id, "--game-dir"])
            .arg(&game)
            .arg(workspace().join("examples/bots/random.py"))
            .arg(workspace().join("examples/bots/greedy.py"))
            .env(
                "LAUNCHER_RUNNER",
                launcher::local::find_runner(None).expect("runner"),
            )
            .env("LAUNCHER_WORK_DIR", tmp.path().join("work"))
            .output()
            .expect("run launcher");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["game"].clone()
    };
    let first = play("g1");
    let source = std::fs::canonicalize(&game).expect("canonical");
    assert_eq!(first["source"], source.display().to_string(), "{first}");
    let digest = first["digest"].as_str().expect("digest");
    assert!(
        digest.len() == 71
            && digest.starts_with("sha256:")
            && digest[7..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{digest}"
    );
    std::fs::write(game.join("game/rules.py"), {
        let mut rules = std::fs::read(game.join("game/rules.py")).expect("read");
        rules.extend_from_slice(b"\n# changed\n");
        rules
    })
    .expect("write");
    let second = play("g2");
    assert_ne!(
        second["digest"], first["digest"],
        "a changed game keeps its digest"
    );
}
