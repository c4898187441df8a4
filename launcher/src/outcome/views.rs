//! The views of a match besides its outcome, and the column table every table is printed
//! with: where a match stands (`status`), the lines of `list`, and a container's logs.

use std::fmt::Write as _;

use serde::Serialize;

use super::Outcome;

/// Left-aligned columns, two spaces apart; the last column is not padded.
pub fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}

/// Where a match stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum State {
    /// Created, no pod running yet (or the runner not started).
    Pending,
    Running,
    Suspended,
    /// The runner reported (the verdict says how the match went).
    Finished,
    /// Ended without a runner report (Job failed, runner died).
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The answer to `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchStatus {
    pub match_id: String,
    pub backend: &'static str,
    pub state: State,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// When finished: the outcome.
    pub outcome: Option<Outcome>,
}

impl MatchStatus {
    pub fn table(&self) -> String {
        let mut out = format!(
            "match     {}\nstate     {}\n",
            self.match_id,
            self.state.as_str()
        );
        if !self.detail.is_empty() {
            let _ = writeln!(out, "detail    {}", self.detail);
        }
        if let Some(o) = &self.outcome {
            out.push('\n');
            out.push_str(&o.table());
        }
        out
    }
}

/// One line of `list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListEntry {
    pub match_id: String,
    pub state: State,
    /// Seconds since creation.
    pub age_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

pub fn list_table(entries: &[ListEntry]) -> String {
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|e| {
            [
                e.match_id.clone(),
                e.state.as_str().to_owned(),
                e.age_secs.map_or_else(|| "-".to_owned(), human_age),
                e.tenant
                    .clone()
                    .or_else(|| e.namespace.clone())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    table(&["MATCH", "STATE", "AGE", "TENANT"], &rows)
}

fn human_age(s: u64) -> String {
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Logs of one container (or one log file of a local run), capped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogChunk {
    /// `pod/container` or the file name.
    pub source: String,
    pub text: String,
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["A", "BB", "C"],
            &[
                ["xxx".into(), "y".into(), "z".into()],
                ["".into(), "".into(), "".into()],
            ],
        );
        assert_eq!(t, "A    BB  C\nxxx  y   z\n\n");
    }

    #[test]
    fn states_serialize_as_their_names() {
        use strum::VariantArray as _;
        for s in State::VARIANTS {
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{s}\""));
        }
    }
}
