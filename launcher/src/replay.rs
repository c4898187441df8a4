//! A finished match's replay, shown by the game's own viewer (`python3 -m game.viewer` in the
//! game directory): one self-contained HTML page, or text for a terminal. The launcher only
//! finds the replay and passes each player's runner verdict along; what is shown, and how a
//! bot's text is escaped, is the viewer's (`image/game/game/viewer.py`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::LaunchError;
use crate::game::Game;
use crate::outcome::{Artifacts, Outcome};

/// What the viewer makes of the replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewForm {
    /// One self-contained page written to this file.
    Html(PathBuf),
    /// Text on standard output.
    Text,
}

/// The replay file of a finished match, or why there is none to read here.
pub fn replay_path(o: &Outcome) -> Result<PathBuf, LaunchError> {
    let no_replay = |why: String| LaunchError::NoReplay {
        id: o.match_id.clone(),
        why,
    };
    match &o.artifacts {
        Some(Artifacts::Local {
            replay: Some(replay),
            ..
        }) if replay.is_file() => Ok(replay.clone()),
        Some(Artifacts::Local { dir, .. }) => Err(no_replay(format!(
            "{} does not exist (the match ended {}: {})",
            dir.join("replay.jsonl").display(),
            o.verdict,
            o.reason
        ))),
        Some(Artifacts::Pvc {
            namespace,
            claim,
            sub_path,
        }) => Err(no_replay(format!(
            "it is in the results volume {namespace}/{claim} at {sub_path}/replay.jsonl; copy it out and run `python3 -m game.viewer replay.jsonl --html FILE` in the game directory"
        ))),
        None => Err(no_replay(
            "the backend keeps no artifacts for it (kube: set a results PVC)".to_owned(),
        )),
    }
}

/// The game a replay is of, from its header line (`"game": NAME`).
pub fn game_of(replay: &Path) -> Result<&'static Game, LaunchError> {
    use std::io::{BufRead as _, Read as _};
    #[derive(serde::Deserialize)]
    struct Header {
        game: String,
    }
    let read = |e| LaunchError::Read {
        path: replay.to_path_buf(),
        source: e,
    };
    let file = std::fs::File::open(replay).map_err(read)?;
    // The header is a few KiB (the grid); the cap keeps a damaged file from being read whole.
    let mut line = String::new();
    std::io::BufReader::new(file.take(1 << 20))
        .read_line(&mut line)
        .map_err(read)?;
    let header: Header = serde_json::from_str(&line).map_err(|e| LaunchError::NoReplay {
        id: replay.display().to_string(),
        why: format!("its first line is not a replay header ({e})"),
    })?;
    Ok(crate::game::find(&header.game)?)
}

