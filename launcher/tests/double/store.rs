//! The object store: objects by resource, namespace and name, with the resourceVersions,
//! uids and timestamps the API server sets, the watch history and its fan-out, label and field
//! selectors, and merge patches.

use bytes::Bytes;
use http_body::Frame;
use serde_json::{Value, json};

use super::Inner;

/// Events kept for resuming watches (older ones are compacted away).
const HISTORY_MAX: usize = 4096;

pub(super) fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

pub(super) fn kind_of(resource: &str) -> (&'static str, &'static str) {
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

pub(super) fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

pub(super) fn parse_selector(s: &str) -> Vec<(String, Option<String>)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim_end_matches('=').to_owned(), Some(v.to_owned())),
            None => (p.to_owned(), None),
        })
        .collect()
}

pub(super) fn labels_match(obj: &Value, sel: &[(String, Option<String>)]) -> bool {
    sel.iter().all(|(k, v)| {
        let got = obj["metadata"]["labels"].get(k).and_then(Value::as_str);
        match v {
            Some(v) => got == Some(v.as_str()),
            None => got.is_some(),
        }
    })
}

pub(super) fn fields_match(obj: &Value, sel: &[(String, Option<String>)]) -> bool {
    sel.iter().all(|(k, v)| {
        let mut cur = obj;
        for part in k.split('.') {
            cur = &cur[part];
        }
        cur.as_str() == v.as_deref()
    })
}

pub(super) fn merge(target: &mut Value, patch: &Value) {
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

impl Inner {
    /// The objects of one resource in namespace `ns`, by name.
    pub(super) fn in_namespace<'a>(
        &'a self,
        resource: &str,
        ns: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.store
            .get(resource)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(move |((n, _), _)| n == ns)
            .map(|((_, name), o)| (name.as_str(), o))
    }

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

    pub(super) fn create(
        &mut self,
        resource: &'static str,
        mut obj: Value,
    ) -> Result<Value, Value> {
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

    pub(super) fn update(
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

    pub(super) fn remove(&mut self, resource: &'static str, ns: &str, name: &str) -> Option<Value> {
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

    pub(super) fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.store
            .get(resource)?
            .get(&(ns.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Deletes a Job; with Background/Foreground propagation, everything it owns too.
    pub(super) fn delete_job(
        &mut self,
        ns: &str,
        name: &str,
        policy: Option<&str>,
    ) -> Option<Value> {
        let job = self.remove("jobs", ns, name)?;
        if matches!(policy, Some("Background" | "Foreground")) {
            let uid = job["metadata"]["uid"].clone();
            for resource in ["pods", "configmaps"] {
                let owned: Vec<String> = self
                    .in_namespace(resource, ns)
                    .filter(|(_, o)| {
                        o["metadata"]["ownerReferences"]
                            .as_array()
                            .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
                    })
                    .map(|(name, _)| name.to_owned())
                    .collect();
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
