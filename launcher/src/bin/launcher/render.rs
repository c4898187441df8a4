//! What the commands print: JSON for machines, tables and lines for people. Match text
//! (players' logs, reasons) is escaped for the operator's terminal.

use std::io::Write as _;

use launcher::backend::SubmitInfo;
use launcher::batch;
use launcher::outcome::{self, ListEntry, LogChunk, MatchStatus, Outcome};
use launcher::plan::Plan;
use launcher::preflight::Preflight;
use launcher::terminal::{SECTION, escape, log_body};
use serde::Serialize;

use crate::args::OutputFormat;

pub fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

pub fn outcome(o: &Outcome, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(o)?,
        OutputFormat::Table => print!("{}", escape(&o.table())),
    }
    Ok(())
}

/// The objects as YAML, or as a JSON list for clients that create them themselves.
pub fn plan(p: &Plan, as_pod: bool, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json if as_pod => print_json(&serde_json::json!([p.config_map, p.pod()]))?,
        OutputFormat::Json => print_json(&serde_json::json!([p.config_map, p.job]))?,
        OutputFormat::Table => print!(
            "{}",
            p.to_yaml(as_pod)
                .map_err(launcher::error::LaunchError::from)?
        ),
    }
    Ok(())
}

/// Where `replay --html` wrote the page.
pub fn wrote_page(id: &str, page: &std::path::Path, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(&serde_json::json!({"match_id": id, "html": page}))?,
        OutputFormat::Table => println!("wrote {}", escape(&page.display().to_string())),
    }
    Ok(())
}

pub fn submitted(info: &SubmitInfo, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(info)?,
        OutputFormat::Table => println!(
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
    Ok(())
}

pub fn preflight(p: &Preflight, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(&serde_json::json!({
            "namespace": p.namespace,
            "passed": p.passed(),
            "checks": p.checks,
        }))?,
        OutputFormat::Table => print!("{}", escape(&p.table())),
    }
    Ok(())
}

pub fn status(st: &MatchStatus, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(st)?,
        OutputFormat::Table => print!("{}", escape(&st.table())),
    }
    Ok(())
}

pub fn logs(logs: &[LogChunk], fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(&logs)?,
        OutputFormat::Table => {
            for l in logs {
                // A player's log is its raw bytes: escaped, and no body line can pass for a
                // section header.
                println!(
                    "{SECTION} {}{} <==",
                    escape(&l.source),
                    if l.truncated { " (truncated)" } else { "" }
                );
                print!("{}", log_body(&l.text));
                if !l.text.ends_with('\n') {
                    println!();
                }
            }
        }
    }
    Ok(())
}

/// A match acted on: `what` is the past participle (cancelled, suspended, resumed).
pub fn acted(id: &str, what: &str, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(&serde_json::json!({ "match_id": id, what: true }))?,
        OutputFormat::Table => println!("{what} match {id}"),
    }
    Ok(())
}

pub fn list(entries: &[ListEntry], fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(&entries)?,
        OutputFormat::Table => print!("{}", escape(&outcome::list_table(entries))),
    }
    Ok(())
}

pub fn gc(removed: &[String], fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(&serde_json::json!({ "deleted": removed }))?,
        OutputFormat::Table => println!(
            "deleted {} finished match(es){}",
            removed.len(),
            if removed.is_empty() {
                String::new()
            } else {
                format!(": {}", removed.join(", "))
            }
        ),
    }
    Ok(())
}

/// The batch's summary: on stdout as JSON, on stderr as a table (stdout holds the records).
pub fn batch_summary(summary: &batch::Summary, fmt: OutputFormat) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => print_json(&serde_json::json!({ "summary": summary }))?,
        OutputFormat::Table => eprint!("{}", escape(&summary.table())),
    }
    Ok(())
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
