//! The kube backend: runs a match as a Job in a tenant's namespace.
//!
//! Per match it makes three API requests: create the Job, create the ConfigMap (owned by the
//! Job, so the garbage collector removes it with the Job), and delete the Job with background
//! propagation once the verdict is in. Completion is learnt from one shared watch over all the
//! launcher's Jobs in the namespace, and the verdict from one shared watch over their pods
//! (the runner's summary is the container's termination message): no request per match while
//! it runs, however long it runs. Extra requests happen only off the happy path: a retried
//! submit reads the existing Job; a Job that does not start gets its Events read once the
//! grace has passed; a verdict the pod watch has not delivered shortly after the Job ended is
//! read with one pod list.
//!
//! Before the first submit into a namespace it runs the [`preflight`] (four
//! reads, once per namespace for the backend's life, not per match) and refuses a namespace that
//! fails it, unless [`KubeOptions::allow_unisolated_namespace`] says otherwise.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use runner::exit::RunnerExit;
use runner::report::Summary;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::LaunchError;
use crate::names::{self, labels};
use crate::outcome::{Artifacts, ListEntry, LogChunk, MatchStatus, Outcome, State, Verdict};
use crate::plan::{self, ClusterSettings, Plan};
use crate::preflight::{self, Check, Preflight};
use crate::request::Match;

pub const BACKEND: &str = "kube";

/// Container waiting reasons that mean the pod will not start by itself.
const STUCK_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// How long a watch that had worked may be refused (403) before waiting on it fails.
const FORBIDDEN_GRACE: Duration = Duration::from_secs(30);

/// Warnings on a pod that has not started which the kubelet keeps retrying but which do not
/// clear by themselves: a runtime that cannot create the pod's sandbox (a broken CNI, a runtime
/// refusing the spec), a volume that cannot be mounted (a missing claim or profile).
const STUCK_POD_EVENTS: &[&str] = &[
    "FailedCreatePodSandBox",
    "FailedMount",
    "FailedAttachVolume",
];

/// Timing and safety overrides of the kube backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeOptions {
    /// How long a Job may go without a running pod before it is reported as unable to start
    /// (quota FailedCreate, Unschedulable, image pull errors).
    pub start_grace: Duration,
    /// How long to wait for the pod watch to deliver the verdict after the Job ended, before
    /// reading the pods once.
    pub verdict_grace: Duration,
    /// Submit even into a namespace that fails preflight (no PSA `restricted`, no deny-all
    /// NetworkPolicy, no quota, a game ServiceAccount that mounts a token). Off by default:
    /// such a namespace is refused with [`LaunchError::Unisolated`]. When on, the failed
    /// rules are recorded in [`Submitted::preflight_overridden`] and the outcome.
    pub allow_unisolated_namespace: bool,
}

impl Default for KubeOptions {
    fn default() -> Self {
        Self {
            start_grace: Duration::from_secs(60),
            verdict_grace: Duration::from_secs(5),
            allow_unisolated_namespace: false,
        }
    }
}

/// What submitting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub match_id: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The Job existed already (same request): nothing new was started.
    pub attached: bool,
    /// The preflight rules the namespace failed and that
    /// [`KubeOptions::allow_unisolated_namespace`] overrode (empty: the namespace passed).
    pub preflight_overridden: Vec<Check>,
}

/// Turns a client error into a launcher error that says what to do.
pub fn api_error(e: kube::Error, verb: &str, resource: &str, namespace: &str) -> LaunchError {
    match e {
        kube::Error::Api(s) if s.code == 403 => LaunchError::Forbidden {
            verb: verb.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.to_owned(),
            message: s.message.clone(),
        },
        kube::Error::Api(s) if s.code == 422 || s.code == 400 => {
            let causes: Vec<String> = s
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .map(|c| format!("{}: {}", c.field, c.message))
                        .collect()
                })
                .unwrap_or_default();
            LaunchError::Rejected {
                resource: resource.to_owned(),
                message: if causes.is_empty() || s.message.contains(&causes[0]) {
                    s.message.clone()
                } else {
                    format!("{} ({})", s.message, causes.join("; "))
                },
            }
        }
        kube::Error::Api(s) => LaunchError::Api {
            during: format!("{verb} {resource} in {namespace}"),
            message: format!("{} {}: {}", s.code, s.reason, s.message),
        },
        other => LaunchError::Api {
            during: format!("{verb} {resource} in {namespace}"),
            message: other.to_string(),
        },
    }
}

fn is_code(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// A create refused because the name is taken (409 AlreadyExists), not for a conflict.
fn is_already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists")
}

/// The kube backend.
pub struct KubeBackend {
    client: Client,
    settings: ClusterSettings,
    opts: KubeOptions,
    trackers: Mutex<HashMap<String, Arc<Tracker>>>,
    /// Preflight per namespace, kept for the backend's life once read without error. The
    /// async lock makes concurrent submits into one namespace share one read.
    preflights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Preflight>>>>>,
}

