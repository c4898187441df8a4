//! Many matches from one file (a tournament): priority order, bounded concurrency, one record
//! per finished match, a summary at the end. Interrupting cancels what was started.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::backend::{Backend, MatchRef, PlayOptions};
use crate::error::{LaunchError, LauncherExit};
use crate::outcome::{Outcome, Verdict};
use crate::request::{Match, MatchRequest};

/// The shape of a batch file (YAML or JSON): a list of match requests, or `{matches: [...]}`.
/// Only its JSON Schema (`schemas/v1/batch.json`) is made from it: [`load`] reads each entry on
/// its own (see `BatchDoc`), so that one bad entry is refused by itself.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum BatchFile {
    List(Vec<MatchRequest>),
    Doc(BatchFileDoc),
}

/// `{matches: [...]}`.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchFileDoc {
    pub matches: Vec<MatchRequest>,
}

/// A batch file as read: each entry kept as a value with its line, so one bad entry is
/// reported by its index, line and field instead of failing the whole file with an
/// untagged-enum message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchDoc {
    matches: Vec<Spanned<serde_json::Value>>,
}

/// A batch as read: the matches that will run, and the entries refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub matches: Vec<Match>,
    pub refused: Vec<Refused>,
}

/// One entry of a batch file that cannot run, and why: printed as its own JSON line while the
/// rest of the tournament runs (unless `--strict`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// Always true: tells a refused entry apart from an outcome or a backend error.
    pub refused: bool,
    /// 1-based position of the entry in the file.
    pub index: usize,
    /// The entry's first line in the file (None when the parser could not say).
    pub line: Option<u64>,
    /// The entry's `match_id`, when it names one (even an invalid one).
    pub match_id: Option<String>,
    /// What is wrong, with the field's path (`players[1].limits.memory: ...`).
    pub error: String,
    pub exit_code: u8,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "match #{}", self.index)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        if let Some(id) = &self.match_id {
            write!(f, " {id:?}")?;
        }
        write!(f, ": {}", self.error)
    }
}

/// Reads a batch file. Relative code paths are resolved against the file's directory. A file
/// that is not a batch at all (unreadable, not YAML, no entries, the wrong shape) is an error;
/// an entry that is not a valid match, or repeats an earlier entry's id, is refused on its own.
/// `strict`: any refused entry fails the whole batch, before anything runs.
pub fn load(path: &Path, strict: bool) -> Result<Loaded, LaunchError> {
    let text = std::fs::read_to_string(path).map_err(|source| LaunchError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bad = |message: String| LaunchError::Batch {
        path: path.to_owned(),
        message,
    };
    let shape: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|e| bad(format!("not YAML or JSON: {e}")))?;
    let entries: Vec<Spanned<serde_json::Value>> = match &shape {
        serde_json::Value::Array(_) => serde_saphyr::from_str(&text),
        serde_json::Value::Object(_) => {
            serde_saphyr::from_str::<BatchDoc>(&text).map(|d| d.matches)
        }
        _ => {
            return Err(bad(
                "a batch is a list of match requests, or a mapping with one key, `matches`, \
                 holding that list"
                    .into(),
            ));
        }
    }
    .map_err(|e| bad(e.to_string()))?;
    if entries.is_empty() {
        return Err(bad("no matches".into()));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seen = HashSet::new();
    let mut loaded = Loaded {
        matches: Vec::with_capacity(entries.len()),
        refused: Vec::new(),
    };
    for (i, entry) in entries.into_iter().enumerate() {
        let line = Some(entry.referenced.line()).filter(|&l| l > 0);
        let match_id = entry
            .value
            .get("match_id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        let refuse = |error: String| Refused {
            refused: true,
            index: i + 1,
            line,
            match_id: match_id.clone(),
            error,
            exit_code: LauncherExit::Usage.code(),
        };
        let request: MatchRequest = match serde_path_to_error::deserialize(&entry.value) {
            Ok(r) => r,
            Err(e) => {
                let at = e.path().to_string();
                let why = e.into_inner();
                loaded.refused.push(refuse(if at == "." {
                    why.to_string()
                } else {
                    format!("{at}: {why}")
                }));
                continue;
            }
        };
        match request.validate_in(base) {
            Ok(m) if !seen.insert(m.id.clone()) => loaded.refused.push(refuse(format!(
                "match id {} appears earlier in the file",
                m.id
            ))),
            Ok(m) => loaded.matches.push(m),
            Err(e) => loaded.refused.push(refuse(e.0)),
        }
    }
    if strict && !loaded.refused.is_empty() {
        let lines: Vec<String> = loaded.refused.iter().map(ToString::to_string).collect();
        return Err(bad(format!(
            "{} of {} entries refused (--strict runs none of them):\n  {}",
            loaded.refused.len(),
            loaded.refused.len() + loaded.matches.len(),
            lines.join("\n  ")
        )));
    }
    Ok(loaded)
}

/// How a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Matches in flight at once (at least 1).
    pub concurrency: usize,
    /// How each match is played: its wait limit, and whether its finished Job stays.
    pub play: PlayOptions,
}

