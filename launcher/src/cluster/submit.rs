//! Submitting a match: its Job (created suspended), its ConfigMap (owned by the Job), then the
//! resume; a retried submit of the same request attaches to the existing Job.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};

use super::errors::{api_error, is_already_exists, is_code};
use super::{KubeBackend, Submitted, lite};
use crate::backend::PlayOptions;
use crate::error::LaunchError;
use crate::names::labels;
use crate::outcome::Outcome;
use crate::plan::{self, Plan};
use crate::request::Match;

impl KubeBackend {
    /// Creates an object and reads back only its metadata. A 409 that is not AlreadyExists means nothing was created: the
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
                    tracing::debug!(
                        namespace = ns,
                        kind = %K::kind(&()),
                        attempt,
                        "create refused (409, not AlreadyExists: a quota update race); trying again"
                    );
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
                    if let Err(rollback) =
                        jobs.delete(&plan.name, &DeleteParams::background()).await
                    {
                        tracing::warn!(
                            "the ConfigMap of match {} could not be created, and its suspended Job {ns}/{} could not be deleted either ({rollback}); delete it with `launcher cancel {}`",
                            plan.match_id,
                            plan.name,
                            plan.match_id
                        );
                    }
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
        tracing::info!(
            match_id = %plan.match_id,
            namespace = ns,
            attached,
            resumed = awaiting_code,
            "submitted"
        );
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

    /// Submits, waits for the verdict, and deletes the Job (unless `opts.keep`).
    pub async fn play(&self, m: &Match, opts: PlayOptions) -> Result<Outcome, LaunchError> {
        let sub = self.submit(m).await?;
        // The shared watch lists before it watches, so a Job created before it started is
        // seen; one created just now may take a moment to arrive: hence `just_created`.
        let mut o = self
            .wait_for(&sub.namespace, &sub.match_id, opts.timeout, true)
            .await?;
        o.attached = sub.attached;
        o.preflight_overridden = sub.preflight_overridden;
        if !opts.keep {
            self.delete(&sub.namespace, &sub.name).await?;
        }
        Ok(o)
    }

    pub(super) async fn delete(&self, ns: &str, name: &str) -> Result<(), LaunchError> {
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
}