impl std::fmt::Debug for KubeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeBackend")
            .field("namespace", &self.settings.namespace)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// Connects like kubectl: `KUBECONFIG` (or `~/.kube/config`) with its current context or
/// `context`, else the in-cluster service account. Returns the client and the context's
/// namespace (None when it names none, i.e. `default`).
pub async fn connect(context: Option<&str>) -> Result<(Client, Option<String>), LaunchError> {
    let config = match context {
        Some(c) => kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions {
            context: Some(c.to_owned()),
            ..Default::default()
        })
        .await
        .map_err(|e| LaunchError::Config(format!("context {c}: {e}")))?,
        None => kube::Config::infer()
            .await
            .map_err(|e| LaunchError::Config(e.to_string()))?,
    };
    let ns = (config.default_namespace != "default").then(|| config.default_namespace.clone());
    let client = Client::try_from(config).map_err(|e| LaunchError::Config(e.to_string()))?;
    Ok((client, ns))
}

impl KubeBackend {
    /// A backend over any client (a real one from [`connect`], or a test double's).
    pub fn new(
        client: Client,
        settings: ClusterSettings,
        opts: KubeOptions,
    ) -> Result<Self, LaunchError> {
        settings.validate()?;
        Ok(Self {
            client,
            settings,
            opts,
            trackers: Mutex::new(HashMap::new()),
            preflights: Mutex::new(HashMap::new()),
        })
    }

    pub fn settings(&self) -> &ClusterSettings {
        &self.settings
    }

    /// The ServiceAccount game pods run as (the namespace's `default` when none is set).
    fn game_service_account(&self) -> &str {
        self.settings
            .service_account
            .as_deref()
            .unwrap_or("default")
    }

