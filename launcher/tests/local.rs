//! The local backend against a fake runner (every exit code the runner documents), and one
//! real match through the real runner when it has been built.

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use common::{Fake, fake_calls, fake_runner, match_report, request, root};
use launcher::LaunchError;
use launcher::backend::MatchRef;
use launcher::local::{LocalBackend, LocalConfig};
use launcher::outcome::{Artifacts, State, Verdict};
use runner::report::{MatchReport, Status};

fn backend(dir: &Path, fake: &Fake) -> LocalBackend {
    let runner = fake_runner(dir, fake);
    LocalBackend::new(&LocalConfig {
        runner: Some(runner),
        game_dir: Some(root().join("image/game")),
        work_dir: Some(dir.join("work")),
    })
    .unwrap()
}

fn ok_fake() -> Fake {
    exits(
        0,
        Some(match_report(&["alice", "bob"], Status::Ok, Some("alice"))),
    )
}

/// A fake runner that exits at once with `exit`, having written `report` if there is one.
fn exits(exit: i32, report: Option<MatchReport>) -> Fake {
    Fake {
        exit,
        sleep_secs: 0.0,
        report,
    }
}

/// A fake runner still running long after any test has looked at it, and without a report.
fn hangs() -> Fake {
    Fake {
        exit: 0,
        sleep_secs: 30.0,
        report: None,
    }
}

#[tokio::test]
async fn play_runs_the_runner_with_the_match_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path(), &ok_fake());
    let m = request("m1").validate().unwrap();
    let o = b.play(&m).await.unwrap();
    assert_eq!(o.verdict, Verdict::Ok);
    assert_eq!(o.status, Some(Status::Ok));
    assert_eq!(o.winner.as_deref(), Some("alice"));
    assert_eq!(o.players["alice"].score, Some(12));
    assert_eq!(o.players["bob"].score, Some(3));
    assert_eq!(o.runner_exit_code, Some(0));
    assert!(!o.attached);
    assert_eq!(o.exit_code(), 0);
    let dir = tmp.path().join("work/m1");
    let Some(Artifacts::Local { dir: out, .. }) = &o.artifacts else {
        panic!("{:?}", o.artifacts)
    };
    assert_eq!(out, &dir.join("out"));

    let calls = fake_calls(tmp.path());
    assert_eq!(calls.len(), 1);
    let spec = &calls[0]["spec"];
    let game = std::fs::canonicalize(root().join("image/game")).unwrap();
    let game = game.to_str().unwrap();
    assert_eq!(spec["referee"]["program"][2], "game.referee");
    assert_eq!(spec["referee"]["env"]["PYTHONPATH"], game);
    let alice_code = dir.join("code").join(m.players[0].file_name());
    assert_eq!(spec["players"][0]["id"], "alice");
    assert_eq!(
        spec["players"][0]["program"][1],
        alice_code.to_str().unwrap()
    );
    // Its own code and the game, never the other player's code.
    assert_eq!(
        spec["players"][0]["paths"]["ro"],
        serde_json::json!([game, alice_code.to_str().unwrap()])
    );
    assert_eq!(spec["output_dir"], dir.join("out").to_str().unwrap());
    assert_eq!(spec["report"], dir.join("report.json").to_str().unwrap());
    // Readable by the sandbox uid, writable by nobody else.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&alice_code), 0o644);
    assert_eq!(mode(&dir.join("code")), 0o755);
    assert_eq!(mode(&dir), 0o755);
    assert!(!dir.join("runner.pid").exists());
}

#[tokio::test]
async fn the_same_request_twice_attaches_and_a_different_one_conflicts() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path(), &ok_fake());
    let m = request("m2").validate().unwrap();
    let first = b.play(&m).await.unwrap();
    let second = b.play(&m).await.unwrap();
    assert!(!first.attached);
    assert!(second.attached);
    assert_eq!(second.winner, first.winner);
    assert_eq!(fake_calls(tmp.path()).len(), 1, "nothing runs twice");

    let mut other = request("m2");
    other.seed = Some(42);
    let e = b.play(&other.validate().unwrap()).await.unwrap_err();
    assert!(matches!(e, LaunchError::Conflict { .. }), "{e}");
    assert_eq!(e.exit_code(), 2);
}

