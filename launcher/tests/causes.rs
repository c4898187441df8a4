//! Every verdict explains itself (issue 14, point 4): a player's entry in the outcome, JSON and
//! table, carries the runner's reason, the turn and the end of its stderr with control
//! characters escaped, through the real launcher and runner.

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::root;

fn play(work: &std::path::Path, id: &str, bot: &str, output: &str) -> (i32, String, String) {
    let runner =
        launcher::local::find_runner(None).expect("build the runner: cargo build -p runner");
    let out = Command::new(env!("CARGO_BIN_EXE_launcher"))
        .current_dir(root())
        .env("LAUNCHER_RUNNER", runner)
        .env("LAUNCHER_WORK_DIR", work)
        .env_remove("LAUNCHER_BACKEND")
        .args([
            "play",
            "-o",
            output,
            "--match-id",
            id,
            "--seed",
            "7",
            "--memory",
            "128MiB",
        ])
        .args(["--player", &format!("bot={bot}")])
        .args(["--player", "greedy=examples/bots/greedy.py"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_crash_says_why_on_which_turn_and_shows_the_end_of_stderr_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = play(
        tmp.path(),
        "crash-json",
        "tests/matches/bots/crash_turn3.py",
        "json",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let bot = &v["players"]["bot"];
    assert_eq!(bot["verdict"], "crash", "{out}");
    // It dies on its third turn; a referee that gives up waiting for the dying bot (a loaded
    // machine, a slow traceback) has moved on to the fourth, and the turn says so.
    let turn = bot["turn"].as_u64().unwrap();
    assert!(turn == 3 || turn == 4, "{out}");
    let reason = bot["reason"].as_str().unwrap();
    assert!(reason.contains("KeyError: 'missing_key'"), "{reason}");
    let tail = bot["stderr_tail"].as_str().unwrap();
    assert!(tail.contains("thinking hard\n"), "{tail}");
    assert!(tail.contains("\\x1b[2J\\x1b[31mred alert\\x07"), "{tail}");
    assert!(tail.ends_with("KeyError: 'missing_key'"), "{tail}");
    assert!(
        !tail.contains('\x1b') && !tail.contains('\x07'),
        "raw control characters: {tail:?}"
    );
    assert!(v["players"]["greedy"].get("stderr_tail").is_none(), "{out}");

    let (code, out, err) = play(
        tmp.path(),
        "crash-table",
        "tests/matches/bots/crash_turn3.py",
        "table",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        (out.contains("\nbot: crash on turn 3: ") || out.contains("\nbot: crash on turn 4: "))
            && out.contains("KeyError: 'missing_key'"),
        "{out}"
    );
    // The table escapes what it prints once more (a backslash doubled), so the runner's
    // escapes show as text too.
    assert!(
        out.contains("  | \\\\x1b[2J\\\\x1b[31mred alert\\\\x07\n"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "{out:?}");
}

#[test]
fn a_single_huge_allocation_is_a_memory_verdict_that_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = play(tmp.path(), "hog", "tests/matches/bots/hog.py", "json");
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let bot = &v["players"]["bot"];
    assert_eq!(bot["verdict"], "memory", "{out}");
    assert_eq!(bot["turn"], 1, "{out}");
    let reason = bot["reason"].as_str().unwrap();
    assert!(
        reason.contains("3.0GiB") && reason.contains("memory limit"),
        "{reason}"
    );
}
