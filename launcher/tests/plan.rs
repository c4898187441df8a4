//! The plan: snapshots of the rendered objects, and every security field asserted one by one
//! (a snapshot shows a change; these say which property it broke).

// Test helpers may unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, PodSpec, Toleration};
use launcher::plan::{self, ClusterSettings, Plan};
use launcher::request::{MatchRequest, PlayerInput};
use runner::spec::MatchSpec;
use runner::units::{Secs, Size};

const IMAGE: &str = "registry.example/game-sandbox/runner@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn request() -> MatchRequest {
    let mut r = MatchRequest::new(vec![
        PlayerInput::bytes(
            "alice",
            "from game.sdk import run\n\n\ndef act(observation):\n    return \"N\"\n\n\nrun(act)\n",
        ),
        PlayerInput::bytes(
            "bob",
            "from game.sdk import run\n\nrun(lambda o: \"STAY\")\n",
        ),
    ]);
    r.match_id = Some("demo-1".into());
    r.tenant = Some("tenant-a".into());
    r.labels = BTreeMap::from([("tournament".to_owned(), "spring".to_owned())]);
    r.priority = 5;
    r
}

fn settings() -> ClusterSettings {
    ClusterSettings {
        image: IMAGE.into(),
        ..ClusterSettings::default()
    }
}

fn hardened() -> ClusterSettings {
    ClusterSettings {
        image: IMAGE.into(),
        runtime_class: Some("gvisor".into()),
        user_namespace: true,
        node_selector: BTreeMap::from([("sandbox.example/pool".to_owned(), "games".to_owned())]),
        tolerations: vec![Toleration {
            key: Some("sandbox.example/games".into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Toleration::default()
        }],
        results_pvc: Some("match-results".into()),
        seccomp_localhost_profile: Some("profiles/game.json".into()),
        ..ClusterSettings::default()
    }
}

fn plan_with(s: &ClusterSettings) -> Plan {
    plan::plan(&request().validate().unwrap(), s).unwrap()
}

fn pod_spec(job: &Job) -> &PodSpec {
    job.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn container(job: &Job) -> &Container {
    &pod_spec(job).containers[0]
}

#[test]
fn snapshot_job_and_configmap() {
    insta::assert_snapshot!("default", plan_with(&settings()).to_yaml(false).unwrap());
}

#[test]
fn snapshot_hardened_settings() {
    insta::assert_snapshot!("hardened", plan_with(&hardened()).to_yaml(false).unwrap());
}

#[test]
fn snapshot_bare_pod() {
    insta::assert_snapshot!("as_pod", plan_with(&settings()).to_yaml(true).unwrap());
}

#[test]
fn plans_are_pure() {
    assert_eq!(plan_with(&settings()), plan_with(&settings()));
    assert_eq!(
        plan_with(&settings()).to_yaml(false).unwrap(),
        plan_with(&settings()).to_yaml(false).unwrap()
    );
}

#[test]
fn job_fields() {
    let p = plan_with(&settings());
    let spec = p.job.spec.as_ref().unwrap();
    assert_eq!(p.name, "match-demo-1");
    assert_eq!(p.namespace, "games-tenant-a");
    assert_eq!(spec.backoff_limit, Some(0));
    // Above the runner's own wall limits (players 120s by the game's 100 turns, referee 130s).
    assert!(spec.active_deadline_seconds.unwrap() > 130);
    assert_eq!(spec.ttl_seconds_after_finished, Some(3600));
    assert_eq!(spec.pod_replacement_policy.as_deref(), Some("Failed"));
    let rules = &spec.pod_failure_policy.as_ref().unwrap().rules;
    assert_eq!(rules[0].action, "FailJob");
    let codes = rules[0].on_exit_codes.as_ref().unwrap();
    assert_eq!(codes.container_name.as_deref(), Some("runner"));
    assert_eq!(codes.operator, "In");
    let expected: Vec<i32> = runner::exit::RunnerExit::NON_RETRYABLE
        .iter()
        .map(|c| i32::from(c.code()))
        .collect();
    assert_eq!(codes.values, expected);
    assert_eq!(codes.values, [2, 3, 4]);
    assert_eq!(rules[1].action, "Ignore");
    let cond = &rules[1].on_pod_conditions.as_ref().unwrap()[0];
    assert_eq!(
        (cond.type_.as_str(), cond.status.as_str()),
        ("DisruptionTarget", "True")
    );

    for labels in [
        p.job.metadata.labels.as_ref().unwrap(),
        p.config_map.metadata.labels.as_ref().unwrap(),
        spec.template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap(),
    ] {
        assert_eq!(labels["game-sandbox/match-id"], "demo-1");
        assert_eq!(labels["game-sandbox/tenant"], "tenant-a");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "launcher");
        assert_eq!(labels["tournament"], "spring");
    }
    let ann = p.job.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["game-sandbox/request-sha256"], p.request_sha256);
    assert_eq!(ann["game-sandbox/priority"], "5");
}

