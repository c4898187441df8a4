//! The plan: a pure function from a validated match (plus the cluster's settings) to the
//! Kubernetes objects that run it — an immutable ConfigMap with the spec and the code, and a
//! Job. No I/O, no clock: the same input gives byte-identical objects, which is what the
//! snapshot tests and `launcher render` show the security team.
//!
//! The same [`match_spec`] builds the runner's spec for the local backend, with host paths.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{
    Job, JobSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource,
    PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec, PodTemplateSpec,
    ResourceRequirements, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use runner::exit::RunnerExit;
use runner::spec::MatchSpec;
use runner::units::{Secs, Size};
use serde::Serialize;

use crate::error::RequestError;
use crate::names::{self, labels};
use crate::request::{CONFIGMAP_MAX_BYTES, Match, player_limits};

/// The uid and gid the image and every sandboxed process run as.
pub const RUN_AS: i64 = 65532;
/// The container's name (the podFailurePolicy names it).
pub const CONTAINER: &str = "runner";
/// Where the ConfigMap is mounted in the pod.
pub const CODE_DIR: &str = "/match";
/// The game in the image.
pub const IMAGE_GAME_DIR: &str = "/opt/game";
/// The interpreter in the image (and on a developer's machine).
pub const PYTHON: &str = "/usr/bin/python3";
/// The runner's output directory in the pod.
pub const OUT_DIR: &str = "/out";
/// Scratch space (the root filesystem is read-only).
pub const SCRATCH_DIR: &str = "/tmp";
pub const TERMINATION_LOG: &str = "/dev/termination-log";
pub const SPEC_KEY: &str = "spec.json";
/// The ConfigMap key of the runner profile, when the cluster settings ship one.
pub const PROFILE_KEY: &str = "profile.toml";
/// An image reference that says "set me": `render` works with it, the kube backend refuses it.
pub const PLACEHOLDER_IMAGE: &str = "localhost/game-sandbox/runner@sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// What the referee may use, whatever the players get.
const REFEREE_MEMORY: Size = Size::mib(256);
const REFEREE_OUTPUT: Size = Size::mib(1);
/// The referee outlives the players by this much, so it can report their timeouts.
const REFEREE_EXTRA_WALL_MS: u64 = 10_000;
/// The runner itself, Python's start-up above the sampled RSS, the page cache of the code.
const MEMORY_HEADROOM: Size = Size::mib(128);
/// result.json, replay.jsonl (staged then published: twice), report, logs' slack.
const OUT_HEADROOM: Size = Size::mib(48);
/// Container logs and anything else the kubelet charges to the pod's ephemeral storage.
const EPHEMERAL_HEADROOM: Size = Size::mib(64);

mod runner_spec;
mod settings;

pub use runner_spec::{Layout, match_spec, referee_limits};
pub use settings::ClusterSettings;

/// What the pod asks for (requests equal limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PodResources {
    pub cpu_millis: u32,
    pub memory: Size,
    /// The output emptyDir (zero when a PVC takes the artifacts).
    pub out_size: Size,
    pub scratch_size: Size,
    pub ephemeral_storage: Size,
}

