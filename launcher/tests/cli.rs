//! The command-line contract through the real binary: names of commands and flags,
//! `--output json`, exit codes, failures as data, a closed pipe, help, completions, batches.
//!
//! Over 600 lines on purpose: one test binary for the whole contract (each `tests/*.rs` is its
//! own binary linking kube-rs, so splitting it costs a link per file).

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Fake, fake_runner, match_report, root};
use runner::report::Status;

fn launcher(dir: &Path, runner: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_launcher"));
    c.current_dir(root())
        .env("LAUNCHER_RUNNER", runner)
        .env("LAUNCHER_WORK_DIR", dir.join("work"))
        .env_remove("LAUNCHER_BACKEND")
        .env_remove("LAUNCHER_OUTPUT")
        .env_remove("RUST_LOG")
        .env_remove("LAUNCHER_IMAGE")
        .env_remove("LAUNCHER_SETTINGS");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    exit_and_text(c.output().unwrap())
}

/// A finished command's exit code (-1 when a signal ended it) and its output, which must be
/// UTF-8.
fn exit_and_text(out: Output) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = out;
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

/// The two example bots most of these tests play, as positional players (after any flags).
const RANDOM_VS_GREEDY: [&str; 2] = ["examples/bots/random.py", "examples/bots/greedy.py"];

/// `launcher <command> <flags>` of random against greedy, run to its end.
fn random_vs_greedy(
    dir: &Path,
    runner: &Path,
    command: &str,
    flags: &[&str],
) -> (i32, String, String) {
    run(launcher(dir, runner)
        .arg(command)
        .args(flags)
        .args(RANDOM_VS_GREEDY))
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
    let (code, out, err) = random_vs_greedy(tmp.path(), &r, "play", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("verdict   ok"), "{out}");
    assert!(out.contains("winner    greedy"), "{out}");
    assert!(out.contains("PLAYER"), "{out}");

    // No validated result: 3.
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::RuntimeError, None);
    let (code, out, _) = random_vs_greedy(tmp.path(), &r, "play", &["--output", "json"]);
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
    let (code, _, err) =
        random_vs_greedy(tmp.path(), Path::new("/nonexistent/runner"), "play", &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("runner binary not found"), "{err}");
}

/// `launcher render` of match `r1` (random against greedy, on the test image), `extra` given
/// before the match's own flags.
fn render_r1(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    random_vs_greedy(
        dir,
        Path::new("/unused"),
        "render",
        &[extra, &["--match-id", "r1", "--image", common::IMAGE]].concat(),
    )
}

#[test]
fn render_writes_yaml_and_the_bare_pod() {
    let tmp = tempfile::tempdir().unwrap();
    let r = Path::new("/unused");
    let (code, out, err) = render_r1(tmp.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("kind: ConfigMap") && out.contains("kind: Job"),
        "{out}"
    );
    assert!(out.contains("name: match-r1"));
    assert!(out.contains(common::IMAGE));
    let (code, out, _) = random_vs_greedy(
        tmp.path(),
        r,
        "render",
        &["--as-pod", "--runtime-class", "gvisor"],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("kind: Pod") && !out.contains("kind: Job"),
        "{out}"
    );
    assert!(out.contains("runtimeClassName: gvisor"));
    let (code, _, err) = random_vs_greedy(tmp.path(), r, "render", &["--image", "runner:latest"]);
    assert_eq!(code, 2);
    assert!(err.contains("pinned by digest"), "{err}");
}

/// A batch file in `dir` of three matches of random against greedy, `{prefix}0` to `{prefix}2`,
/// each at the priority of its number.
fn three_matches(dir: &Path, prefix: &str) -> std::path::PathBuf {
    let file = dir.join("batch.yaml");
    let bots = root().join("examples/bots");
    std::fs::write(
        &file,
        format!(
            "matches:\n{}",
            (0..3)
                .map(|i| format!(
                    "  - match_id: {prefix}{i}\n    priority: {i}\n    players:\n      - file: {b}/random.py\n      - file: {b}/greedy.py\n",
                    b = bots.display()
                ))
                .collect::<String>()
        ),
    )
    .unwrap();
    file
}

