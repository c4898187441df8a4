//! An in-process Kubernetes API-server double for the kube backend's tests and benchmark.
//!
//! It is a `tower::Service` behind a real `kube::Client`, so the launcher's requests go through
//! kube-rs exactly as they would to a cluster, and it answers with the real JSON shapes: objects
//! with uid, resourceVersion and creationTimestamp, `List` kinds with a list resourceVersion,
//! `Status` errors (403 Forbidden, 404 NotFound, 409 AlreadyExists, 422 Invalid), watch streams
//! of `{"type":...,"object":...}` lines that resume from a resourceVersion or answer
//! `410 Gone` (an ERROR event) once it has been compacted, and `timeoutSeconds` on watches.
//!
//! A small controller plays the Job controller, the scheduler and the kubelet: it creates the
//! Job's pod, runs it (reporting the runner container's `image` and `imageID` as containerd
//! does, see [`image_id`]), writes the runner's verdict as the container's termination
//! message, and sets the Job's conditions (Complete, or Failed by the podFailurePolicy); on
//! request it plays a full ResourceQuota (FailedCreate Events and no pod), an image that cannot
//! be pulled, an unschedulable pod, or a Job whose condition arrives before its pod's status.
//! Deleting a Job with Background or Foreground propagation removes what it owns, like the
//! garbage collector; Orphan (the API's default for Jobs) leaves the pods behind.
//!
//! For the preflight it serves `GET namespaces/{name}`, lists of `networkpolicies` and
//! `resourcequotas`, and `GET serviceaccounts/{name}`, from objects seeded per test:
//! [`Double::protect`] puts in place those of `policies/kubernetes/base`, [`Double::unprotect`]
//! a namespace without PSA labels or NetworkPolicy.
//!
//! `routes` answers the requests, `store` keeps the objects and their watch history, and
//! `controller` plays the cluster's side of a Job.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc;
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use serde_json::{Value, json};

mod controller;
mod routes;
mod store;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// What the simulated cluster does with a new Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Pod created, runs, terminates with the verdict.
    Normal,
    /// The namespace's quota is full: FailedCreate Events, never a pod.
    QuotaFull,
    /// The pod's image cannot be pulled.
    ImagePull,
    /// No node fits the pod.
    Unschedulable,
    /// The node cannot create the pod's sandbox: the pod stays Pending in ContainerCreating
    /// and the kubelet posts FailedCreatePodSandBox Warnings on the pod (seen on the lab with a
    /// runtime that refused the sandbox's spec), never on the Job.
    SandboxFails,
    /// The Job's terminal condition is written before the pod's terminated status, and the
    /// pod's status arrives late.
    JobFirst,
    /// The Job hits activeDeadlineSeconds while running: pod killed, Job Failed.
    Deadline,
    /// The pod's node stops answering mid-run (its kubelet is gone): the pod never reports
    /// its end, and at the deadline the Job gets FailureTarget but never Failed, since its pod
    /// never terminates (as on the lab with the kubelet stopped).
    NodeLost,
}

/// The runner container's end: exit code and termination message.
pub type Verdict = Arc<dyn Fn(&Value) -> (i32, String) + Send + Sync>;

#[derive(Clone)]
pub struct Config {
    pub namespace: String,
    pub mode: Mode,
    /// From Job creation to pod creation.
    pub pod_delay: Duration,
    /// From pod creation to running.
    pub start_delay: Duration,
    /// How long the match runs.
    pub run_time: Duration,
    /// From the pod's end to the Job's terminal condition (the Job controller's sync period).
    pub job_sync: Duration,
    /// The verdict of a Job (given the Job object).
    pub verdict: Verdict,
}

impl Config {
    pub fn new(verdict: Verdict) -> Self {
        Self {
            namespace: "games".into(),
            mode: Mode::Normal,
            pod_delay: Duration::from_millis(50),
            start_delay: Duration::from_millis(50),
            run_time: Duration::from_secs(2),
            job_sync: Duration::from_secs(1),
            verdict,
        }
    }
}