/// The sum of every process's needs plus headroom, checked against the settings' ceilings.
pub fn pod_resources(m: &Match, s: &ClusterSettings) -> Result<PodResources, RequestError> {
    let n = u32::try_from(m.players.len()).unwrap_or(u32::MAX);
    let cpu_millis = s
        .cpu_base_millis
        .saturating_add(s.cpu_per_player_millis.saturating_mul(n));
    let players_memory: u64 = m.players.len() as u64 * player_limits::memory(&m.limits).bytes();
    let memory = Size(REFEREE_MEMORY.bytes() + players_memory + MEMORY_HEADROOM.bytes());
    // Each process's standard error is capped at its output limit; the referee's stdout is
    // the result (memory only).
    let logs =
        REFEREE_OUTPUT.bytes() + m.players.len() as u64 * player_limits::output(&m.limits).bytes();
    let out_size = if s.results_pvc.is_some() {
        Size(0)
    } else {
        round_mib(Size(logs + OUT_HEADROOM.bytes()))
    };
    let ephemeral_storage =
        Size(out_size.bytes() + s.scratch_size.bytes() + EPHEMERAL_HEADROOM.bytes());
    let r = PodResources {
        cpu_millis,
        memory,
        out_size,
        scratch_size: s.scratch_size,
        ephemeral_storage,
    };
    let over = |what: &str, v: String, max: String| {
        Err(RequestError::new(format!(
            "the pod would need {v} of {what} (the referee, {} players and headroom), over this cluster's per-pod maximum of {max}; lower the limits",
            m.players.len()
        )))
    };
    if r.cpu_millis > s.max_pod_cpu_millis {
        return over(
            "CPU",
            format!("{}m", r.cpu_millis),
            format!("{}m", s.max_pod_cpu_millis),
        );
    }
    if r.memory > s.max_pod_memory {
        return over("memory", r.memory.to_string(), s.max_pod_memory.to_string());
    }
    if r.ephemeral_storage > s.max_pod_ephemeral_storage {
        return over(
            "ephemeral storage",
            r.ephemeral_storage.to_string(),
            s.max_pod_ephemeral_storage.to_string(),
        );
    }
    Ok(r)
}

fn round_mib(s: Size) -> Size {
    Size(s.bytes().div_ceil(Size::MIB) * Size::MIB)
}

/// Kubernetes quantity for a byte count (binary suffix when exact).
fn bytes_quantity(s: Size) -> Quantity {
    let b = s.bytes();
    Quantity(if b != 0 && b.is_multiple_of(Size::GIB) {
        format!("{}Gi", b / Size::GIB)
    } else if b != 0 && b.is_multiple_of(Size::MIB) {
        format!("{}Mi", b / Size::MIB)
    } else if b != 0 && b.is_multiple_of(Size::KIB) {
        format!("{}Ki", b / Size::KIB)
    } else {
        b.to_string()
    })
}

/// The objects that run one match.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub match_id: String,
    pub namespace: String,
    /// The Job's and the ConfigMap's name.
    pub name: String,
    pub config_map: ConfigMap,
    pub job: Job,
    pub spec: MatchSpec,
    pub resources: PodResources,
    /// sha256 of the ConfigMap's data: what the match runs.
    pub request_sha256: String,
    pub priority: i32,
}