#[test]
fn batch_prints_a_line_per_match_and_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, Some("greedy"));
    let file = three_matches(tmp.path(), "b");
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

/// The README's command, through the real runner (`cargo build -p runner` first: without it
/// the test fails, it never passes unrun).
#[test]
fn the_readme_command_plays_a_real_match() {
    let runner = launcher::local::find_runner(None)
        .expect("no runner binary to play the README's match with: `cargo build -p runner` first");
    let tmp = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out, err) = random_vs_greedy(tmp.path(), &runner, "play", &[]);
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
    ];
    let (code, _, err) = run(launcher(tmp.path(), &r)
        .env("KUBECONFIG", &kc)
        .args(submit)
        .args(RANDOM_VS_GREEDY));
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot reach the API server"), "{err}");
    let (code, _, err) = run(launcher(tmp.path(), &r)
        .env("KUBECONFIG", &kc)
        .args(submit)
        .args(RANDOM_VS_GREEDY)
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
/// `launcher play` of match `id` between the two `name=path` players with seed 7, so a real
/// match plays the same way every run; `extra` comes before the match's own flags.
fn play_seeded(
    dir: &Path,
    runner: &Path,
    extra: &[&str],
    id: &str,
    players: [&str; 2],
) -> (i32, String, String) {
    run(launcher(dir, runner)
        .arg("play")
        .args(extra)
        .args(["--match-id", id, "--seed", "7", "--player", players[0]])
        .args(["--player", players[1]]))
}

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
    let (code, out, err) = play_seeded(
        tmp.path(),
        &runner,
        &[],
        "esc",
        [
            "esc=tests/matches/cheaters/terminal_escapes.py",
            "honest=examples/bots/greedy.py",
        ],
    );
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
    let (code, out, err) = play_seeded(
        tmp.path(),
        &runner,
        &["--output", "json"],
        "stat",
        [
            "snoop=launcher/tests/bots/stat_code.py",
            "honest=examples/bots/greedy.py",
        ],
    );
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

/// Runs a command that must end by itself within `limit` (a hang is a failure, not a stuck
/// test run).
fn run_within(c: &mut Command, limit: Duration) -> (i32, String, String) {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}: {c:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    exit_and_text(child.wait_with_output().unwrap())
}

/// The one JSON object a failure prints on stdout with `--output json`.
fn json_error(out: &str) -> serde_json::Value {
    assert_eq!(out.lines().count(), 1, "one line: {out:?}");
    let v: serde_json::Value = serde_json::from_str(out).unwrap();
    let e = &v["error"];
    for key in ["code", "message", "fix"] {
        assert!(
            e[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} in {v}"
        );
    }
    v["error"].clone()
}

#[test]
fn every_kube_command_says_the_api_server_cannot_be_reached_with_exit_4() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, None);
    let kc = unreachable_kubeconfig(tmp.path());
    let image = format!("registry.example/runner@sha256:{}", "a".repeat(64));
    let commands: &[&[&str]] = &[
        &["status", "m1"],
        &["wait", "m1"],
        &["result", "m1"],
        &["logs", "m1"],
        &["cancel", "m1"],
        &["suspend", "m1"],
        &["resume", "m1"],
        &["list"],
        &["gc", "--older-than", "1h"],
        &[
            "play",
            "--image",
            &image,
            "examples/bots/random.py",
            "examples/bots/greedy.py",
        ],
    ];
    for args in commands {
        let (code, out, err) = run_within(
            launcher(tmp.path(), &r)
                .env("KUBECONFIG", &kc)
                .args(["--backend", "kube"])
                .args(*args),
            Duration::from_secs(60),
        );
        assert_eq!(code, 4, "{args:?}: {out}{err}");
        assert!(
            err.contains("cannot reach the API server"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("Kubernetes API error"), "{args:?}: {err}");
    }
}

