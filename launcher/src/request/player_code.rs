//! A player's code, read as data: the file opened without following links, its id, and the
//! file name no other player can predict.

use std::io::Read as _;
use std::path::Path;

use super::{CONFIGMAP_MAX_BYTES, CodeSource, Player, PlayerInput, SPEC_ALLOWANCE};
use crate::error::RequestError;
use crate::names;

/// Names each player's code file `<id>-<token>.py`. Landlock keeps a player from reading the
/// other players' code, but `stat()` needs no Landlock right: at a predictable path it would
/// tell the opponent's code size and times. The token hashes the match id and every player's
/// code, so it is the same for a retried submit (the plan stays a pure function) and a player
/// can compute the opponent's name only by already knowing the opponent's code exactly.
pub(super) fn code_file_names(match_id: &str, players: &mut [Player]) {
    use sha2::Digest as _;
    let mut all = sha2::Sha256::new();
    all.update(b"player code file names\0");
    all.update(match_id.as_bytes());
    for p in players.iter() {
        all.update(b"\0");
        all.update(p.id.as_str().as_bytes());
        all.update(b"\0");
        all.update((p.code.len() as u64).to_be_bytes());
        all.update(&p.code);
    }
    let all = all.finalize();
    for p in players.iter_mut() {
        let mut one = sha2::Sha256::new();
        one.update(all);
        one.update(p.id.as_str().as_bytes());
        let token = runner::digest::hex(&one.finalize()[..8]);
        p.file = format!("{}-{token}.py", p.id);
    }
}

/// Opens a player's code file as data, not as a capability: the launcher may run as root, so a
/// path that is a symbolic link (to `/etc/shadow`, say) or names a device, a FIFO or a
/// directory is refused instead of followed or read. `O_NONBLOCK` keeps a FIFO from hanging
/// the open; the type is checked on the opened descriptor, so nothing can be swapped in
/// between the check and the read. Hard links to files the caller does not own are the
/// kernel's to refuse (`fs.protected_hardlinks`).
fn open_bot_file(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                "is a symbolic link; name the bot's file itself (links are not followed)".to_owned()
            } else {
                e.to_string()
            }
        })?;
    let kind = file.metadata().map_err(|e| e.to_string())?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(format!("is {what}; a bot must be a regular file"))
}

pub(super) fn read_player(
    index: usize,
    p: &PlayerInput,
    base: &Path,
) -> Result<Player, RequestError> {
    let limit = CONFIGMAP_MAX_BYTES - SPEC_ALLOWANCE;
    let (code, origin, stem) = match &p.source {
        CodeSource::File(path) => {
            let full = if path.is_absolute() {
                path.clone()
            } else {
                base.join(path)
            };
            let origin = path.display().to_string();
            let file = open_bot_file(&full)
                .map_err(|e| RequestError::new(format!("player code {origin}: {e}")))?;
            let mut code = Vec::new();
            file.take(u64::try_from(limit).unwrap_or(u64::MAX) + 1)
                .read_to_end(&mut code)
                .map_err(|e| RequestError::new(format!("player code {origin}: {e}")))?;
            let stem = full
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (code, origin, Some(stem))
        }
        CodeSource::Bytes(b) => (b.clone(), format!("player #{}", index + 1), None),
    };
    let id = match (&p.id, stem) {
        (Some(raw), _) => names::player_id(raw)
            .map_err(|e| RequestError::new(format!("player {origin}: {}", e.0)))?,
        // The id a file name gives is checked like any other: `numpy_bot.py` is refused with
        // the hint to write `numpy-bot=numpy_bot.py`, not renamed behind the writer's back.
        (None, Some(stem)) => names::player_id(&stem).map_err(|e| {
            RequestError::new(format!(
                "player {origin}: the file name gives the {}; name the player with ID=FILE",
                e.0
            ))
        })?,
        (None, None) => {
            return Err(RequestError::new(format!(
                "player #{} has code but no id; give one",
                index + 1
            )));
        }
    };
    if code.iter().all(u8::is_ascii_whitespace) {
        return Err(RequestError::new(format!(
            "player {id} ({origin}): the code is empty"
        )));
    }
    if code.len() > limit {
        return Err(RequestError::new(format!(
            "player {id} ({origin}): the code is over {limit} bytes, more than a ConfigMap can hold with the spec"
        )));
    }
    Ok(Player {
        file: format!("{id}.py"),
        id,
        code,
        origin,
    })
}
