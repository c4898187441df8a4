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
//! Job's pod, runs it, writes the runner's verdict as the container's termination message, and
//! sets the Job's conditions (Complete, or Failed by the podFailurePolicy); on request it plays
//! a full ResourceQuota (FailedCreate Events and no pod), an image that cannot be pulled, an
//! unschedulable pod, or a Job whose condition arrives before its pod's status. Deleting a Job
//! with Background or Foreground propagation removes what it owns, like the garbage collector;
//! Orphan (the API's default for Jobs) leaves the pods behind.
//!
//! For the preflight it serves `GET namespaces/{name}`, lists of `networkpolicies` and
//! `resourcequotas`, and `GET serviceaccounts/{name}`, from objects seeded per test:
//! [`Double::protect`] puts in place those of `policies/kubernetes/base`, [`Double::unprotect`]
//! a namespace without PSA labels or NetworkPolicy.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use serde_json::{Value, json};

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

/// Events kept for resuming watches (older ones are compacted away).
const HISTORY_MAX: usize = 4096;

const RESOURCES: [&str; 8] = [
    "jobs",
    "pods",
    "configmaps",
    "events",
    "namespaces",
    "networkpolicies",
    "resourcequotas",
    "serviceaccounts",
];

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn kind_of(resource: &str) -> (&'static str, &'static str) {
    match resource {
        "jobs" => ("batch/v1", "Job"),
        "pods" => ("v1", "Pod"),
        "configmaps" => ("v1", "ConfigMap"),
        "namespaces" => ("v1", "Namespace"),
        "networkpolicies" => ("networking.k8s.io/v1", "NetworkPolicy"),
        "resourcequotas" => ("v1", "ResourceQuota"),
        "serviceaccounts" => ("v1", "ServiceAccount"),
        _ => ("v1", "Event"),
    }
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

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

fn parse_selector(s: &str) -> Vec<(String, Option<String>)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim_end_matches('=').to_owned(), Some(v.to_owned())),
            None => (p.to_owned(), None),
        })
        .collect()
}

fn labels_match(obj: &Value, sel: &[(String, Option<String>)]) -> bool {
    sel.iter().all(|(k, v)| {
        let got = obj["metadata"]["labels"].get(k).and_then(Value::as_str);
        match v {
            Some(v) => got == Some(v.as_str()),
            None => got.is_some(),
        }
    })
}

