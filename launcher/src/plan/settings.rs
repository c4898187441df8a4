//! How a cluster runs game pods: the settings every plan of that cluster shares.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use runner::units::{Secs, Size};
use serde::{Deserialize, Serialize};

use super::PLACEHOLDER_IMAGE;
use crate::error::RequestError;
use crate::names;
use crate::request::Match;

/// How this cluster runs game pods. Read from `--settings FILE` (YAML or JSON) or flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// The runner image, pinned by digest (`REPO@sha256:HEX`).
    pub image: String,
    /// Namespace when the request names neither a namespace nor a tenant.
    pub namespace: String,
    /// A RuntimeClass (`gvisor`, `kata`) for a second kernel boundary.
    pub runtime_class: Option<String>,
    /// `hostUsers: false`: the pod gets its own user namespace.
    pub user_namespace: bool,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    /// A PVC that receives each match's artifacts under the sub-path `<match-id>`.
    /// None: the artifacts live in an emptyDir and only the verdict comes back.
    pub results_pvc: Option<String>,
    /// A `Localhost` seccomp profile (relative to the kubelet's seccomp directory) instead of
    /// `RuntimeDefault`.
    pub seccomp_localhost_profile: Option<String>,
    pub service_account: Option<String>,
    pub priority_class: Option<String>,
    pub ttl_seconds_after_finished: i32,
    /// activeDeadlineSeconds = the referee's wall limit plus this (pull, schedule, start).
    pub deadline_margin: Secs,
    pub cpu_base_millis: u32,
    pub cpu_per_player_millis: u32,
    pub scratch_size: Size,
    /// Refuse plans above these (the namespace's LimitRange `max`).
    pub max_pod_cpu_millis: u32,
    pub max_pod_memory: Size,
    pub max_pod_ephemeral_storage: Size,
    /// A runner profile (its TOML text) shipped in the match's ConfigMap and named by the
    /// spec instead of the one embedded in the runner: `policies/sandbox/namespaces.toml` with
    /// a runtime class that has no Landlock (gVisor). None: the embedded profile (Landlock).
    pub sandbox_profile: Option<String>,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self {
            image: PLACEHOLDER_IMAGE.to_owned(),
            namespace: "games".to_owned(),
            runtime_class: None,
            user_namespace: false,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            results_pvc: None,
            seccomp_localhost_profile: None,
            service_account: Some("game".to_owned()),
            priority_class: None,
            ttl_seconds_after_finished: 3600,
            deadline_margin: Secs::from_millis(120_000),
            cpu_base_millis: 500,
            cpu_per_player_millis: 250,
            scratch_size: Size::mib(64),
            max_pod_cpu_millis: 2000,
            max_pod_memory: Size::mib(2048),
            max_pod_ephemeral_storage: Size::mib(1024),
            sandbox_profile: None,
        }
    }
}

impl ClusterSettings {
    /// Checks what the types cannot: the image is pinned by digest, names are valid.
    pub fn validate(&self) -> Result<(), RequestError> {
        if let Some(text) = &self.sandbox_profile {
            runner::profile::Profile::from_text(text, "sandbox_profile")
                .map_err(|e| RequestError::new(format!("cluster settings: {e}")))?;
        }
        let Some((repo, _)) = self.image.split_once("@sha256:") else {
            return Err(RequestError::new(format!(
                "image {:?} must be pinned by digest (REPOSITORY@sha256:HEX)",
                self.image
            )));
        };
        if repo.is_empty() || names::image_digest(&self.image).is_none() {
            return Err(RequestError::new(format!(
                "image {:?}: the digest must be 64 lower-case hex digits",
                self.image
            )));
        }
        if !names::is_dns_label(&self.namespace, 63) {
            return Err(RequestError::new(format!(
                "namespace {:?} is not a DNS-1123 label",
                self.namespace
            )));
        }
        for (what, v) in [
            ("runtime class", &self.runtime_class),
            ("results PVC", &self.results_pvc),
            ("service account", &self.service_account),
            ("priority class", &self.priority_class),
        ] {
            if let Some(v) = v
                && !v.split('.').all(|p| names::is_dns_label(p, 63))
            {
                return Err(RequestError::new(format!(
                    "{what} {v:?} is not a DNS-1123 name"
                )));
            }
        }
        if self.ttl_seconds_after_finished < 0 {
            return Err(RequestError::new("ttl_seconds_after_finished must be >= 0"));
        }
        Ok(())
    }

    pub fn uses_placeholder_image(&self) -> bool {
        self.image == PLACEHOLDER_IMAGE
    }

    /// The namespace a match runs in.
    pub fn namespace_for(&self, m: &Match) -> String {
        match (&m.namespace, &m.tenant) {
            (Some(ns), _) => ns.clone(),
            (None, Some(t)) => format!("games-{t}"),
            (None, None) => self.namespace.clone(),
        }
    }
}