    /// The preflight of a namespace: read on first use, then kept for this backend's life
    /// (a result with a failed read is not kept, so the next call reads again). An API server
    /// that does not answer is [`LaunchError::Unreachable`], not a failed rule.
    pub async fn preflight(&self, ns: &str) -> Result<Preflight, LaunchError> {
        let slot = {
            let mut map = self
                .preflights
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            map.entry(ns.to_owned()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(p) = slot.as_ref() {
            return Ok(p.clone());
        }
        let (p, failed_read) =
            preflight::read_and_judge(self.client.clone(), ns, self.game_service_account()).await?;
        if !failed_read {
            *slot = Some(p.clone());
        }
        Ok(p)
    }

    /// Whether matches may be submitted into `ns`: `Ok` with no checks when it passes
    /// preflight, `Ok` with the failed checks when it fails and
    /// [`KubeOptions::allow_unisolated_namespace`] is set, [`LaunchError::Unisolated`]
    /// otherwise.
    pub async fn admit(&self, ns: &str) -> Result<Vec<Check>, LaunchError> {
        let p = self.preflight(ns).await?;
        if p.passed() {
            return Ok(Vec::new());
        }
        if self.opts.allow_unisolated_namespace {
            return Ok(p.failed());
        }
        Err(LaunchError::Unisolated {
            namespace: ns.to_owned(),
            failures: p.failures(),
        })
    }

    fn ns<'a>(&'a self, ns: Option<&'a str>) -> &'a str {
        ns.unwrap_or(&self.settings.namespace)
    }

    /// Jobs, read as partial objects (metadata, suspend, status).
    fn jobs(&self, ns: &str) -> Api<lite::Job> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Creates an object and reads back only its metadata.
    /// Creates an object. A 409 that is not AlreadyExists means nothing was created: the
    /// ResourceQuota admission lost a race to update the quota's usage (concurrent creates in
    /// one namespace, seen on the lab), so the create is tried again, a few times.
    async fn create<K>(&self, ns: &str, obj: &K) -> Result<lite::Meta, kube::Error>
    where
        K: kube::Resource<DynamicType = ()> + serde::Serialize,
    {
        let body = serde_json::to_vec(obj).map_err(kube::Error::SerdeError)?;
        let mut attempt = 0;
        loop {
            let req = kube::core::Request::new(K::url_path(&(), Some(ns)))
                .create(&PostParams::default(), body.clone())
                .map_err(kube::Error::BuildRequest)?;
            match self.client.request::<lite::Meta>(req).await {
                Err(e) if is_code(&e, 409) && !is_already_exists(&e) && attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                r => return r,
            }
        }
    }

    /// Creates the Job and its ConfigMap, or attaches to the Job of an earlier submit of the
    /// same request.
    pub async fn submit_plan(&self, plan: &Plan) -> Result<Submitted, LaunchError> {
        if self.settings.uses_placeholder_image() {
            return Err(LaunchError::Settings(
                "no runner image: pass --image REPO@sha256:DIGEST (or set image in --settings, or LAUNCHER_IMAGE)".into(),
            ));
        }
        let ns = plan.namespace.as_str();
        let preflight_overridden = self.admit(ns).await?;
        let jobs = self.jobs(ns);
        let (uid, attached, awaiting_code) = match self.create(ns, &plan.job).await {
            Ok(job) => (job.metadata.uid.unwrap_or_default(), false, true),
            Err(e) if is_already_exists(&e) => {
                let existing = jobs
                    .get(&plan.name)
                    .await
                    .map_err(|e| api_error(e, "get", "jobs", ns))?;
                let theirs = existing
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(labels::REQUEST_SHA256))
                    .cloned()
                    .unwrap_or_default();
                if theirs != plan.request_sha256 {
                    return Err(LaunchError::Conflict {
                        id: plan.match_id.clone(),
                        place: format!("as Job {ns}/{}", plan.name),
                        existing: theirs,
                        ours: plan.request_sha256.clone(),
                    });
                }
                // A submit that stopped between the Job and its resume is finished here.
                let awaiting = existing
                    .metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a.contains_key(labels::AWAITING_CODE));
                (existing.metadata.uid.unwrap_or_default(), true, awaiting)
            }
            Err(e) => return Err(api_error(e, "create", "jobs", ns)),
        };
        let mut cm = plan.config_map.clone();
        // Owned by the Job: deleted with it. No blockOwnerDeletion (it would need update on
        // jobs/finalizers, which the launcher's Role does not grant).
        cm.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "batch/v1".to_owned(),
            kind: "Job".to_owned(),
            name: plan.name.clone(),
            uid: uid.clone(),
            controller: None,
            block_owner_deletion: None,
        }]);
        match self.create(ns, &cm).await {
            Ok(_) => {}
            Err(e) if is_already_exists(&e) => {}
            Err(e) => {
                let err = api_error(e, "create", "configmaps", ns);
                if !attached {
                    // Do not leave a Job waiting for code that will never come.
                    let _ = jobs.delete(&plan.name, &DeleteParams::background()).await;
                }
                return Err(err);
            }
        }
        if awaiting_code {
            let resume = serde_json::json!({
                "metadata": { "annotations": { labels::AWAITING_CODE: null } },
                "spec": { "suspend": false },
            });
            jobs.patch(&plan.name, &PatchParams::default(), &Patch::Merge(&resume))
                .await
                .map_err(|e| api_error(e, "patch", "jobs", ns))?;
        }
        Ok(Submitted {
            match_id: plan.match_id.clone(),
            namespace: ns.to_owned(),
            name: plan.name.clone(),
            uid,
            attached,
            preflight_overridden,
        })
    }

    /// Plans and submits a match.
    pub async fn submit(&self, m: &Match) -> Result<Submitted, LaunchError> {
        let plan = plan::plan(m, &self.settings)?;
        self.submit_plan(&plan).await
    }

    /// Submits, waits for the verdict, and deletes the Job (unless `keep`).
    pub async fn play(
        &self,
        m: &Match,
        timeout: Option<Duration>,
        keep: bool,
    ) -> Result<Outcome, LaunchError> {
        let sub = self.submit(m).await?;
        // The shared watch lists before it watches, so a Job created before it started is
        // seen; one created just now may take a moment to arrive: hence `just_created`.
        let mut o = self
            .wait_for(&sub.namespace, &sub.match_id, timeout, true)
            .await?;
        o.attached = sub.attached;
        o.preflight_overridden = sub.preflight_overridden;
        if !keep {
            self.delete(&sub.namespace, &sub.name).await?;
        }
        Ok(o)
    }

    async fn delete(&self, ns: &str, name: &str) -> Result<(), LaunchError> {
        match self
            .jobs(ns)
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, 404) => Ok(()),
            Err(e) => Err(api_error(e, "delete", "jobs", ns)),
        }
    }

    /// Entries the shared watches keep (Jobs, pods, waiters), over all namespaces: bounded by
    /// the matches in flight, not by the matches run (a finished match's entries go with its
    /// Job).
    pub fn tracked_entries(&self) -> usize {
        let map = self.trackers.lock().unwrap_or_else(PoisonError::into_inner);
        map.values()
            .map(|t| t.with(|s| s.jobs.len() + s.pods.len() + s.notifies.len()))
            .sum()
    }

    fn tracker(&self, ns: &str) -> Arc<Tracker> {
        let mut map = self.trackers.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(ns.to_owned())
            .or_insert_with(|| Arc::new(Tracker::start(self.client.clone(), ns)))
            .clone()
    }

    /// Waits for a match's verdict through the namespace's shared watch.
    pub async fn wait(
        &self,
        ns: Option<&str>,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<Outcome, LaunchError> {
        let ns = self.ns(ns).to_owned();
        self.wait_for(&ns, id, timeout, false).await
    }

    async fn wait_for(
        &self,
        ns: &str,
        id: &str,
        timeout: Option<Duration>,
        just_created: bool,
    ) -> Result<Outcome, LaunchError> {
        let ns = ns.to_owned();
        let name = names::object_name(id);
        // A Job this call did not just create and the watch has not listed is read once before
        // it is called missing (it may have been created a moment ago by someone else).
        let mut missing_grace = if just_created {
            self.opts.start_grace
        } else {
            Duration::ZERO
        };
        let tracker = self.tracker(&ns);
        let started = Instant::now();
        let deadline = timeout.map(|t| started + t);
        let mut ended_at: Option<Instant> = None;
        let mut pods_read = false;
        let mut events_read_at: Option<Instant> = None;
        loop {
            let notify = tracker.notify_for(&name);
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = Instant::now();
            let step = tracker.with(|s| {
                decide(
                    s,
                    &name,
                    now,
                    now.duration_since(started),
                    missing_grace,
                    &self.opts,
                )
            });
            let next_check = match step {
                Step::Done(found) => return Ok(self.finish_outcome(id, &ns, found)),
                Step::Missing if missing_grace.is_zero() => {
                    match self.jobs(&ns).get_opt(&name).await {
                        Ok(Some(_)) => {
                            missing_grace = self.opts.start_grace;
                            continue;
                        }
                        Ok(None) => {
                            return Err(LaunchError::NotFound {
                                id: id.to_owned(),
                                place: format!("in namespace {ns}"),
                            });
                        }
                        Err(e) => return Err(api_error(e, "get", "jobs", &ns)),
                    }
                }
                Step::Missing => {
                    return Err(LaunchError::NotFound {
                        id: id.to_owned(),
                        place: format!("in namespace {ns} (its Job never appeared)"),
                    });
                }
                Step::Fail(e) => return Err(e),
                Step::Ended => {
                    let at = *ended_at.get_or_insert(now);
                    if now.duration_since(at) < self.opts.verdict_grace {
                        Some(at + self.opts.verdict_grace)
                    } else if !pods_read {
                        pods_read = true;
                        let pods = self.job_pods(&ns, &name).await?;
                        tracker.with(|s| {
                            for p in &pods {
                                s.apply_pod(p);
                            }
                        });
                        continue;
                    } else {
                        let found = tracker.with(|s| Found::from_state(s, &name));
                        return Ok(self.finish_outcome(id, &ns, found));
                    }
                }
                Step::CheckEvents | Step::CheckPodEvents(_) => {
                    if events_read_at.is_none_or(|t| now.duration_since(t) >= self.opts.start_grace)
                    {
                        events_read_at = Some(now);
                        let why = match &step {
                            Step::CheckPodEvents(pod) => {
                                self.start_failure(&ns, "Pod", pod, Some(STUCK_POD_EVENTS))
                                    .await?
                            }
                            _ => self.start_failure(&ns, "Job", &name, None).await?,
                        };
                        if let Some(why) = why {
                            return Ok(self.cannot_start(id, &ns, why));
                        }
                    }
                    events_read_at.map(|t| t + self.opts.start_grace)
                }
                Step::Stuck(why) => return Ok(self.cannot_start(id, &ns, why)),
                Step::Wait(at) => at.map(|d| started + d),
            };
            let wake = match (next_check, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match wake {
                Some(at) => {
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(LaunchError::Timeout {
                    id: id.to_owned(),
                    secs: timeout.map_or(0, |t| t.as_secs()),
                });
            }
        }
    }

    fn cannot_start(&self, id: &str, ns: &str, why: String) -> Outcome {
        let mut o = Outcome::failed(id, BACKEND, Verdict::CannotStart, why);
        o.namespace = Some(ns.to_owned());
        o
    }

    fn finish_outcome(&self, id: &str, ns: &str, found: Found) -> Outcome {
        let mut o = found.outcome(id);
        o.namespace = Some(ns.to_owned());
        if o.status.is_some()
            && let Some(claim) = &self.settings.results_pvc
        {
            o.artifacts = Some(Artifacts::Pvc {
                namespace: ns.to_owned(),
                claim: claim.clone(),
                sub_path: plan::pvc_sub_path(id).display().to_string(),
            });
        }
        o
    }

    async fn job_pods(&self, ns: &str, name: &str) -> Result<Vec<lite::Pod>, LaunchError> {
        let pods: Api<lite::Pod> = Api::namespaced(self.client.clone(), ns);
        let list = pods
            .list(&ListParams::default().labels(&format!("batch.kubernetes.io/job-name={name}")))
            .await
            .map_err(|e| api_error(e, "list", "pods", ns))?;
        Ok(list.items)
    }

    /// Why a Job has no pod, or its pod does not start, from the latest Warning among the
    /// object's Events (quota and admission failures, and a node that cannot create the pod,
    /// show only there), limited to `reasons` when given.
    async fn start_failure(
        &self,
        ns: &str,
        kind: &str,
        name: &str,
        reasons: Option<&[&str]>,
    ) -> Result<Option<String>, LaunchError> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), ns);
        let list = events
            .list(&ListParams::default().fields(&format!(
                "involvedObject.kind={kind},involvedObject.name={name}"
            )))
            .await
            .map_err(|e| api_error(e, "list", "events", ns))?;
        Ok(list
            .items
            .iter()
            .rev()
            .filter(|e| e.type_.as_deref() == Some("Warning"))
            .find(|e| reasons.is_none_or(|r| e.reason.as_deref().is_some_and(|x| r.contains(&x))))
            .map(|e| {
                format!(
                    "{}: {}",
                    e.reason.as_deref().unwrap_or("Warning"),
                    e.message.as_deref().unwrap_or_default()
                )
            }))
    }

    /// Where a match stands, read directly (one or two requests).
    pub async fn status(&self, ns: Option<&str>, id: &str) -> Result<MatchStatus, LaunchError> {
        let ns = self.ns(ns);
        let name = names::object_name(id);
        let job = match self.jobs(ns).get(&name).await {
            Ok(j) => j,
            Err(e) if is_code(&e, 404) => {
                return Err(LaunchError::NotFound {
                    id: id.to_owned(),
                    place: format!("in namespace {ns}"),
                });
            }
            Err(e) => return Err(api_error(e, "get", "jobs", ns)),
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
    pub async fn result(
        &self,
        ns: Option<&str>,
        id: &str,
        keep: bool,
    ) -> Result<Outcome, LaunchError> {
        let st = self.status(ns, id).await?;
        let ns = self.ns(ns);
        match st.outcome {
            Some(o) => {
                if !keep {
                    self.delete(ns, &names::object_name(id)).await?;
                }
                Ok(o)
            }
            None => Err(LaunchError::NotFinished {
                id: id.to_owned(),
                state: st.state.as_str().to_owned(),
            }),
        }
    }

    /// The runner container's log of each of the match's pods, capped at `max_bytes` each.
    pub async fn logs(
        &self,
        ns: Option<&str>,
        id: &str,
        max_bytes: usize,
    ) -> Result<Vec<LogChunk>, LaunchError> {
        let ns = self.ns(ns);
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

    /// Stops a match: deletes its Job with background propagation (pods and ConfigMap go too).
    pub async fn cancel(&self, ns: Option<&str>, id: &str) -> Result<(), LaunchError> {
        let ns = self.ns(ns);
        match self
            .jobs(ns)
            .delete(&names::object_name(id), &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, 404) => Err(LaunchError::NotFound {
                id: id.to_owned(),
                place: format!("in namespace {ns}"),
            }),
            Err(e) => Err(api_error(e, "delete", "jobs", ns)),
        }
    }

    /// Suspends (true) or resumes (false) a match's Job. Suspending deletes its running pod;
    /// resuming starts the match again from the beginning.
    pub async fn set_suspended(
        &self,
        ns: Option<&str>,
        id: &str,
        suspend: bool,
    ) -> Result<(), LaunchError> {
        let ns = self.ns(ns);
        let patch = serde_json::json!({ "spec": { "suspend": suspend } });
        match self
            .jobs(ns)
            .patch(
                &names::object_name(id),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, 404) => Err(LaunchError::NotFound {
                id: id.to_owned(),
                place: format!("in namespace {ns}"),
            }),
            Err(e) => Err(api_error(e, "patch", "jobs", ns)),
        }
    }

    /// The launcher's Jobs in a namespace.
    pub async fn list(&self, ns: Option<&str>) -> Result<Vec<ListEntry>, LaunchError> {
        let ns = self.ns(ns);
        let list = self
            .jobs(ns)
            .list(&ListParams::default().labels(labels::SELECTOR))
            .await
            .map_err(|e| api_error(e, "list", "jobs", ns))?;
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

    /// Deletes finished Jobs (Complete or Failed) that finished more than `older_than` ago.
    pub async fn gc(
        &self,
        ns: Option<&str>,
        older_than: Duration,
    ) -> Result<Vec<String>, LaunchError> {
        let ns = self.ns(ns);
        let list = self
            .jobs(ns)
            .list(&ListParams::default().labels(labels::SELECTOR))
            .await
            .map_err(|e| api_error(e, "list", "jobs", ns))?;
        let now = k8s_openapi::jiff::Timestamp::now().as_second();
        let limit = i64::try_from(older_than.as_secs()).unwrap_or(i64::MAX);
        let mut removed = Vec::new();
        for j in &list.items {
            let Some(name) = j.metadata.name.as_deref() else {
                continue;
            };
            let finished_at = j.status.as_ref().and_then(|s| {
                s.conditions
                    .as_ref()?
                    .iter()
                    .filter(|c| {
                        (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True"
                    })
                    .filter_map(|c| c.last_transition_time.as_ref().map(|t| t.0.as_second()))
                    .max()
                    .or_else(|| s.completion_time.as_ref().map(|t| t.0.as_second()))
            });
            if finished_at.is_some_and(|t| now - t >= limit) {
                self.delete(ns, name).await?;
                removed.push(names::match_id_of(name).unwrap_or(name).to_owned());
            }
        }
        Ok(removed)
    }
}

/// What the shared watch knows of one Job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct JobSeen {
    complete: bool,
    /// Reason and message of a `Failed` condition.
    failed: Option<(String, String)>,
    suspended: bool,
    active: i32,
}

impl JobSeen {
    fn ended(&self) -> bool {
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
        }
    }
}

