//! A match request, as the platform (or the command line, or a batch file) states it, and its
//! validation into a [`Match`]: everything is checked before anything is created anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RequestError;
use crate::game::{self, Game};
use crate::names;
use player_code::{code_file_names, read_player};

/// The most a ConfigMap may hold: the API server refuses data over 1 MiB in total
/// (keys and values of `data` and `binaryData` together).
pub const CONFIGMAP_MAX_BYTES: usize = 1024 * 1024;
/// Room kept in the ConfigMap for `spec.json` and the keys when checking one player's code.
pub const SPEC_ALLOWANCE: usize = 16 * 1024;

mod player_code;
pub mod player_limits;

/// A player's limits: the runner's one request type. The launcher sets four of them (wall
/// time, CPU time, memory, output) and refuses the others in a request: a player has no
/// writable path to budget, and the profile's file and descriptor limits are not the
/// platform's to loosen.
pub use runner::spec::Limits;

/// Where a player's code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// A file, read when the request is validated.
    File(PathBuf),
    /// The code itself.
    Bytes(Vec<u8>),
}

/// One player as requested: an optional id (default: the file's stem) and its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "PlayerInputDoc", into = "PlayerInputDoc")]
pub struct PlayerInput {
    pub id: Option<String>,
    pub source: CodeSource,
}

impl PlayerInput {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            id: None,
            source: CodeSource::File(path.into()),
        }
    }
    pub fn bytes(id: impl Into<String>, code: impl Into<Vec<u8>>) -> Self {
        Self {
            id: Some(id.into()),
            source: CodeSource::Bytes(code.into()),
        }
    }
    /// Parses the command line's `[ID=]FILE`.
    pub fn parse_arg(arg: &str) -> Self {
        match arg.split_once('=') {
            Some((id, file)) if !id.is_empty() && !id.contains('/') => Self {
                id: Some(id.to_owned()),
                source: CodeSource::File(file.into()),
            },
            _ => Self::file(arg),
        }
    }
}

/// A player in a request document: `{"id": ..., "file": ...}` or `{"id": ..., "code": ...}`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PlayerInputDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<runner::ids::PlayerId>")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
}

impl TryFrom<PlayerInputDoc> for PlayerInput {
    type Error = String;
    fn try_from(d: PlayerInputDoc) -> Result<Self, String> {
        let source = match (d.file, d.code) {
            (Some(f), None) => CodeSource::File(f),
            (None, Some(c)) => CodeSource::Bytes(c.into_bytes()),
            _ => return Err("a player needs exactly one of `file` and `code`".into()),
        };
        Ok(Self { id: d.id, source })
    }
}

impl From<PlayerInput> for PlayerInputDoc {
    fn from(p: PlayerInput) -> Self {
        match p.source {
            CodeSource::File(f) => Self {
                id: p.id,
                file: Some(f),
                code: None,
            },
            CodeSource::Bytes(b) => Self {
                id: p.id,
                file: None,
                code: Some(String::from_utf8_lossy(&b).into_owned()),
            },
        }
    }
}

/// A match request. Validate it with [`MatchRequest::validate`] before planning or running it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    /// Names every object of the match; the same id twice attaches to the first run.
    /// None: a fresh id is generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<runner::ids::MatchId>")]
    pub match_id: Option<String>,
    #[serde(default = "default_game")]
    pub game: String,
    pub players: Vec<PlayerInput>,
    /// A player's limits: wall_time, cpu_time, memory and output; anything left out takes
    /// the default.
    #[serde(default, deserialize_with = "player_limits::deserialize")]
    #[schemars(schema_with = "player_limits::schema")]
    pub limits: Limits,
    /// The tenant; its namespace is `games-<tenant>` unless `namespace` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Extra labels for the Job and its pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Higher runs first in a batch.
    #[serde(default)]
    pub priority: i32,
    /// Game seed; default: derived from the match id, so a resubmission plays the same game.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_timeout_ms: Option<u32>,
}

fn default_game() -> String {
    game::DEFAULT.to_owned()
}

