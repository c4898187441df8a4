//! The kube backend against the in-process API-server double (tests/double): real kube-rs
//! requests, real JSON shapes, simulated Job controller and kubelet. Time is tokio's paused
//! clock, so minutes of simulated matches take milliseconds.
//!
//! Over 600 lines on purpose: one test binary for every scenario against the double (each
//! `tests/*.rs` is its own binary linking kube-rs, so splitting it costs a link per file).

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod double;

use std::sync::Arc;
use std::time::Duration;

use common::{IMAGE, request, summary};
use double::{Config, Double, Mode};
use launcher::LaunchError;
use launcher::backend::{Backend, MatchRef, PlayOptions};
use launcher::batch::{self, BatchOptions};
use launcher::cluster::{KubeBackend, KubeOptions};
use launcher::outcome::{State, Verdict};
use launcher::plan::{self, ClusterSettings};
use runner::report::{PlayerVerdict, Status};
use serde_json::Value;

/// Play, leaving the Job in place to look at afterwards.
const KEEP: PlayOptions = PlayOptions {
    timeout: None,
    keep: true,
};

/// The runner's verdict for a Job: the first player wins.
fn first_wins() -> double::Verdict {
    Arc::new(|job: &Value| {
        let players = job["metadata"]["annotations"]["game-sandbox/players"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let ids: Vec<&str> = players.split(',').collect();
        (0, summary(&ids, Status::Ok, ids.first().copied()))
    })
}

fn settings() -> ClusterSettings {
    ClusterSettings {
        image: IMAGE.into(),
        ..ClusterSettings::default()
    }
}

/// A double whose `games` namespace is protected like `policies/kubernetes/base`.
fn setup(cfg: impl FnOnce(&mut Config)) -> (Double, KubeBackend) {
    let mut c = Config::new(first_wins());
    cfg(&mut c);
    let d = Double::new(c);
    d.protect("games");
    let k = KubeBackend::new(d.client(), settings(), KubeOptions::default()).unwrap();
    (d, k)
}

/// A double whose `games` namespace has no PSA label and no NetworkPolicy.
/// Submits the shared request under `id`.
async fn submit(k: &KubeBackend, id: &str) -> Result<launcher::cluster::Submitted, LaunchError> {
    k.submit(&request(id).validate().unwrap()).await
}

fn setup_unprotected(opts: KubeOptions) -> (Double, KubeBackend) {
    let d = Double::new(Config::new(first_wins()));
    d.unprotect("games");
    let k = KubeBackend::new(d.client(), settings(), opts).unwrap();
    (d, k)
}

fn creates(d: &Double) -> u64 {
    d.counts()
        .iter()
        .filter(|(k, _)| k.starts_with("POST"))
        .map(|(_, v)| v)
        .sum()
}

fn left_behind(d: &Double) -> Vec<String> {
    ["jobs", "pods", "configmaps"]
        .iter()
        .flat_map(|r| d.names(r).into_iter().map(move |n| format!("{r}/{n}")))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn play_creates_watches_to_complete_and_leaves_nothing_behind() {
    let (d, k) = setup(|_| {});
    let m = request("m1").validate().unwrap();
    let o = k.play(&m, PlayOptions::default()).await.unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    common::assert_matches_schema("outcome.json", &serde_json::to_value(&o).unwrap());
    assert_eq!(o.winner.as_deref(), Some("alice"));
    assert_eq!(o.players["bob"].verdict, Some(PlayerVerdict::Ok));
    // The scores travel in the termination message: no volume is needed for the standing.
    assert_eq!(o.players["alice"].score, Some(12));
    assert_eq!(o.players["bob"].score, Some(3));
    assert_eq!(o.runner_exit_code, Some(0));
    assert_eq!(o.namespace.as_deref(), Some("games"));
    assert!(!o.attached);
    // Three requests for the match; the watches are shared (one list and one watch each).
    assert_eq!(d.count("POST jobs"), 1);
    assert_eq!(d.count("POST configmaps"), 1);
    assert_eq!(d.count("DELETE jobs"), 1);
    assert_eq!(d.count("GET jobs"), 0, "no polling");
    assert_eq!(d.count("LIST pods"), 1);
    assert_eq!((d.count("LIST jobs"), d.count("WATCH jobs")), (1, 1));
    assert_eq!(
        d.deletes(),
        [("jobs".into(), "match-m1".into(), Some("Background".into()))]
    );
    assert_eq!(left_behind(&d), Vec::<String>::new());
}

/// The outcome names what the match was played with: on kube, the runner image (which
/// carries the game), by its digest.
#[tokio::test(start_paused = true)]
async fn the_outcome_names_the_image_the_game_came_from() {
    let (_d, k) = setup(|_| {});
    let b = Backend::Kube(Box::new(k));
    let o = b
        .play(&request("g1").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_names_the_submitted_image(&o);
}

/// The outcome is schema-valid and names [`IMAGE`], the image the matches are submitted
/// with, by its digest.
fn assert_names_the_submitted_image(o: &launcher::outcome::Outcome) {
    common::assert_matches_schema("outcome.json", &serde_json::to_value(o).unwrap());
    let game = o.game.as_ref().expect("the outcome names its game");
    assert_eq!(game.source, IMAGE);
    assert_eq!(
        Some(game.digest.as_str()),
        IMAGE.rsplit_once('@').map(|(_, d)| d)
    );
}

/// A pinned image other than [`IMAGE`], for a launcher whose settings changed since the
/// submit.
const OTHER_IMAGE: &str = "registry.example/game-sandbox/runner@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

/// A tag: what a plan edited before `submit_plan` may carry.
const TAGGED_IMAGE: &str = "registry.example/game-sandbox/runner:v7";

/// Submits `id` as its Job would be planned with `image` in place of the settings' one.
async fn submit_with_image(k: &KubeBackend, id: &str, image: &str) {
    let m = request(id).validate().unwrap();
    let mut p = plan::plan(&m, k.settings()).unwrap();
    let template = p.job.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
    let runner = template
        .containers
        .iter_mut()
        .find(|c| c.name == plan::CONTAINER)
        .unwrap();
    runner.image = Some(image.into());
    k.submit_plan(&p).await.unwrap();
}

/// A second launcher on the same cluster, whose settings name [`OTHER_IMAGE`].
fn other_launcher(d: &Double) -> Backend {
    let s = ClusterSettings {
        image: OTHER_IMAGE.into(),
        ..settings()
    };
    Backend::Kube(Box::new(
        KubeBackend::new(d.client(), s, KubeOptions::default()).unwrap(),
    ))
}

/// The game is what the pod ran, as the kubelet reports it, whatever the settings of the
/// launcher that reads the verdict say: a Job submitted with a tag gets the digest the tag
/// resolved to (the pod's imageID), not an empty one, nor the settings' image and digest.
/// (Settings themselves cannot name a tag: `ClusterSettings::validate` refuses it, so the
/// tag comes in through `submit_plan`, which takes any plan.)
#[tokio::test(start_paused = true)]
async fn the_outcome_names_the_image_the_pod_ran_not_the_settings() {
    let (d, k) = setup(|_| {});
    submit_with_image(&k, "tag", TAGGED_IMAGE).await;
    let b = other_launcher(&d);
    let o = b.wait(MatchRef::new("tag"), None).await.unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    common::assert_matches_schema("outcome.json", &serde_json::to_value(&o).unwrap());
    let image_id = double::image_id(TAGGED_IMAGE);
    assert!(
        image_id.starts_with("registry.example/game-sandbox/runner@sha256:"),
        "{image_id}"
    );
    let pods_digest = image_id.rsplit_once('@').map(|(_, d)| d).unwrap();
    let game = o.game.expect("the outcome names its game");
    assert_eq!(game.source, TAGGED_IMAGE);
    assert_eq!(game.digest, pods_digest);

    // `status` and `result` read the same pod, and say the same.
    let st = b.status(MatchRef::new("tag")).await.unwrap();
    assert_eq!(st.outcome.and_then(|o| o.game).as_ref(), Some(&game));
    let o = b.result(MatchRef::new("tag"), false).await.unwrap();
    assert_eq!(o.game.as_ref(), Some(&game));

    // Played through one launcher, the pinned image resolves to its own digest.
    let o = other_launcher(&d)
        .play(
            &request("pinned").validate().unwrap(),
            PlayOptions::default(),
        )
        .await
        .unwrap();
    let game = o.game.expect("the outcome names its game");
    assert_eq!(game.source, OTHER_IMAGE);
    assert_eq!(
        Some(game.digest.as_str()),
        OTHER_IMAGE.rsplit_once('@').map(|(_, d)| d)
    );
}

/// A match that never ran names the image it was submitted with (its Job's), not the image
/// of the settings of the launcher that waits; a submitted tag gives no digest, since no
/// kubelet resolved it.
#[tokio::test(start_paused = true)]
async fn a_match_that_never_ran_names_the_image_it_was_submitted_with() {
    let (d, k) = setup(|c| c.mode = Mode::QuotaFull);
    submit(&k, "nopod").await.unwrap();
    let o = other_launcher(&d)
        .wait(MatchRef::new("nopod"), None)
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::CannotStart, "{}", o.reason);
    assert!(d.names("pods").is_empty(), "the match never got a pod");
    assert_names_the_submitted_image(&o);

    // A pod whose image cannot be pulled ran nothing either.
    let (d, k) = setup(|c| c.mode = Mode::ImagePull);
    submit_with_image(&k, "nopull", TAGGED_IMAGE).await;
    let o = other_launcher(&d)
        .wait(MatchRef::new("nopull"), None)
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::CannotStart, "{}", o.reason);
    assert_eq!(d.names("pods").len(), 1);
    let game = o.game.expect("the outcome names its game");
    assert_eq!(game.source, TAGGED_IMAGE);
    assert_eq!(game.digest, "");
}

#[tokio::test(start_paused = true)]
async fn the_configmap_is_immutable_and_owned_by_the_job() {
    let (d, k) = setup(|_| {});
    k.play(&request("m2").validate().unwrap(), KEEP)
        .await
        .unwrap();
    let job = d.object("jobs", "match-m2").unwrap();
    let cm = d.object("configmaps", "match-m2").unwrap();
    assert_eq!(cm["immutable"], true);
    let owner = &cm["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Job");
    assert_eq!(owner["apiVersion"], "batch/v1");
    assert_eq!(owner["name"], "match-m2");
    assert_eq!(owner["uid"], job["metadata"]["uid"]);
    assert!(owner.get("blockOwnerDeletion").is_none());
    assert!(
        cm["data"]["spec.json"]
            .as_str()
            .unwrap()
            .contains("/match/alice-")
    );
    // keep: the Job stays until someone deletes it; deleting it takes the rest.
    k.cancel(MatchRef::new("m2")).await.unwrap();
    assert_eq!(left_behind(&d), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn submitting_twice_attaches_and_runs_once() {
    let (d, k) = setup(|_| {});
    let m = request("twice").validate().unwrap();
    let first = k.submit(&m).await.unwrap();
    let second = k.submit(&m).await.unwrap();
    assert!(!first.attached);
    assert!(second.attached);
    assert_eq!(first.uid, second.uid);
    assert_eq!(d.count("POST jobs"), 2, "the second create got 409");
    assert_eq!(d.count("GET jobs"), 1);
    assert_eq!(d.job_order(), ["match-twice"]);
    let o = k.wait(MatchRef::new("twice"), None).await.unwrap();
    assert_eq!(o.verdict, Verdict::Ok);
    assert_eq!(d.names("pods").len(), 1, "one pod: nothing ran twice");

    let mut other = request("twice");
    other.seed = Some(1);
    let e = k.submit(&other.validate().unwrap()).await.unwrap_err();
    assert!(matches!(e, LaunchError::Conflict { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_is_reported_with_the_runners_reason() {
    let (_, k) = setup(|c| {
        c.verdict = Arc::new(|_| (3, summary(&["alice", "bob"], Status::SandboxError, None)));
    });
    let o = k
        .play(&request("sbx").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::InfrastructureError);
    common::assert_matches_schema("outcome.json", &serde_json::to_value(&o).unwrap());
    assert_eq!(o.status, Some(Status::SandboxError));
    assert_eq!(o.runner_exit_code, Some(3));
    assert_eq!(o.exit_code(), 3);

    let (_, k) = setup(|c| {
        c.verdict = Arc::new(|_| {
            (
                2,
                "runner: bad spec: player alice: path x must be absolute".into(),
            )
        });
    });
    let o = k
        .play(&request("bad").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::InfrastructureError);
    assert!(o.reason.contains("refused the spec"), "{}", o.reason);
    assert!(o.reason.contains("must be absolute"), "{}", o.reason);
}

#[tokio::test(start_paused = true)]
async fn a_no_result_match_and_a_deadline() {
    let (_, k) = setup(|c| {
        c.verdict = Arc::new(|_| (0, summary(&["alice", "bob"], Status::RuntimeError, None)));
    });
    let o = k
        .play(&request("nr").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::NoResult);

    let (d, k) = setup(|c| c.mode = Mode::Deadline);
    let o = k
        .play(&request("late").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::DeadlineExceeded, "{}", o.reason);
    common::assert_matches_schema("outcome.json", &serde_json::to_value(&o).unwrap());
    assert!(o.reason.contains("DeadlineExceeded"), "{}", o.reason);
    assert_eq!(left_behind(&d), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn the_verdict_is_read_from_the_pod_before_the_job_controller_syncs() {
    let (d, k) = setup(|c| c.job_sync = Duration::from_secs(30));
    let start = tokio::time::Instant::now();
    let o = k
        .play(&request("fast").validate().unwrap(), KEEP)
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    // The Job has no terminal condition yet; status and result agree with play all the same.
    let job = d.object("jobs", "match-fast").unwrap();
    assert!(job["status"]["conditions"].is_null(), "{job}");
    assert_eq!(
        k.status(MatchRef::new("fast")).await.unwrap().state,
        State::Finished
    );
    let r = k.result(MatchRef::new("fast"), false).await.unwrap();
    assert_eq!(r.winner, o.winner);
}

#[tokio::test(start_paused = true)]
async fn a_job_whose_node_is_gone_ends_at_failure_target_not_at_failed() {
    let (_, k) = setup(|c| {
        c.mode = Mode::NodeLost;
        c.run_time = Duration::from_secs(40);
    });
    let start = tokio::time::Instant::now();
    let o = k
        .play(&request("lost").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::DeadlineExceeded, "{}", o.reason);
    assert!(o.reason.contains("DeadlineExceeded"), "{}", o.reason);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_watch_resumes_through_410_gone_and_a_relist() {
    let (d, k) = setup(|c| c.run_time = Duration::from_secs(10));
    let m = request("gone").validate().unwrap();
    let play = tokio::spawn(async move { k.play(&m, PlayOptions::default()).await });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(d.count("LIST jobs"), 1);
    // The connection drops and the server compacts: resuming from the old resourceVersion
    // gets 410 Gone, and only a fresh list can catch up.
    d.compact();
    d.drop_watches();
    let o = play.await.unwrap().unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    assert!(d.count("LIST jobs") >= 2, "relisted: {:?}", d.counts());
    assert!(
        d.count("WATCH jobs") >= 3,
        "watch, 410, watch again: {:?}",
        d.counts()
    );
    assert_eq!(left_behind(&d), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_watch_refused_for_a_moment_after_it_worked_is_waited_through() {
    // An API server that has just restarted refuses requests until its authorizer has caught
    // up (the lab's restart mid-match): a 403 on a watch that had worked is not the Role.
    let (d, k) = setup(|c| c.run_time = Duration::from_secs(10));
    let m = request("blip").validate().unwrap();
    let play = tokio::spawn(async move { k.play(&m, PlayOptions::default()).await });
    tokio::time::sleep(Duration::from_secs(3)).await;
    d.fail_next("WATCH", "pods", 403);
    d.drop_watches();
    let o = play.await.unwrap().unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
}

#[tokio::test(start_paused = true)]
async fn a_match_that_ends_while_the_watch_is_down_is_seen_after_the_relist() {
    let (d, k) = setup(|c| c.run_time = Duration::from_secs(10));
    let m = request("gap").validate().unwrap();
    let play = tokio::spawn(async move { k.play(&m, PlayOptions::default()).await });
    // Just before the pod ends (the verdict): the reconnect's 410 and backoff straddle it.
    tokio::time::sleep(Duration::from_millis(10_050)).await;
    d.compact();
    d.drop_watches();
    let o = play.await.unwrap().unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    // The verdict came through the pod watch that reconnected after the drop.
    assert!(d.count("WATCH pods") >= 2, "{:?}", d.counts());
}

#[tokio::test(start_paused = true)]
async fn forbidden_and_invalid_become_clear_errors_and_nothing_is_left() {
    let (d, k) = setup(|_| {});
    d.fail_next("POST", "jobs", 403);
    let e = k
        .play(&request("f1").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, LaunchError::Forbidden { .. }), "{e}");
    assert!(
        text.contains("`create` on jobs in namespace games"),
        "{text}"
    );
    assert!(text.contains("role-launcher.yaml"), "{text}");
    assert_eq!(e.exit_code(), 4);

    d.fail_next("POST", "jobs", 422);
    let e = k
        .play(&request("f2").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LaunchError::Rejected { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("spec.template.spec.containers[0].image"),
        "{e}"
    );

    // The ConfigMap is refused after the Job was created: the Job is rolled back.
    d.fail_next("POST", "configmaps", 403);
    let e = k
        .play(&request("f3").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`create` on configmaps"), "{e}");
    assert_eq!(left_behind(&d), Vec::<String>::new());
    assert_eq!(d.deletes()[0].2.as_deref(), Some("Background"));
}

#[tokio::test(start_paused = true)]
async fn a_forbidden_watch_fails_the_wait_instead_of_hanging() {
    let (d, k) = setup(|_| {});
    submit(&k, "w").await.unwrap();
    d.fail_next("LIST", "jobs", 403);
    let e = k.wait(MatchRef::new("w"), None).await.unwrap_err();
    assert!(matches!(e, LaunchError::Watch { .. }), "{e}");
    assert!(e.to_string().contains("list and watch on jobs"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_full_quota_is_reported_after_the_grace_not_waited_on() {
    let (d, k) = setup(|c| c.mode = Mode::QuotaFull);
    let start = tokio::time::Instant::now();
    let o = k
        .play(
            &request("quota").validate().unwrap(),
            PlayOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::CannotStart);
    assert!(o.reason.contains("FailedCreate"), "{}", o.reason);
    assert!(o.reason.contains("exceeded quota"), "{}", o.reason);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(70),
        "{waited:?}"
    );
    assert_eq!(d.count("LIST events"), 1);
    assert_eq!(
        d.names("jobs"),
        Vec::<String>::new(),
        "deleted after the report"
    );
}

#[tokio::test(start_paused = true)]
async fn image_pull_errors_and_unschedulable_pods_are_reported() {
    let (_, k) = setup(|c| c.mode = Mode::ImagePull);
    let o = k
        .play(&request("pull").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::CannotStart);
    assert!(o.reason.starts_with("ImagePullBackOff"), "{}", o.reason);

    let (_, k) = setup(|c| c.mode = Mode::Unschedulable);
    let o = k
        .play(
            &request("sched").validate().unwrap(),
            PlayOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::CannotStart);
    assert!(o.reason.contains("Insufficient memory"), "{}", o.reason);
}

#[tokio::test(start_paused = true)]
async fn a_pod_whose_sandbox_cannot_be_created_is_reported_after_the_grace() {
    let (d, k) = setup(|c| c.mode = Mode::SandboxFails);
    let start = tokio::time::Instant::now();
    let o = k
        .play(
            &request("sandbox").validate().unwrap(),
            PlayOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::CannotStart);
    assert!(
        o.reason.starts_with("FailedCreatePodSandBox"),
        "{}",
        o.reason
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(70),
        "{waited:?}"
    );
    assert_eq!(d.count("LIST events"), 1, "{:?}", d.counts());
}

#[tokio::test(start_paused = true)]
async fn a_verdict_missed_by_the_pod_watch_is_read_once() {
    let (d, k) = setup(|c| c.mode = Mode::JobFirst);
    let o = k
        .play(&request("race").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    assert_eq!(d.count("LIST pods"), 2, "the watch's list, then one read");
}

#[tokio::test(start_paused = true)]
async fn a_job_is_started_only_once_its_code_is_in_and_a_retry_finishes_a_broken_submit() {
    let (d, k) = setup(|_| {});
    let m = request("late-code").validate().unwrap();
    // The submit stops after the Job and its ConfigMap, before the resume.
    d.fail_next("PATCH", "jobs", 500);
    assert!(k.submit(&m).await.is_err());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let job = d.object("jobs", "match-late-code").unwrap();
    assert_eq!(job["spec"]["suspend"], true, "{job}");
    assert!(d.names("pods").is_empty(), "no pod before the code is in");
    // A retry attaches, finds the Job still awaiting its code, and starts it: once.
    let again = k.submit(&m).await.unwrap();
    assert!(again.attached);
    let o = k.wait(MatchRef::new("late-code"), None).await.unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    assert_eq!(d.names("pods").len(), 1);
    let job = d.object("jobs", "match-late-code").unwrap();
    assert!(
        job["metadata"]["annotations"]["game-sandbox/awaiting-code"].is_null(),
        "{job}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_quota_conflict_on_create_is_tried_again_not_taken_for_an_existing_match() {
    let (d, k) = setup(|_| {});
    d.fail_next("POST", "jobs", 409);
    d.fail_next("POST", "configmaps", 409);
    let sub = submit(&k, "conflict").await.unwrap();
    assert!(!sub.attached);
    assert_eq!(d.count("POST jobs"), 2, "{:?}", d.counts());
    assert_eq!(d.count("POST configmaps"), 2, "{:?}", d.counts());
    assert_eq!(d.count("GET jobs"), 0, "no attach: {:?}", d.counts());
    let o = k.wait(MatchRef::new("conflict"), None).await.unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    assert!(d.object("configmaps", "match-conflict").is_some());
}

#[tokio::test(start_paused = true)]
async fn cancel_deletes_with_background_propagation() {
    let (d, k) = setup(|c| c.run_time = Duration::from_secs(600));
    submit(&k, "c").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(d.names("pods").len(), 1);
    k.cancel(MatchRef::new("c")).await.unwrap();
    assert_eq!(
        d.deletes(),
        [("jobs".into(), "match-c".into(), Some("Background".into()))]
    );
    assert_eq!(left_behind(&d), Vec::<String>::new());
    let e = k.cancel(MatchRef::new("c")).await.unwrap_err();
    assert!(matches!(e, LaunchError::NotFound { .. }), "{e}");
    assert_eq!(e.exit_code(), 6);
}

#[tokio::test(start_paused = true)]
async fn waiting_on_a_cancelled_match_ends() {
    let (_, k) = setup(|c| c.run_time = Duration::from_secs(600));
    let k = Arc::new(k);
    submit(&k, "wc").await.unwrap();
    let k2 = k.clone();
    let waiter = tokio::spawn(async move { k2.wait(MatchRef::new("wc"), None).await });
    tokio::time::sleep(Duration::from_secs(2)).await;
    k.cancel(MatchRef::new("wc")).await.unwrap();
    let e = waiter.await.unwrap().unwrap_err();
    assert!(matches!(e, LaunchError::NotFound { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn status_suspend_resume_logs_list_and_gc() {
    let (d, k) = setup(|c| c.run_time = Duration::from_secs(30));
    submit(&k, "s").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        k.status(MatchRef::new("s")).await.unwrap().state,
        State::Running
    );

    let started = d.object("jobs", "match-s").unwrap()["status"]["startTime"].clone();
    k.set_suspended(MatchRef::new("s"), true).await.unwrap();
    assert_eq!(
        k.status(MatchRef::new("s")).await.unwrap().state,
        State::Suspended
    );
    assert_eq!(
        d.object("jobs", "match-s").unwrap()["status"]["startTime"],
        started,
        "a real Job keeps startTime while suspended (seen on the lab)"
    );
    assert_eq!(
        d.names("pods"),
        Vec::<String>::new(),
        "suspending deletes the pod"
    );
    let listed = k.list(None).await.unwrap();
    assert_eq!(
        (listed[0].match_id.as_str(), listed[0].state),
        ("s", State::Suspended)
    );

    k.set_suspended(MatchRef::new("s"), false).await.unwrap();
    let o = k
        .wait(MatchRef::new("s"), Some(Duration::from_secs(120)))
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::Ok);
    let st = k.status(MatchRef::new("s")).await.unwrap();
    assert_eq!(st.state, State::Finished);
    assert_eq!(st.outcome.unwrap().winner.as_deref(), Some("alice"));
    let logs = k.logs(MatchRef::new("s"), 1 << 16).await.unwrap();
    assert!(logs[0].source.ends_with("/runner"), "{}", logs[0].source);
    assert!(
        logs[0].text.contains("runner report for match-s"),
        "{}",
        logs[0].text
    );
    let capped = k.logs(MatchRef::new("s"), 10).await.unwrap();
    assert_eq!(capped[0].text.len(), 10);
    assert!(capped[0].truncated);
    // list and gc read Jobs only: finished once the Job controller has synced (a second).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(k.list(None).await.unwrap()[0].state, State::Finished);

    // gc: a fresh finish is not old enough for an hour, but is for zero seconds.
    assert_eq!(
        k.gc(None, Duration::from_secs(3600)).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(k.gc(None, Duration::ZERO).await.unwrap(), ["s"]);
    assert_eq!(left_behind(&d), Vec::<String>::new());
    assert!(matches!(
        k.status(MatchRef::new("s")).await,
        Err(LaunchError::NotFound { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn waiting_on_an_unknown_match_fails_at_once() {
    let (d, k) = setup(|_| {});
    let start = tokio::time::Instant::now();
    let e = k.wait(MatchRef::new("ghost"), None).await.unwrap_err();
    assert!(matches!(e, LaunchError::NotFound { .. }), "{e}");
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(d.count("GET jobs"), 1, "confirmed with one read");
}

#[tokio::test(start_paused = true)]
async fn result_collects_then_deletes() {
    let (d, k) = setup(|_| {});
    submit(&k, "r").await.unwrap();
    let e = k.result(MatchRef::new("r"), false).await.unwrap_err();
    assert!(
        matches!(e, LaunchError::NotFinished { .. }),
        "not finished yet: {e}"
    );
    assert_eq!(e.exit_code(), 5);
    k.wait(MatchRef::new("r"), None).await.unwrap();
    let o = k.result(MatchRef::new("r"), false).await.unwrap();
    assert_eq!(o.verdict, Verdict::Ok);
    assert_eq!(left_behind(&d), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_batch_never_exceeds_its_concurrency_and_runs_by_priority() {
    let (d, k) = setup(|c| c.run_time = Duration::from_secs(20));
    let b = Backend::Kube(Box::new(k));
    let matches: Vec<_> = (0..12)
        .map(|i| {
            let mut r = request(&format!("b{i:02}"));
            r.priority = if i >= 9 { 10 } else { 0 };
            r.validate().unwrap()
        })
        .collect();
    let mut finished = Vec::new();
    let summary = batch::run(
        &b,
        matches,
        BatchOptions {
            concurrency: 3,
            play: PlayOptions::default(),
        },
        |ev| {
            if let batch::BatchEvent::Finished(r, _) = ev {
                finished.push(r.match_id().to_owned());
            }
        },
        std::future::pending(),
    )
    .await;
    assert_eq!((summary.total, summary.finished, summary.ok), (12, 12, 12));
    assert_eq!(summary.exit_code(), 0);
    assert!(
        d.max_jobs() <= 3,
        "at most 3 Jobs at once, saw {}",
        d.max_jobs()
    );
    assert_eq!(d.max_jobs(), 3);
    assert!(summary.max_in_flight <= 3);
    assert_eq!(
        &d.job_order()[..3],
        ["match-b09", "match-b10", "match-b11"],
        "priority first"
    );
    assert_eq!(finished.len(), 12);
    assert_eq!(summary.wins["alice"], 12);
    // Once the watches have delivered the last deletions, nothing is kept per match.
    tokio::time::sleep(Duration::from_secs(1)).await;
    if let Backend::Kube(k) = &b {
        assert_eq!(k.tracked_entries(), 0, "nothing kept per finished match");
    }
    assert_eq!(left_behind(&d), Vec::<String>::new());
    // Three requests per match; the shared watches cost two lists and two watches in all.
    assert_eq!(
        d.count("POST jobs") + d.count("POST configmaps") + d.count("DELETE jobs"),
        36
    );
}

#[tokio::test(start_paused = true)]
async fn interrupting_a_batch_cancels_what_it_started() {
    let (d, k) = setup(|c| c.run_time = Duration::from_secs(600));
    let b = Backend::Kube(Box::new(k));
    let matches: Vec<_> = (0..5)
        .map(|i| request(&format!("i{i}")).validate().unwrap())
        .collect();
    let summary = batch::run(
        &b,
        matches,
        BatchOptions {
            concurrency: 2,
            play: PlayOptions::default(),
        },
        |_| {},
        tokio::time::sleep(Duration::from_secs(5)),
    )
    .await;
    assert!(summary.interrupted);
    assert_eq!(summary.cancelled, 2);
    assert_eq!(summary.not_started, 3);
    assert_eq!(summary.exit_code(), 130);
    assert_eq!(left_behind(&d), Vec::<String>::new());
    assert!(
        d.deletes()
            .iter()
            .all(|(_, _, p)| p.as_deref() == Some("Background"))
    );
}

#[tokio::test(start_paused = true)]
async fn the_placeholder_image_is_refused_before_anything_is_created() {
    let d = Double::new(Config::new(first_wins()));
    let k = KubeBackend::new(
        d.client(),
        ClusterSettings::default(),
        KubeOptions::default(),
    )
    .unwrap();
    let e = submit(&k, "p").await.unwrap_err();
    assert!(e.to_string().contains("--image"), "{e}");
    assert_eq!(d.total_requests(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_protected_namespace_passes_preflight_and_a_submit_goes_through() {
    let (d, k) = setup(|_| {});
    let p = k.preflight("games").await.unwrap();
    assert!(p.passed(), "{}", p.failures());
    assert_eq!(p.checks.len(), 5);
    assert!(p.table().contains("preflight passed"), "{}", p.table());
    let sub = submit(&k, "pf").await.unwrap();
    assert!(sub.preflight_overridden.is_empty());
    assert_eq!(d.count("POST jobs"), 1);
    // The preflight's four reads, once: the submit used the kept result.
    for key in [
        "GET namespaces",
        "LIST networkpolicies",
        "LIST resourcequotas",
        "GET serviceaccounts",
    ] {
        assert_eq!(d.count(key), 1, "{key}: {:?}", d.counts());
    }
}

#[tokio::test(start_paused = true)]
async fn an_unprotected_namespace_is_refused_by_submit_play_and_batch_and_nothing_is_created() {
    let (d, k) = setup_unprotected(KubeOptions::default());
    let p = k.preflight("games").await.unwrap();
    assert!(!p.passed());
    let failed: Vec<&str> = p
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.rule)
        .collect();
    assert_eq!(
        failed,
        [
            "pod security admission",
            "network policy: ingress",
            "network policy: egress"
        ]
    );
    assert!(
        p.table().contains("preflight FAILED (3 of 5 rules)"),
        "{}",
        p.table()
    );

    let e = submit(&k, "u1").await.unwrap_err();
    assert!(matches!(e, LaunchError::Unisolated { .. }), "{e}");
    assert_eq!(e.exit_code(), 7);
    let text = e.to_string();
    for rule in &failed {
        assert!(text.contains(rule), "{text}");
    }
    assert!(text.contains("--allow-unisolated-namespace"), "{text}");

    let e = k
        .play(&request("u2").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LaunchError::Unisolated { .. }), "{e}");

    let b = Backend::Kube(Box::new(k));
    let matches: Vec<_> = (0..4)
        .map(|i| request(&format!("u-b{i}")).validate().unwrap())
        .collect();
    let summary = batch::run(
        &b,
        matches,
        BatchOptions {
            concurrency: 2,
            play: PlayOptions::default(),
        },
        |ev| {
            if let batch::BatchEvent::Finished(r, _) = ev {
                assert!(
                    matches!(r, batch::Record::Error { exit_code: 7, .. }),
                    "{r:?}"
                );
            }
        },
        std::future::pending(),
    )
    .await;
    assert_eq!((summary.total, summary.errors, summary.ok), (4, 4, 0));
    assert_eq!(creates(&d), 0, "nothing created: {:?}", d.counts());
    assert_eq!(left_behind(&d), Vec::<String>::new());
    assert_eq!(d.open_watches(), 0, "no watch started either");
    // Six refusals, one read of the namespace.
    assert_eq!(d.preflight_reads(), 4, "{:?}", d.counts());
}

#[tokio::test(start_paused = true)]
async fn the_override_runs_in_an_unprotected_namespace_and_records_the_failed_rules() {
    let (d, k) = setup_unprotected(KubeOptions {
        allow_unisolated_namespace: true,
        ..KubeOptions::default()
    });
    let o = k
        .play(&request("ov").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert_eq!(o.verdict, Verdict::Ok, "{}", o.reason);
    let rules: Vec<&str> = o.preflight_overridden.iter().map(|c| c.rule).collect();
    assert_eq!(
        rules,
        [
            "pod security admission",
            "network policy: ingress",
            "network policy: egress"
        ]
    );
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(
        json["preflight_overridden"][0]["rule"],
        "pod security admission"
    );
    assert_eq!(json["preflight_overridden"][0]["pass"], false);
    assert!(o.table().contains("WARNING"), "{}", o.table());
    assert_eq!(d.count("POST jobs"), 1);

    // A protected namespace records nothing.
    let (_, k) = setup(|_| {});
    let o = k
        .play(&request("ok").validate().unwrap(), PlayOptions::default())
        .await
        .unwrap();
    assert!(o.preflight_overridden.is_empty());
    assert!(
        serde_json::to_value(&o)
            .unwrap()
            .get("preflight_overridden")
            .is_none()
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_reads_each_namespace_once() {
    let (d, k) = setup(|c| c.run_time = Duration::from_secs(5));
    d.protect("games-t2");
    let b = Backend::Kube(Box::new(k));
    let matches: Vec<_> = (0..10)
        .map(|i| {
            let mut r = request(&format!("n{i:02}"));
            if i % 3 == 0 {
                r.tenant = Some("t2".into());
            }
            r.validate().unwrap()
        })
        .collect();
    let summary = batch::run(
        &b,
        matches,
        BatchOptions {
            concurrency: 4,
            play: PlayOptions::default(),
        },
        |_| {},
        std::future::pending(),
    )
    .await;
    assert_eq!((summary.total, summary.ok), (10, 10), "{summary:?}");
    for key in [
        "GET namespaces",
        "LIST networkpolicies",
        "LIST resourcequotas",
        "GET serviceaccounts",
    ] {
        assert_eq!(
            d.count(key),
            2,
            "{key}, once per namespace: {:?}",
            d.counts()
        );
    }
    // Still three requests per match.
    assert_eq!(
        d.count("POST jobs") + d.count("POST configmaps") + d.count("DELETE jobs"),
        30
    );
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_namespace_fails_closed_and_is_read_again_next_time() {
    let (d, k) = setup(|_| {});
    d.fail_next("GET", "namespaces", 403);
    let e = submit(&k, "r1").await.unwrap_err();
    assert!(matches!(e, LaunchError::Unisolated { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("pod security admission: the namespace cannot be read"),
        "{text}"
    );
    assert!(
        text.contains("forbidden"),
        "the API's reason is kept: {text}"
    );
    assert_eq!(creates(&d), 0);
    // A failed read is not kept: the next submit reads again and goes through.
    submit(&k, "r1").await.unwrap();
    assert_eq!(d.count("GET namespaces"), 2);
    assert_eq!(d.count("POST jobs"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_missing_namespace_fails_every_rule() {
    let d = Double::new(Config::new(first_wins()));
    let k = KubeBackend::new(d.client(), settings(), KubeOptions::default()).unwrap();
    let p = k.preflight("nowhere").await.unwrap();
    assert!(p.checks.iter().all(|c| !c.pass), "{p:?}");
    assert!(k.admit("nowhere").await.is_err());
}

#[tokio::test]
async fn an_api_server_that_does_not_answer_is_unreachable_not_a_failed_preflight() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let k = KubeBackend::new(client, settings(), KubeOptions::default()).unwrap();
    let e = k.preflight("games").await.unwrap_err();
    assert!(matches!(e, LaunchError::Unreachable { .. }), "{e}");
    assert_eq!(e.exit_code(), launcher::error::LauncherExit::Backend);
    let e = k.admit("games").await.unwrap_err();
    assert!(matches!(e, LaunchError::Unreachable { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn api_and_watch_errors_keep_the_client_error_as_their_source() {
    use std::error::Error as _;
    let (d, k) = setup(|_| {});
    d.fail_next("GET", "jobs", 500);
    let e = k.status(MatchRef::new("x")).await.unwrap_err();
    assert!(matches!(e, LaunchError::Api { .. }), "{e}");
    let source = e.source().and_then(|s| s.downcast_ref::<kube::Error>());
    assert!(
        matches!(source, Some(kube::Error::Api(s)) if s.code == 500),
        "{e:?}"
    );

    submit(&k, "w").await.unwrap();
    d.fail_next("LIST", "jobs", 403);
    let e = k.wait(MatchRef::new("w"), None).await.unwrap_err();
    assert!(matches!(e, LaunchError::Watch { .. }), "{e}");
    let source = e
        .source()
        .and_then(|s| s.downcast_ref::<Arc<kube::runtime::watcher::Error>>());
    assert!(source.is_some(), "{e:?}");
    assert!(
        e.source()
            .and_then(|s| s.source())
            .and_then(|s| s.downcast_ref::<kube::Error>())
            .is_some_and(|c| matches!(c, kube::Error::Api(s) if s.code == 403)),
        "{e:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn delete_removes_the_job_with_background_propagation() {
    let (d, k) = setup(|_| {});
    submit(&k, "del").await.unwrap();
    let b = Backend::Kube(Box::new(k));
    b.delete(MatchRef::new("del")).await.unwrap();
    assert_eq!(d.count("DELETE jobs"), 1);
    assert_eq!(d.deletes()[0].2.as_deref(), Some("Background"));
    let e = b.status(MatchRef::new("del")).await.unwrap_err();
    assert!(matches!(e, LaunchError::NotFound { .. }), "{e}");
    let e = b.delete(MatchRef::new("del")).await.unwrap_err();
    assert!(matches!(e, LaunchError::NotFound { .. }), "{e}");
}

/// A `tracing` writer into a shared buffer, to read what the launcher logged.
#[derive(Clone, Default)]
struct Logged(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_rollback_that_fails_is_warned_about_with_how_to_clean_up() {
    let logged = Logged::default();
    let writer = logged.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::WARN)
            .finish(),
    );
    let (d, k) = setup(|_| {});
    d.fail_next("POST", "configmaps", 403);
    d.fail_next("DELETE", "jobs", 500);
    let e = submit(&k, "rb").await.unwrap_err();
    assert!(e.to_string().contains("`create` on configmaps"), "{e}");
    assert_eq!(d.count("DELETE jobs"), 1);
    let text = String::from_utf8(logged.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("could not be deleted either") && text.contains("launcher cancel rb"),
        "{text}"
    );
}
