//! API requests per match and the launcher's own CPU and memory, against the in-process
//! API-server double, for the kube backend (one shared watch) beside a baseline that polls each
//! Job every 2 seconds as the earlier generation did.
//!
//!     cargo bench -p launcher --bench requests            # 1,000 and 10,000 matches
//!     cargo bench -p launcher --bench requests -- 200     # quick: 200 matches
//!
//! Run by `cargo test --all-targets` (without --bench) it is a smoke test of 20 matches.
//!
//! Time is tokio's paused clock: a 60-second match costs no wall time, so the figures are the
//! launcher's cost alone, whatever the matches' length. The runtime is single-threaded; the
//! launcher's CPU is the thread's CPU time minus the CPU time measured inside the double's
//! handlers and controller (getrusage RUSAGE_THREAD around each).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_precision_loss
)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/double/mod.rs"]
mod double;

use std::sync::Arc;
use std::time::Duration;

use double::{Config, Double};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use launcher::backend::{Backend, PlayOptions};
use launcher::batch::{self, BatchOptions};
use launcher::cluster::{KubeBackend, KubeOptions};
use launcher::plan::{self, ClusterSettings};
use runner::report::Status;
use serde_json::Value;

/// CPU time of this thread so far (the runtime is single-threaded: launcher and double).
fn cpu() -> Duration {
    double::thread_cpu()
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn first_wins() -> double::Verdict {
    Arc::new(|job: &Value| {
        let players = job["metadata"]["annotations"]["game-sandbox/players"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let ids: Vec<&str> = players.split(',').collect();
        (0, common::summary(&ids, Status::Ok, ids.first().copied()))
    })
}

struct Figures {
    requests: u64,
    non_watch: u64,
    cpu: Duration,
    double_busy: Duration,
    ok: usize,
}

fn double(run_time: Duration) -> Double {
    let mut cfg = Config::new(first_wins());
    cfg.pod_delay = Duration::from_secs(1);
    cfg.start_delay = Duration::from_secs(2);
    cfg.run_time = run_time;
    Double::new(cfg)
}

fn matches(n: usize) -> Vec<launcher::request::Match> {
    (0..n)
        .map(|i| {
            common::request(&format!("bench-{i:05}"))
                .validate()
                .unwrap()
        })
        .collect()
}

fn measure(f: impl FnOnce(&tokio::runtime::Runtime) -> (Double, usize)) -> Figures {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let _guard = rt.enter();
    let c0 = cpu();
    let (d, ok) = f(&rt);
    let cpu = cpu() - c0;
    let counts = d.counts();
    let requests: u64 = counts.values().sum();
    let watch: u64 = counts
        .iter()
        .filter(|(k, _)| k.starts_with("WATCH") || k.starts_with("LIST"))
        .map(|(_, v)| v)
        .sum();
    Figures {
        requests,
        non_watch: requests - watch,
        cpu,
        double_busy: d.busy(),
        ok,
    }
}

/// The launcher: shared watch, three requests per match (plus the preflight's four reads,
/// once for the namespace).
fn watch_based(n: usize, run_time: Duration, concurrency: usize) -> Figures {
    measure(|rt| {
        let d = double(run_time);
        d.protect("games");
        let k = KubeBackend::new(
            d.client(),
            ClusterSettings {
                image: common::IMAGE.into(),
                ..ClusterSettings::default()
            },
            KubeOptions::default(),
        )
        .unwrap();
        let b = Backend::Kube(Box::new(k));
        let s = rt.block_on(batch::run(
            &b,
            matches(n),
            BatchOptions {
                concurrency,
                play: PlayOptions::default(),
            },
            |_| {},
            std::future::pending(),
        ));
        // Once the watches have delivered the last deletions, nothing is kept per match.
        rt.block_on(tokio::time::sleep(Duration::from_secs(1)));
        if let Backend::Kube(k) = &b {
            assert_eq!(k.tracked_entries(), 0, "nothing kept per finished match");
        }
        (d, s.ok)
    })
}

/// The earlier generation: create, GET the Job every 2 s until it ends, read its pod, delete.
fn polling(n: usize, run_time: Duration, concurrency: usize) -> Figures {
    use futures::StreamExt as _;
    measure(|rt| {
        let d = double(run_time);
        let client = d.client();
        let settings = ClusterSettings {
            image: common::IMAGE.into(),
            ..ClusterSettings::default()
        };
        let ok = rt.block_on(
            futures::stream::iter(matches(n))
                .map(|m| {
                    let client = client.clone();
                    let settings = settings.clone();
                    async move {
                        let p = plan::plan(&m, &settings).unwrap();
                        let jobs: Api<Job> = Api::namespaced(client.clone(), &p.namespace);
                        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &p.namespace);
                        let pods: Api<Pod> = Api::namespaced(client.clone(), &p.namespace);
                        cms.create(&PostParams::default(), &p.config_map)
                            .await
                            .unwrap();
                        // The seed design creates its ConfigMap first and its Job running.
                        let mut job = p.job.clone();
                        if let Some(spec) = job.spec.as_mut() {
                            spec.suspend = Some(false);
                        }
                        jobs.create(&PostParams::default(), &job).await.unwrap();
                        loop {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            let j = jobs.get(&p.name).await.unwrap();
                            let done = j.status.and_then(|s| s.conditions).is_some_and(|cs| {
                                cs.iter().any(|c| {
                                    (c.type_ == "Complete" || c.type_ == "Failed")
                                        && c.status == "True"
                                })
                            });
                            if done {
                                break;
                            }
                        }
                        let list = pods
                            .list(
                                &ListParams::default()
                                    .labels(&format!("batch.kubernetes.io/job-name={}", p.name)),
                            )
                            .await
                            .unwrap();
                        let ok = list.items.iter().any(|p| {
                            p.status
                                .as_ref()
                                .and_then(|s| s.container_statuses.as_ref())
                                .is_some_and(|cs| {
                                    cs.iter().any(|c| {
                                        c.state
                                            .as_ref()
                                            .and_then(|s| s.terminated.as_ref())
                                            .is_some()
                                    })
                                })
                        });
                        jobs.delete(&p.name, &DeleteParams::background())
                            .await
                            .unwrap();
                        cms.delete(&p.name, &DeleteParams::background()).await.ok();
                        ok
                    }
                })
                .buffer_unordered(concurrency)
                .filter(|ok| std::future::ready(*ok))
                .count(),
        );
        (d, ok)
    })
}

fn row(label: &str, n: usize, len: u64, f: &Value) {
    let per = |x: f64| x / n as f64;
    let num = |k: &str| f[k].as_f64().unwrap_or(0.0);
    println!(
        "{label:<18} {n:>7} {len:>5}s {:>9} {:>9.2} {:>9.2} {:>12.3} {:>10.3} {:>9.0} {:>9.0}",
        num("requests"),
        per(num("requests")),
        per(num("non_watch")),
        per(num("launcher_cpu_ms")),
        per(num("double_cpu_ms")),
        num("rss_start_kib") / 1024.0,
        num("rss_peak_kib") / 1024.0,
    );
    assert_eq!(
        f["ok"].as_u64(),
        Some(n as u64),
        "every match must finish: {f}"
    );
}

/// One configuration, in this process: prints its figures as JSON.
fn one(mode: &str, n: usize, len: u64, concurrency: usize) {
    let len = Duration::from_secs(len);
    let rss_start = status_kib("VmRSS:");
    let f = match mode {
        "watch" => watch_based(n, len, concurrency),
        _ => polling(n, len, concurrency),
    };
    let launcher_cpu = f.cpu.saturating_sub(f.double_busy);
    println!(
        "{}",
        serde_json::json!({
            "requests": f.requests, "non_watch": f.non_watch, "ok": f.ok,
            "launcher_cpu_ms": launcher_cpu.as_secs_f64() * 1000.0,
            "double_cpu_ms": f.double_busy.as_secs_f64() * 1000.0,
            "rss_start_kib": rss_start, "rss_peak_kib": status_kib("VmHWM:"),
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let concurrency = 500;
    if let Some(i) = args.iter().position(|a| a == "--one") {
        let a = &args[i + 1..];
        one(
            &a[0],
            a[1].parse().unwrap(),
            a[2].parse().unwrap(),
            concurrency,
        );
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this as a quick smoke test.
    let benching = args.iter().any(|a| a == "--bench");
    let sizes: Vec<usize> = match args.iter().find_map(|a| a.parse().ok()) {
        Some(n) => vec![n],
        None if benching => vec![1_000, 10_000],
        None => vec![20],
    };
    let lengths: &[u64] = if benching { &[60, 600] } else { &[60] };
    println!(
        "concurrency {concurrency}; paused clock (simulated match length); per-match CPU in ms; \
         RSS of the whole benchmark process (launcher and double) in MiB"
    );
    println!(
        "{:<18} {:>7} {:>6} {:>9} {:>9} {:>9} {:>12} {:>10} {:>9} {:>9}",
        "mode",
        "matches",
        "length",
        "requests",
        "req/match",
        "non-watch",
        "launcher CPU",
        "double CPU",
        "RSS start",
        "RSS peak"
    );
    let exe = std::env::current_exe().unwrap();
    for &n in &sizes {
        for &len in lengths {
            for (label, mode) in [("watch (launcher)", "watch"), ("poll every 2s", "poll")] {
                // Each configuration in its own process, so peak RSS is its own.
                let out = std::process::Command::new(&exe)
                    .args(["--one", mode, &n.to_string(), &len.to_string()])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let f: Value = serde_json::from_slice(&out.stdout).unwrap();
                row(label, n, len, &f);
            }
        }
    }
}
