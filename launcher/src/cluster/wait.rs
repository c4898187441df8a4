//! Waiting for a match's verdict: each step is decided from the shared watches' state alone
//! ([`decide`]), and the few reads off the happy path (a Job the watch has not listed, a Job
//! or pod that does not start, a verdict late after the Job ended) happen here.

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use runner::exit::RunnerExit;
use runner::report::Summary;
use tokio::time::Instant;

use super::errors::api_error;
use super::tracker::{FailureKind, JobSeen, PodSeen, TrackState, has_verdict};
use super::{BACKEND, KubeBackend, KubeOptions, lite};
use crate::backend::MatchRef;
use crate::error::LaunchError;
use crate::names;
use crate::outcome::{Artifacts, GameUsed, Outcome, Verdict};
use crate::plan;

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

/// How long a watch that had worked may be refused (403) or unanswered before waiting on it
/// fails. Long enough for the API server to restart, which on the lab's loaded 2-core node
/// took more than the 30 s this used to be (an upgrade of a real control plane can take as
/// long): a match keeps running meanwhile, and its wait should outlast the outage. A watch
/// that never listed (a wrong context, no such server) still fails at once, and the wait's
/// own timeout still bounds the whole.
const WATCH_FAILURE_GRACE: Duration = Duration::from_secs(120);

/// Warnings on a pod that has not started which the kubelet keeps retrying but which do not
/// clear by themselves: a runtime that cannot create the pod's sandbox (a broken CNI, a runtime
/// refusing the spec), a volume that cannot be mounted (a missing claim or profile).
const STUCK_POD_EVENTS: &[&str] = &[
    "FailedCreatePodSandBox",
    "FailedMount",
    "FailedAttachVolume",
];

impl KubeBackend {
    /// Waits for a match's verdict through the namespace's shared watch.
    pub async fn wait(
        &self,
        m: MatchRef<'_>,
        timeout: Option<Duration>,
    ) -> Result<Outcome, LaunchError> {
        let ns = self.ns(m.namespace).to_owned();
        self.wait_for(&ns, m.id, timeout, false).await
    }

    pub(super) async fn wait_for(
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
            tracing::debug!(match_id = id, namespace = %ns, ?step, "wait: decided");
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
                            let found = tracker.with(|s| Found::from_state(s, &name));
                            return Ok(self.cannot_start(id, &ns, why, &found));
                        }
                    }
                    events_read_at.map(|t| t + self.opts.start_grace)
                }
                Step::Stuck(why) => {
                    let found = tracker.with(|s| Found::from_state(s, &name));
                    return Ok(self.cannot_start(id, &ns, why, &found));
                }
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

    fn cannot_start(&self, id: &str, ns: &str, why: String, found: &Found) -> Outcome {
        let mut o = Outcome::failed(id, BACKEND, Verdict::CannotStart, why);
        o.namespace = Some(ns.to_owned());
        o.game = Some(found.game(&self.settings.image));
        o
    }

    pub(super) fn finish_outcome(&self, id: &str, ns: &str, found: Found) -> Outcome {
        let mut o = found.outcome(id);
        o.namespace = Some(ns.to_owned());
        o.game = Some(found.game(&self.settings.image));
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

    pub(super) async fn job_pods(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<Vec<lite::Pod>, LaunchError> {
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
}

/// What the watches found about a match that has ended.
#[derive(Debug, Clone)]
pub(super) struct Found {
    job: Option<JobSeen>,
    pub(super) pod: Option<PodSeen>,
}

impl Found {
    pub(super) fn from_state(s: &TrackState, name: &str) -> Self {
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

    /// What the match was played with: what its pod's runner container ran, as the kubelet
    /// reports it. A match whose pod never ran anything was played with nothing, so it names
    /// the image it was submitted with (the Job's template), and only when even the Job is
    /// gone the image these settings would submit.
    fn game(&self, settings_image: &str) -> GameUsed {
        self.pod
            .as_ref()
            .and_then(PodSeen::game)
            .unwrap_or_else(|| {
                let submitted = self
                    .job
                    .as_ref()
                    .and_then(|j| j.image.as_deref())
                    .unwrap_or(settings_image);
                GameUsed {
                    source: submitted.to_owned(),
                    digest: names::image_digest(submitted)
                        .unwrap_or_default()
                        .to_owned(),
                }
            })
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
#[derive(Debug)]
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
    if let Some(f) = &s.fatal {
        // Refused or unanswered before it ever listed: the Role lacks the right, or the API
        // server is not there; say so now. After it had worked: an API server that has just
        // restarted is away, then refuses for a moment until its authorizer has caught up
        // (seen on the lab), so only a failure that lasts fails the wait.
        let listed = if f.resource == "jobs" {
            s.jobs_listed
        } else {
            s.pods_listed
        };
        let failed_for = now.saturating_duration_since(f.since);
        if !listed || failed_for >= WATCH_FAILURE_GRACE {
            return Step::Fail(match f.kind {
                FailureKind::Forbidden => LaunchError::Watch {
                    resource: f.resource.to_owned(),
                    hint: format!(
                        "the launcher needs list and watch on {}; see policies/kubernetes/base/role-launcher.yaml",
                        f.resource
                    ),
                    source: f.error.clone(),
                },
                FailureKind::Unreachable => LaunchError::Unreachable {
                    source: f.error.clone(),
                },
            });
        }
        return Step::Wait(Some(waited + (WATCH_FAILURE_GRACE - failed_for)));
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
