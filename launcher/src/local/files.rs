//! The file operations a match directory is built with: made traversable and readable by the
//! sandbox uid, created once, read back as tails.

use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use crate::error::LaunchError;

pub(super) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub(super) fn mkdir(path: &Path) -> Result<(), LaunchError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(path)
        .map_err(|e| LaunchError::io(format!("cannot create {}", path.display()), e))?;
    // The umask may have taken bits away; the sandbox uid must be able to traverse.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| LaunchError::io(format!("cannot chmod {}", path.display()), e))
}

pub(super) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), LaunchError> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| LaunchError::io(format!("cannot create {}", path.display()), e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| LaunchError::io(format!("cannot write {}", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| LaunchError::io(format!("cannot chmod {}", path.display()), e))
}

/// The last `max` bytes of a file, lossily decoded.
pub(super) fn tail(path: &Path, max: usize) -> (String, bool) {
    let bytes = std::fs::read(path).unwrap_or_default();
    let truncated = bytes.len() > max;
    let start = bytes.len().saturating_sub(max);
    (
        String::from_utf8_lossy(&bytes[start..]).into_owned(),
        truncated,
    )
}

/// Removes a directory left by an earlier attempt; one that is not there is fine.
pub(super) fn remove_stale(path: &Path) -> Result<(), LaunchError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LaunchError::io(
            format!("cannot remove {}", path.display()),
            e,
        )),
        _ => Ok(()),
    }
}
