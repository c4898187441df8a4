//! The admission of a namespace: its preflight, read once per namespace for the backend's life
//! and shared by concurrent submits.

use std::sync::PoisonError;

use super::KubeBackend;
use crate::error::LaunchError;
use crate::preflight::{self, Check, Preflight};

impl KubeBackend {
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
    /// [`KubeOptions::allow_unisolated_namespace`](super::KubeOptions::allow_unisolated_namespace) is set, [`LaunchError::Unisolated`]
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
}