impl MatchRequest {
    /// A request with defaults for everything but the players.
    pub fn new(players: Vec<PlayerInput>) -> Self {
        Self {
            match_id: None,
            game: default_game(),
            players,
            limits: Limits::default(),
            tenant: None,
            namespace: None,
            labels: BTreeMap::new(),
            priority: 0,
            seed: None,
            turns: None,
            turn_timeout_ms: None,
        }
    }
}

/// A player of a validated match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// Unique in the match.
    pub id: runner::ids::PlayerId,
    pub code: Vec<u8>,
    /// Where the code came from, for messages.
    pub origin: String,
    /// The code's file name: the id and a token no other player can predict (see
    /// `code_file_names`).
    pub file: String,
}

impl Player {
    /// The code's file name in the ConfigMap and in the local work directory.
    pub fn file_name(&self) -> String {
        self.file.clone()
    }
}

/// Game settings of a validated match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GameOptions {
    pub seed: u64,
    pub turns: Option<u32>,
    pub turn_timeout_ms: Option<u32>,
}

/// A validated match: every name is DNS-1123, every player has code, every limit is in range.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub id: String,
    pub game: &'static Game,
    pub players: Vec<Player>,
    /// A player's limits, checked: wall time, CPU time, memory and output all set.
    pub limits: Limits,
    pub tenant: Option<String>,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub priority: i32,
    pub options: GameOptions,
}

impl MatchRequest {
    /// Checks the request and reads the players' code. Relative code paths are read from the
    /// current directory.
    pub fn validate(&self) -> Result<Match, RequestError> {
        self.validate_in(Path::new("."))
    }

    /// As [`validate`](Self::validate), with relative code paths resolved against `base`.
    pub fn validate_in(&self, base: &Path) -> Result<Match, RequestError> {
        let id = match &self.match_id {
            Some(raw) => names::match_id(raw)?,
            None => names::fresh_match_id(),
        };
        let game = game::find(&self.game)?;
        if !(game.min_players..=game.max_players).contains(&self.players.len()) {
            return Err(RequestError::new(format!(
                "game {} needs {} to {} players, not {}",
                game.name,
                game.min_players,
                game.max_players,
                self.players.len()
            )));
        }
        let mut players: Vec<Player> = Vec::with_capacity(self.players.len());
        let mut total = 0usize;
        for (i, p) in self.players.iter().enumerate() {
            let player = read_player(i, p, base)?;
            if let Some(other) = players.iter().find(|o| o.id == player.id) {
                return Err(RequestError::new(format!(
                    "two players have the id {} ({} and {}); give ids explicitly with ID=FILE",
                    player.id, other.origin, player.origin
                )));
            }
            // The name's length is known before its token: id, '-', 16 hex digits, '.py'.
            total += player.code.len() + player.id.as_str().len() + 20;
            players.push(player);
        }
        code_file_names(&id, &mut players);
        if total + SPEC_ALLOWANCE > CONFIGMAP_MAX_BYTES {
            return Err(RequestError::new(format!(
                "the players' code totals {total} bytes; a ConfigMap holds at most {} bytes with the spec",
                CONFIGMAP_MAX_BYTES - SPEC_ALLOWANCE
            )));
        }
        let tenant = self
            .tenant
            .as_deref()
            .map(|t| names::label_name("tenant", t, names::TENANT_MAX))
            .transpose()?;
        let namespace = self
            .namespace
            .as_deref()
            .map(|n| names::label_name("namespace", n, 63))
            .transpose()?;
        for (k, v) in &self.labels {
            names::check_user_label(k, v)?;
        }
        if let Some(t) = self.turns
            && !(1..=10_000).contains(&t)
        {
            return Err(RequestError::new(format!(
                "turns {t} is out of range (1 to 10000)"
            )));
        }
        if let Some(t) = self.turn_timeout_ms
            && !(10..=60_000).contains(&t)
        {
            return Err(RequestError::new(format!(
                "turn timeout {t}ms is out of range (10 to 60000)"
            )));
        }
        let limits = player_limits::check(
            &self.limits,
            game.play_time_ms(self.turns, self.turn_timeout_ms),
        )?;
        let seed = self.seed.unwrap_or_else(|| seed_from(&id));
        Ok(Match {
            id,
            game,
            players,
            limits,
            tenant,
            namespace,
            labels: self.labels.clone(),
            priority: self.priority,
            options: GameOptions {
                seed,
                turns: self.turns,
                turn_timeout_ms: self.turn_timeout_ms,
            },
        })
    }
}