#[test]
fn pod_security_fields() {
    for s in [settings(), hardened()] {
        let p = plan_with(&s);
        let pod = pod_spec(&p.job);
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(pod.enable_service_links, Some(false));
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.host_network, None);
        assert_eq!(pod.host_pid, None);
        assert_eq!(pod.host_ipc, None);
        let psc = pod.security_context.as_ref().unwrap();
        assert_eq!(psc.run_as_non_root, Some(true));
        assert_eq!(psc.run_as_user, Some(65532));
        assert_eq!(psc.run_as_group, Some(65532));
        let c = container(&p.job);
        let csc = c.security_context.as_ref().unwrap();
        assert_eq!(csc.allow_privilege_escalation, Some(false));
        assert_eq!(csc.privileged, Some(false));
        assert_eq!(csc.read_only_root_filesystem, Some(true));
        assert_eq!(csc.run_as_non_root, Some(true));
        assert_eq!(csc.run_as_user, Some(65532));
        assert_eq!(csc.run_as_group, Some(65532));
        let caps = csc.capabilities.as_ref().unwrap();
        assert_eq!(caps.drop.as_deref(), Some(&["ALL".to_owned()][..]));
        assert_eq!(caps.add, None);
        for profile in [psc.seccomp_profile.as_ref(), csc.seccomp_profile.as_ref()] {
            let t = profile.unwrap().type_.as_str();
            assert!(t == "RuntimeDefault" || t == "Localhost", "{t}");
        }
        // Requests equal limits, for cpu, memory and ephemeral-storage.
        let r = c.resources.as_ref().unwrap();
        let (req, lim) = (r.requests.as_ref().unwrap(), r.limits.as_ref().unwrap());
        assert_eq!(req, lim);
        for k in ["cpu", "memory", "ephemeral-storage"] {
            assert!(lim.contains_key(k), "{k}");
        }
        assert_eq!(
            c.termination_message_policy.as_deref(),
            Some("FallbackToLogsOnError")
        );
        assert_eq!(
            c.termination_message_path.as_deref(),
            Some("/dev/termination-log")
        );
        assert_eq!(c.image.as_deref(), Some(IMAGE));
        assert!(c.image.as_ref().unwrap().contains("@sha256:"));
        assert_eq!(c.image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert_eq!(
            c.args.as_deref(),
            Some(
                &[
                    "run".to_owned(),
                    "--spec".to_owned(),
                    "/match/spec.json".to_owned()
                ][..]
            )
        );
        assert!(c.env.is_none(), "no environment: nothing to leak");

        // Volumes: the code read-only from the ConfigMap, scratch with a size limit, never hostPath.
        let volumes = pod.volumes.as_ref().unwrap();
        assert!(volumes.iter().all(|v| v.host_path.is_none()));
        let code = volumes.iter().find(|v| v.name == "code").unwrap();
        assert_eq!(code.config_map.as_ref().unwrap().name, "match-demo-1");
        let scratch = volumes.iter().find(|v| v.name == "scratch").unwrap();
        assert!(scratch.empty_dir.as_ref().unwrap().size_limit.is_some());
        let mounts = c.volume_mounts.as_ref().unwrap();
        let code_mount = mounts.iter().find(|m| m.name == "code").unwrap();
        assert_eq!(code_mount.mount_path, "/match");
        assert_eq!(code_mount.read_only, Some(true));
    }
}

#[test]
fn optional_hardening_and_artifacts() {
    let plain = plan_with(&settings());
    let pod = pod_spec(&plain.job);
    assert_eq!(pod.host_users, None);
    assert_eq!(pod.runtime_class_name, None);
    let out = pod
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "out")
        .unwrap();
    assert!(out.empty_dir.as_ref().unwrap().size_limit.is_some());
    assert!(out.persistent_volume_claim.is_none());

    let hard = plan_with(&hardened());
    let pod = pod_spec(&hard.job);
    assert_eq!(pod.host_users, Some(false));
    assert_eq!(pod.runtime_class_name.as_deref(), Some("gvisor"));
    let seccomp = pod
        .security_context
        .as_ref()
        .unwrap()
        .seccomp_profile
        .as_ref()
        .unwrap();
    assert_eq!(seccomp.type_, "Localhost");
    assert_eq!(
        seccomp.localhost_profile.as_deref(),
        Some("profiles/game.json")
    );
    let out = pod
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "out")
        .unwrap();
    assert_eq!(
        out.persistent_volume_claim.as_ref().unwrap().claim_name,
        "match-results"
    );
    let m = container(&hard.job)
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.name == "out")
        .unwrap();
    assert_eq!(m.sub_path.as_deref(), Some("demo-1"), "per-match sub-path");
}