/// One finished match of a batch (the JSON line).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Record {
    Finished(Box<Outcome>),
    Error {
        match_id: String,
        error: String,
        exit_code: u8,
    },
}

impl Record {
    pub fn match_id(&self) -> &str {
        match self {
            Self::Finished(o) => &o.match_id,
            Self::Error { match_id, .. } => match_id,
        }
    }
}

/// Counts so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub total: usize,
    pub started: usize,
    pub finished: usize,
    pub running: usize,
    /// Finished with verdict ok.
    pub ok: usize,
    /// Finished with another verdict, or with an error.
    pub failed: usize,
}

/// The end of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub finished: usize,
    pub ok: usize,
    pub failed: usize,
    pub errors: usize,
    /// Entries of the file refused before anything ran (each printed as its own line).
    pub refused: usize,
    /// Started but not finished when the batch was interrupted (and cancelled).
    pub cancelled: usize,
    pub not_started: usize,
    pub by_verdict: BTreeMap<String, usize>,
    pub wins: BTreeMap<String, usize>,
    pub interrupted: bool,
    pub wall_ms: u64,
    /// Most matches that were in flight at once.
    pub max_in_flight: usize,
}

impl Summary {
    pub fn exit_code(&self) -> LauncherExit {
        if self.interrupted {
            LauncherExit::Interrupted
        } else if self.errors > 0 {
            LauncherExit::Backend
        } else if self.refused > 0 {
            LauncherExit::Usage
        } else if self.failed > 0 {
            LauncherExit::MatchFailed
        } else {
            LauncherExit::Ok
        }
    }

    pub fn table(&self) -> String {
        let mut s = format!(
            "batch: {} matches, {} finished ({} ok, {} failed), {} errors",
            self.total,
            self.finished,
            self.ok,
            self.failed - self.errors.min(self.failed),
            self.errors
        );
        if self.refused > 0 {
            s.push_str(&format!(", {} refused", self.refused));
        }
        if self.interrupted {
            s.push_str(&format!(
                ", interrupted: {} cancelled, {} not started",
                self.cancelled, self.not_started
            ));
        }
        s.push_str(&format!(" in {:.1}s\n", self.wall_ms as f64 / 1000.0));
        if !self.wins.is_empty() {
            let rows: Vec<[String; 2]> = self
                .wins
                .iter()
                .map(|(k, v)| [k.clone(), v.to_string()])
                .collect();
            s.push_str(&crate::outcome::table(&["PLAYER", "WINS"], &rows));
        }
        s
    }
}

/// Events a batch reports as it goes.
#[derive(Debug)]
pub enum BatchEvent<'a> {
    Started(&'a str, &'a Progress),
    Finished(&'a Record, &'a Progress),
}

/// Orders matches by priority (highest first), keeping file order among equals.
pub fn order(mut matches: Vec<Match>) -> Vec<Match> {
    matches.sort_by_key(|m| std::cmp::Reverse(m.priority));
    matches
}