/// A seed from the match id: the same match plays the same game.
fn seed_from(id: &str) -> u64 {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    // The game takes 0..2^64-1; keep it readable on the command line and in JSON (< 2^53).
    u64::from_be_bytes(b) >> 11
}

#[cfg(test)]
mod tests {
    use runner::units::{Secs, Size};

    use super::*;

    #[test]
    fn code_file_names_hide_behind_every_players_code() {
        let two = |bob: &str| {
            let mut r = MatchRequest::new(vec![
                PlayerInput::bytes("alice", "print(1)\n"),
                PlayerInput::bytes("bob", bob),
            ]);
            r.match_id = Some("m1".into());
            r.validate().unwrap()
        };
        let a = two("print(2)\n");
        let names: Vec<String> = a.players.iter().map(Player::file_name).collect();
        assert!(
            names[0].starts_with("alice-") && names[0].ends_with(".py"),
            "{names:?}"
        );
        assert_eq!(names[0].len(), "alice-".len() + 16 + 3);
        // The same request, the same names: a retried submit attaches.
        assert_eq!(
            names,
            two("print(2)\n")
                .players
                .iter()
                .map(Player::file_name)
                .collect::<Vec<_>>()
        );
        // Alice cannot name bob's file without bob's code: another code, another name (hers too).
        let b = two("print(3)\n");
        assert_ne!(names[1], b.players[1].file_name());
        assert_ne!(names[0], b.players[0].file_name());
    }

    fn two(a: &str, b: &str) -> MatchRequest {
        let mut r = MatchRequest::new(vec![
            PlayerInput::bytes(a, "print(1)\n"),
            PlayerInput::bytes(b, "print(2)\n"),
        ]);
        r.match_id = Some("m1".into());
        r
    }