#[test]
fn configmap_holds_the_spec_and_each_players_code() {
    let p = plan_with(&settings());
    assert_eq!(p.config_map.immutable, Some(true));
    let data = p.config_map.data.as_ref().unwrap();
    let keys: Vec<_> = data.keys().map(String::as_str).collect();
    let m = request().validate().unwrap();
    let files: Vec<String> = m.players.iter().map(|p| p.file_name()).collect();
    assert_eq!(keys, [files[0].as_str(), files[1].as_str(), "spec.json"]);
    let spec: MatchSpec = serde_json::from_str(&data["spec.json"]).unwrap();
    assert_eq!(spec, p.spec);
    assert_eq!(spec.output_dir.to_str(), Some("/out"));
    assert_eq!(
        spec.termination_log.as_deref().and_then(|p| p.to_str()),
        Some("/dev/termination-log")
    );
    assert_eq!(
        &spec.referee.program[..3],
        ["/usr/bin/python3", "-m", "game.referee"]
    );
    assert_eq!(spec.referee.env["PYTHONPATH"], "/opt/game");
    assert_eq!(
        spec.referee.paths.ro,
        [std::path::PathBuf::from("/opt/game")]
    );
    for (pl, file) in spec.players.iter().zip(&files) {
        assert!(file.starts_with(&format!("{}-", pl.id)) && file.ends_with(".py"));
        assert_eq!(
            pl.process.program,
            ["/usr/bin/python3".to_owned(), format!("/match/{file}")]
        );
        // Each player sees the game and its own code, never the other player's.
        assert_eq!(
            pl.process.paths.ro,
            [
                std::path::PathBuf::from("/opt/game"),
                format!("/match/{file}").into()
            ]
        );
        assert!(pl.process.paths.rw.is_empty());
        assert_eq!(pl.process.limits.memory, Some(Size::mib(256)));
    }
    spec.validate().unwrap();
}

#[test]
fn pod_limits_cover_every_process() {
    let mut r = request();
    r.limits.memory = Some(Size::mib(512));
    let p = plan::plan(&r.validate().unwrap(), &settings()).unwrap();
    // Two players of 512MiB, the referee's 256MiB and headroom.
    assert!(p.resources.memory.bytes() > 2 * 512 * Size::MIB + 256 * Size::MIB);

    r.limits.memory = Some(Size::mib(1024));
    let e = plan::plan(&r.validate().unwrap(), &settings())
        .unwrap_err()
        .to_string();
    assert!(e.contains("memory") && e.contains("maximum"), "{e}");

    let mut r = request();
    r.limits.wall_time = Some(Secs::from_millis(600_000));
    let p = plan::plan(&r.validate().unwrap(), &settings()).unwrap();
    assert!(p.job.spec.unwrap().active_deadline_seconds.unwrap() > 610);
}

#[test]
fn settings_are_checked() {
    let m = request().validate().unwrap();
    for (image, needle) in [
        ("runner:latest", "pinned by digest"),
        ("runner@sha256:abc", "64"),
        (
            "runner@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
            "64",
        ),
    ] {
        let s = ClusterSettings {
            image: image.into(),
            ..ClusterSettings::default()
        };
        let e = plan::plan(&m, &s).unwrap_err().to_string();
        assert!(e.contains(needle), "{image}: {e}");
    }
    let doc = "image: x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nhostPath: /\n";
    let e = serde_saphyr::from_str::<ClusterSettings>(doc)
        .unwrap_err()
        .to_string();
    assert!(e.contains("hostPath"), "{e}");
}

#[test]
fn binary_code_goes_to_binary_data() {
    let mut r = request();
    r.players[1] = PlayerInput::bytes("bob", vec![b'#', 0xff, 0xfe, b'\n']);
    let m = r.validate().unwrap();
    let bob = m.players[1].file_name();
    let p = plan::plan(&m, &settings()).unwrap();
    assert!(
        p.config_map
            .binary_data
            .as_ref()
            .unwrap()
            .contains_key(&bob)
    );
    assert!(!p.config_map.data.as_ref().unwrap().contains_key(&bob));
}

#[test]
fn a_sandbox_profile_rides_in_the_configmap_and_the_spec_names_it() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../policies/sandbox/namespaces.toml"),
    )
    .unwrap();
    let s = ClusterSettings {
        runtime_class: Some("gvisor".into()),
        sandbox_profile: Some(text.clone()),
        ..settings()
    };
    let p = plan_with(&s);
    let data = p.config_map.data.as_ref().unwrap();
    assert_eq!(data[plan::PROFILE_KEY], text);
    assert_eq!(
        p.spec.profile.as_deref().and_then(|p| p.to_str()),
        Some("/match/profile.toml")
    );
    assert_eq!(
        pod_spec(&p.job).runtime_class_name.as_deref(),
        Some("gvisor")
    );
    // Without one, the runner's embedded profile (Landlock) is used and nothing is shipped.
    let p = plan_with(&settings());
    assert!(p.spec.profile.is_none());
    assert!(
        !p.config_map
            .data
            .as_ref()
            .unwrap()
            .contains_key(plan::PROFILE_KEY)
    );
    // A profile the runner would refuse is refused before anything is created.
    let m = request().validate().unwrap();
    let bad = ClusterSettings {
        sandbox_profile: Some(text.replace("min_landlock_abi = 0", "min_landlock_abi = 6")),
        ..settings()
    };
    let e = plan::plan(&m, &bad).unwrap_err().to_string();
    assert!(
        e.contains("sandbox_profile") && e.contains("set it to 0"),
        "{e}"
    );
}