/// The runner container's end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Terminated {
    exit_code: i32,
    reason: String,
    message: String,
}

/// Whether one of a Job's pods carries the runner's summary: the match's verdict, final.
fn has_verdict(pods: Option<&Vec<PodSeen>>) -> bool {
    pods.is_some_and(|v| {
        v.iter()
            .any(|p| p.terminated.as_ref().is_some_and(Terminated::has_summary))
    })
}

impl Terminated {
    /// The runner exited after writing its report and its summary.
    fn has_summary(&self) -> bool {
        self.exit_code == 0 && serde_json::from_str::<Summary>(self.message.trim()).is_ok()
    }
}

/// What the shared watch knows of one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PodSeen {
    name: String,
    phase: String,
    terminated: Option<Terminated>,
    /// `Reason: message` of a waiting container.
    waiting: Option<String>,
    waiting_reason: Option<String>,
    unschedulable: Option<String>,
}

impl PodSeen {
    fn from_pod(p: &lite::Pod) -> Option<(String, Self)> {
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
            },
        ))
    }
}

/// The namespace's view, kept by the shared watches.
#[derive(Debug, Default)]
struct TrackState {
    jobs: HashMap<String, JobSeen>,
    /// Pods by Job name (more than one when a disruption replaced a pod).
    pods: HashMap<String, Vec<PodSeen>>,
    /// Jobs seen deleted while someone might be waiting.
    deleted: HashSet<String>,
    notifies: HashMap<String, Arc<Notify>>,
    jobs_listed: bool,
    pods_listed: bool,
    /// A forbidden watch (resource, message, first seen), until the next good event.
    fatal: Option<(String, String, Instant)>,
    /// Relist bookkeeping: names seen since the last `Init`.
    relist_jobs: Option<HashSet<String>>,
    relist_pods: Option<HashSet<String>>,
}