struct Watcher {
    id: u64,
    resource: &'static str,
    ns: String,
    selector: Vec<(String, Option<String>)>,
    tx: mpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>,
}

struct Fault {
    method: String,
    resource: String,
    code: u16,
}

/// What the double holds behind its one lock: the objects and their watch history, whose
/// methods are in `store`, and what the tests read back.
#[derive(Default)]
struct Inner {
    rv: u64,
    next_id: u64,
    /// resource -> (ns, name) -> object
    store: HashMap<&'static str, BTreeMap<(String, String), Value>>,
    /// (resourceVersion, resource, namespace, labels, the event's line as sent).
    history: VecDeque<(u64, &'static str, String, Value, Bytes)>,
    compacted: u64,
    watchers: Vec<Watcher>,
    counts: BTreeMap<String, u64>,
    faults: Vec<Fault>,
    deletes: Vec<(String, String, Option<String>)>,
    logs: HashMap<(String, String), String>,
    jobs_now: usize,
    jobs_max: usize,
    job_order: Vec<String>,
    /// CPU time spent inside the double (request handling, controller, watch fan-out).
    busy: Duration,
}

/// The double. Cheap to clone; every clone is the same server.
#[derive(Clone)]
pub struct Double {
    inner: Arc<Mutex<Inner>>,
    cfg: Arc<Mutex<Config>>,
}

/// CPU time of the calling thread (user and system).
pub fn thread_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_THREAD).map_or(Duration::ZERO, |u| {
        let t = |tv: nix::sys::time::TimeVal| {
            Duration::from_secs(u64::try_from(tv.tv_sec()).unwrap_or(0))
                + Duration::from_micros(u64::try_from(tv.tv_usec()).unwrap_or(0))
        };
        t(u.user_time()) + t(u.system_time())
    })
}

