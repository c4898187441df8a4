//! The Job controller, the scheduler and the kubelet, for one Job at a time: its pod created,
//! run and ended with the runner's verdict, or stuck as the test's [`Mode`] asks; suspend and
//! resume.

use serde_json::json;

use super::store::now;
use super::{Double, Inner, Mode, thread_cpu};

impl Double {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let t0 = thread_cpu();
        let mut i = self.inner.lock().unwrap();
        let r = f(&mut i);
        i.busy += thread_cpu().saturating_sub(t0);
        r
    }

    pub(super) fn suspend_changed(&self, ns: &str, name: &str, suspended: bool) {
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

    pub(super) fn spawn_controller(&self, ns: &str, name: &str) {
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
        let image = job["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == "runner")
            .and_then(|c| c["image"].as_str())
            .unwrap_or_default()
            .to_owned();
        let image_id = super::image_id(&image);
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
                            "image": image, "imageID": "",
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
                            "image": image, "imageID": "",
                            "state": {"waiting": {"reason": "ImagePullBackOff",
                                      "message": format!("Back-off pulling image \"{image}\"")}}}]);
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
                    "restartCount": 0, "image": image, "imageID": image_id, "state": {"running": {"startedAt": now()}}}]});
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
            "containerStatuses": [{"name": "runner", "ready": false, "restartCount": 0, "image": image, "imageID": image_id,
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
