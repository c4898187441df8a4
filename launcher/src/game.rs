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
    /// The referee's defaults for what a request may leave out: turns, each turn's budget and
    /// the first turn's (which also covers the interpreter's start-up).
    pub turns: u32,
    pub turn_timeout_ms: u32,
    pub first_turn_timeout_ms: u32,
}

impl Game {
    /// The most a player may run in a whole match: the first turn's budget and every other
    /// turn's (the referee holds a player stopped outside its turns, and the runner does not
    /// count that time against its wall limit).
    pub fn play_time_ms(&self, turns: Option<u32>, turn_timeout_ms: Option<u32>) -> u64 {
        let turns = u64::from(turns.unwrap_or(self.turns));
        let turn = u64::from(turn_timeout_ms.unwrap_or(self.turn_timeout_ms));
        u64::from(self.first_turn_timeout_ms) + turns.saturating_sub(1) * turn
    }
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
    turns: 100,
    turn_timeout_ms: 1000,
    first_turn_timeout_ms: 5000,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The launcher sizes the default wall limit from these; they must be the referee's own.
    #[test]
    fn the_turn_defaults_are_the_referees() {
        let referee = include_str!("../../image/game/game/referee.py");
        let rules = include_str!("../../image/game/game/rules.py");
        let g = find("gems").unwrap();
        for needle in [
            format!("turn_timeout_ms: int = {}", g.turn_timeout_ms),
            format!("first_turn_timeout_ms: int = {}", g.first_turn_timeout_ms),
        ] {
            assert!(referee.contains(&needle), "referee.py lacks {needle:?}");
        }
        assert!(
            rules.contains(&format!("turns: int = {},", g.turns)),
            "rules.py's default turns differ from {}",
            g.turns
        );
        assert_eq!(g.play_time_ms(None, None), 5000 + 99 * 1000);
        assert_eq!(g.play_time_ms(Some(12), Some(400)), 5000 + 11 * 400);
    }
}
