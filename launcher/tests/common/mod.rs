//! Helpers shared by the launcher's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use launcher::request::{MatchRequest, PlayerInput};
use runner::report::{MatchReport, PlayerReport, PlayerVerdict, REPORT_VERSION, Report, Status};

pub const IMAGE: &str = "registry.example/game-sandbox/runner@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A two-player request with inline code.
pub fn request(id: &str) -> MatchRequest {
    let mut r = MatchRequest::new(vec![
        PlayerInput::bytes("alice", "from game.sdk import run\nrun(lambda o: 'N')\n"),
        PlayerInput::bytes("bob", "from game.sdk import run\nrun(lambda o: 'S')\n"),
    ]);
    r.match_id = Some(id.to_owned());
    r
}

fn process(status: Status) -> Report {
    let mut r = Report::not_run(String::new());
    r.status = status;
    r.exit_code = Some(0);
    r.wall_ms = 1200;
    r.cpu_ms = 300;
    r
}

/// A runner report: `winner` wins over everyone else (or no result when the status is not ok).
pub fn match_report(ids: &[&str], status: Status, winner: Option<&str>) -> MatchReport {
    let result = (status == Status::Ok).then(|| {
        serde_json::from_value(serde_json::json!({
            "winner": winner,
            "scores": ids.iter().map(|i| (i.to_string(), if Some(*i) == winner { 12 } else { 3 })).collect::<BTreeMap<_, _>>(),
            "reason": "higher score",
            "turns": 100,
            "players": ids.iter().map(|i| (i.to_string(), serde_json::json!({"status": "ok", "detail": "ok"}))).collect::<BTreeMap<_, _>>(),
        }))
        .expect("the test's result is a valid game result")
    });
    MatchReport {
        version: REPORT_VERSION,
        status,
        reason: if status == Status::Ok {
            format!("{} won (higher score)", winner.unwrap_or("nobody"))
        } else {
            format!("the match failed ({status})")
        },
        wall_ms: 1500,
        result,
        result_sha256: None,
        replay_sha256: None,
        output_dir: PathBuf::from("/out"),
        referee: process(if status == Status::SandboxError {
            Status::SandboxError
        } else {
            Status::Ok
        }),
        players: ids
            .iter()
            .map(|i| {
                (
                    (*i).to_owned(),
                    PlayerReport {
                        verdict: PlayerVerdict::Ok,
                        process: process(Status::Ok),
                    },
                )
            })
            .collect(),
    }
}

/// The summary the runner would put in the termination message.
pub fn summary(ids: &[&str], status: Status, winner: Option<&str>) -> String {
    match_report(ids, status, winner).summary_json()
}

/// How the fake runner behaves.
#[derive(Debug, Clone)]
pub struct Fake {
    pub exit: i32,
    pub sleep_secs: f64,
    pub report: Option<MatchReport>,
}

/// A fake `runner` (Python) in `dir`: `run --spec FILE` appends its argv and spec to
/// `dir/calls.jsonl`, sleeps, writes per-process logs and result.json into the output
/// directory, copies the configured report to the spec's report path, and exits with the
/// configured code. Configured by `dir/fake.json`, so tests need no environment variables.
pub fn fake_runner(dir: &Path, fake: &Fake) -> PathBuf {
    let path = dir.join("fake-runner");
    let report = dir.join("fake-report.json");
    if let Some(r) = &fake.report {
        std::fs::write(&report, serde_json::to_string(r).unwrap()).unwrap();
    }
    let cfg = serde_json::json!({
        "exit": fake.exit,
        "sleep": fake.sleep_secs,
        "report": fake.report.as_ref().map(|_| report.clone()),
        "log": dir.join("calls.jsonl"),
    });
    std::fs::write(dir.join("fake.json"), cfg.to_string()).unwrap();
    std::fs::write(
        &path,
        r#"#!/usr/bin/python3
import json, os, shutil, sys, time
cfg = json.load(open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "fake.json")))
assert sys.argv[1:3] == ["run", "--spec"], sys.argv
spec = json.load(open(sys.argv[3]))
with open(cfg["log"], "a") as f:
    f.write(json.dumps({"argv": sys.argv, "spec": spec}) + "\n")
time.sleep(cfg["sleep"])
code = cfg["exit"]
if code == 2:
    print("runner: bad spec: something is off", file=sys.stderr)
    sys.exit(2)
out = spec["output_dir"]
os.makedirs(out, exist_ok=True)
for p in spec["players"]:
    open(os.path.join(out, p["id"] + ".stderr.log"), "w").write(p["id"] + " says hello\n")
open(os.path.join(out, "result.json"), "w").write("{}")
if cfg["report"] and code in (0, 3):
    shutil.copy(cfg["report"], spec["report"])
    open(spec["termination_log"], "w").write("{}")
sys.exit(code)
"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The fake runner's recorded calls.
pub fn fake_calls(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("calls.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What keeps `doc` from matching `schemas/v1/<file>` (empty when it matches). The schemas are
/// generated from the types (`runner::schema`); this checks the documents real runs print.
pub fn schema_errors(file: &str, doc: &serde_json::Value) -> Vec<String> {
    let path = root().join(runner::schema::DIR).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{}: not a valid schema: {e}", path.display()));
    validator
        .iter_errors(doc)
        .map(|e| format!("{file}: {} at {}", e, e.instance_path()))
        .collect()
}

/// Panics with every error when `doc` does not match `schemas/v1/<file>`.
pub fn assert_matches_schema(file: &str, doc: &serde_json::Value) {
    let errors = schema_errors(file, doc);
    assert!(errors.is_empty(), "{}\n{doc:#}", errors.join("\n"));
}
