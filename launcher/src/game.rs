//! The games the launcher knows how to start: which referee module, how many players.

use serde::Serialize;

use crate::error::RequestError;

/// A game the image (and the repository's `image/game`) carries.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Game {
    /// The name in requests (`--game`), a DNS-1123 label.
    pub name: &'static str,
    /// The referee, run as `python3 -m <module>` with the game directory on `PYTHONPATH`.
    pub referee_module: &'static str,
    /// The replay viewer, run as `python3 -m <module>` in the game directory.
    pub viewer_module: &'static str,
    pub min_players: usize,
    pub max_players: usize,
}

/// The game a request gets when it names none.
pub const DEFAULT: &str = "gems";

/// Every known game.
pub static GAMES: &[Game] = &[Game {
    name: "gems",
    referee_module: "game.referee",
    viewer_module: "game.viewer",
    min_players: 2,
    max_players: 4,
}];

/// Looks a game up by name.
pub fn find(name: &str) -> Result<&'static Game, RequestError> {
    GAMES.iter().find(|g| g.name == name).ok_or_else(|| {
        let known: Vec<_> = GAMES.iter().map(|g| g.name).collect();
        RequestError::new(format!(
            "unknown game {name:?} (known: {})",
            known.join(", ")
        ))
    })
}