    fn err(r: &MatchRequest) -> String {
        r.validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_apply() {
        let m = two("alice", "bob").validate().unwrap();
        assert_eq!(m.id, "m1");
        assert_eq!(m.game.name, "gems");
        // 100 turns: 5 s for the first, 1 s for each other; 5 % and 10 s on top.
        let wall = Secs::from_millis(120_000); // 104 s + 5.2 s + 10 s, whole seconds up
        assert_eq!(
            m.limits,
            Limits {
                wall_time: Some(wall),
                cpu_time: Some(wall),
                memory: Some(Size::mib(256)),
                output: Some(Size::mib(1)),
                ..Limits::default()
            }
        );
        let mut short = two("alice", "bob");
        short.turns = Some(12);
        short.turn_timeout_ms = Some(400);
        let m = short.validate().unwrap();
        assert_eq!(m.limits.wall_time, Some(Secs::from_millis(20_000))); // 9.4 + 0.47 + 10 s, up
        assert_eq!(m.options.seed, seed_from("m1"));
        assert!(m.options.seed < 1 << 53);
    }

    #[test]
    fn player_id_defaults_to_the_file_stem() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut r = MatchRequest::new(vec![
            PlayerInput::parse_arg("examples/bots/random.py"),
            PlayerInput::parse_arg("greedy-bot=examples/bots/greedy.py"),
        ]);
        r.match_id = Some("x".into());
        let m = r.validate_in(&root).unwrap();
        let ids: Vec<_> = m.players.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["random", "greedy-bot"]);
        // An id that is not valid is refused with the valid spelling, never rewritten.
        r.players[1] = PlayerInput::parse_arg("Greedy_Bot=examples/bots/greedy.py");
        let e = r.validate_in(&root).unwrap_err().0;
        assert!(e.contains("did you mean \"greedy-bot\""), "{e}");
    }

    #[test]
    fn invalid_requests_are_refused_with_a_reason() {
        let mut r = two("a", "b");
        r.players[0] = PlayerInput::bytes("a", "  \n");
        assert!(err(&r).contains("empty"), "{}", err(&r));

        let mut r = two("a", "b");
        r.players[1] = PlayerInput::bytes("b", vec![b'#'; CONFIGMAP_MAX_BYTES]);
        assert!(err(&r).contains("ConfigMap"), "{}", err(&r));

        let r = two("a", "a");
        assert!(err(&r).contains("two players"), "{}", err(&r));

        let r = two("___", "b");
        assert!(err(&r).contains("DNS-1123"), "{}", err(&r));

        let mut r = two("a", "b");
        r.match_id = Some("!!!".into());
        assert!(err(&r).contains("DNS-1123"), "{}", err(&r));

        let mut r = two("a", "b");
        r.match_id = Some("x".repeat(60));
        assert!(err(&r).contains("at most"), "{}", err(&r));

        let mut r = two("a", "b");
        r.players.truncate(1);
        assert!(err(&r).contains("2 to 4 players"), "{}", err(&r));

        let mut r = two("a", "b");
        r.game = "chess".into();
        assert!(err(&r).contains("unknown game"), "{}", err(&r));

        let mut r = two("a", "b");
        r.limits.memory = Some(Size::mib(4096));
        assert!(
            err(&r).contains("memory 4GiB is out of range"),
            "{}",
            err(&r)
        );

        let mut r = two("a", "b");
        r.limits.wall_time = Some(Secs::from_millis(10_000));
        r.limits.cpu_time = Some(Secs::from_millis(20_000));
        assert!(err(&r).contains("CPU time 20s"), "{}", err(&r));

        let mut r = two("a", "b");
        r.limits.output = Some(Size(10));
        assert!(err(&r).contains("output"), "{}", err(&r));

        let mut r = two("a", "b");
        r.labels.insert("app.kubernetes.io/name".into(), "x".into());
        assert!(err(&r).contains("reserved"), "{}", err(&r));

        let mut r = two("a", "b");
        r.labels.insert("team".into(), "a b".into());
        assert!(err(&r).contains("label value"), "{}", err(&r));

        let mut r = two("a", "b");
        r.tenant = Some("Tenant A".into());
        assert!(err(&r).contains("did you mean \"tenant-a\""), "{}", err(&r));
        r.tenant = Some("tenant-a".into());
        assert_eq!(r.validate().unwrap().tenant.as_deref(), Some("tenant-a"));

        let mut r = two("a", "b");
        r.players[0] = PlayerInput::file("/nonexistent/bot.py");
        assert!(err(&r).contains("/nonexistent/bot.py"), "{}", err(&r));
    }

    #[test]
    fn request_documents_are_strict() {
        let ok: MatchRequest = serde_json::from_str(
            r#"{"match_id":"a","players":[{"id":"x","code":"print()"},{"file":"b.py"}],"limits":{"memory":"128MiB","wall_time":"30s"}}"#,
        )
        .unwrap();
        assert_eq!(ok.limits.memory, Some(Size::mib(128)));
        for (doc, needle) in [
            (r#"{"players":[],"colour":"red"}"#, "colour"),
            (r#"{"players":[{"id":"x"}]}"#, "exactly one"),
            (
                r#"{"players":[{"id":"x","code":"a","file":"b"}]}"#,
                "exactly one",
            ),
            (r#"{"players":[{"id":"x","path":"b"}]}"#, "path"),
            (r#"{"players":[],"limits":{"disk":"1MiB"}}"#, "disk"),
            (
                r#"{"players":[],"limits":{"open_files":3,"memory":"64MiB"}}"#,
                "open_files cannot be set for a player (only wall_time, cpu_time, memory and output)",
            ),
        ] {
            let e = serde_json::from_str::<MatchRequest>(doc)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{doc}: {e}");
        }
    }
}
