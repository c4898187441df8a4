//! The shared watches of one namespace: one over the launcher's Jobs and one over their pods,
//! kept as a small view ([`TrackState`]) that waiters are woken on.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt as _;
use kube::Client;
use kube::api::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use runner::report::Summary;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{KubeBackend, lite};
use crate::names::{self, labels};
use crate::outcome::GameUsed;
use crate::plan;

impl KubeBackend {
    /// Entries the shared watches keep (Jobs, pods, waiters), over all namespaces: bounded by
    /// the matches in flight, not by the matches run (a finished match's entries go with its
    /// Job).
    pub fn tracked_entries(&self) -> usize {
        let map = self.trackers.lock().unwrap_or_else(PoisonError::into_inner);
        map.values()
            .map(|t| t.with(|s| s.jobs.len() + s.pods.len() + s.notifies.len()))
            .sum()
    }

    pub(super) fn tracker(&self, ns: &str) -> Arc<Tracker> {
        let mut map = self.trackers.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(ns.to_owned())
            .or_insert_with(|| Arc::new(Tracker::start(self.client.clone(), ns)))
            .clone()
    }
}

/// What the shared watch knows of one Job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct JobSeen {
    pub(super) complete: bool,
    /// Reason and message of a `Failed` condition.
    pub(super) failed: Option<(String, String)>,
    pub(super) suspended: bool,
    pub(super) active: i32,
    /// The runner container's image in the Job's pod template: what was submitted, whatever
    /// the settings of the launcher reading it now say.
    pub(super) image: Option<String>,
}

impl JobSeen {
    pub(super) fn ended(&self) -> bool {
        self.complete || self.failed.is_some()
    }
}

impl From<&lite::Job> for JobSeen {
    fn from(j: &lite::Job) -> Self {
        let status = j.status.as_ref();
        let cond = |t: &str| {
            status
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == t && c.status == "True"))
        };
        Self {
            complete: cond("Complete").is_some(),
            // Since 1.31 the Job controller writes FailureTarget (deadline, backoff limit, a
            // FailJob rule) as soon as the Job's fate is sealed and Failed only once every pod
            // has terminated, which never happens while the pod's node is gone: the verdict
            // cannot change after FailureTarget, so waiting for Failed only waits on the node.
            failed: cond("Failed").or_else(|| cond("FailureTarget")).map(|c| {
                (
                    c.reason.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default(),
                )
            }),
            suspended: j.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false),
            active: status.and_then(|s| s.active).unwrap_or(0),
            image: j
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
                .and_then(|s| s.containers.iter().find(|c| c.name == plan::CONTAINER))
                .and_then(|c| c.image.clone()),
        }
    }
}

/// The runner container's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Terminated {
    pub(super) exit_code: i32,
    pub(super) reason: String,
    pub(super) message: String,
}

/// Whether one of a Job's pods carries the runner's summary: the match's verdict, final.
pub(super) fn has_verdict(pods: Option<&Vec<PodSeen>>) -> bool {
    pods.is_some_and(|v| {
        v.iter()
            .any(|p| p.terminated.as_ref().is_some_and(Terminated::has_summary))
    })
}

impl Terminated {
    /// The runner exited after writing its report and its summary.
    pub(super) fn has_summary(&self) -> bool {
        self.exit_code == 0 && serde_json::from_str::<Summary>(self.message.trim()).is_ok()
    }
}

/// What the shared watch knows of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PodSeen {
    pub(super) name: String,
    pub(super) phase: String,
    pub(super) terminated: Option<Terminated>,
    /// `Reason: message` of a waiting container.
    pub(super) waiting: Option<String>,
    pub(super) waiting_reason: Option<String>,
    pub(super) unschedulable: Option<String>,
    /// The runner container's image as the kubelet reports it (`image`).
    pub(super) image: String,
    /// The id of that image as the runtime resolved it (`imageID`: `repo@sha256:HEX`, or
    /// `sha256:HEX` for an image no repository digest is known of); empty until the
    /// container has been created from it.
    pub(super) image_id: String,
}