/// Builds the plan. Pure: no I/O, no clock.
pub fn plan(m: &Match, s: &ClusterSettings) -> Result<Plan, RequestError> {
    s.validate()?;
    let namespace = s.namespace_for(m);
    let name = names::object_name(&m.id);
    let resources = pod_resources(m, s)?;
    let mut spec = match_spec(m, &Layout::pod());
    if s.sandbox_profile.is_some() {
        spec.profile = Some(Path::new(CODE_DIR).join(PROFILE_KEY));
    }
    let spec_json = serde_json::to_string_pretty(&spec)
        .map_err(|e| RequestError::new(format!("cannot serialise the spec: {e}")))?;

    // The ConfigMap: spec.json and one file per player.
    let mut data = BTreeMap::from([(SPEC_KEY.to_owned(), spec_json)]);
    if let Some(text) = &s.sandbox_profile {
        data.insert(PROFILE_KEY.to_owned(), text.clone());
    }
    let mut binary = BTreeMap::new();
    for p in &m.players {
        match String::from_utf8(p.code.clone()) {
            Ok(text) => {
                data.insert(p.file_name(), text);
            }
            Err(e) => {
                binary.insert(p.file_name(), ByteString(e.into_bytes()));
            }
        }
    }
    let size: usize = data.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + binary
            .iter()
            .map(|(k, v)| k.len() + v.0.len())
            .sum::<usize>();
    if size > CONFIGMAP_MAX_BYTES {
        return Err(RequestError::new(format!(
            "the ConfigMap would hold {size} bytes, over the {CONFIGMAP_MAX_BYTES} bytes the API server accepts"
        )));
    }
    let request_sha256 = digest(
        data.iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .chain(binary.iter().map(|(k, v)| (k.as_str(), v.0.as_slice()))),
    );

    let mut object_labels = BTreeMap::from([
        (labels::NAME.to_owned(), "game-match".to_owned()),
        (labels::MANAGED_BY.to_owned(), "launcher".to_owned()),
        (labels::PART_OF.to_owned(), "game-sandbox".to_owned()),
        (labels::MATCH_ID.to_owned(), m.id.clone()),
        (labels::GAME.to_owned(), m.game.name.to_owned()),
        (
            labels::TENANT.to_owned(),
            m.tenant.clone().unwrap_or_else(|| namespace.clone()),
        ),
    ]);
    for (k, v) in &m.labels {
        object_labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let annotations = BTreeMap::from([
        (labels::REQUEST_SHA256.to_owned(), request_sha256.clone()),
        (labels::PRIORITY.to_owned(), m.priority.to_string()),
        (
            labels::PLAYERS.to_owned(),
            m.players
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]);
    let meta = |labels: &BTreeMap<String, String>| ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(namespace.clone()),
        labels: Some(labels.clone()),
        annotations: Some(annotations.clone()),
        ..ObjectMeta::default()
    };
    let mut job_meta = meta(&object_labels);
    job_meta
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(labels::AWAITING_CODE.to_owned(), "true".to_owned());
    if s.seccomp_localhost_profile.is_some() {
        add_checkov_skip(&mut job_meta, SKIP_LOCALHOST_SECCOMP);
    }

    let config_map = ConfigMap {
        metadata: meta(&object_labels),
        immutable: Some(true),
        data: Some(data),
        binary_data: (!binary.is_empty()).then_some(binary),
    };

    let deadline_secs = i64::try_from(
        (referee_limits(m).wall_time.map_or(0, Secs::as_millis) + s.deadline_margin.as_millis())
            .div_ceil(1000),
    )
    .unwrap_or(i64::MAX);
    let pod_spec = pod_spec(&name, m, s, &resources);
    let job = Job {
        metadata: job_meta,
        spec: Some(JobSpec {
            // Created suspended: the ConfigMap can only name the Job as its owner once the Job
            // exists, and a pod started before its ConfigMap is refused the volume and retried
            // on the kubelet's backoff, for a minute and more (seen on the lab). The launcher
            // resumes the Job once the ConfigMap is in.
            suspend: Some(true),
            backoff_limit: Some(0),
            active_deadline_seconds: Some(deadline_secs),
            ttl_seconds_after_finished: Some(s.ttl_seconds_after_finished),
            pod_replacement_policy: Some("Failed".to_owned()),
            pod_failure_policy: Some(PodFailurePolicy {
                rules: vec![
                    // The runner's infrastructure failures: running again will not help.
                    PodFailurePolicyRule {
                        action: "FailJob".to_owned(),
                        on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                            container_name: Some(CONTAINER.to_owned()),
                            operator: "In".to_owned(),
                            values: RunnerExit::NON_RETRYABLE
                                .iter()
                                .map(|c| i32::from(c.code()))
                                .collect(),
                        }),
                        on_pod_conditions: None,
                    },
                    // Evictions, preemptions, node drains: not the match's fault, not counted.
                    PodFailurePolicyRule {
                        action: "Ignore".to_owned(),
                        on_exit_codes: None,
                        on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                            type_: "DisruptionTarget".to_owned(),
                            status: "True".to_owned(),
                        }]),
                    },
                ],
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(object_labels.clone()),
                    annotations: Some(annotations.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec),
            },
            ..JobSpec::default()
        }),
        status: None,
    };
    Ok(Plan {
        match_id: m.id.clone(),
        namespace,
        name,
        config_map,
        job,
        spec,
        resources,
        request_sha256,
        priority: m.priority,
    })
}

