//! Reading where matches stand: status, result, logs, list (direct reads, not the watches).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

use super::errors::{api_error, is_code, job_error};
use super::tracker::{JobSeen, TrackState, has_verdict};
use super::wait::Found;
use super::{BACKEND, KubeBackend};
use crate::backend::MatchRef;
use crate::error::LaunchError;
use crate::names::{self, labels};
use crate::outcome::{ListEntry, LogChunk, MatchStatus, Outcome, State};
use crate::plan;

impl KubeBackend {
    /// Where a match stands, read directly (one or two requests).
    pub async fn status(&self, m: MatchRef<'_>) -> Result<MatchStatus, LaunchError> {
        let (ns, id) = (self.ns(m.namespace), m.id);
        let name = names::object_name(id);
        let job = match self.jobs(ns).get(&name).await {
            Ok(j) => j,
            Err(e) => return Err(job_error(e, "get", ns, id)),
        };
        let seen = JobSeen::from(&job);
        let pods = self.job_pods(ns, &name).await?;
        let mut state = TrackState::default();
        state.jobs.insert(name.clone(), seen.clone());
        for p in &pods {
            state.apply_pod(p);
        }
        let pod = state.pods.get(&name).and_then(|v| v.last());
        // Finished as soon as the verdict is in, as `wait` sees it, not a Job sync later.
        let verdict = has_verdict(state.pods.get(&name));
        let (st, detail) = if seen.suspended && !seen.ended() && !verdict {
            (State::Suspended, "suspended".to_owned())
        } else if seen.ended() || verdict {
            let found = Found::from_state(&state, &name);
            let st = if found.pod.as_ref().is_some_and(|p| p.terminated.is_some()) {
                State::Finished
            } else {
                State::Failed
            };
            (
                st,
                seen.failed
                    .clone()
                    .map(|(r, m)| format!("{r}: {m}"))
                    .unwrap_or_default(),
            )
        } else if pod.is_some_and(|p| p.phase == "Running") {
            (
                State::Running,
                pod.map(|p| p.name.clone()).unwrap_or_default(),
            )
        } else {
            let detail = pod
                .and_then(|p| p.waiting.clone().or_else(|| p.unschedulable.clone()))
                .unwrap_or_else(|| {
                    if pod.is_none() {
                        "no pod yet".into()
                    } else {
                        "pod pending".into()
                    }
                });
            (State::Pending, detail)
        };
        let outcome = matches!(st, State::Finished | State::Failed)
            .then(|| self.finish_outcome(id, ns, Found::from_state(&state, &name)));
        Ok(MatchStatus {
            match_id: id.to_owned(),
            backend: BACKEND,
            state: st,
            detail,
            namespace: Some(ns.to_owned()),
            outcome,
        })
    }

    /// The verdict of a finished match; deletes its Job afterwards unless `keep`.
    pub async fn result(&self, m: MatchRef<'_>, keep: bool) -> Result<Outcome, LaunchError> {
        let st = self.status(m).await?;
        match st.outcome {
            Some(o) => {
                if !keep {
                    let ns = self.ns(m.namespace);
                    self.delete(ns, &names::object_name(m.id)).await?;
                }
                Ok(o)
            }
            None => Err(LaunchError::NotFinished {
                id: m.id.to_owned(),
                state: st.state.as_str().to_owned(),
            }),
        }
    }

    /// The runner container's log of each of the match's pods, capped at `max_bytes` each.
    pub async fn logs(
        &self,
        m: MatchRef<'_>,
        max_bytes: usize,
    ) -> Result<Vec<LogChunk>, LaunchError> {
        let (ns, id) = (self.ns(m.namespace), m.id);
        let name = names::object_name(id);
        let pods = self.job_pods(ns, &name).await?;
        if pods.is_empty() {
            return Err(LaunchError::NotFound {
                id: format!("{id} (no pod)"),
                place: format!("in namespace {ns}"),
            });
        }
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let mut out = Vec::new();
        for p in pods {
            let pod = p.metadata.name.clone().unwrap_or_default();
            let lp = LogParams {
                container: Some(plan::CONTAINER.to_owned()),
                limit_bytes: Some(i64::try_from(max_bytes).unwrap_or(i64::MAX)),
                ..LogParams::default()
            };
            let (text, truncated) = match api.logs(&pod, &lp).await {
                Ok(t) => {
                    let truncated = t.len() >= max_bytes;
                    (t, truncated)
                }
                // 400 while the container is still being created.
                Err(e) if is_code(&e, 400) => (
                    "(no log yet: the container has not started)".to_owned(),
                    false,
                ),
                Err(e) => return Err(api_error(e, "get", "pods/log", ns)),
            };
            out.push(LogChunk {
                source: format!("{pod}/{}", plan::CONTAINER),
                text,
                truncated,
            });
        }
        Ok(out)
    }

    /// The launcher's Jobs in a namespace.
    pub async fn list(&self, ns: Option<&str>) -> Result<Vec<ListEntry>, LaunchError> {
        let ns = self.ns(ns);
        let list = self.launcher_jobs(ns).await?;
        let now = k8s_openapi::jiff::Timestamp::now();
        let mut out: Vec<ListEntry> = list
            .items
            .iter()
            .filter_map(|j| {
                let name = j.metadata.name.as_deref()?;
                let id = names::match_id_of(name)?.to_owned();
                let seen = JobSeen::from(j);
                let state = if seen.complete {
                    State::Finished
                } else if seen.failed.is_some() {
                    State::Failed
                } else if seen.suspended {
                    State::Suspended
                } else if seen.active > 0 {
                    State::Running
                } else {
                    State::Pending
                };
                let age_secs = j
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .and_then(|t| u64::try_from(now.as_second() - t.0.as_second()).ok());
                Some(ListEntry {
                    match_id: id,
                    state,
                    age_secs,
                    namespace: Some(ns.to_owned()),
                    tenant: j
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(labels::TENANT).cloned()),
                })
            })
            .collect();
        out.sort_by(|a, b| a.match_id.cmp(&b.match_id));
        Ok(out)
    }
}