#[tokio::test]
async fn runner_failures_become_verdicts() {
    // Exit 2: the spec was refused, no report.
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path(), &exits(2, None));
    let o = b.play(&request("bad").validate().unwrap()).await.unwrap();
    assert_eq!(o.verdict, Verdict::InfrastructureError);
    assert_eq!(o.runner_exit_code, Some(2));
    assert!(o.reason.contains("refused the spec"), "{}", o.reason);
    assert!(o.reason.contains("something is off"), "{}", o.reason);
    assert_eq!(o.exit_code(), 3);

    // Exit 3: sandbox setup failed; the report says so.
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(
        tmp.path(),
        &exits(
            3,
            Some(match_report(&["alice", "bob"], Status::SandboxError, None)),
        ),
    );
    let o = b.play(&request("sbx").validate().unwrap()).await.unwrap();
    assert_eq!(o.verdict, Verdict::InfrastructureError);
    assert_eq!(o.status, Some(Status::SandboxError));
    assert_eq!(o.runner_exit_code, Some(3));

    // Exit 4: the report could not be written.
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path(), &exits(4, None));
    let o = b.play(&request("rw").validate().unwrap()).await.unwrap();
    assert_eq!(o.verdict, Verdict::InfrastructureError);
    assert!(
        o.reason.contains("could not write its report"),
        "{}",
        o.reason
    );

    // Exit 0 with a failed match: no result, nobody credited.
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(
        tmp.path(),
        &exits(
            0,
            Some(match_report(&["alice", "bob"], Status::RuntimeError, None)),
        ),
    );
    let o = b.play(&request("nr").validate().unwrap()).await.unwrap();
    assert_eq!(o.verdict, Verdict::NoResult);
    assert_eq!(o.winner, None);
    assert_eq!(o.exit_code(), 3);
}

#[tokio::test]
async fn status_logs_list_and_gc() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path(), &ok_fake());
    b.play(&request("m3").validate().unwrap()).await.unwrap();
    let st = b.status("m3").unwrap();
    assert_eq!(st.state, State::Finished);
    assert_eq!(st.outcome.unwrap().verdict, Verdict::Ok);
    let logs = b.logs("m3", 1024).unwrap();
    let alice = logs
        .iter()
        .find(|l| l.source == "alice.stderr.log")
        .unwrap();
    assert_eq!(alice.text, "alice says hello\n");
    let capped = b.logs("m3", 5).unwrap();
    assert!(
        capped
            .iter()
            .find(|l| l.source == "alice.stderr.log")
            .unwrap()
            .truncated
    );
    let list = b.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].match_id, "m3");
    assert_eq!(list[0].state, State::Finished);
    assert_eq!(
        b.gc(Duration::from_secs(3600)).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(b.gc(Duration::ZERO).unwrap(), ["m3"]);
    assert!(matches!(b.status("m3"), Err(LaunchError::NotFound { .. })));
    assert!(matches!(
        b.logs("nope", 10),
        Err(LaunchError::NotFound { .. })
    ));
}

#[tokio::test]
async fn submit_then_cancel() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path(), &hangs());
    let m = request("slow").validate().unwrap();
    assert!(!b.submit(&m).await.unwrap());
    // The runner is a child of this test process; give it time to record its pid.
    for _ in 0..50 {
        if b.status("slow").unwrap().state == State::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(b.status("slow").unwrap().state, State::Running);
    assert!(matches!(
        b.wait("slow", Some(Duration::from_millis(200))).await,
        Err(LaunchError::Timeout { .. })
    ));
    b.cancel("slow").unwrap();
    let o = b.wait("slow", Some(Duration::from_secs(10))).await.unwrap();
    assert_eq!(o.verdict, Verdict::InfrastructureError, "{}", o.reason);
    let local = launcher::backend::Backend::Local(b);
    let e = local
        .set_suspended(MatchRef::new("slow"), true)
        .await
        .unwrap_err();
    assert!(matches!(e, LaunchError::Unsupported(..)), "{e}");
}