/// checkov's CKV_K8S_31 accepts only RuntimeDefault; a Localhost profile is the cluster's own,
/// stricter one.
const SKIP_LOCALHOST_SECCOMP: &str = "CKV_K8S_31=seccomp is a Localhost profile chosen by the cluster settings (stricter than RuntimeDefault), which this check does not recognise";
/// A run-to-completion pod has no service to probe (checkov exempts Jobs, not bare Pods).
const SKIP_PROBES: [&str; 2] = [
    "CKV_K8S_8=run-to-completion game pod: no long-running service for a liveness probe; the runner enforces its own deadlines",
    "CKV_K8S_9=run-to-completion game pod: no service to receive traffic, so no readiness probe",
];

/// Adds an inline checkov skip (`checkov.io/skipN: CKV_ID=reason`) to an object. Each skipped
/// ID must also be explained in policies/README.md (tests/audit/run checks).
fn add_checkov_skip(meta: &mut ObjectMeta, skip: &str) {
    let ann = meta.annotations.get_or_insert_with(BTreeMap::new);
    let n = (1..)
        .find(|i| !ann.contains_key(&format!("checkov.io/skip{i}")))
        .unwrap_or(1);
    ann.insert(format!("checkov.io/skip{n}"), skip.to_owned());
}

/// sha256 over named byte strings, in name order: what a match runs (spec and code).
pub fn digest<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    use sha2::Digest as _;
    let mut sorted: Vec<_> = entries.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = sha2::Sha256::new();
    for (k, v) in sorted {
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_be_bytes());
        h.update(v);
    }
    runner::digest::hex(&h.finalize())
}

fn pod_spec(name: &str, m: &Match, s: &ClusterSettings, r: &PodResources) -> PodSpec {
    let seccomp = match &s.seccomp_localhost_profile {
        Some(p) => SeccompProfile {
            type_: "Localhost".to_owned(),
            localhost_profile: Some(p.clone()),
        },
        None => SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            localhost_profile: None,
        },
    };
    let quantities = BTreeMap::from([
        ("cpu".to_owned(), Quantity(format!("{}m", r.cpu_millis))),
        ("memory".to_owned(), bytes_quantity(r.memory)),
        (
            "ephemeral-storage".to_owned(),
            bytes_quantity(r.ephemeral_storage),
        ),
    ]);
    let out_volume = match &s.results_pvc {
        Some(claim) => Volume {
            name: "out".to_owned(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.clone(),
                read_only: Some(false),
            }),
            ..Volume::default()
        },
        None => Volume {
            name: "out".to_owned(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: None,
                size_limit: Some(bytes_quantity(r.out_size)),
            }),
            ..Volume::default()
        },
    };
    let mount = |volume: &str, path: &str, read_only: bool, sub_path: Option<String>| VolumeMount {
        name: volume.to_owned(),
        mount_path: path.to_owned(),
        read_only: Some(read_only),
        sub_path,
        ..VolumeMount::default()
    };
    PodSpec {
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        host_users: s.user_namespace.then_some(false),
        runtime_class_name: s.runtime_class.clone(),
        restart_policy: Some("Never".to_owned()),
        service_account_name: s.service_account.clone(),
        priority_class_name: s.priority_class.clone(),
        termination_grace_period_seconds: Some(15),
        node_selector: (!s.node_selector.is_empty()).then(|| s.node_selector.clone()),
        tolerations: (!s.tolerations.is_empty()).then(|| s.tolerations.clone()),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            fs_group: Some(RUN_AS),
            seccomp_profile: Some(seccomp.clone()),
            ..PodSecurityContext::default()
        }),
        containers: vec![Container {
            name: CONTAINER.to_owned(),
            image: Some(s.image.clone()),
            image_pull_policy: Some("IfNotPresent".to_owned()),
            args: Some(vec![
                "run".to_owned(),
                "--spec".to_owned(),
                format!("{CODE_DIR}/{SPEC_KEY}"),
            ]),
            resources: Some(ResourceRequirements {
                requests: Some(quantities.clone()),
                limits: Some(quantities),
                ..ResourceRequirements::default()
            }),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                privileged: Some(false),
                read_only_root_filesystem: Some(true),
                run_as_non_root: Some(true),
                run_as_user: Some(RUN_AS),
                run_as_group: Some(RUN_AS),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".to_owned()]),
                    add: None,
                }),
                seccomp_profile: Some(seccomp),
                ..SecurityContext::default()
            }),
            termination_message_path: Some(TERMINATION_LOG.to_owned()),
            termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
            volume_mounts: Some(vec![
                mount("code", CODE_DIR, true, None),
                mount("scratch", SCRATCH_DIR, false, None),
                mount(
                    "out",
                    OUT_DIR,
                    false,
                    s.results_pvc.as_ref().map(|_| m.id.clone()),
                ),
            ]),
            ..Container::default()
        }],
        volumes: Some(vec![
            Volume {
                name: "code".to_owned(),
                config_map: Some(ConfigMapVolumeSource {
                    name: name.to_owned(),
                    default_mode: Some(0o444),
                    optional: Some(false),
                    items: None,
                }),
                ..Volume::default()
            },
            Volume {
                name: "scratch".to_owned(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: None,
                    size_limit: Some(bytes_quantity(r.scratch_size)),
                }),
                ..Volume::default()
            },
            out_volume,
        ]),
        ..PodSpec::default()
    }
}