impl PodSeen {
    pub(super) fn from_pod(p: &lite::Pod) -> Option<(String, Self)> {
        let labels = p.metadata.labels.as_ref()?;
        let job = labels
            .get("batch.kubernetes.io/job-name")
            .or_else(|| labels.get("job-name"))?
            .clone();
        let status = p.status.as_ref();
        let container = status
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.name == plan::CONTAINER));
        let state = container.and_then(|c| c.state.as_ref());
        let terminated = state
            .and_then(|s| s.terminated.as_ref())
            .map(|t| Terminated {
                exit_code: t.exit_code,
                reason: t.reason.clone().unwrap_or_default(),
                message: t.message.clone().unwrap_or_default(),
            });
        let waiting_state = state.and_then(|s| s.waiting.as_ref());
        let waiting = waiting_state.map(|w| {
            format!(
                "{}: {}",
                w.reason.as_deref().unwrap_or("Waiting"),
                w.message.as_deref().unwrap_or_default()
            )
        });
        let unschedulable = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| {
                cs.iter().find(|c| {
                    c.type_ == "PodScheduled"
                        && c.status == "False"
                        && c.reason.as_deref() == Some("Unschedulable")
                })
            })
            .map(|c| {
                format!(
                    "Unschedulable: {}",
                    c.message.as_deref().unwrap_or_default()
                )
            });
        Some((
            job,
            Self {
                name: p.metadata.name.clone().unwrap_or_default(),
                phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
                terminated,
                waiting,
                waiting_reason: waiting_state.and_then(|w| w.reason.clone()),
                unschedulable,
                image: container.map(|c| c.image.clone()).unwrap_or_default(),
                image_id: container.map(|c| c.image_id.clone()).unwrap_or_default(),
            },
        ))
    }

    /// The game this pod's runner ran with: None until its container was created, since a
    /// pod whose image is still being pulled (or cannot be) ran nothing.
    pub(super) fn game(&self) -> Option<GameUsed> {
        (!self.image_id.is_empty()).then(|| GameUsed {
            source: self.image.clone(),
            digest: names::image_digest(&self.image_id)
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// The namespace's view, kept by the shared watches.
#[derive(Debug, Default)]
pub(super) struct TrackState {
    pub(super) jobs: HashMap<String, JobSeen>,
    /// Pods by Job name (more than one when a disruption replaced a pod).
    pub(super) pods: HashMap<String, Vec<PodSeen>>,
    /// Jobs seen deleted while someone might be waiting.
    pub(super) deleted: HashSet<String>,
    pub(super) notifies: HashMap<String, Arc<Notify>>,
    pub(super) jobs_listed: bool,
    pub(super) pods_listed: bool,
    /// A watch refused or unanswered, until its next good event.
    pub(super) fatal: Option<WatchFailure>,
    /// Relist bookkeeping: names seen since the last `Init`.
    pub(super) relist_jobs: Option<HashSet<String>>,
    pub(super) relist_pods: Option<HashSet<String>>,
}

impl TrackState {
    /// Records a failed watch, keeping when its failure was first seen.
    fn failed(&mut self, resource: &'static str, kind: FailureKind, error: watcher::Error) {
        let since = match &self.fatal {
            Some(f) if f.resource == resource => f.since,
            _ => Instant::now(),
        };
        self.fatal = Some(WatchFailure {
            resource,
            kind,
            error: Arc::new(error),
            since,
        });
        self.wake_all();
    }

    /// A good event: a failure of this resource's watch is over.
    fn recovered(&mut self, resource: &str) {
        if self.fatal.as_ref().is_some_and(|f| f.resource == resource) {
            self.fatal = None;
            self.wake_all();
        }
    }

    pub(super) fn wake(&self, job: &str) {
        if let Some(n) = self.notifies.get(job) {
            n.notify_waiters();
        }
    }

    pub(super) fn wake_all(&self) {
        for n in self.notifies.values() {
            n.notify_waiters();
        }
    }

    pub(super) fn apply_job(&mut self, j: &lite::Job) {
        let Some(name) = j.metadata.name.clone() else {
            return;
        };
        self.deleted.remove(&name);
        if let Some(seen) = &mut self.relist_jobs {
            seen.insert(name.clone());
        }
        let new = JobSeen::from(j);
        if self.jobs.get(&name) != Some(&new) {
            self.jobs.insert(name.clone(), new);
            self.wake(&name);
        }
    }

    pub(super) fn delete_job(&mut self, name: &str) {
        self.jobs.remove(name);
        self.pods.remove(name);
        self.deleted.insert(name.to_owned());
        self.wake(name);
        // Nobody waits on a deleted Job for long; keep the map small.
        self.notifies.remove(name);
        if self.deleted.len() > 10_000 {
            self.deleted.clear();
        }
    }

    pub(super) fn apply_pod(&mut self, p: &lite::Pod) {
        let Some((job, seen)) = PodSeen::from_pod(p) else {
            return;
        };
        if self.deleted.contains(&job) {
            return;
        }
        if let Some(s) = &mut self.relist_pods {
            s.insert(seen.name.clone());
        }
        let list = self.pods.entry(job.clone()).or_default();
        match list.iter_mut().find(|x| x.name == seen.name) {
            Some(x) if *x == seen => return,
            Some(x) => *x = seen,
            None => list.push(seen),
        }
        self.wake(&job);
    }

    pub(super) fn delete_pod(&mut self, p: &lite::Pod) {
        let Some((job, seen)) = PodSeen::from_pod(p) else {
            return;
        };
        if let Some(list) = self.pods.get_mut(&job) {
            // Keep a terminated pod's verdict: the Job may be deleted right after.
            if seen.terminated.is_none() {
                list.retain(|x| x.name != seen.name);
            }
        }
        self.wake(&job);
    }
}

/// The shared watches of one namespace.
pub(super) struct Tracker {
    pub(super) state: Arc<Mutex<TrackState>>,
    pub(super) tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A watch that keeps failing in a way retrying may not cure.
#[derive(Debug, Clone)]
pub(super) struct WatchFailure {
    pub(super) resource: &'static str,
    pub(super) kind: FailureKind,
    pub(super) error: Arc<watcher::Error>,
    /// When this resource's watch first failed since its last good event.
    pub(super) since: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FailureKind {
    /// 403: the launcher's Role lacks list or watch.
    Forbidden,
    /// No answer at all (connection refused, reset, TLS): the API server is down or elsewhere.
    Unreachable,
}

/// Which watch errors are worth failing a wait over; others (a 410 Gone, a timeout) the
/// watcher's backoff cures by itself.
fn failure_kind(e: &watcher::Error) -> Option<FailureKind> {
    let (status, client) = match e {
        watcher::Error::InitialListFailed(c)
        | watcher::Error::WatchStartFailed(c)
        | watcher::Error::WatchFailed(c) => match c {
            kube::Error::Api(s) => (Some(s.as_ref()), Some(c)),
            _ => (None, Some(c)),
        },
        watcher::Error::WatchError(s) => (Some(s.as_ref()), None),
        _ => (None, None),
    };
    if status.is_some_and(|s| s.code == 403) {
        Some(FailureKind::Forbidden)
    } else if client.is_some_and(crate::preflight::is_unreachable) {
        Some(FailureKind::Unreachable)
    } else {
        None
    }
}

impl Tracker {
    /// Starts both watches. They use `kube::runtime::watcher` (list, then watch, relist on
    /// 410, backoff); the state beside it is not a `reflector` store on purpose: a store keeps
    /// the objects as they are, and this keeps what waiting needs that a store cannot hold: a
    /// terminated pod's verdict after the pod (and its Job) is deleted, the Jobs deleted while
    /// someone waits, and a wake-up per Job on the change that matters. A store beside it
    /// would only replace the relist bookkeeping (`relist_jobs`, `relist_pods`), at the cost of
    /// a second copy of every object; the requests made are the same either way (the double's
    /// request-count tests and `benches/requests.rs`).
    pub(super) fn start(client: Client, ns: &str) -> Self {
        let state = Arc::new(Mutex::new(TrackState::default()));
        let cfg = watcher::Config::default().labels(labels::SELECTOR);

        let jobs_state = state.clone();
        let ns_jobs = ns.to_owned();
        let jobs: Api<lite::Job> = Api::namespaced(client.clone(), ns);
        let jobs_cfg = cfg.clone();
        let jobs_task = tokio::spawn(async move {
            let mut stream = watcher(jobs, jobs_cfg).default_backoff().boxed();
            while let Some(ev) = stream.next().await {
                let mut s = jobs_state.lock().unwrap_or_else(PoisonError::into_inner);
                match ev {
                    Ok(ev) => {
                        s.recovered("jobs");
                        match ev {
                            watcher::Event::Init => {
                                tracing::debug!(namespace = %ns_jobs, "jobs watch: listing");
                                s.relist_jobs = Some(HashSet::new());
                            }
                            watcher::Event::InitApply(j) | watcher::Event::Apply(j) => {
                                s.apply_job(&j)
                            }
                            watcher::Event::Delete(j) => {
                                if let Some(n) = &j.metadata.name {
                                    s.delete_job(n);
                                }
                            }
                            watcher::Event::InitDone => {
                                if let Some(seen) = s.relist_jobs.take() {
                                    let gone: Vec<String> = s
                                        .jobs
                                        .keys()
                                        .filter(|k| !seen.contains(*k))
                                        .cloned()
                                        .collect();
                                    for g in gone {
                                        s.delete_job(&g);
                                    }
                                }
                                s.jobs_listed = true;
                                s.wake_all();
                            }
                        }
                    }
                    Err(e) => {
                        tracing::debug!(namespace = %ns_jobs, error = %e, "jobs watch failed; restarting after a backoff");
                        if let Some(kind) = failure_kind(&e) {
                            s.failed("jobs", kind, e);
                        }
                    }
                }
            }
        });

        let pods_state = state.clone();
        let ns_pods = ns.to_owned();
        let pods: Api<lite::Pod> = Api::namespaced(client, ns);
        let pods_task = tokio::spawn(async move {
            let mut stream = watcher(pods, cfg).default_backoff().boxed();
            while let Some(ev) = stream.next().await {
                let mut s = pods_state.lock().unwrap_or_else(PoisonError::into_inner);
                if ev.is_ok() {
                    s.recovered("pods");
                }
                match ev {
                    Ok(watcher::Event::Init) => {
                        tracing::debug!(namespace = %ns_pods, "pods watch: listing");
                        s.relist_pods = Some(HashSet::new());
                    }
                    Ok(watcher::Event::InitApply(p) | watcher::Event::Apply(p)) => s.apply_pod(&p),
                    Ok(watcher::Event::Delete(p)) => s.delete_pod(&p),
                    Ok(watcher::Event::InitDone) => {
                        s.pods_listed = true;
                        if let Some(seen) = s.relist_pods.take() {
                            for list in s.pods.values_mut() {
                                list.retain(|p| seen.contains(&p.name) || p.terminated.is_some());
                            }
                        }
                    }
                    Err(e) => {
                        tracing::debug!(namespace = %ns_pods, error = %e, "pods watch failed; restarting after a backoff");
                        if let Some(kind) = failure_kind(&e) {
                            s.failed("pods", kind, e);
                        }
                    }
                }
            }
        });
        Self {
            state,
            tasks: vec![jobs_task.abort_handle(), pods_task.abort_handle()],
        }
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&mut TrackState) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut s)
    }

    pub(super) fn notify_for(&self, job: &str) -> Arc<Notify> {
        self.with(|s| s.notifies.entry(job.to_owned()).or_default().clone())
    }
}
