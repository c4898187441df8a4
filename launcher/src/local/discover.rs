//! Finding what the local backend runs: the runner binary, the game directory, and the digest
//! of the game a report names.

use std::path::{Path, PathBuf};

use crate::error::LaunchError;
use crate::plan;

/// `rel` under the current directory or the nearest ancestor that has it: how a checkout is
/// found at run time (`target/release/launcher` run from anywhere inside it). Nothing about
/// the machine the binary was built on is compiled in.
fn under_cwd_or_ancestor(rel: &str, found: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().map(|d| d.join(rel)).find(|p| found(p))
}

/// Finds the runner binary (see [`LocalConfig::runner`](super::LocalConfig::runner)).
pub fn find_runner(given: Option<&Path>) -> Result<PathBuf, LaunchError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = given {
        // Given explicitly: that one or nothing.
        return if p.is_file() {
            Ok(p.to_owned())
        } else {
            Err(LaunchError::RunnerNotFound {
                tried: format!("--runner {}", p.display()),
            })
        };
    }
    if let Some(p) = std::env::var_os("LAUNCHER_RUNNER") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(LaunchError::RunnerNotFound {
                tried: format!("LAUNCHER_RUNNER={}", p.display()),
            })
        };
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("runner"));
        // Test binaries live in target/debug/deps.
        if dir.ends_with("deps")
            && let Some(up) = dir.parent()
        {
            candidates.push(up.join("runner"));
        }
    }
    for rel in ["target/release/runner", "target/debug/runner"] {
        candidates
            .push(under_cwd_or_ancestor(rel, Path::is_file).unwrap_or_else(|| PathBuf::from(rel)));
    }
    first_of(&candidates, Path::is_file)
        .cloned()
        .map_err(|tried| LaunchError::RunnerNotFound { tried })
}

/// Finds the game directory (see [`LocalConfig::game_dir`](super::LocalConfig::game_dir)).
pub fn find_game_dir(given: Option<&Path>) -> Result<PathBuf, LaunchError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    match (given, std::env::var_os("LAUNCHER_GAME_DIR")) {
        (Some(p), _) => candidates.push(p.to_owned()),
        (None, Some(p)) => candidates.push(p.into()),
        (None, None) => {
            candidates.push(plan::IMAGE_GAME_DIR.into());
            candidates.push(
                under_cwd_or_ancestor("image/game", |p| p.join("game").is_dir())
                    .unwrap_or_else(|| PathBuf::from("image/game")),
            );
        }
    }
    first_of(&candidates, |p| p.join("game").is_dir())
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .map_err(|tried| LaunchError::GameDirNotFound { tried })
}

/// The first candidate `fits`, or the list of every one tried, for the error.
fn first_of(candidates: &[PathBuf], fits: impl Fn(&Path) -> bool) -> Result<&PathBuf, String> {
    candidates.iter().find(|p| fits(p)).ok_or_else(|| {
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// `sha256:HEX` of a game directory's `game/` package: every file but bytecode, by relative
/// path, size and content, in path order, so any change to what the referee runs changes it.
pub(super) fn game_digest(game_dir: &Path) -> Result<String, LaunchError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() && entry.file_name() != "__pycache__" {
                walk(&path, out)?;
            } else if kind.is_file() && path.extension().is_none_or(|e| e != "pyc") {
                out.push(path);
            }
        }
        Ok(())
    }
    let root = game_dir.join("game");
    let mut files = Vec::new();
    walk(&root, &mut files)
        .map_err(|e| LaunchError::io(format!("cannot read the game in {}", root.display()), e))?;
    files.sort();
    let mut all = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f)
            .map_err(|e| LaunchError::io(format!("cannot read {}", f.display()), e))?;
        let rel = f.strip_prefix(game_dir).unwrap_or(f).to_string_lossy();
        all.extend_from_slice(rel.as_bytes());
        all.push(0);
        all.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        all.extend_from_slice(&bytes);
    }
    Ok(format!("sha256:{}", runner::sha256_hex(&all)))
}