fn fields_match(obj: &Value, sel: &[(String, Option<String>)]) -> bool {
    sel.iter().all(|(k, v)| {
        let mut cur = obj;
        for part in k.split('.') {
            cur = &cur[part];
        }
        cur.as_str() == v.as_deref()
    })
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn respond(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed_unsync())
        .unwrap()
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
        kube::Client::new(Service(self.clone()), ns)
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

impl Inner {
    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn emit(&mut self, resource: &'static str, ns: &str, kind: &'static str, obj: &Value) {
        let rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(self.rv);
        let line = Bytes::from(format!("{}\n", json!({"type": kind, "object": obj})));
        let labels = json!({"metadata": {"labels": obj["metadata"]["labels"]}});
        self.history
            .push_back((rv, resource, ns.to_owned(), labels, line.clone()));
        if self.history.len() > HISTORY_MAX {
            // Like etcd compaction: old revisions go; watches from before them get 410.
            while self.history.len() > HISTORY_MAX / 2 {
                if let Some((rv, ..)) = self.history.pop_front() {
                    self.compacted = rv;
                }
            }
        }
        self.watchers.retain(|w| {
            if w.resource != resource || w.ns != ns || !labels_match(obj, &w.selector) {
                return !w.tx.is_closed();
            }
            w.tx.unbounded_send(Ok(Frame::data(line.clone()))).is_ok()
        });
    }

    fn create(&mut self, resource: &'static str, mut obj: Value) -> Result<Value, Value> {
        // Namespaces are cluster-scoped: kept under the empty namespace.
        let ns = if resource == "namespaces" {
            String::new()
        } else {
            obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("games")
                .to_owned()
        };
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let store = self.store.entry(resource).or_default();
        if store.contains_key(&(ns.clone(), name.clone())) {
            let (_, kind) = kind_of(resource);
            return Err(status(
                409,
                "AlreadyExists",
                &format!(
                    "{}.{} \"{name}\" already exists",
                    resource,
                    if kind == "Job" { "batch" } else { "" }
                )
                .replace(". ", " "),
            ));
        }
        let rv = self.bump();
        self.next_id += 1;
        let (api, kind) = kind_of(resource);
        obj["apiVersion"] = json!(api);
        obj["kind"] = json!(kind);
        if resource == "namespaces" {
            // What the API server adds to every Namespace.
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        let meta = &mut obj["metadata"];
        if resource != "namespaces" {
            meta["namespace"] = json!(ns);
        }
        meta["uid"] = json!(format!("uid-{:08}", self.next_id));
        meta["resourceVersion"] = json!(rv.to_string());
        meta["creationTimestamp"] = json!(now());
        if resource == "jobs" {
            self.jobs_now += 1;
            self.jobs_max = self.jobs_max.max(self.jobs_now);
            self.job_order.push(name.clone());
        }
        self.store
            .entry(resource)
            .or_default()
            .insert((ns.clone(), name), obj.clone());
        self.emit(resource, &ns, "ADDED", &obj);
        Ok(obj)
    }

    fn update(
        &mut self,
        resource: &'static str,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let rv = self.bump();
        let obj = self
            .store
            .get_mut(resource)?
            .get_mut(&(ns.to_owned(), name.to_owned()))?;
        f(obj);
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let obj = obj.clone();
        self.emit(resource, ns, "MODIFIED", &obj);
        Some(obj)
    }

    fn remove(&mut self, resource: &'static str, ns: &str, name: &str) -> Option<Value> {
        let mut obj = self
            .store
            .get_mut(resource)?
            .remove(&(ns.to_owned(), name.to_owned()))?;
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        if resource == "jobs" {
            self.jobs_now -= 1;
        }
        self.emit(resource, ns, "DELETED", &obj);
        Some(obj)
    }

    fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.store
            .get(resource)?
            .get(&(ns.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Deletes a Job; with Background/Foreground propagation, everything it owns too.
    fn delete_job(&mut self, ns: &str, name: &str, policy: Option<&str>) -> Option<Value> {
        let job = self.remove("jobs", ns, name)?;
        if matches!(policy, Some("Background" | "Foreground")) {
            let uid = job["metadata"]["uid"].clone();
            for resource in ["pods", "configmaps"] {
                let owned: Vec<String> = self
                    .store
                    .get(resource)
                    .map(|m| {
                        m.iter()
                            .filter(|((n, _), o)| {
                                n == ns
                                    && o["metadata"]["ownerReferences"]
                                        .as_array()
                                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
                            })
                            .map(|((_, name), _)| name.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                for o in owned {
                    self.remove(
                        if resource == "pods" {
                            "pods"
                        } else {
                            "configmaps"
                        },
                        ns,
                        &o,
                    );
                }
            }
        }
        Some(job)
    }
}

/// The tower service kube's client calls.
pub struct Service(Double);

impl tower::Service<Request<kube::client::Body>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<kube::client::Body>) -> Self::Future {
        let double = self.0.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = body.collect_bytes().await.unwrap_or_default();
            Ok(double.handle(&parts.method, &parts.uri, &body))
        })
    }
}

fn query(uri: &http::Uri) -> HashMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(c) => {
                        out.push(c);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Double {
    fn handle(&self, method: &http::Method, uri: &http::Uri, body: &[u8]) -> Response<Body> {
        let t0 = thread_cpu();
        let r = self.route(method, uri, body);
        self.inner.lock().unwrap().busy += thread_cpu().saturating_sub(t0);
        r
    }

    fn route(&self, method: &http::Method, uri: &http::Uri, body: &[u8]) -> Response<Body> {
        let path: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
        // api/v1/namespaces/NS/RES[/NAME[/log]], apis/batch/v1/namespaces/NS/RES[/NAME],
        // apis/networking.k8s.io/v1/namespaces/NS/RES, or api/v1/namespaces/NAME (the Namespace).
        if let ["api", "v1", "namespaces", name] = path.as_slice() {
            return self.resource(method, uri, body, "", "namespaces", Some(name), None);
        }
        let rest = match path.as_slice() {
            ["api", "v1", "namespaces", rest @ ..] => rest,
            ["apis", "batch", "v1", "namespaces", rest @ ..] => rest,
            ["apis", "networking.k8s.io", "v1", "namespaces", rest @ ..] => rest,
            _ => {
                return respond(
                    404,
                    &status(
                        404,
                        "NotFound",
                        "the server could not find the requested resource",
                    ),
                );
            }
        };
        let (ns, resource, name, sub) = match rest {
            [ns, r] => (*ns, *r, None, None),
            [ns, r, n] => (*ns, *r, Some(*n), None),
            [ns, r, n, s] => (*ns, *r, Some(*n), Some(*s)),
            _ => return respond(404, &status(404, "NotFound", "bad path")),
        };
        self.resource(method, uri, body, ns, resource, name, sub)
    }

    #[allow(clippy::too_many_arguments)]
    fn resource(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        body: &[u8],
        ns: &str,
        resource: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Response<Body> {
        let Some(resource) = RESOURCES.iter().copied().find(|r| *r == resource) else {
            return respond(404, &status(404, "NotFound", "unknown resource"));
        };
        let q = query(uri);
        let watching = q.get("watch").is_some_and(|v| v == "true" || v == "1");
        let verb = match (method.as_str(), name, watching) {
            ("GET", None, true) => "WATCH",
            ("GET", None, false) => "LIST",
            (m, _, _) => m,
        };
        let key = match sub {
            Some(s) => format!("{verb} {resource}/{s}"),
            None => format!("{verb} {resource}"),
        };
        let mut i = self.inner.lock().unwrap();
        *i.counts.entry(key).or_default() += 1;
        if let Some(pos) = i
            .faults
            .iter()
            .position(|f| f.method == verb && f.resource == resource)
        {
            let f = i.faults.remove(pos);
            let body = match f.code {
                403 => status(
                    403,
                    "Forbidden",
                    &format!(
                        "{resource} is forbidden: User \"system:serviceaccount:{ns}:launcher\" cannot {} resource \"{resource}\" in the namespace \"{ns}\"",
                        verb.to_lowercase()
                    ),
                ),
                422 => {
                    let mut s = status(
                        422,
                        "Invalid",
                        &format!(
                            "Job.batch \"{}\" is invalid: spec.template.spec.containers[0].image: Required value",
                            name.unwrap_or("x")
                        ),
                    );
                    s["details"] = json!({"name": name, "group": "batch", "kind": "Job",
                        "causes": [{"reason": "FieldValueRequired", "message": "Required value",
                                    "field": "spec.template.spec.containers[0].image"}]});
                    s
                }
                // What a real API server answers a create when the ResourceQuota admission
                // lost a race to update the quota's usage (seen on the lab under a batch): a
                // Conflict, not AlreadyExists; the object was not created.
                409 => status(
                    409,
                    "Conflict",
                    "Operation cannot be fulfilled on resourcequotas \"games-quota\": the object has been modified; please apply your changes to the latest version and try again",
                ),
                c => status(c, "InternalError", "injected failure"),
            };
            return respond(f.code, &body);
        }
        let not_found = |name: &str| {
            respond(
                404,
                &status(404, "NotFound", &format!("{resource} \"{name}\" not found")),
            )
        };
        match (verb, name, sub) {
            ("POST", None, None) => {
                let mut obj: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                obj["metadata"]["namespace"] = json!(ns);
                match i.create(resource, obj) {
                    Ok(o) => {
                        // A Job created suspended starts when it is resumed (suspend_changed).
                        if resource == "jobs" && !o["spec"]["suspend"].as_bool().unwrap_or(false) {
                            drop(i);
                            self.spawn_controller(
                                ns,
                                o["metadata"]["name"].as_str().unwrap_or_default(),
                            );
                        }
                        respond(201, &o)
                    }
                    Err(s) => respond(409, &s),
                }
            }
            ("GET", Some(n), None) => match i.get(resource, ns, n) {
                Some(o) => respond(200, &o),
                None => not_found(n),
            },
            ("GET", Some(n), Some("log")) => match i.get("pods", ns, n) {
                Some(_) => {
                    let log = i
                        .logs
                        .get(&(ns.to_owned(), n.to_owned()))
                        .cloned()
                        .unwrap_or_default();
                    let limit = q
                        .get("limitBytes")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(usize::MAX);
                    let log = &log.as_bytes()[..log.len().min(limit)];
                    Response::builder()
                        .status(200)
                        .body(Full::new(Bytes::copy_from_slice(log)).boxed_unsync())
                        .unwrap()
                }
                None => not_found(n),
            },
            ("LIST", None, None) => {
                let sel = parse_selector(q.get("labelSelector").map_or("", String::as_str));
                let fsel = parse_selector(q.get("fieldSelector").map_or("", String::as_str));
                let items: Vec<Value> = i
                    .store
                    .get(resource)
                    .map(|m| {
                        m.iter()
                            .filter(|((n, _), o)| {
                                n == ns && labels_match(o, &sel) && fields_match(o, &fsel)
                            })
                            .map(|(_, o)| o.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let (api, kind) = kind_of(resource);
                respond(
                    200,
                    &json!({"apiVersion": api, "kind": format!("{kind}List"),
                            "metadata": {"resourceVersion": i.rv.to_string()}, "items": items}),
                )
            }
            ("WATCH", None, None) => {
                let sel = parse_selector(q.get("labelSelector").map_or("", String::as_str));
                let from: u64 = q
                    .get("resourceVersion")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let (tx, rx) = mpsc::unbounded();
                if from < i.compacted {
                    let e = status(
                        410,
                        "Expired",
                        &format!("too old resource version: {from} ({})", i.compacted),
                    );
                    let _ = tx.unbounded_send(Ok(Frame::data(Bytes::from(format!(
                        "{}\n",
                        json!({"type": "ERROR", "object": e})
                    )))));
                } else {
                    for (rv, r, n, labels, line) in &i.history {
                        if *rv > from && *r == resource && n == ns && labels_match(labels, &sel) {
                            let _ = tx.unbounded_send(Ok(Frame::data(line.clone())));
                        }
                    }
                    i.next_id += 1;
                    let id = i.next_id;
                    i.watchers.push(Watcher {
                        id,
                        resource,
                        ns: ns.to_owned(),
                        selector: sel,
                        tx,
                    });
                    if let Some(secs) = q.get("timeoutSeconds").and_then(|t| t.parse::<u64>().ok())
                    {
                        let inner = self.inner.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_secs(secs)).await;
                            inner.lock().unwrap().watchers.retain(|w| w.id != id);
                        });
                    }
                }
                Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(StreamBody::new(rx).boxed_unsync())
                    .unwrap()
            }
            ("DELETE", Some(n), None) => {
                let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let policy = opts["propagationPolicy"].as_str().map(str::to_owned);
                i.deletes
                    .push((resource.to_owned(), n.to_owned(), policy.clone()));
                let removed = if resource == "jobs" {
                    i.delete_job(ns, n, policy.as_deref())
                } else {
                    i.remove(resource, ns, n)
                };
                match removed {
                    Some(o) => respond(200, &o),
                    None => not_found(n),
                }
            }
            ("PATCH", Some(n), None) => {
                let patch: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let before = i.get(resource, ns, n);
                match i.update(resource, ns, n, |o| merge(o, &patch)) {
                    Some(o) => {
                        let was = before
                            .as_ref()
                            .and_then(|b| b["spec"]["suspend"].as_bool())
                            .unwrap_or(false);
                        let now_s = o["spec"]["suspend"].as_bool().unwrap_or(false);
                        drop(i);
                        if resource == "jobs" && was != now_s {
                            self.suspend_changed(ns, n, now_s);
                        }
                        respond(200, &o)
                    }
                    None => not_found(n),
                }
            }
            _ => respond(
                405,
                &status(405, "MethodNotAllowed", "not supported by the double"),
            ),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let t0 = thread_cpu();
        let mut i = self.inner.lock().unwrap();
        let r = f(&mut i);
        i.busy += thread_cpu().saturating_sub(t0);
        r
    }

    fn suspend_changed(&self, ns: &str, name: &str, suspended: bool) {
        if suspended {
            self.with(|i| {
                let pods: Vec<String> = i
                    .store
                    .get("pods")
                    .map(|m| {
                        m.iter()
                            .filter(|((n, _), o)| n == ns && o["metadata"]["labels"]["batch.kubernetes.io/job-name"] == name)
                            .map(|((_, p), _)| p.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                for p in pods {
                    i.remove("pods", ns, &p);
                }
                // As the real Job controller: startTime stays while suspended and is set anew on
                // resume (when the pod is created again), so the deadline counts from the resume.
                i.update("jobs", ns, name, |j| {
                    let start = j["status"]["startTime"].clone();
                    j["status"] = json!({"active": 0, "startTime": start, "conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]});
                });
            });
        } else {
            self.with(|i| {
                i.update("jobs", ns, name, |j| {
                    let start = j["status"]["startTime"].clone();
                    j["status"] = json!({"startTime": start, "conditions": [{"type": "Suspended", "status": "False", "reason": "JobResumed"}]});
                });
            });
            self.spawn_controller(ns, name);
        }
    }

    fn spawn_controller(&self, ns: &str, name: &str) {
        let d = self.clone();
        let ns = ns.to_owned();
        let name = name.to_owned();
        tokio::spawn(async move { d.controller(&ns, &name).await });
    }

    /// The Job controller, scheduler and kubelet for one Job.
    async fn controller(&self, ns: &str, name: &str) {
        let cfg = self.cfg.lock().unwrap().clone();
        tokio::time::sleep(cfg.pod_delay).await;
        let Some(job) = self.with(|i| i.get("jobs", ns, name)) else {
            return;
        };
        if job["spec"]["suspend"].as_bool().unwrap_or(false) {
            return;
        }
        let uid = job["metadata"]["uid"].clone();
        if cfg.mode == Mode::QuotaFull {
            self.with(|i| {
                let n = i.next_id;
                i.create(
                    "events",
                    json!({"metadata": {"name": format!("{name}.{n:x}"), "namespace": ns},
                           "type": "Warning", "reason": "FailedCreate",
                           "message": format!("Error creating: pods \"{name}-x7k2p\" is forbidden: exceeded quota: games-quota, requested: limits.memory=896Mi, used: limits.memory=8Gi, limited: limits.memory=8Gi"),
                           "involvedObject": {"kind": "Job", "name": name, "namespace": ns, "uid": uid},
                           "count": 1}),
                )
                .ok();
            });
            return;
        }
        let pod_name = self.with(|i| format!("{name}-{:05x}", i.next_id % 0xfffff));
        let mut labels = job["spec"]["template"]["metadata"]["labels"].clone();
        labels["batch.kubernetes.io/job-name"] = json!(name);
        labels["job-name"] = json!(name);
        labels["batch.kubernetes.io/controller-uid"] = uid.clone();
        let pod = json!({
            "metadata": {"name": pod_name, "namespace": ns, "labels": labels,
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                              "uid": uid, "controller": true, "blockOwnerDeletion": true}]},
            "spec": job["spec"]["template"]["spec"],
            "status": {"phase": "Pending"}
        });
        let created = self.with(|i| {
            if i.get("jobs", ns, name).is_none() {
                return false;
            }
            let ok = i.create("pods", pod).is_ok();
            i.update("jobs", ns, name, |j| {
                j["status"] = json!({"active": 1, "startTime": now()});
            });
            ok
        });
        if !created {
            return;
        }
        match cfg.mode {
            Mode::SandboxFails => {
                self.with(|i| {
                    i.update("pods", ns, &pod_name, |p| {
                        p["status"]["containerStatuses"] = json!([{"name": "runner", "ready": false, "restartCount": 0,
                            "image": "registry.example/runner", "imageID": "",
                            "state": {"waiting": {"reason": "ContainerCreating"}}}]);
                    });
                    let n = i.next_id;
                    let pod_uid = i.get("pods", ns, &pod_name).map(|p| p["metadata"]["uid"].clone());
                    i.create(
                        "events",
                        json!({"metadata": {"name": format!("{pod_name}.{n:x}"), "namespace": ns},
                               "type": "Warning", "reason": "FailedCreatePodSandBox",
                               "message": "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create containerd task: OCI runtime create failed",
                               "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": ns, "uid": pod_uid},
                               "count": 4}),
                    )
                    .ok();
                });
                return;
            }
            Mode::ImagePull => {
                self.with(|i| {
                    i.update("pods", ns, &pod_name, |p| {
                        p["status"]["containerStatuses"] = json!([{"name": "runner", "ready": false, "restartCount": 0,
                            "image": "registry.example/runner", "imageID": "",
                            "state": {"waiting": {"reason": "ImagePullBackOff",
                                      "message": "Back-off pulling image \"registry.example/runner@sha256:0123\""}}}]);
                    })
                });
                return;
            }
            Mode::Unschedulable => {
                self.with(|i| {
                    i.update("pods", ns, &pod_name, |p| {
                        p["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                            "message": "0/3 nodes are available: 3 Insufficient memory."}]);
                    })
                });
                return;
            }
            _ => {}
        }
        tokio::time::sleep(cfg.start_delay).await;
        let running = self.with(|i| {
            i.update("pods", ns, &pod_name, |p| {
                p["status"] = json!({"phase": "Running", "containerStatuses": [{"name": "runner", "ready": true,
                    "restartCount": 0, "image": "runner", "imageID": "", "state": {"running": {"startedAt": now()}}}]});
            })
            .is_some()
        });
        if !running {
            return;
        }
        tokio::time::sleep(cfg.run_time).await;
        if cfg.mode == Mode::NodeLost {
            self.with(|i| {
                i.update("jobs", ns, name, |j| {
                    j["status"] = json!({"active": 1, "terminating": 1, "startTime": j["status"]["startTime"].clone(), "conditions": [
                        {"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded",
                         "message": "Job was active longer than specified deadline", "lastTransitionTime": now()}]});
                });
            });
            return;
        }
        if cfg.mode == Mode::Deadline {
            self.with(|i| {
                i.remove("pods", ns, &pod_name);
                i.update("jobs", ns, name, |j| {
                    j["status"] = json!({"active": 0, "failed": 1, "conditions": [
                        {"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                         "message": "Job was active longer than specified deadline", "lastTransitionTime": now()}]});
                });
            });
            return;
        }
        let Some(job) = self.with(|i| i.get("jobs", ns, name)) else {
            return;
        };
        if job["metadata"]["uid"] != uid || self.with(|i| i.get("pods", ns, &pod_name)).is_none() {
            return;
        }
        let (code, message) = (cfg.verdict)(&job);
        let fail_codes: Vec<i64> = job["spec"]["podFailurePolicy"]["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["action"] == "FailJob")
            .flat_map(|r| {
                r["onExitCodes"]["values"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|v| v.as_i64())
            .collect();
        let t = now();
        let job_status = if code == 0 {
            json!({"active": 0, "succeeded": 1, "completionTime": t, "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": t},
                {"type": "Complete", "status": "True", "lastTransitionTime": t}]})
        } else if fail_codes.contains(&i64::from(code)) {
            json!({"active": 0, "failed": 1, "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "PodFailurePolicy", "lastTransitionTime": t},
                {"type": "Failed", "status": "True", "reason": "PodFailurePolicy", "lastTransitionTime": t,
                 "message": format!("Container runner for pod {ns}/{pod_name} failed with exit code {code} matching FailJob rule at index 0")}]})
        } else {
            json!({"active": 0, "failed": 1, "conditions": [
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": t,
                 "message": "Job has reached the specified backoff limit"}]})
        };
        let pod_status = json!({"phase": if code == 0 { "Succeeded" } else { "Failed" },
            "containerStatuses": [{"name": "runner", "ready": false, "restartCount": 0, "image": "runner", "imageID": "",
                "state": {"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
                                         "message": message, "startedAt": t, "finishedAt": t}}}]});
        let log = format!("runner report for {name}\n{message}\n");
        if cfg.mode == Mode::JobFirst {
            // The pod's new status is stored but its watch event is lost: only a read finds it.
            self.with(|i| {
                if let Some(p) = i
                    .store
                    .get_mut("pods")
                    .and_then(|m| m.get_mut(&(ns.to_owned(), pod_name.clone())))
                {
                    p["status"] = pod_status;
                }
                i.update("jobs", ns, name, |j| j["status"] = job_status);
            });
        } else {
            self.with(|i| {
                i.logs.insert((ns.to_owned(), pod_name.clone()), log);
                i.update("pods", ns, &pod_name, |p| p["status"] = pod_status);
            });
            // The real Job controller batches pod updates: the Job's condition follows the
            // pod's end by up to a second (seen on the lab).
            tokio::time::sleep(cfg.job_sync).await;
            self.with(|i| {
                i.update("jobs", ns, name, |j| j["status"] = job_status);
            });
        }
    }
}