/// The runner itself holds the match's lock: while it runs, every other start attaches (also
/// after the handle that started it is gone), and once it dies without a report exactly one
/// of two concurrent starts runs the match again.
#[tokio::test]
async fn only_one_runner_ever_holds_a_match() {
    let tmp = tempfile::tempdir().unwrap();
    let b = backend(tmp.path(), &hangs());
    let m = request("locked").validate().unwrap();
    let first = b.start(&m).await.unwrap();
    assert!(!first.attached);
    let mut runner = first.child.unwrap();
    for _ in 0..2 {
        let again = b.start(&m).await.unwrap();
        assert!(again.attached && again.child.is_none());
    }
    assert_eq!(b.status("locked").unwrap().state, State::Running);
    // The runner dies without a report: its lock goes with it.
    runner.kill().await.unwrap();
    assert_ne!(b.status("locked").unwrap().state, State::Running);
    // Two starts at once, each on its own thread and runtime.
    let children: Vec<_> = std::thread::scope(|s| {
        let starts: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap()
                        .block_on(b.start(&m))
                        .unwrap()
                        .child
                })
            })
            .collect();
        starts
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(children.len(), 1, "exactly one start runs the match again");
    for mut c in children {
        c.start_kill().unwrap();
    }
}

#[test]
fn a_missing_runner_is_a_clear_error() {
    let e = LocalBackend::new(&LocalConfig {
        runner: Some("/nonexistent/runner".into()),
        game_dir: Some(root().join("image/game")),
        work_dir: None,
    })
    .unwrap_err();
    assert!(e.to_string().contains("runner binary not found"), "{e}");
    assert!(e.to_string().contains("/nonexistent/runner"), "{e}");
    assert_eq!(e.exit_code(), 4);
}

/// A real match through the real runner (`cargo build -p runner` first: without it the test
/// fails, it never passes unrun).
#[tokio::test]
async fn a_real_match_through_the_real_runner() {
    let runner = launcher::local::find_runner(None)
        .expect("no runner binary to run a real match with: `cargo build -p runner` first");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let b = LocalBackend::new(&LocalConfig {
        runner: Some(runner),
        game_dir: Some(root().join("image/game")),
        work_dir: Some(tmp.path().join("work")),
    })
    .unwrap();
    let mut r = launcher::request::MatchRequest::new(vec![
        launcher::request::PlayerInput::file(root().join("examples/bots/random.py")),
        launcher::request::PlayerInput::file(root().join("examples/bots/greedy.py")),
    ]);
    r.match_id = Some("real".into());
    r.seed = Some(7);
    let o = b.play(&r.validate().unwrap()).await.unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{o:?}");
    assert_eq!(o.runner_exit_code, Some(0));
    let result = o.result.as_ref().unwrap();
    assert_eq!(result.turns, 100);
    // The real runner's and referee's documents, and the outcome, against the schemas.
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let work = tmp.path().join("work/real");
    common::assert_matches_schema("match-report.json", &read(&work.join("report.json")));
    common::assert_matches_schema("game-result.json", &read(&work.join("out/result.json")));
    common::assert_matches_schema("outcome.json", &serde_json::to_value(&o).unwrap());
    let Some(Artifacts::Local {
        report: Some(_),
        result: Some(_),
        replay: Some(_),
        ..
    }) = &o.artifacts
    else {
        panic!("every artifact exists and is listed: {:?}", o.artifacts)
    };
    assert!(o.players.contains_key("random") && o.players.contains_key("greedy"));
    assert!(tmp.path().join("work/real/out/replay.jsonl").exists());
    assert!(tmp.path().join("work/real/out/result.json").exists());
}