impl TrackState {
    /// Records a forbidden watch, keeping when it was first seen.
    fn forbidden(&mut self, what: &str, text: String) {
        let since = match &self.fatal {
            Some((r, _, since)) if r == what => *since,
            _ => Instant::now(),
        };
        self.fatal = Some((what.to_owned(), text, since));
        self.wake_all();
    }

    fn wake(&self, job: &str) {
        if let Some(n) = self.notifies.get(job) {
            n.notify_waiters();
        }
    }

    fn wake_all(&self) {
        for n in self.notifies.values() {
            n.notify_waiters();
        }
    }

    fn apply_job(&mut self, j: &lite::Job) {
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

    fn delete_job(&mut self, name: &str) {
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

    fn apply_pod(&mut self, p: &lite::Pod) {
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

    fn delete_pod(&mut self, p: &lite::Pod) {
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
struct Tracker {
    state: Arc<Mutex<TrackState>>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn watch_error_text(e: &watcher::Error) -> (bool, String) {
    let status = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.as_ref()),
        watcher::Error::WatchError(s) => Some(s.as_ref()),
        _ => None,
    };
    match status {
        Some(s) if s.code == 403 => (true, s.message.clone()),
        _ => (false, e.to_string()),
    }
}

impl Tracker {
    fn start(client: Client, ns: &str) -> Self {
        let state = Arc::new(Mutex::new(TrackState::default()));
        let cfg = watcher::Config::default().labels(labels::SELECTOR);

        let jobs_state = state.clone();
        let jobs: Api<lite::Job> = Api::namespaced(client.clone(), ns);
        let jobs_cfg = cfg.clone();
        let jobs_task = tokio::spawn(async move {
            let mut stream = watcher(jobs, jobs_cfg).default_backoff().boxed();
            while let Some(ev) = stream.next().await {
                let mut s = jobs_state.lock().unwrap_or_else(PoisonError::into_inner);
                match ev {
                    Ok(ev) => {
                        if s.fatal.as_ref().is_some_and(|(r, ..)| r == "jobs") {
                            s.fatal = None;
                            s.wake_all();
                        }
                        match ev {
                            watcher::Event::Init => s.relist_jobs = Some(HashSet::new()),
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
                        let (fatal, text) = watch_error_text(&e);
                        if fatal {
                            s.forbidden("jobs", text);
                        }
                    }
                }
            }
        });

        let pods_state = state.clone();
        let pods: Api<lite::Pod> = Api::namespaced(client, ns);
        let pods_task = tokio::spawn(async move {
            let mut stream = watcher(pods, cfg).default_backoff().boxed();
            while let Some(ev) = stream.next().await {
                let mut s = pods_state.lock().unwrap_or_else(PoisonError::into_inner);
                if ev.is_ok() && s.fatal.as_ref().is_some_and(|(r, ..)| r == "pods") {
                    s.fatal = None;
                }
                match ev {
                    Ok(watcher::Event::Init) => s.relist_pods = Some(HashSet::new()),
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
                        let (fatal, text) = watch_error_text(&e);
                        if fatal {
                            s.forbidden("pods", text);
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

    fn with<T>(&self, f: impl FnOnce(&mut TrackState) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut s)
    }

    fn notify_for(&self, job: &str) -> Arc<Notify> {
        self.with(|s| s.notifies.entry(job.to_owned()).or_default().clone())
    }
}

/// What the watches found about a match that has ended.
#[derive(Debug, Clone)]
struct Found {
    job: Option<JobSeen>,
    pod: Option<PodSeen>,
}

impl Found {
    fn from_state(s: &TrackState, name: &str) -> Self {
        let pods = s.pods.get(name);
        let pod = pods
            .and_then(|v| v.iter().rev().find(|p| p.terminated.is_some()))
            .or_else(|| pods.and_then(|v| v.last()))
            .cloned();
        Self {
            job: s.jobs.get(name).cloned(),
            pod,
        }
    }

    fn outcome(&self, id: &str) -> Outcome {
        let failed = self.job.as_ref().and_then(|j| j.failed.clone());
        let deadline = failed
            .as_ref()
            .is_some_and(|(r, _)| r == "DeadlineExceeded");
        let Some(t) = self.pod.as_ref().and_then(|p| p.terminated.clone()) else {
            let (verdict, reason) = match &failed {
                Some((r, m)) if r == "DeadlineExceeded" => {
                    (Verdict::DeadlineExceeded, format!("{r}: {m}"))
                }
                Some((r, m)) => (
                    Verdict::InfrastructureError,
                    format!("the Job failed ({r}: {m}) and no pod reported"),
                ),
                None => (
                    Verdict::InfrastructureError,
                    "the Job ended but no pod reported a verdict".to_owned(),
                ),
            };
            return Outcome::failed(id, BACKEND, verdict, reason);
        };
        let mut o = match serde_json::from_str::<Summary>(t.message.trim()) {
            Ok(s) => Outcome::from_summary(id, BACKEND, &s),
            Err(_) => {
                let what = if t.exit_code == i32::from(RunnerExit::BadSpec.code()) {
                    "the runner refused the spec".to_owned()
                } else if t.reason == "OOMKilled" {
                    "the pod ran out of memory (OOMKilled) before the runner reported".to_owned()
                } else {
                    format!(
                        "the runner exited with {} ({}) without a verdict",
                        t.exit_code, t.reason
                    )
                };
                let msg = t.message.trim();
                Outcome::failed(
                    id,
                    BACKEND,
                    Verdict::InfrastructureError,
                    if msg.is_empty() {
                        what
                    } else {
                        format!("{what}: {msg}")
                    },
                )
            }
        };
        if deadline && o.verdict != Verdict::Ok {
            o.verdict = Verdict::DeadlineExceeded;
            if let Some((r, m)) = &failed {
                o.reason = format!("{r}: {m} ({})", o.reason);
            }
        }
        o.runner_exit_code = Some(t.exit_code);
        o
    }
}

/// The next step of a wait, decided from the watches' state alone.
enum Step {
    Done(Found),
    Fail(LaunchError),
    /// The watch has listed and has not seen the Job (within the grace, if any).
    Missing,
    /// The Job ended; its pod's verdict may still be on the way.
    Ended,
    /// No pod after the grace: read the Job's Events.
    CheckEvents,
    /// A pod that has not started after the grace: read its Events.
    CheckPodEvents(String),
    /// The pod cannot start.
    Stuck(String),
    /// Wait for a change, or until this long after the wait began.
    Wait(Option<Duration>),
}

fn decide(
    s: &TrackState,
    name: &str,
    now: Instant,
    waited: Duration,
    missing_grace: Duration,
    opts: &KubeOptions,
) -> Step {
    if let Some((what, msg, since)) = &s.fatal {
        // Refused before it ever listed: the Role lacks the right, say so now. Refused after
        // it had worked: an API server that has just restarted refuses for a moment, until
        // its authorizer has caught up (seen on the lab), so only a refusal that lasts fails.
        let listed = if what == "jobs" {
            s.jobs_listed
        } else {
            s.pods_listed
        };
        let refused_for = now.saturating_duration_since(*since);
        if !listed || refused_for >= FORBIDDEN_GRACE {
            return Step::Fail(LaunchError::Watch {
                resource: what.clone(),
                message: format!(
                    "{msg} (the launcher needs list and watch on {what}; see policies/kubernetes/base/role-launcher.yaml)"
                ),
            });
        }
        return Step::Wait(Some(waited + (FORBIDDEN_GRACE - refused_for)));
    }
    if !s.jobs_listed {
        return Step::Wait(None);
    }
    let Some(job) = s.jobs.get(name) else {
        if s.deleted.contains(name) {
            return Step::Fail(LaunchError::NotFound {
                id: format!(
                    "{} (its Job was deleted while waiting)",
                    names::match_id_of(name).unwrap_or(name)
                ),
                place: "any more".to_owned(),
            });
        }
        // Just created: the watch may not have delivered it yet.
        if waited < missing_grace {
            return Step::Wait(Some(missing_grace));
        }
        return Step::Missing;
    };
    let pods = s.pods.get(name);
    // The runner's summary in the termination message is the verdict, and final: the pod does
    // not restart and the Job runs no other (backoffLimit 0; only a disrupted pod, which ends
    // without a summary, is replaced). The Job's own Complete or Failed comes a sync period
    // later (the Job controller batches pod updates for a second), so waiting for it would
    // only add that second to every match.
    if has_verdict(pods) {
        return Step::Done(Found::from_state(s, name));
    }
    if job.ended() {
        let has_verdict = pods.is_some_and(|v| v.iter().any(|p| p.terminated.is_some()));
        if has_verdict {
            return Step::Done(Found::from_state(s, name));
        }
        return Step::Ended;
    }
    if job.suspended {
        return Step::Wait(None);
    }
    let latest = pods.and_then(|v| v.last());
    let started = latest.is_some_and(|p| p.phase == "Running" || p.terminated.is_some());
    if started {
        return Step::Wait(None);
    }
    if waited < opts.start_grace {
        return Step::Wait(Some(opts.start_grace));
    }
    match latest {
        Some(p)
            if p.waiting_reason
                .as_deref()
                .is_some_and(|r| STUCK_REASONS.contains(&r)) =>
        {
            Step::Stuck(p.waiting.clone().unwrap_or_default())
        }
        Some(p) if p.unschedulable.is_some() => {
            Step::Stuck(p.unschedulable.clone().unwrap_or_default())
        }
        Some(p) if p.phase == "Pending" => Step::CheckPodEvents(p.name.clone()),
        Some(_) => Step::Wait(Some(waited + opts.start_grace)),
        None => Step::CheckEvents,
    }
}

/// Partial views of Jobs and Pods for the shared watches and for responses the launcher only
/// needs the metadata of: deserialising a full Job or Pod (its pod template and spec) for every
/// watch event is most of a watch's cost, and none of it is needed to follow a match. Unknown
/// fields are ignored here on purpose: these read the API server's output, not user input.
mod lite {
    use std::borrow::Cow;

    use k8s_openapi::NamespaceResourceScope;
    use k8s_openapi::api::batch::v1::JobStatus;
    use k8s_openapi::api::core::v1::PodStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde::Deserialize;

    #[derive(Debug, Clone, Default, Deserialize)]
    pub struct JobSpec {
        #[serde(default)]
        pub suspend: Option<bool>,
    }

    /// A Job's metadata, `spec.suspend` and status.
    #[derive(Debug, Clone, Default, Deserialize)]
    pub struct Job {
        pub metadata: ObjectMeta,
        #[serde(default)]
        pub spec: Option<JobSpec>,
        #[serde(default)]
        pub status: Option<JobStatus>,
    }

    /// A Pod's metadata and status.
    #[derive(Debug, Clone, Default, Deserialize)]
    pub struct Pod {
        pub metadata: ObjectMeta,
        #[serde(default)]
        pub status: Option<PodStatus>,
    }

    /// Any object's metadata (what a create returns that the launcher needs).
    #[derive(Debug, Clone, Default, Deserialize)]
    pub struct Meta {
        pub metadata: ObjectMeta,
    }

    macro_rules! resource {
        ($t:ty, $kind:literal, $group:literal, $version:literal, $plural:literal) => {
            impl kube::Resource for $t {
                type DynamicType = ();
                type Scope = NamespaceResourceScope;
                fn kind(_: &()) -> Cow<'_, str> {
                    $kind.into()
                }
                fn group(_: &()) -> Cow<'_, str> {
                    $group.into()
                }
                fn version(_: &()) -> Cow<'_, str> {
                    $version.into()
                }
                fn plural(_: &()) -> Cow<'_, str> {
                    $plural.into()
                }
                fn meta(&self) -> &ObjectMeta {
                    &self.metadata
                }
                fn meta_mut(&mut self) -> &mut ObjectMeta {
                    &mut self.metadata
                }
            }
        };
    }
    resource!(Job, "Job", "batch", "v1", "jobs");
    resource!(Pod, "Pod", "", "v1", "pods");
}
