//! The launcher's bounds and defaults for a player's [`Limits`], checked on that type.

use runner::spec::Limits;
use runner::units::{Secs, Size};

use crate::error::RequestError;

/// Defaults; the wall and CPU time follow from the match's turns ([`wall_for`]).
pub const DEFAULT_MEMORY: Size = Size::mib(256);
pub const DEFAULT_OUTPUT: Size = Size::mib(1);
pub const MIN_WALL: Secs = Secs::from_millis(1_000);
pub const MAX_WALL: Secs = Secs::from_millis(3_600_000);
pub const MIN_CPU: Secs = Secs::from_millis(100);
pub const MIN_MEMORY: Size = Size::mib(32);
pub const MAX_MEMORY: Size = Size::mib(1024);
pub const MIN_OUTPUT: Size = Size(4 * 1024);
pub const MAX_OUTPUT: Size = Size::mib(64);

/// The default wall (and CPU) time for a match whose turns allow a player `play_ms` of
/// running: that, 5 % for the moments around each turn (an answer sent before the referee
/// stops the player), and 10 s for the end of the match, in whole seconds.
pub fn wall_for(play_ms: u64) -> Secs {
    Secs::from_millis((play_ms + play_ms / 20 + 10_000).div_ceil(1000) * 1000)
}

/// The runner's limits the launcher does not set for a player, by their JSON names.
pub const UNSUPPORTED: [&str; 4] = ["file_size", "open_files", "disk", "disk_inodes"];

/// The limits a request names that the launcher does not set ([`UNSUPPORTED`]).
pub fn unsupported(r: &Limits) -> Vec<&'static str> {
    [
        ("file_size", r.file_size.is_some()),
        ("open_files", r.open_files.is_some()),
        ("disk", r.disk.is_some()),
        ("disk_inodes", r.disk_inodes.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// What a checked [`Limits`] holds for the plan's sums: `MatchRequest::validate` sets all
/// four, so the range's top (reserving more, never less) is only for a `Limits` built by hand.
pub fn wall_time(l: &Limits) -> Secs {
    l.wall_time.unwrap_or(MAX_WALL)
}
pub fn memory(l: &Limits) -> Size {
    l.memory.unwrap_or(MAX_MEMORY)
}
pub fn output(l: &Limits) -> Size {
    l.output.unwrap_or(MAX_OUTPUT)
}

/// Fills in the defaults and checks every range: the player's limits as the runner gets
/// them, with the four the launcher sets always present.
pub(crate) fn check(r: &Limits, play_ms: u64) -> Result<Limits, RequestError> {
    let unsupported = unsupported(r);
    if !unsupported.is_empty() {
        return Err(RequestError::new(format!(
            "limits.{} cannot be set for a player (only wall_time, cpu_time, memory and output)",
            unsupported.join(", limits.")
        )));
    }
    let wall_time = r.wall_time.unwrap_or_else(|| wall_for(play_ms));
    // A bot may think (compute) through every turn it is given: the CPU time follows the
    // wall time unless asked for.
    let cpu_time = r.cpu_time.unwrap_or(wall_time);
    let l = Limits {
        wall_time: Some(wall_time),
        cpu_time: Some(cpu_time),
        memory: Some(r.memory.unwrap_or(DEFAULT_MEMORY)),
        output: Some(r.output.unwrap_or(DEFAULT_OUTPUT)),
        ..Limits::default()
    };
    let (memory, output) = (memory(&l), output(&l));
    within("wall time", wall_time, MIN_WALL, MAX_WALL, "")?;
    within("CPU time", cpu_time, MIN_CPU, wall_time, " (the wall time)")?;
    within("memory", memory, MIN_MEMORY, MAX_MEMORY, "")?;
    within("output", output, MIN_OUTPUT, MAX_OUTPUT, "")?;
    Ok(l)
}

/// `what`'s value `v` lies in `lo..=hi`; `hi_is` says what the top is when it is not a constant.
fn within<T: PartialOrd + std::fmt::Display>(
    what: &str,
    v: T,
    lo: T,
    hi: T,
    hi_is: &str,
) -> Result<(), RequestError> {
    if lo <= v && v <= hi {
        return Ok(());
    }
    Err(RequestError::new(format!(
        "{what} {v} is out of range ({lo} to {hi}{hi_is})"
    )))
}

/// The request schema of [`Limits`]: the runner's, without the fields the launcher refuses.
pub(crate) fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut s = <Limits as schemars::JsonSchema>::json_schema(generator);
    if let Some(props) = s
        .as_object_mut()
        .and_then(|o| o.get_mut("properties"))
        .and_then(serde_json::Value::as_object_mut)
    {
        for name in UNSUPPORTED {
            props.remove(name);
        }
    }
    s
}

/// Deserializes a request's limits as the runner's type, refusing at once (with the
/// field's path) what the launcher does not set.
pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Limits, D::Error> {
    let l = <Limits as serde::Deserialize>::deserialize(d)?;
    let unsupported = unsupported(&l);
    if unsupported.is_empty() {
        Ok(l)
    } else {
        Err(serde::de::Error::custom(format!(
            "{} cannot be set for a player (only wall_time, cpu_time, memory and output)",
            unsupported.join(", ")
        )))
    }
}
