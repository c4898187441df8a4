//! A tournament survives a bad entry (issue 15, point 3): each refused entry is one JSON line
//! naming its index, line and field, the rest runs, and `--strict` keeps all-or-nothing.

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{Fake, fake_calls, fake_runner, match_report, root};
use runner::report::Status;

fn batch(dir: &Path, file: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let runner = fake_runner(
        dir,
        &Fake {
            exit: 0,
            sleep_secs: 0.0,
            report: Some(match_report(
                &["random", "greedy"],
                Status::Ok,
                Some("greedy"),
            )),
        },
    );
    let out = Command::new(env!("CARGO_BIN_EXE_launcher"))
        .current_dir(root())
        .env("LAUNCHER_RUNNER", runner)
        .env("LAUNCHER_WORK_DIR", dir.join("work"))
        .env_remove("LAUNCHER_BACKEND")
        .args(["batch", "--output", "json", "--concurrency", "1"])
        .args(extra)
        .arg(file)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Five entries: the first and the last are good; #2 misspells a field, #3 names a bot file
/// that does not exist, #4 repeats #1's id.
fn tournament(dir: &Path) -> std::path::PathBuf {
    let b = root().join("examples/bots");
    let b = b.display();
    let file = dir.join("batch.yaml");
    std::fs::write(
        &file,
        format!(
            "matches:
  - match_id: good-1
    players: [{{file: {b}/random.py}}, {{file: {b}/greedy.py}}]
  - match_id: typo
    players: [{{file: {b}/random.py}}, {{file: {b}/greedy.py}}]
    limits: {{memroy: 64MiB}}
  - match_id: missing-bot
    players: [{{file: {b}/random.py}}, {{file: {b}/no-such-bot.py}}]
  - match_id: good-1
    players: [{{file: {b}/random.py}}, {{file: {b}/greedy.py}}]
  - match_id: good-2
    players: [{{file: {b}/random.py}}, {{file: {b}/greedy.py}}]
"
        ),
    )
    .unwrap();
    file
}

#[test]
fn a_bad_entry_is_one_refused_line_and_the_rest_of_the_batch_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, lines, err) = batch(tmp.path(), &tournament(tmp.path()), &[]);
    let refused: Vec<&serde_json::Value> = lines.iter().filter(|l| l["refused"] == true).collect();
    assert_eq!(refused.len(), 3, "{lines:#?} {err}");
    assert_eq!(refused[0]["index"], 2);
    assert_eq!(refused[0]["line"], 4);
    assert_eq!(refused[0]["match_id"], "typo");
    let e0 = refused[0]["error"].as_str().unwrap();
    assert!(e0.starts_with("limits.memroy: unknown field"), "{e0}");
    assert_eq!(refused[1]["index"], 3);
    assert_eq!(refused[1]["line"], 7);
    assert!(
        refused[1]["error"]
            .as_str()
            .unwrap()
            .contains("no-such-bot.py"),
        "{}",
        refused[1]
    );
    assert_eq!(refused[2]["index"], 4);
    assert!(
        refused[2]["error"]
            .as_str()
            .unwrap()
            .contains("appears earlier")
    );
    // The good entries ran, and only they.
    let ran: Vec<String> = fake_calls(tmp.path())
        .iter()
        .map(|c| c["spec"]["output_dir"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ran.len(), 2, "{ran:?}");
    let outcomes: Vec<&str> = lines
        .iter()
        .filter_map(|l| {
            l["match_id"]
                .as_str()
                .filter(|_| l.get("verdict").is_some())
        })
        .collect();
    assert_eq!(outcomes, ["good-1", "good-2"], "{lines:#?}");
    // Every document printed carries its version: refused lines, outcomes, the summary.
    for l in &lines {
        assert_eq!(l["version"], 1, "{l}");
    }
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(summary["total"], 5);
    assert_eq!(summary["refused"], 3);
    assert_eq!(summary["ok"], 2);
    // Something was refused: the batch does not exit 0.
    assert_eq!(code, 2, "{err}");
}

#[test]
fn strict_runs_nothing_and_names_every_refused_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, lines, err) = batch(tmp.path(), &tournament(tmp.path()), &["--strict"]);
    assert_eq!(code, 2, "{err}");
    // With --output json the failure is one error object, and nothing else.
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["error"]["code"], "invalid_batch", "{lines:?}");
    assert_eq!(lines[0]["version"], 1, "{lines:?}");
    assert!(fake_calls(tmp.path()).is_empty());
    for want in [
        "3 of 5 entries refused",
        "match #2 (line 4) \"typo\"",
        "match #3 (line 7)",
        "match #4 (line 9)",
    ] {
        assert!(err.contains(want), "{want:?} not in: {err}");
    }
}

#[test]
fn a_file_that_is_not_a_batch_says_what_a_batch_is() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("batch.yaml");
    std::fs::write(&file, "just a string\n").unwrap();
    let (code, _, err) = batch(tmp.path(), &file, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a list of match requests"), "{err}");
    assert!(!err.contains("untagged"), "{err}");
}
