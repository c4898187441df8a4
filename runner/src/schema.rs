//! The JSON Schemas of the documents the runner and the launcher read and print, kept in
//! `schemas/v1/` at the top of the repository.
//!
//! They are generated from the serde types (schemars), never written by hand: each crate's
//! `tests/schemas.rs` regenerates them and fails when a file differs, so a field added to a type
//! without its schema fails the build. `SCHEMAS_UPDATE=1 cargo test --test schemas` rewrites
//! them after a deliberate change (a change that breaks readers also bumps the document's
//! `version`).

use std::path::{Path, PathBuf};

/// The folder of the current schemas, relative to the repository's top.
pub const DIR: &str = "schemas/v1";

/// The schema of a document the binaries read (`T` as serde deserializes it), as committed:
/// pretty JSON with a final newline.
pub fn render_input<T: schemars::JsonSchema>() -> String {
    pretty(
        &schemars::generate::SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<T>(),
    )
}

/// The schema of a document the binaries print (`T` as serde serializes it: a field always
/// written is required even when it may be `null`).
pub fn render_output<T: schemars::JsonSchema>() -> String {
    pretty(
        &schemars::generate::SchemaSettings::draft2020_12()
            .for_serialize()
            .into_generator()
            .into_root_schema_for::<T>(),
    )
}

fn pretty(schema: &schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Compares `text` with `<repo>/schemas/v1/<file>`, or writes it there when `SCHEMAS_UPDATE`
/// is set. Returns what differs.
pub fn check_or_update(repo: &Path, file: &str, text: &str) -> Result<(), String> {
    let path: PathBuf = repo.join(DIR).join(file);
    if std::env::var_os("SCHEMAS_UPDATE").is_some() {
        // Renamed into place: a test reading the schema meanwhile sees the old or the new one.
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        return std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let committed = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: {e} (generate it with SCHEMAS_UPDATE=1 cargo test --test schemas)",
            path.display()
        )
    })?;
    if committed == text {
        Ok(())
    } else {
        Err(format!(
            "{} differs from the schema of its type: a serde type changed without its schema; \
             rerun with SCHEMAS_UPDATE=1 and review the diff",
            path.display()
        ))
    }
}