impl Double {
    pub fn new(cfg: Config) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner::default())),
            cfg: Arc::new(Mutex::new(cfg)),
        }
    }

    /// A kube client talking to this double.
    pub fn client(&self) -> kube::Client {
        let ns = self.cfg.lock().unwrap().namespace.clone();
        kube::Client::new(routes::Service(self.clone()), ns)
    }

    pub fn set_mode(&self, mode: Mode) {
        self.cfg.lock().unwrap().mode = mode;
    }

    pub fn set_run_time(&self, d: Duration) {
        self.cfg.lock().unwrap().run_time = d;
    }

    /// The next `method` request on `resource` fails with `code`.
    pub fn fail_next(&self, method: &str, resource: &str, code: u16) {
        self.inner.lock().unwrap().faults.push(Fault {
            method: method.into(),
            resource: resource.into(),
            code,
        });
    }

    /// Ends every open watch stream (the client sees the connection drop).
    pub fn drop_watches(&self) {
        self.inner.lock().unwrap().watchers.clear();
    }

    /// Forgets the event history: resuming a watch from an older resourceVersion gets 410.
    pub fn compact(&self) {
        let mut i = self.inner.lock().unwrap();
        i.compacted = i.rv;
        i.history.clear();
    }

    /// Requests by `METHOD resource` (METHOD is GET, LIST, WATCH, POST, PATCH, DELETE).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.inner.lock().unwrap().counts.clone()
    }

    pub fn count(&self, key: &str) -> u64 {
        self.counts().get(key).copied().unwrap_or(0)
    }

    pub fn total_requests(&self) -> u64 {
        self.counts().values().sum()
    }

    /// Names of the stored objects of one resource.
    pub fn names(&self, resource: &str) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .store
            .get(resource)
            .map(|m| m.keys().map(|(_, n)| n.clone()).collect())
            .unwrap_or_default()
    }

    pub fn object(&self, resource: &str, name: &str) -> Option<Value> {
        let i = self.inner.lock().unwrap();
        i.store
            .get(resource)?
            .iter()
            .find(|((_, n), _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// (resource, name, propagationPolicy) of every DELETE.
    pub fn deletes(&self) -> Vec<(String, String, Option<String>)> {
        self.inner.lock().unwrap().deletes.clone()
    }

    /// Most Jobs that existed at once.
    pub fn max_jobs(&self) -> usize {
        self.inner.lock().unwrap().jobs_max
    }

    /// Job names in creation order.
    pub fn job_order(&self) -> Vec<String> {
        self.inner.lock().unwrap().job_order.clone()
    }

    pub fn open_watches(&self) -> usize {
        let mut i = self.inner.lock().unwrap();
        i.watchers.retain(|w| !w.tx.is_closed());
        i.watchers.len()
    }

    pub fn busy(&self) -> Duration {
        self.inner.lock().unwrap().busy
    }

    /// Puts an object in place as if someone else had created it.
    pub fn insert(&self, resource: &'static str, obj: Value) {
        let mut i = self.inner.lock().unwrap();
        let _ = i.create(resource, obj);
    }

    /// Seeds namespace `ns` as `kubectl apply -k policies/kubernetes/base` (renamed to `ns`)
    /// leaves it: the Namespace with its PSA labels, the deny-all NetworkPolicy, the quota and
    /// the ServiceAccounts, read from the committed manifests.
    pub fn protect(&self, ns: &str) {
        for (file, resource) in [
            ("namespace.yaml", "namespaces"),
            ("networkpolicy.yaml", "networkpolicies"),
            ("resourcequota.yaml", "resourcequotas"),
            ("serviceaccounts.yaml", "serviceaccounts"),
        ] {
            for mut obj in base_manifests(file) {
                if resource == "namespaces" {
                    obj["metadata"]["name"] = json!(ns);
                } else {
                    obj["metadata"]["namespace"] = json!(ns);
                }
                self.insert(resource, obj);
            }
        }
    }

    /// Seeds namespace `ns` as a plain `kubectl create namespace` plus the base's quota and
    /// ServiceAccounts: no PSA labels and no NetworkPolicy.
    pub fn unprotect(&self, ns: &str) {
        self.insert("namespaces", json!({"metadata": {"name": ns}}));
        for (file, resource) in [
            ("resourcequota.yaml", "resourcequotas"),
            ("serviceaccounts.yaml", "serviceaccounts"),
        ] {
            for mut obj in base_manifests(file) {
                obj["metadata"]["namespace"] = json!(ns);
                self.insert(resource, obj);
            }
        }
    }

    /// Requests that read what the preflight reads.
    pub fn preflight_reads(&self) -> u64 {
        [
            "GET namespaces",
            "LIST networkpolicies",
            "LIST resourcequotas",
            "GET serviceaccounts",
        ]
        .iter()
        .map(|k| self.count(k))
        .sum()
    }
}

/// The `imageID` the kubelet reports for a container started from `image`, as containerd
/// gives it: the repository, named in full (Docker Hub's implicit `docker.io/library/`
/// spelled out), `@sha256:` and the manifest's digest. A pinned reference resolves to its own
/// digest; a tag to the sha256 of the reference, which stands in for whatever the registry
/// would answer and lets a test predict it.
pub fn image_id(image: &str) -> String {
    use sha2::Digest as _;
    let (reference, digest) = match image.split_once("@sha256:") {
        Some((reference, hex)) => (reference, hex.to_owned()),
        None => {
            let hex: String = sha2::Sha256::digest(image.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (image, hex)
        }
    };
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    let repo = match reference[last_slash..].rfind(':') {
        Some(colon) => &reference[..last_slash + colon],
        None => reference,
    };
    let repo = match repo.split_once('/') {
        Some((host, _)) if host.contains(['.', ':']) || host == "localhost" => repo.to_owned(),
        Some(_) => format!("docker.io/{repo}"),
        None => format!("docker.io/library/{repo}"),
    };
    format!("{repo}@sha256:{digest}")
}

/// The objects of one file of `policies/kubernetes/base`, as JSON.
fn base_manifests(file: &str) -> Vec<Value> {
    let path = format!(
        "{}/../policies/kubernetes/base/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    text.split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<Value>(doc).ok())
        .filter(|v| v.is_object())
        .collect()
}