#[test]
fn with_output_json_a_failure_is_one_json_object_and_the_documented_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, None);
    let kc = unreachable_kubeconfig(tmp.path());
    // No such match (local): 6.
    let (code, out, err) = run(launcher(tmp.path(), &r).args(["status", "nosuch", "-o", "json"]));
    assert_eq!(code, 6, "{out}{err}");
    let e = json_error(&out);
    assert_eq!(e["code"], "not_found");
    assert_eq!(e["exit_code"], 6);
    assert!(e["message"].as_str().unwrap().contains("nosuch"), "{e}");
    // The API server is down (kube): 4, and the same for every spelling of the flag.
    for flag in [
        &["--output", "json"][..],
        &["--output=json"],
        &["-o", "json"],
        &["-ojson"],
    ] {
        let (code, out, err) = run_within(
            launcher(tmp.path(), &r)
                .env("KUBECONFIG", &kc)
                .args(["list", "--backend", "kube"])
                .args(flag),
            Duration::from_secs(60),
        );
        assert_eq!(code, 4, "{flag:?}: {out}{err}");
        let e = json_error(&out);
        assert_eq!(e["code"], "unreachable", "{flag:?}");
        assert_eq!(e["exit_code"], 4);
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("cannot reach the API server"),
            "{e}"
        );
    }
    // A bad command line: 2, as JSON too when JSON was asked for.
    let (code, out, err) = run(launcher(tmp.path(), &r).args(["-o", "json", "list", "--bogus"]));
    assert_eq!(code, 2, "{out}{err}");
    let e = json_error(&out);
    assert_eq!(e["code"], "usage");
    assert!(e["message"].as_str().unwrap().contains("--bogus"), "{e}");
    // An invalid request: 2.
    let (code, out, _) =
        run(launcher(tmp.path(), &r).args(["play", "-o", "json", "examples/bots/random.py"]));
    assert_eq!(code, 2);
    assert_eq!(json_error(&out)["code"], "invalid_request");
    // Without JSON, stdout stays empty.
    let (code, out, err) = run(launcher(tmp.path(), &r).args(["status", "nosuch"]));
    assert_eq!(code, 6);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("no match nosuch"), "{err}");
}

