//! Acting on matches already submitted: cancel, suspend or resume, and garbage collection.

use std::time::Duration;

use kube::api::{DeleteParams, Patch, PatchParams};

use super::KubeBackend;
use super::errors::job_error;
use crate::backend::MatchRef;
use crate::error::LaunchError;
use crate::names;

impl KubeBackend {
    /// Stops a match: deletes its Job with background propagation (pods and ConfigMap go too).
    pub async fn cancel(&self, m: MatchRef<'_>) -> Result<(), LaunchError> {
        let (ns, id) = (self.ns(m.namespace), m.id);
        self.jobs(ns)
            .delete(&names::object_name(id), &DeleteParams::background())
            .await
            .map(drop)
            .map_err(|e| job_error(e, "delete", ns, id))
    }

    /// Suspends (true) or resumes (false) a match's Job. Suspending deletes its running pod;
    /// resuming starts the match again from the beginning.
    pub async fn set_suspended(&self, m: MatchRef<'_>, suspend: bool) -> Result<(), LaunchError> {
        let (ns, id) = (self.ns(m.namespace), m.id);
        let patch = serde_json::json!({ "spec": { "suspend": suspend } });
        self.jobs(ns)
            .patch(
                &names::object_name(id),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map(drop)
            .map_err(|e| job_error(e, "patch", ns, id))
    }

    /// Deletes finished Jobs (Complete or Failed) that finished more than `older_than` ago.
    pub async fn gc(
        &self,
        ns: Option<&str>,
        older_than: Duration,
    ) -> Result<Vec<String>, LaunchError> {
        let ns = self.ns(ns);
        let list = self.launcher_jobs(ns).await?;
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
