//! Names: everything the launcher creates is named after the match id, so a retried submit
//! finds what the first one created instead of running the match twice.

use runner::ids::{IdError, MatchId, PlayerId};

use crate::error::RequestError;

pub use runner::ids::MATCH_ID_MAX;
/// Longest tenant: the namespace is `games-<tenant>`.
pub const TENANT_MAX: usize = 57;
/// Prefix of the Job and ConfigMap names.
pub const OBJECT_PREFIX: &str = "match-";

/// Label keys the launcher sets itself.
pub mod labels {
    pub const NAME: &str = "app.kubernetes.io/name";
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub const PART_OF: &str = "app.kubernetes.io/part-of";
    pub const MATCH_ID: &str = "game-sandbox/match-id";
    pub const TENANT: &str = "game-sandbox/tenant";
    pub const GAME: &str = "game-sandbox/game";
    /// Annotation: sha256 of the ConfigMap's data (spec and code), to tell a retry of the same
    /// request from a different request reusing a match id.
    pub const REQUEST_SHA256: &str = "game-sandbox/request-sha256";
    pub const PRIORITY: &str = "game-sandbox/priority";
    /// Annotation on a Job created suspended, until its ConfigMap exists and the launcher
    /// resumes it: a retry that finds it knows to finish the submit (a Job suspended by a user
    /// has no such annotation).
    pub const AWAITING_CODE: &str = "game-sandbox/awaiting-code";
    pub const PLAYERS: &str = "game-sandbox/players";
    /// Selects everything this launcher manages.
    pub const SELECTOR: &str = "app.kubernetes.io/managed-by=launcher";
    pub const RESERVED_PREFIXES: &[&str] = &[
        "game-sandbox/",
        "app.kubernetes.io/",
        "kubernetes.io/",
        "k8s.io/",
        "batch.kubernetes.io/",
    ];
}

/// The Job's and the ConfigMap's name for a match id.
pub fn object_name(match_id: &str) -> String {
    format!("{OBJECT_PREFIX}{match_id}")
}

/// The match id of an object name, if it is one of ours.
pub fn match_id_of(object_name: &str) -> Option<&str> {
    object_name.strip_prefix(OBJECT_PREFIX)
}

/// True for a DNS-1123 label of at most `max` characters.
/// The `sha256:HEX` digest an image reference or a runtime's image id names: after its last
/// `@` (`repo@sha256:HEX`), or the whole of it (`sha256:HEX`; cri-dockerd's
/// `docker://sha256:HEX` too). None for a tag, another algorithm, or anything but 64 lower-case
/// hex digits: a digest that was not given is never made up.
pub fn image_digest(reference: &str) -> Option<&str> {
    let tail = reference.rsplit_once('@').map_or(reference, |(_, d)| d);
    let tail = tail.rsplit_once("://").map_or(tail, |(_, d)| d);
    tail.strip_prefix("sha256:")
        .is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .then_some(tail)
}

pub fn is_dns_label(s: &str, max: usize) -> bool {
    (1..=max.min(63)).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl From<IdError> for RequestError {
    fn from(e: IdError) -> Self {
        Self::new(e.to_string())
    }
}

/// Checks a name the launcher uses as a DNS-1123 label (a tenant, a namespace): refused with
/// the valid spelling as a hint, never rewritten.
pub fn label_name(what: &'static str, raw: &str, max: usize) -> Result<String, RequestError> {
    runner::ids::check_name(what, raw, max)?;
    Ok(raw.to_owned())
}

pub fn match_id(raw: &str) -> Result<String, RequestError> {
    Ok(MatchId::new(raw)?.into())
}

pub fn player_id(raw: &str) -> Result<PlayerId, RequestError> {
    Ok(PlayerId::new(raw)?)
}

/// A new match id, unique enough for one machine and one platform: time and process.
pub fn fresh_match_id() -> String {
    use sha2::Digest as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seed = format!(
        "{}.{}.{}",
        now.as_nanos(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let d = sha2::Sha256::digest(seed.as_bytes());
    format!("m-{}", runner::digest::hex(&d[..6]))
}

/// Checks one user label: a valid Kubernetes label key and value, outside the reserved
/// prefixes the launcher uses itself.
pub fn check_user_label(key: &str, value: &str) -> Result<(), RequestError> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && (labels::RESERVED_PREFIXES
            .iter()
            .any(|r| r.trim_end_matches('/') == p)
            || p.ends_with(".kubernetes.io")
            || p.ends_with(".k8s.io"))
    {
        return Err(RequestError::new(format!(
            "label {key}: the prefix {p}/ is reserved for the launcher and Kubernetes"
        )));
    }
    let valid_prefix = prefix.is_none_or(|p| {
        p.len() <= 253 && !p.is_empty() && p.split('.').all(|part| is_dns_label(part, 63))
    });
    if !valid_prefix || !is_label_value(name) || name.is_empty() {
        return Err(RequestError::new(format!(
            "label key {key:?} is not a valid Kubernetes label key"
        )));
    }
    if !is_label_value(value) {
        return Err(RequestError::new(format!(
            "label value {value:?} (of {key}) is not a valid Kubernetes label value (at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends)"
        )));
    }
    Ok(())
}

fn is_label_value(v: &str) -> bool {
    let ends = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && ends(v.chars().next())
        && ends(v.chars().last())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_refused_with_a_hint_never_rewritten() {
        let e = label_name("tenant", "Greedy_Bot.v2", 57).unwrap_err().0;
        assert!(e.contains("did you mean \"greedy-bot-v2\""), "{e}");
        let e = match_id("Match 42").unwrap_err().0;
        assert!(e.contains("did you mean \"match-42\""), "{e}");
        assert_eq!(match_id("match-42").unwrap(), "match-42");
        assert!(match_id("é").is_err());
        assert!(is_dns_label("a-1", 63));
        assert!(!is_dns_label("-a", 63));
        assert!(!is_dns_label(&"a".repeat(64), 100));
    }

    #[test]
    fn fresh_ids_are_valid_and_distinct() {
        let a = fresh_match_id();
        let b = fresh_match_id();
        assert_ne!(a, b);
        assert!(match_id(&a).is_ok());
        assert_eq!(match_id(&a).unwrap(), a);
    }

    #[test]
    fn user_labels() {
        assert!(check_user_label("team", "red").is_ok());
        assert!(check_user_label("example.com/team", "red_1.x").is_ok());
        assert!(check_user_label("team", "").is_ok());
        assert!(check_user_label("game-sandbox/tenant", "x").is_err());
        assert!(check_user_label("kubernetes.io/x", "x").is_err());
        assert!(check_user_label("bad key", "x").is_err());
        assert!(check_user_label("team", "-x").is_err());
        assert!(check_user_label("team", &"x".repeat(64)).is_err());
    }

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_digest_is_the_sha256_the_image_id_names_or_nothing() {
        let d = format!("sha256:{HEX}");
        for id in [
            format!("docker.io/library/runner@sha256:{HEX}"),
            format!("registry.example:5000/game/runner@sha256:{HEX}"),
            format!("sha256:{HEX}"),
            format!("docker-pullable://registry.example/runner@sha256:{HEX}"),
            format!("docker://sha256:{HEX}"),
        ] {
            assert_eq!(image_digest(&id), Some(d.as_str()), "{id}");
        }
        for id in [
            "",
            "registry.example/runner:v1",
            "registry.example:5000/runner",
            "registry.example/runner@sha512:abcd",
            "sha256:0123",
            &format!("sha256:{}", HEX.to_uppercase()),
        ] {
            assert_eq!(image_digest(id), None, "{id}");
        }
    }
}
