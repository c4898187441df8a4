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
//! Before the first submit into a namespace it runs the [`crate::preflight`] (four
//! reads, once per namespace for the backend's life, not per match) and refuses a namespace that
//! fails it, unless [`KubeOptions::allow_unisolated_namespace`] says otherwise.
//!
//! Files: `connection` (kubeconfig), `errors` (API errors into launcher errors),
//! `admission` (the per-namespace preflight cache), `submit` (creating and resuming a
//! match's objects), `tracker` (the shared watches), `wait` (deciding from the watches'
//! state), `inspect` (status, result, logs, list), `control` (cancel, suspend, gc) and
//! `lite` (the partial objects the watches read).

mod admission;
mod connection;
mod control;
mod errors;
mod inspect;
mod lite;
mod submit;
mod tracker;
mod wait;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;
use kube::api::Api;

pub use connection::connect;
pub use errors::api_error;

use crate::error::LaunchError;
use crate::plan::ClusterSettings;
use crate::preflight::{Check, Preflight};
use tracker::Tracker;

pub const BACKEND: &str = "kube";

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

    fn ns<'a>(&'a self, ns: Option<&'a str>) -> &'a str {
        ns.unwrap_or(&self.settings.namespace)
    }

    /// Jobs, read as partial objects (metadata, suspend, status).
    fn jobs(&self, ns: &str) -> Api<lite::Job> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// The launcher's own Jobs in `ns`: those carrying its label.
    async fn launcher_jobs(
        &self,
        ns: &str,
    ) -> Result<kube::api::ObjectList<lite::Job>, LaunchError> {
        self.jobs(ns)
            .list(&kube::api::ListParams::default().labels(crate::names::labels::SELECTOR))
            .await
            .map_err(|e| api_error(e, "list", "jobs", ns))
    }
}