/// Runs the launcher with its standard output a pipe whose reader has gone, as in
/// `launcher logs ID | true`.
fn run_into_closed_pipe(c: &mut Command) -> (i32, String) {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, Some("greedy"));
    let (code, _, err) = random_vs_greedy(tmp.path(), &r, "play", &["--match-id", "p1"]);
    assert_eq!(code, 0, "{err}");
    for args in [
        &["logs", "p1"][..],
        &["list", "--output", "json"],
        &["list"],
        &["status", "p1", "-o", "json"],
        &["completions", "bash"],
        &["man"],
        &["--help"],
    ] {
        let (code, err) = run_into_closed_pipe(launcher(tmp.path(), &r).args(args));
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn help_lists_every_exit_code_and_environment_variable_and_the_readme_agrees() {
    use launcher::LauncherExit;
    let tmp = tempfile::tempdir().unwrap();
    let r = Path::new("/unused");
    let (code, help, _) = run(launcher(tmp.path(), r).arg("--help"));
    assert_eq!(code, 0);
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for e in LauncherExit::ALL {
        let line = format!("  {:<4} {}", e.code(), e.meaning());
        assert!(help.contains(&line), "{line:?} in\n{help}");
        let row = format!("| {} | {} |", e.code(), e.meaning());
        assert!(readme.contains(&row), "README.md lacks the row {row:?}");
    }
    for var in [
        "LAUNCHER_BACKEND",
        "LAUNCHER_OUTPUT",
        "LAUNCHER_NAMESPACE",
        "LAUNCHER_SETTINGS",
        "LAUNCHER_IMAGE",
        "LAUNCHER_WORK_DIR",
        "LAUNCHER_RUNNER",
        "LAUNCHER_GAME_DIR",
        "KUBECONFIG",
        "RUST_LOG",
    ] {
        assert!(help.contains(&format!("  {var} ")), "{var} in\n{help}");
        assert!(
            readme.contains(&format!("`{var}`")),
            "README.md lacks {var}"
        );
    }
}

#[test]
fn global_flags_are_listed_once_and_still_work_after_the_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, None);
    let (_, top, _) = run(launcher(tmp.path(), &r).arg("--help"));
    assert!(top.contains("-o, --output <OUTPUT>"), "{top}");
    assert!(top.contains("-v, --verbose"), "{top}");
    assert!(top.contains("--backend <BACKEND>"), "{top}");
    for sub in ["list", "play", "logs", "batch"] {
        let (code, help, _) = run(launcher(tmp.path(), &r).args([sub, "--help"]));
        assert_eq!(code, 0);
        for global in ["--backend", "--namespace", "--output", "--work-dir"] {
            assert!(
                !help.contains(&format!("{global} <")),
                "{sub} --help repeats {global}:\n{help}"
            );
        }
        assert!(help.contains("see `launcher --help`"), "{help}");
    }
    // Given after the subcommand, a global flag still counts.
    let (code, out, err) =
        run(launcher(tmp.path(), &r).args(["list", "-o", "json", "--backend", "local"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "[]");
}

#[test]
fn render_honours_output_json() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = render_r1(tmp.path(), &["-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["kind"], "ConfigMap");
    assert_eq!(v[1]["kind"], "Job");
    assert_eq!(v[1]["metadata"]["name"], "match-r1");
}

#[test]
fn verbose_and_rust_log_show_the_kube_path_and_are_quiet_without() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, None);
    let kc = unreachable_kubeconfig(tmp.path());
    let wait = |extra: &[&str], rust_log: Option<&str>| {
        let mut c = launcher(tmp.path(), &r);
        c.env("KUBECONFIG", &kc)
            .args(["--backend", "kube", "wait", "m1"])
            .args(extra);
        if let Some(l) = rust_log {
            c.env("RUST_LOG", l);
        }
        run_within(&mut c, Duration::from_secs(60))
    };
    let (code, _, quiet) = wait(&[], None);
    assert_eq!(code, 4);
    assert!(!quiet.contains("watch failed"), "{quiet}");
    assert!(!quiet.contains("wait: decided"), "{quiet}");
    let (code, _, verbose) = wait(&["-v"], None);
    assert_eq!(code, 4);
    assert!(verbose.contains("jobs watch failed"), "{verbose}");
    assert!(verbose.contains("wait: decided"), "{verbose}");
    let (code, _, logged) = wait(&[], Some("launcher=debug"));
    assert_eq!(code, 4);
    assert!(logged.contains("jobs watch failed"), "{logged}");
    // -vv adds kube's own request log.
    let (_, _, requests) = wait(&["-vv"], None);
    assert!(requests.contains("requesting"), "{requests}");
    // A RUST_LOG that does not parse is said, not ignored silently.
    let (_, _, bad) = wait(&[], Some("launcher=nonsense[["));
    assert!(bad.contains("RUST_LOG"), "{bad}");
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definition() {
    let tmp = tempfile::tempdir().unwrap();
    let r = Path::new("/unused");
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(launcher(tmp.path(), r).args(["completions", shell]));
        assert_eq!(code, 0, "{err}");
        // Each shell spells long flags its own way (fish: `-l backend`).
        for word in [
            "preflight",
            "backend",
            "start-grace",
            "allow-unisolated-namespace",
        ] {
            assert!(out.contains(word), "{shell}: {word}");
        }
    }
    let (code, man, err) = run(launcher(tmp.path(), r).arg("man"));
    assert_eq!(code, 0, "{err}");
    assert!(
        man.starts_with(".ie") || man.contains(".TH launcher"),
        "{man}"
    );
    assert!(man.contains("allow\\-unisolated\\-namespace"), "{man}");
    assert!(man.contains("LAUNCHER_BACKEND"), "{man}");
}

