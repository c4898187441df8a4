//! Many matches from one file (a tournament): priority order, bounded concurrency, one record
//! per finished match, a summary at the end. Interrupting cancels what was started.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::error::{LaunchError, LauncherExit};
use crate::outcome::{Outcome, Verdict};
use crate::request::{Match, MatchRequest};

/// A batch file (YAML or JSON): a list of match requests, or `{matches: [...]}`.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum BatchFile {
    List(Vec<MatchRequest>),
    Doc(BatchDoc),
}

#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDoc {
    pub matches: Vec<MatchRequest>,
}

/// Reads and validates a batch file: every request must be valid, and match ids distinct,
/// before anything runs. Relative code paths are resolved against the file's directory.
pub fn load(path: &Path) -> Result<Vec<Match>, LaunchError> {
    let text = std::fs::read_to_string(path).map_err(|source| LaunchError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bad = |message: String| LaunchError::Batch {
        path: path.to_owned(),
        message,
    };
    let file: BatchFile = serde_saphyr::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let requests = match file {
        BatchFile::List(l) => l,
        BatchFile::Doc(d) => d.matches,
    };
    if requests.is_empty() {
        return Err(bad("no matches".into()));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let m = r
            .validate_in(base)
            .map_err(|e| bad(format!("match #{} : {}", i + 1, e.0)))?;
        if !seen.insert(m.id.clone()) {
            return Err(bad(format!("match id {} appears twice", m.id)));
        }
        out.push(m);
    }
    Ok(out)
}

/// How a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Matches in flight at once (at least 1).
    pub concurrency: usize,
    /// Per-match wait limit.
    pub timeout: Option<Duration>,
    /// Leave finished Jobs in place.
    pub keep: bool,
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
                let record = match backend.play(&m, opts.timeout, opts.keep).await {
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
                if let Err(e) = backend.cancel(ns.as_deref(), &id).await {
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