/// Each player's runner verdict, as the viewer's `--verdicts` reads it. The cause stays empty
/// here: the referee's word (in the replay) already says what the player did.
pub fn verdicts(o: &Outcome) -> serde_json::Value {
    o.players
        .iter()
        .filter_map(|(id, p)| {
            let v = p.verdict?;
            // The runner's cause: its reason (which names a forbidden call), and the turn.
            let cause = match (&p.reason, p.turn) {
                (Some(r), Some(t)) if v != runner::report::PlayerVerdict::Ok => {
                    format!("turn {t}: {r}")
                }
                (Some(r), _) if v != runner::report::PlayerVerdict::Ok => r.clone(),
                _ => String::new(),
            };
            Some((
                id.clone(),
                serde_json::json!({ "verdict": v.to_string(), "cause": cause }),
            ))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Runs the game's viewer on `replay`: the page goes to the file, the text to this process's
/// standard output, the viewer's errors to its standard error.
pub fn view(
    python: &Path,
    game_dir: &Path,
    game: &Game,
    replay: &Path,
    form: &ViewForm,
    verdicts: &serde_json::Value,
) -> Result<(), LaunchError> {
    // The viewer runs in the game directory (so `-m` finds the game there first, whatever
    // the caller's directory holds), so paths given by the caller are made absolute first.
    let absolute = |p: &Path| {
        std::path::absolute(p).map_err(|e| LaunchError::io(format!("path {}", p.display()), e))
    };
    let mut cmd = Command::new(python);
    // -E -s: no PYTHON* variables and no user site-packages decide what the viewer imports.
    cmd.args(["-E", "-s", "-m", game.viewer_module])
        .arg(absolute(replay)?)
        .arg("--verdicts")
        .arg("-")
        .current_dir(game_dir)
        .stdin(Stdio::piped());
    match form {
        ViewForm::Html(file) => cmd.arg("--html").arg(absolute(file)?),
        ViewForm::Text => cmd.arg("--text"),
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| LaunchError::io(format!("cannot run {}", python.display()), e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(verdicts.to_string().as_bytes())
            .map_err(|e| LaunchError::io("writing the verdicts to the viewer", e))?;
    }
    let status = child
        .wait()
        .map_err(|e| LaunchError::io("waiting for the viewer", e))?;
    if status.success() {
        Ok(())
    } else {
        Err(LaunchError::Viewer {
            replay: replay.to_path_buf(),
            status: status.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use runner::report::PlayerVerdict;

    use super::*;
    use crate::outcome::{PlayerOutcome, Verdict};

    fn outcome(artifacts: Option<Artifacts>) -> Outcome {
        let mut o = Outcome::failed("m1", "local", Verdict::Ok, "a won".to_owned());
        o.artifacts = artifacts;
        o.players = BTreeMap::from([
            (
                "a".to_owned(),
                PlayerOutcome {
                    verdict: Some(PlayerVerdict::Memory),
                    score: Some(1),
                    detail: None,
                    violation: None,
                    reason: None,
                    turn: None,
                    stderr_tail: None,
                },
            ),
            (
                "b".to_owned(),
                PlayerOutcome {
                    verdict: None,
                    score: None,
                    detail: None,
                    violation: None,
                    reason: None,
                    turn: None,
                    stderr_tail: None,
                },
            ),
        ]);
        o
    }

    #[test]
    fn verdicts_carry_each_reported_player() {
        assert_eq!(
            verdicts(&outcome(None)),
            serde_json::json!({"a": {"verdict": "memory", "cause": ""}})
        );
    }

    #[test]
    fn the_game_comes_from_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("replay.jsonl");
        std::fs::write(
            &file,
            "{\"type\":\"header\",\"game\":\"gems\",\"seed\":1}\n{}\n",
        )
        .unwrap();
        assert_eq!(game_of(&file).unwrap().viewer_module, "game.viewer");
        std::fs::write(&file, "{\"type\":\"header\",\"game\":\"chess\"}\n").unwrap();
        assert!(
            game_of(&file)
                .unwrap_err()
                .to_string()
                .contains("unknown game \"chess\"")
        );
        std::fs::write(&file, "not json\n").unwrap();
        assert!(
            game_of(&file)
                .unwrap_err()
                .to_string()
                .contains("not a replay header")
        );
    }

    #[test]
    fn a_missing_replay_says_where_it_is_or_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let local = |replay: Option<PathBuf>| Artifacts::Local {
            dir: dir.path().to_owned(),
            report: None,
            result: None,
            replay,
        };
        // An outcome lists only artifacts that exist: no replay there.
        let missing = outcome(Some(local(None)));
        let e = replay_path(&missing).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::LauncherExit::MatchFailed);
        assert!(e.to_string().contains("replay.jsonl does not exist"), "{e}");

        std::fs::write(dir.path().join("replay.jsonl"), "{}\n").unwrap();
        let present = outcome(Some(local(Some(dir.path().join("replay.jsonl")))));
        assert_eq!(
            replay_path(&present).unwrap(),
            dir.path().join("replay.jsonl")
        );

        let pvc = outcome(Some(Artifacts::Pvc {
            namespace: "games".to_owned(),
            claim: "results".to_owned(),
            sub_path: "m1".to_owned(),
        }));
        let e = replay_path(&pvc).unwrap_err().to_string();
        assert!(e.contains("games/results at m1/replay.jsonl"), "{e}");
        let e = replay_path(&outcome(None)).unwrap_err().to_string();
        assert!(e.contains("results PVC"), "{e}");
    }
}
