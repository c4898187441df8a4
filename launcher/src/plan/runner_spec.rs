//! The runner's spec for a match, the part of the plan both backends share: the pod's with
//! the image's paths, the local backend's with host paths.

use std::collections::BTreeMap;
use std::path::PathBuf;

use runner::spec::{Limits, MatchSpec, Paths, PlayerSpec, ProcessSpec, SPEC_VERSION};
use runner::units::Secs;

use super::{
    CODE_DIR, IMAGE_GAME_DIR, OUT_DIR, PYTHON, REFEREE_EXTRA_WALL_MS, REFEREE_MEMORY,
    REFEREE_OUTPUT, TERMINATION_LOG,
};
use crate::request::{Match, player_limits};

/// Where things are, for the runner's spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub python: PathBuf,
    pub game_dir: PathBuf,
    pub code_dir: PathBuf,
    pub output_dir: PathBuf,
    /// None: the report goes to the runner's standard output.
    pub report: Option<PathBuf>,
    pub termination_log: Option<PathBuf>,
}

impl Layout {
    /// Inside the game pod.
    pub fn pod() -> Self {
        Self {
            python: PYTHON.into(),
            game_dir: IMAGE_GAME_DIR.into(),
            code_dir: CODE_DIR.into(),
            output_dir: OUT_DIR.into(),
            // The report goes to the container's log (kept with the pod); the summary, which
            // is the verdict, to the termination message.
            report: None,
            termination_log: Some(TERMINATION_LOG.into()),
        }
    }
}

/// The referee's limits for a match.
pub fn referee_limits(m: &Match) -> Limits {
    Limits {
        wall_time: Some(Secs::from_millis(
            player_limits::wall_time(&m.limits).as_millis() + REFEREE_EXTRA_WALL_MS,
        )),
        cpu_time: Some(player_limits::wall_time(&m.limits)),
        memory: Some(REFEREE_MEMORY),
        output: Some(REFEREE_OUTPUT),
        file_size: None,
        open_files: None,
        // The profile's disk budget: the staging directory holds the replay (up to 64 MiB).
        disk: None,
        disk_inodes: None,
    }
}

/// The runner's spec for a match: the referee and each player as its own process.
pub fn match_spec(m: &Match, layout: &Layout) -> MatchSpec {
    let game_dir = layout.game_dir.display().to_string();
    let env = BTreeMap::from([("PYTHONPATH".to_owned(), game_dir)]);
    let python = layout.python.display().to_string();
    let mut referee_args = vec![
        python.clone(),
        "-m".to_owned(),
        m.game.referee_module.to_owned(),
        "--seed".to_owned(),
        m.options.seed.to_string(),
    ];
    if let Some(t) = m.options.turns {
        referee_args.extend(["--turns".to_owned(), t.to_string()]);
    }
    if let Some(t) = m.options.turn_timeout_ms {
        referee_args.extend(["--turn-timeout-ms".to_owned(), t.to_string()]);
    }
    let players = m
        .players
        .iter()
        .map(|p| {
            let code = layout.code_dir.join(p.file_name());
            PlayerSpec {
                id: p.id.clone(),
                process: ProcessSpec {
                    program: vec![python.clone(), code.display().to_string()],
                    // The checked four; a player has no writable path (no disk budget), and
                    // its file and descriptor limits are the profile's.
                    limits: m.limits.clone(),
                    // Its own code only: a player never sees another player's code.
                    paths: Paths {
                        ro: vec![layout.game_dir.clone(), code],
                        ..Paths::default()
                    },
                    env: env.clone(),
                },
            }
        })
        .collect();
    MatchSpec {
        version: SPEC_VERSION,
        referee: ProcessSpec {
            program: referee_args,
            limits: referee_limits(m),
            paths: Paths {
                ro: vec![layout.game_dir.clone()],
                ..Paths::default()
            },
            env,
        },
        players,
        output_dir: layout.output_dir.clone(),
        report: layout.report.clone(),
        termination_log: layout.termination_log.clone(),
        profile: None,
    }
}