/// Runs the batch. `interrupt` resolving stops it: nothing more starts, and every started
/// match that has not finished is cancelled.
pub async fn run(
    backend: &Backend,
    matches: Vec<Match>,
    opts: BatchOptions,
    mut on_event: impl FnMut(BatchEvent<'_>),
    interrupt: impl Future<Output = ()>,
) -> Summary {
    let started_at = tokio::time::Instant::now();
    let matches = order(matches);
    let total = matches.len();
    let progress = Arc::new(Mutex::new(Progress {
        total,
        ..Progress::default()
    }));
    let in_flight: Arc<Mutex<BTreeMap<String, Option<String>>>> =
        Arc::new(Mutex::new(BTreeMap::new()));
    let mut summary = Summary {
        total,
        ..Summary::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Progress)>();
    let concurrency = opts.concurrency.max(1);

    let mut jobs = Box::pin(
        futures::stream::iter(matches.into_iter().map(|m| {
            let progress = progress.clone();
            let in_flight = in_flight.clone();
            let tx = tx.clone();
            async move {
                let ns = backend.namespace_of(&m);
                {
                    let mut f = in_flight.lock().unwrap_or_else(PoisonError::into_inner);
                    f.insert(m.id.clone(), ns);
                    let mut p = progress.lock().unwrap_or_else(PoisonError::into_inner);
                    p.started += 1;
                    p.running = f.len();
                    // Cannot fail: the receiver outlives every match's future.
                    let _ = tx.send((m.id.clone(), p.clone()));
                }
                let record = match backend.play(&m, opts.play).await {
                    Ok(o) => Record::Finished(Box::new(o)),
                    Err(e) => Record::Error {
                        match_id: m.id.clone(),
                        error: e.to_string(),
                        exit_code: e.exit_code().code(),
                    },
                };
                in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&m.id);
                record
            }
        }))
        .buffer_unordered(concurrency),
    );
    tokio::pin!(interrupt);
    let mut max_in_flight = 0;
    loop {
        tokio::select! {
            biased;
            () = &mut interrupt => {
                summary.interrupted = true;
                break;
            }
            Some((id, p)) = rx.recv() => {
                max_in_flight = max_in_flight.max(p.running);
                on_event(BatchEvent::Started(&id, &p));
            }
            next = jobs.next() => {
                let Some(record) = next else { break };
                let p = {
                    let mut p = progress.lock().unwrap_or_else(PoisonError::into_inner);
                    p.finished += 1;
                    p.running = in_flight.lock().unwrap_or_else(PoisonError::into_inner).len();
                    match &record {
                        Record::Finished(o) if o.verdict == Verdict::Ok => p.ok += 1,
                        _ => p.failed += 1,
                    }
                    p.clone()
                };
                summary.finished += 1;
                match &record {
                    Record::Finished(o) => {
                        *summary.by_verdict.entry(o.verdict.to_string()).or_default() += 1;
                        if o.verdict == Verdict::Ok {
                            summary.ok += 1;
                            if let Some(w) = &o.winner {
                                *summary.wins.entry(w.clone()).or_default() += 1;
                            }
                        } else {
                            summary.failed += 1;
                        }
                    }
                    Record::Error { .. } => {
                        summary.errors += 1;
                        summary.failed += 1;
                        *summary.by_verdict.entry("error".to_owned()).or_default() += 1;
                    }
                }
                on_event(BatchEvent::Finished(&record, &p));
            }
        }
    }
    // Drain start notices still queued: the caller learns of every match that started, so it
    // can tell the cancelled from the never started.
    while let Ok((id, p)) = rx.try_recv() {
        max_in_flight = max_in_flight.max(p.running);
        on_event(BatchEvent::Started(&id, &p));
    }
    // Stop every match still in flight (their futures are dropped here), then cancel them.
    drop(jobs);
    if summary.interrupted {
        let left: Vec<(String, Option<String>)> =
            std::mem::take(&mut *in_flight.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter()
                .collect();
        summary.cancelled = left.len();
        futures::stream::iter(left)
            .for_each_concurrent(concurrency, |(id, ns)| async move {
                let m = MatchRef {
                    namespace: ns.as_deref(),
                    id: &id,
                };
                if let Err(e) = backend.cancel(m).await {
                    tracing::warn!("match {id} could not be cancelled ({e}); it may still run: `launcher cancel {id}`");
                }
            })
            .await;
        let p = progress.lock().unwrap_or_else(PoisonError::into_inner);
        summary.not_started = total - p.started;
    }
    summary.max_in_flight = max_in_flight;
    summary.wall_ms = u64::try_from(started_at.elapsed().as_millis()).unwrap_or(u64::MAX);
    summary
}
