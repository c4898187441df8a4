//! The command-line contract: names of commands and flags, `--output json`, exit codes.

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Fake, fake_runner, match_report, root};
use runner::report::Status;

fn launcher(dir: &Path, runner: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_launcher"));
    c.current_dir(root())
        .env("LAUNCHER_RUNNER", runner)
        .env("LAUNCHER_WORK_DIR", dir.join("work"))
        .env_remove("LAUNCHER_BACKEND")
        .env_remove("LAUNCHER_IMAGE")
        .env_remove("LAUNCHER_SETTINGS");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn fake(dir: &Path, status: Status, winner: Option<&str>) -> std::path::PathBuf {
    fake_runner(
        dir,
        &Fake {
            exit: 0,
            sleep_secs: 0.0,
            report: Some(match_report(&["random", "greedy"], status, winner)),
        },
    )
}

#[test]
fn play_json_is_one_object_with_verdicts_result_and_artifacts() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, Some("greedy"));
    let (code, out, err) = run(launcher(tmp.path(), &r).args([
        "play",
        "--output",
        "json",
        "--match-id",
        "j1",
        "--player",
        "examples/bots/random.py",
        "--player",
        "examples/bots/greedy.py",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    common::assert_matches_schema("outcome.json", &v);
    assert_eq!(v["version"], launcher::outcome::OUTCOME_VERSION);
    assert!(v.get("status").is_none(), "one verdict field: {v}");
    assert_eq!(v["match_id"], "j1");
    assert_eq!(v["backend"], "local");
    assert_eq!(v["verdict"], "ok");
    assert_eq!(v["winner"], "greedy");
    assert_eq!(v["players"]["random"]["verdict"], "ok");
    assert_eq!(v["players"]["greedy"]["score"], 12);
    assert_eq!(v["result"]["turns"], 100);
    assert_eq!(v["artifacts"]["kind"], "local");
    assert!(
        v["artifacts"]["dir"]
            .as_str()
            .unwrap()
            .ends_with("work/j1/out")
    );

    // status, result, logs, list on the same work directory; positional players work too.
    let (code, out, _) = run(launcher(tmp.path(), &r).args(["status", "j1"]));
    assert_eq!(code, 0);
    assert!(out.contains("state     finished"), "{out}");
    let (code, out, _) = run(launcher(tmp.path(), &r).args(["result", "j1", "--output", "json"]));
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["winner"],
        "greedy"
    );
    let (code, out, _) = run(launcher(tmp.path(), &r).args(["logs", "j1"]));
    assert_eq!(code, 0);
    assert!(out.contains("==> random.stderr.log <=="), "{out}");
    let (code, out, _) = run(launcher(tmp.path(), &r).args(["list"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("MATCH") && out.contains("j1"), "{out}");
    let (code, _, err) = run(launcher(tmp.path(), &r).args(["status", "nope"]));
    assert_eq!(code, 6, "{err}");
    let (code, _, err) = run(launcher(tmp.path(), &r).args(["suspend", "j1"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not supported by the local backend"), "{err}");
    let (code, out, _) = run(launcher(tmp.path(), &r).args(["gc", "--older-than", "0s"]));
    assert_eq!(code, 0);
    assert!(out.contains("deleted 1"), "{out}");
}

#[test]
fn play_table_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, Some("greedy"));
    let (code, out, err) = run(launcher(tmp.path(), &r).args([
        "play",
        "examples/bots/random.py",
        "examples/bots/greedy.py",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verdict   ok"), "{out}");
    assert!(out.contains("winner    greedy"), "{out}");
    assert!(out.contains("PLAYER"), "{out}");

    // No validated result: 3.
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::RuntimeError, None);
    let (code, out, _) = run(launcher(tmp.path(), &r).args([
        "play",
        "--output",
        "json",
        "examples/bots/random.py",
        "examples/bots/greedy.py",
    ]));
    assert_eq!(code, 3);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["verdict"],
        "no_result"
    );

    // Invalid requests: 2, before anything runs.
    for args in [
        vec!["play", "examples/bots/random.py"],
        vec![
            "play",
            "--memory",
            "64GiB",
            "examples/bots/random.py",
            "examples/bots/greedy.py",
        ],
        vec![
            "play",
            "--match-id",
            "!!",
            "examples/bots/random.py",
            "examples/bots/greedy.py",
        ],
        vec!["play", "examples/bots/random.py", "examples/bots/nope.py"],
        vec!["play", "--wall-time", "soon", "examples/bots/random.py"],
        vec!["frobnicate"],
    ] {
        let (code, _, err) = run(launcher(tmp.path(), &r).args(&args));
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    assert_eq!(common::fake_calls(tmp.path()).len(), 1);

    // Runner missing: 4.
    let (code, _, err) = run(
        launcher(tmp.path(), Path::new("/nonexistent/runner")).args([
            "play",
            "examples/bots/random.py",
            "examples/bots/greedy.py",
        ]),
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("runner binary not found"), "{err}");
}

#[test]
fn render_writes_yaml_and_the_bare_pod() {
    let tmp = tempfile::tempdir().unwrap();
    let r = Path::new("/unused");
    let (code, out, err) = run(launcher(tmp.path(), r).args([
        "render",
        "--match-id",
        "r1",
        "--image",
        common::IMAGE,
        "examples/bots/random.py",
        "examples/bots/greedy.py",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("kind: ConfigMap") && out.contains("kind: Job"),
        "{out}"
    );
    assert!(out.contains("name: match-r1"));
    assert!(out.contains(common::IMAGE));
    let (code, out, _) = run(launcher(tmp.path(), r).args([
        "render",
        "--as-pod",
        "--runtime-class",
        "gvisor",
        "examples/bots/random.py",
        "examples/bots/greedy.py",
    ]));
    assert_eq!(code, 0);
    assert!(
        out.contains("kind: Pod") && !out.contains("kind: Job"),
        "{out}"
    );
    assert!(out.contains("runtimeClassName: gvisor"));
    let (code, _, err) = run(launcher(tmp.path(), r).args([
        "render",
        "--image",
        "runner:latest",
        "examples/bots/random.py",
        "examples/bots/greedy.py",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("pinned by digest"), "{err}");
}

#[test]
fn batch_prints_a_line_per_match_and_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, Some("greedy"));
    let file = tmp.path().join("batch.yaml");
    let bots = root().join("examples/bots");
    std::fs::write(
        &file,
        format!(
            "matches:\n{}",
            (0..3)
                .map(|i| format!(
                    "  - match_id: b{i}\n    priority: {i}\n    players:\n      - file: {b}/random.py\n      - file: {b}/greedy.py\n",
                    b = bots.display()
                ))
                .collect::<String>()
        ),
    )
    .unwrap();
    let (code, out, err) = run(launcher(tmp.path(), &r).args([
        "batch",
        "--concurrency",
        "1",
        "--output",
        "json",
        file.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{out}");
    let summary = &lines[3]["summary"];
    assert_eq!(summary["total"], 3);
    assert_eq!(summary["ok"], 3);
    assert_eq!(summary["wins"]["greedy"], 3);
    // Priority order: highest first.
    let order: Vec<String> = common::fake_calls(tmp.path())
        .iter()
        .map(|c| {
            c["spec"]["output_dir"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .nth(1)
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(order, ["b2", "b1", "b0"]);

    std::fs::write(&file, "matches:\n  - players: []\n    colour: red\n").unwrap();
    let (code, _, err) = run(launcher(tmp.path(), &r).args(["batch", file.to_str().unwrap()]));
    assert_eq!(code, 2, "{err}");
}

/// The README's command, through the real runner (skipped when it has not been built).
#[test]
fn the_readme_command_plays_a_real_match() {
    let Ok(runner) = launcher::local::find_runner(None) else {
        eprintln!("skipped: no runner binary (cargo build -p runner)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out, err) = run(launcher(tmp.path(), &runner).args([
        "play",
        "examples/bots/random.py",
        "examples/bots/greedy.py",
    ]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verdict   ok"), "{out}");
    assert!(out.contains("random") && out.contains("greedy"), "{out}");
}

/// A kubeconfig whose API server refuses connections (a port nothing listens on).
fn unreachable_kubeconfig(dir: &Path) -> std::path::PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\n\
             contexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\n\
             users:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn preflight_and_submit_say_the_api_server_cannot_be_reached_not_that_the_namespace_failed() {
    // A namespace that fails its rules is refused rule by rule (exit 7): tests/kube.rs against
    // the double and tests/cluster on a real cluster. Here nothing answers at all, which says
    // nothing about the namespace: exit 4, whatever the override.
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, None);
    let kc = unreachable_kubeconfig(tmp.path());
    let image = format!("registry.example/runner@sha256:{}", "a".repeat(64));
    for format in ["table", "json"] {
        let (code, out, err) = run(launcher(tmp.path(), &r).env("KUBECONFIG", &kc).args([
            "preflight",
            "--namespace",
            "games-t",
            "--output",
            format,
        ]));
        assert_eq!(code, 4, "{out}{err}");
        assert!(err.contains("cannot reach the API server"), "{err}");
        assert!(!out.contains("FAIL"), "{out}");
    }
    let submit = [
        "submit",
        "--backend",
        "kube",
        "--namespace",
        "games-t",
        "--image",
        &image,
        "examples/bots/random.py",
        "examples/bots/greedy.py",
    ];
    let (code, _, err) = run(launcher(tmp.path(), &r).env("KUBECONFIG", &kc).args(submit));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot reach the API server"), "{err}");
    let (code, _, err) = run(launcher(tmp.path(), &r)
        .env("KUBECONFIG", &kc)
        .args(submit)
        .arg("--allow-unisolated-namespace"));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot reach the API server"), "{err}");

    let (code, out, _) = run(launcher(tmp.path(), &r).arg("--help"));
    assert_eq!(code, 0);
    assert!(
        out.contains("  7    the namespace failed preflight"),
        "{out}"
    );
    assert!(out.contains("preflight"), "{out}");
}

/// The real runner and a work directory it can use: the runner drops the programs to uid
/// 65532, which must reach the work directory.
fn real_runner() -> (std::path::PathBuf, tempfile::TempDir) {
    let runner = launcher::local::find_runner(None)
        .expect("this test needs the real runner: cargo build -p runner");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    (runner, tmp)
}

/// A bot that writes terminal control sequences and a forged section header on its standard
/// error (`tests/matches/cheaters/terminal_escapes.py`), played through the real runner: what
/// `launcher logs` prints holds its bytes as visible text, no control character but newline and
/// tab, no bidi override, and only the real section headers.
#[test]
fn logs_print_a_players_control_sequences_as_text() {
    let (runner, tmp) = real_runner();
    let (code, out, err) = run(launcher(tmp.path(), &runner).args([
        "play",
        "--match-id",
        "esc",
        "--seed",
        "7",
        "--player",
        "esc=tests/matches/cheaters/terminal_escapes.py",
        "--player",
        "honest=examples/bots/greedy.py",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("winner    honest"), "{out}");
    let raw = std::fs::read(tmp.path().join("work/esc/out/esc.stderr.log")).unwrap();
    assert!(
        raw.windows(7).any(|w| w == b"\x1b]52;c;"),
        "the bot's bytes did not reach its log: {raw:?}"
    );

    let (code, out, err) = run(launcher(tmp.path(), &runner).args(["logs", "esc"]));
    assert_eq!(code, 0, "{err}");
    let bad: Vec<char> = out
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert!(
        bad.is_empty(),
        "control characters reach the terminal: {bad:?}\n{out:?}"
    );
    for shown in [
        "\\x1b]52;c;",
        "\\x07",
        "\\x1b[2J",
        "\\x9b31m",
        "hidden\\x0dOVERWRITTEN",
        "\\u{202e}gnp.exe",
    ] {
        assert!(
            out.contains(shown),
            "{shown:?} is not shown as text:\n{out}"
        );
    }
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("==>")).collect();
    assert_eq!(
        headers,
        [
            "==> runner.log <==",
            "==> esc.stderr.log <==",
            "==> honest.stderr.log <==",
            "==> referee.stderr.log <=="
        ],
        "{out}"
    );
    assert!(out.contains("\\x3d=> referee.stderr.log <=="), "{out}");
}

/// A player that stat()s its opponent's code at the usual name next to its own
/// (`launcher/tests/bots/stat_code.py`), played through the real runner: the code files carry a
/// token it cannot predict, so it finds nothing, plays on and loses on score.
#[test]
fn a_player_cannot_stat_the_opponents_code_by_name() {
    let (runner, tmp) = real_runner();
    let (code, out, err) = run(launcher(tmp.path(), &runner).args([
        "play",
        "--output",
        "json",
        "--match-id",
        "stat",
        "--seed",
        "7",
        "--player",
        "snoop=launcher/tests/bots/stat_code.py",
        "--player",
        "honest=examples/bots/greedy.py",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let log = std::fs::read_to_string(tmp.path().join("work/stat/out/snoop.stderr.log")).unwrap();
    assert!(
        !log.contains("ESCAPED") && !log.contains("UNEXPECTED"),
        "{log}"
    );
    assert!(log.contains("could not be found by its name"), "{log}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["winner"], "honest", "{out}");
    assert_eq!(v["players"]["snoop"]["verdict"], "ok", "{out}");
}