impl Plan {
    /// The Job's pod as a bare Pod (for `podman kube play`, or a cluster without the Job
    /// controller): same spec, same deadline, no Job around it.
    pub fn pod(&self) -> Pod {
        let template = self.job.spec.as_ref().map(|s| s.template.clone());
        let meta = template
            .as_ref()
            .and_then(|t| t.metadata.clone())
            .unwrap_or_default();
        let mut spec = template.and_then(|t| t.spec).unwrap_or_default();
        spec.active_deadline_seconds = self
            .job
            .spec
            .as_ref()
            .and_then(|s| s.active_deadline_seconds);
        let mut metadata = ObjectMeta {
            name: Some(self.name.clone()),
            namespace: Some(self.namespace.clone()),
            annotations: self.job.metadata.annotations.clone(),
            ..meta
        };
        // A bare pod starts at once: it awaits nothing.
        if let Some(a) = metadata.annotations.as_mut() {
            a.remove(labels::AWAITING_CODE);
        }
        for skip in SKIP_PROBES {
            add_checkov_skip(&mut metadata, skip);
        }
        Pod {
            metadata,
            spec: Some(spec),
            status: None,
        }
    }

    /// The objects as a YAML stream: the ConfigMap, then the Job (or the bare Pod).
    pub fn to_yaml(&self, as_pod: bool) -> Result<String, RequestError> {
        let cm = to_yaml(&self.config_map)?;
        let (what, second) = if as_pod {
            ("Pod", to_yaml(&self.pod())?)
        } else {
            ("Job", to_yaml(&self.job)?)
        };
        Ok(format!(
            "# Match {id}: an immutable ConfigMap (spec.json and the players' code) and the {what}.\n\
             # Rendered by `launcher render`; the kube backend also sets the ConfigMap's\n\
             # ownerReference to the Job's uid once the Job exists.\n\
             ---\n{cm}---\n{second}",
            id = self.match_id
        ))
    }
}

/// One object as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, RequestError> {
    serde_saphyr::to_string(value).map_err(|e| RequestError::new(format!("cannot write YAML: {e}")))
}

/// The output path of a match's artifacts inside the results PVC.
pub fn pvc_sub_path(match_id: &str) -> &Path {
    Path::new(match_id)
}
