//! The HTTP side: the tower service kube's client calls, the paths and verbs it answers, and
//! the failures a test asked for.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::channel::mpsc;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt as _, Full, StreamBody};
use serde_json::{Value, json};

use super::store::{fields_match, kind_of, labels_match, merge, parse_selector, status};
use super::{Body, Double, Watcher, thread_cpu};

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

fn respond(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed_unsync())
        .unwrap()
}

/// The tower service kube's client calls.
pub struct Service(pub(super) Double);

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
                    .in_namespace(resource, ns)
                    .filter(|(_, o)| labels_match(o, &sel) && fields_match(o, &fsel))
                    .map(|(_, o)| o.clone())
                    .collect();
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
}
