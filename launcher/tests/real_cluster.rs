//! Opt-in: one real match on a real cluster, through the kube backend.
//!
//!     LAUNCHER_IMAGE=REPO@sha256:DIGEST cargo test -p launcher --test real_cluster -- --ignored
//!
//! Uses the kubeconfig like kubectl (`KUBECONFIG`, its current context or `LAUNCHER_CONTEXT`,
//! else the in-cluster service account) and the namespace `LAUNCHER_NAMESPACE` (default
//! `games`), which should have the policies applied (`kubectl apply -k policies/kubernetes/...`)
//! and the runner image available to its nodes.

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use launcher::backend::PlayOptions;
use launcher::cluster::{KubeBackend, KubeOptions, connect};
use launcher::outcome::Verdict;
use launcher::plan::ClusterSettings;
use launcher::request::{MatchRequest, PlayerInput};

#[tokio::test]
#[ignore = "needs a cluster: LAUNCHER_IMAGE=REPO@sha256:DIGEST cargo test -p launcher --test real_cluster -- --ignored"]
async fn a_real_match_on_a_real_cluster() {
    let image = std::env::var("LAUNCHER_IMAGE")
        .expect("set LAUNCHER_IMAGE to the runner image, pinned by digest");
    let namespace = std::env::var("LAUNCHER_NAMESPACE").unwrap_or_else(|_| "games".to_owned());
    let context = std::env::var("LAUNCHER_CONTEXT").ok();
    let (client, _) = connect(context.as_deref()).await.unwrap();
    let settings = ClusterSettings {
        image,
        namespace: namespace.clone(),
        ..ClusterSettings::default()
    };
    let k = KubeBackend::new(
        client,
        settings,
        KubeOptions {
            start_grace: Duration::from_secs(180),
            ..KubeOptions::default()
        },
    )
    .unwrap();
    let bots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bots");
    let mut r = MatchRequest::new(vec![
        PlayerInput::file(bots.join("random.py")),
        PlayerInput::file(bots.join("greedy.py")),
    ]);
    r.match_id = Some(launcher::names::fresh_match_id());
    let m = r.validate().unwrap();
    let o = k
        .play(
            &m,
            PlayOptions {
                timeout: Some(Duration::from_secs(600)),
                keep: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{o:#?}");
    assert!(o.players.contains_key("random") && o.players.contains_key("greedy"));

    // Nothing left behind: the Job is deleted with background propagation, and the garbage
    // collector takes its pod and ConfigMap.
    let mut left = true;
    for _ in 0..60 {
        left = k
            .list(Some(&namespace))
            .await
            .unwrap()
            .iter()
            .any(|e| e.match_id == m.id);
        if !left {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(!left, "the Job of {} is still there", m.id);
}