/// The launcher's lints are the workspace's (it cannot inherit and extend them) plus
/// `unsafe_code = "forbid"`.
#[test]
fn the_launcher_forbids_unsafe_code_and_keeps_every_workspace_lint() {
    let read = |p: &Path| -> toml::Table { std::fs::read_to_string(p).unwrap().parse().unwrap() };
    let workspace = read(&root().join("Cargo.toml"));
    let launcher = read(&root().join("launcher/Cargo.toml"));
    let ours = &launcher["lints"];
    assert_eq!(ours["rust"]["unsafe_code"].as_str(), Some("forbid"));
    for (group, lints) in workspace["workspace"]["lints"].as_table().unwrap() {
        for (name, level) in lints.as_table().unwrap() {
            assert_eq!(
                ours.get(group).and_then(|g| g.get(name)),
                Some(level),
                "launcher/Cargo.toml lints.{group}.{name}"
            );
        }
    }
}

#[test]
fn an_interrupted_batch_names_every_match_cancelled_or_never_started() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake_runner(
        tmp.path(),
        &Fake {
            exit: 0,
            sleep_secs: 60.0,
            report: Some(match_report(&["random", "greedy"], Status::Ok, None)),
        },
    );
    let file = three_matches(tmp.path(), "i");
    let child = launcher(tmp.path(), &r)
        .args(["batch", "--concurrency", "1", "-o", "json"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first match (the highest priority, i2) runs.
    let start = Instant::now();
    while !tmp.path().join("calls.jsonl").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "i2 never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "three records and the summary: {stdout}");
    let record = |id: &str| {
        lines
            .iter()
            .find(|l| l["match_id"] == id)
            .unwrap_or_else(|| panic!("no record of {id}: {stdout}"))
    };
    assert_eq!(record("i2")["verdict"], "cancelled");
    assert!(
        record("i2")["reason"]
            .as_str()
            .unwrap()
            .starts_with("cancelled"),
        "{stdout}"
    );
    for id in ["i1", "i0"] {
        assert_eq!(record(id)["verdict"], "cancelled");
        assert!(
            record(id)["reason"]
                .as_str()
                .unwrap()
                .starts_with("never started"),
            "{stdout}"
        );
    }
    let summary = &lines[3]["summary"];
    assert_eq!(summary["cancelled"], 1, "{stdout}");
    assert_eq!(summary["not_started"], 2, "{stdout}");
}

#[test]
fn delete_removes_a_finished_match() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Ok, Some("greedy"));
    let (code, _, err) = random_vs_greedy(tmp.path(), &r, "play", &["--match-id", "d1"]);
    assert_eq!(code, 0, "{err}");
    assert!(tmp.path().join("work/d1").exists());
    let (code, out, err) = run(launcher(tmp.path(), &r).args(["delete", "d1"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "deleted match d1\n");
    assert!(!tmp.path().join("work/d1").exists());
    let (code, _, _) = run(launcher(tmp.path(), &r).args(["status", "d1"]));
    assert_eq!(code, 6);
    let (code, out, _) = run(launcher(tmp.path(), &r).args(["delete", "d1", "-o", "json"]));
    assert_eq!(code, 6);
    assert_eq!(json_error(&out)["code"], "not_found");
}

#[test]
fn a_cancelled_match_is_run_again_not_attached_to() {
    let tmp = tempfile::tempdir().unwrap();
    let r = fake(tmp.path(), Status::Cancelled, None);
    let play = |tmp: &Path| random_vs_greedy(tmp, &r, "play", &["-o", "json", "--match-id", "c1"]);
    let (code, out, err) = play(tmp.path());
    assert_eq!(code, 3, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "cancelled");
    assert_eq!(common::fake_calls(tmp.path()).len(), 1);
    // The same request again: the runner runs again.
    let (code, out, err) = play(tmp.path());
    assert_eq!(code, 3, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["attached"], false, "{out}");
    assert_eq!(common::fake_calls(tmp.path()).len(), 2);
    // submit too.
    let (code, out, err) = random_vs_greedy(
        tmp.path(),
        &r,
        "submit",
        &["-o", "json", "--match-id", "c1"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["attached"], false, "{out}");
}

/// `launcher replay` runs the game's viewer on a real match's replay: text with each player's
/// verdict and cause, or one self-contained page. A bot that answers with markup
/// (`tests/viewer/bots/inject.py`; the referee quotes its invalid moves in the replay) is shown
/// as text in both. A match with no replay and an unknown match are clear errors.
#[test]
fn replay_shows_a_real_match_as_text_and_as_a_page() {
    let (runner, tmp) = real_runner();
    let (code, out, err) = play_seeded(
        tmp.path(),
        &runner,
        &[],
        "view",
        [
            "inject=tests/viewer/bots/inject.py",
            "greedy=examples/bots/greedy.py",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("\nreplay    launcher replay view --html view.html\n"),
        "{out}"
    );

    let (code, text, err) = run(launcher(tmp.path(), &runner).args(["replay", "view"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("result: greedy won (forfeit by inject)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  A inject  score   0  forfeit: turn 3: 3 strikes (turn 1: invalid move '<svg onload=alert(1)>'"
        ),
        "{text}"
    );
    assert!(text.contains("[sandbox: ok]"), "{text}");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );

    let page = tmp.path().join("view.html");
    let (code, out, err) = run(launcher(tmp.path(), &runner).args([
        "replay",
        "view",
        "--html",
        page.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("wrote {}\n", page.display()));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("&lt;svg onload=alert(1)&gt;"), "{html}");
    assert!(!html.contains("<svg"), "{html}");

    let (code, _, err) = run(launcher(tmp.path(), &runner).args(["replay", "nope"]));
    assert_eq!(code, 6, "{err}");
    let r = fake(tmp.path(), Status::Ok, Some("greedy"));
    let (code, out, err) = random_vs_greedy(tmp.path(), &r, "play", &["--match-id", "fake"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(launcher(tmp.path(), &r).args(["replay", "fake"]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("no replay of match fake here:") && err.contains("does not exist"),
        "{err}"
    );
}

/// A bot that tries to ptrace the referee (`tests/matches/cheaters/ptrace.py`), played through
/// the real runner: the outcome names the forbidden call it made, in JSON and in the table.
#[test]
fn the_outcome_names_a_players_forbidden_call() {
    let (runner, tmp) = real_runner();
    let play = |id: &str, output: &str| {
        play_seeded(
            tmp.path(),
            &runner,
            &["--output", output],
            id,
            [
                "tracer=tests/matches/cheaters/ptrace.py",
                "honest=examples/bots/greedy.py",
            ],
        )
    };
    let (code, out, err) = play("trace-json", "json");
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tracer = &v["players"]["tracer"];
    assert_eq!(tracer["verdict"], "policy_violation", "{out}");
    assert_eq!(tracer["violation"]["call"], "ptrace", "{out}");
    assert!(
        tracer["violation"]["decoded"]
            .as_str()
            .is_some_and(|d| d.starts_with("ptrace(16, ")),
        "PTRACE_ATTACH (16) is the call the bot makes: {out}"
    );
    assert!(v["players"]["honest"]["violation"].is_null(), "{out}");

    let (code, out, err) = play("trace-table", "table");
    assert_eq!(code, 0, "{out}\n{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("tracer"))
        .unwrap_or_else(|| panic!("no tracer row:\n{out}"));
    assert!(
        row.contains("policy_violation")
            && row.contains("tried to inspect or control another process ptrace(16, "),
        "{out}"
    );
}
