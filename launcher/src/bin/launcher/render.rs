//! What the commands print: JSON for machines, tables and lines for people. Match text
//! (players' logs, reasons) is escaped for the operator's terminal. Everything is written to a
//! writer (standard output, through `commands::emit`), never with `print!`, so a closed pipe
//! is an error the caller handles, not a panic.

use std::io::{self, Write};

use launcher::backend::SubmitInfo;
use launcher::batch;
use launcher::error::LaunchError;
use launcher::outcome::{self, ListEntry, LogChunk, MatchStatus, Outcome};
use launcher::plan::Plan;
use launcher::preflight::Preflight;
use launcher::terminal::{SECTION, escape, log_body};
use serde::Serialize;

use crate::args::OutputFormat;

pub type Out<'a> = &'a mut dyn Write;

/// The version every JSON document the launcher prints carries (`version`), beside the
/// outcome's own (`OUTCOME_VERSION`, the same number today): a platform reading a status, a
/// list entry, a batch record or an error can tell which contract it reads.
pub const OUTPUT_VERSION: u32 = 1;

/// One of the launcher's own documents as a JSON line: each object (or each object of a
/// list) gets `version` when it has none.
pub fn json<T: Serialize>(w: Out<'_>, v: &T) -> io::Result<()> {
    let mut v = serde_json::to_value(v).map_err(io::Error::other)?;
    let stamp = |o: &mut serde_json::Value| {
        if let Some(map) = o.as_object_mut() {
            map.entry("version").or_insert(OUTPUT_VERSION.into());
        }
    };
    match &mut v {
        serde_json::Value::Array(items) => items.iter_mut().for_each(stamp),
        other => stamp(other),
    }
    raw_json(w, &v)
}

/// JSON as it is: Kubernetes objects, which carry their own `apiVersion`.
fn raw_json<T: Serialize>(w: Out<'_>, v: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, v)?;
    writeln!(w)
}

pub fn outcome(w: Out<'_>, o: &Outcome, fmt: OutputFormat) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(w, o),
        OutputFormat::Table => write!(w, "{}", escape(&o.table())),
    }
}

/// The objects as YAML, or as a JSON list for clients that create them themselves.
pub fn plan(w: Out<'_>, p: &Plan, as_pod: bool, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json if as_pod => raw_json(w, &serde_json::json!([p.config_map, p.pod()]))?,
        OutputFormat::Json => raw_json(w, &serde_json::json!([p.config_map, p.job]))?,
        OutputFormat::Table => write!(w, "{}", p.to_yaml(as_pod).map_err(LaunchError::from)?)?,
    }
    Ok(())
}

/// Where `replay --html` wrote the page.
pub fn wrote_page(
    w: Out<'_>,
    id: &str,
    page: &std::path::Path,
    fmt: OutputFormat,
) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(w, &serde_json::json!({"match_id": id, "html": page})),
        OutputFormat::Table => writeln!(w, "wrote {}", escape(&page.display().to_string())),
    }
}

pub fn submitted(w: Out<'_>, info: &SubmitInfo, fmt: OutputFormat) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(w, info),
        OutputFormat::Table => writeln!(
            w,
            "{} match {}{}",
            if info.attached {
                "attached to"
            } else {
                "submitted"
            },
            info.match_id,
            info.namespace
                .as_ref()
                .map(|n| format!(" in namespace {n}"))
                .unwrap_or_default()
        ),
    }
}

pub fn preflight(w: Out<'_>, p: &Preflight, fmt: OutputFormat) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(
            w,
            &serde_json::json!({
                "namespace": p.namespace,
                "passed": p.passed(),
                "checks": p.checks,
            }),
        ),
        OutputFormat::Table => write!(w, "{}", escape(&p.table())),
    }
}

pub fn status(w: Out<'_>, st: &MatchStatus, fmt: OutputFormat) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(w, st),
        OutputFormat::Table => write!(w, "{}", escape(&st.table())),
    }
}

pub fn logs(w: Out<'_>, logs: &[LogChunk], fmt: OutputFormat) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(w, &logs),
        OutputFormat::Table => {
            for l in logs {
                // A player's log is its raw bytes: escaped, and no body line can pass for a
                // section header.
                writeln!(
                    w,
                    "{SECTION} {}{} <==",
                    escape(&l.source),
                    if l.truncated { " (truncated)" } else { "" }
                )?;
                write!(w, "{}", log_body(&l.text))?;
                if !l.text.ends_with('\n') {
                    writeln!(w)?;
                }
            }
            Ok(())
        }
    }
}

/// A match acted on: `what` is the past participle (cancelled, suspended, resumed).
pub fn acted(w: Out<'_>, id: &str, what: &str, fmt: OutputFormat) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(w, &serde_json::json!({ "match_id": id, what: true })),
        OutputFormat::Table => writeln!(w, "{what} match {id}"),
    }
}

pub fn list(w: Out<'_>, entries: &[ListEntry], fmt: OutputFormat) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(w, &entries),
        OutputFormat::Table => write!(w, "{}", escape(&outcome::list_table(entries))),
    }
}

pub fn gc(w: Out<'_>, removed: &[String], fmt: OutputFormat) -> io::Result<()> {
    match fmt {
        OutputFormat::Json => json(w, &serde_json::json!({ "deleted": removed })),
        OutputFormat::Table => writeln!(
            w,
            "deleted {} finished match(es){}",
            removed.len(),
            if removed.is_empty() {
                String::new()
            } else {
                format!(": {}", removed.join(", "))
            }
        ),
    }
}

/// The batch's summary as JSON (in table mode it goes to stderr: stdout holds the records).
pub fn batch_summary(w: Out<'_>, summary: &batch::Summary) -> io::Result<()> {
    json(w, &serde_json::json!({ "summary": summary }))
}

/// A failure, for machines: what failed (a stable code), the exit code, the message and
/// what to do about it.
pub fn error(w: Out<'_>, code: &str, exit: u8, message: &str, fix: &str) -> io::Result<()> {
    json(
        w,
        &serde_json::json!({ "error": {
            "code": code,
            "exit_code": exit,
            "message": message,
            "fix": fix,
        }}),
    )
}

pub fn progress_bar(p: &batch::Progress) -> String {
    const WIDTH: usize = 30;
    let filled = (p.finished * WIDTH).checked_div(p.total).unwrap_or(0);
    format!(
        "[{}{}] {}/{}  running {}  ok {}  failed {}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        p.finished,
        p.total,
        p.running,
        p.ok,
        p.failed
    )
}
