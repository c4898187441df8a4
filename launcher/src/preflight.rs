//! Preflight: is the target namespace really isolated? Read the namespace, its
//! NetworkPolicies, ResourceQuotas and the game ServiceAccount, and judge them rule by rule.
//!
//! The judgement is a pure function of the objects read ([`evaluate`]), so it is tested
//! without a cluster; [`check_namespace`] only reads. Every rule fails closed: an object that cannot be
//! read, or a rule that cannot be proven, fails.

use k8s_openapi::api::core::v1::{Namespace, ResourceQuota, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use crate::error::LaunchError;

/// The label Pod Security Admission enforces from.
pub const PSA_ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// The rules, in the order they are reported.
pub const RULE_PSA: &str = "pod security admission";
pub const RULE_INGRESS: &str = "network policy: ingress";
pub const RULE_EGRESS: &str = "network policy: egress";
pub const RULE_QUOTA: &str = "resource quota";
pub const RULE_SERVICE_ACCOUNT: &str = "game service account";

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Check {
    pub rule: &'static str,
    pub pass: bool,
    pub reason: String,
}

/// The whole preflight of one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preflight {
    pub namespace: String,
    pub checks: Vec<Check>,
}

impl Preflight {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }

    /// The failed rules.
    pub fn failed(&self) -> Vec<Check> {
        self.checks.iter().filter(|c| !c.pass).cloned().collect()
    }

    /// The failed rules, `rule: reason` joined by `; `, for an error message.
    pub fn failures(&self) -> String {
        describe(&self.checks)
    }

    /// The readable table: one row per rule.
    pub fn table(&self) -> String {
        let failed = self.checks.iter().filter(|c| !c.pass).count();
        let head = if failed == 0 {
            format!(
                "namespace {}: preflight passed ({} rules)\n",
                self.namespace,
                self.checks.len()
            )
        } else {
            format!(
                "namespace {}: preflight FAILED ({failed} of {} rules)\n",
                self.namespace,
                self.checks.len()
            )
        };
        let rows: Vec<[String; 3]> = self
            .checks
            .iter()
            .map(|c| {
                [
                    c.rule.to_owned(),
                    if c.pass { "pass" } else { "FAIL" }.to_owned(),
                    c.reason.clone(),
                ]
            })
            .collect();
        head + &crate::outcome::table(&["RULE", "RESULT", "REASON"], &rows)
    }
}

/// The failed checks among `checks`, `rule: reason` joined by `; `.
pub fn describe(checks: &[Check]) -> String {
    checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| format!("{}: {}", c.rule, c.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

fn check(rule: &'static str, pass: bool, reason: impl Into<String>) -> Check {
    Check {
        rule,
        pass,
        reason: reason.into(),
    }
}

/// Judges what was read. `None` means the object could not be read (or does not exist).
pub fn evaluate(
    namespace: &str,
    ns: Option<&Namespace>,
    policies: Option<&[NetworkPolicy]>,
    quotas: Option<&[ResourceQuota]>,
    service_account: Option<&ServiceAccount>,
    service_account_name: &str,
) -> Preflight {
    let checks = vec![
        psa(ns),
        network(policies, Direction::Ingress),
        network(policies, Direction::Egress),
        quota(quotas),
        token(service_account, service_account_name),
    ];
    Preflight {
        namespace: namespace.to_owned(),
        checks,
    }
}

fn psa(ns: Option<&Namespace>) -> Check {
    const RULE: &str = RULE_PSA;
    let Some(ns) = ns else {
        return check(RULE, false, "the namespace cannot be read");
    };
    let label = ns.metadata.labels.as_ref().and_then(|l| l.get(PSA_ENFORCE));
    match label.map(String::as_str) {
        Some("restricted") => check(RULE, true, format!("{PSA_ENFORCE}=restricted")),
        Some(other) => check(
            RULE,
            false,
            format!("{PSA_ENFORCE}={other}, not restricted"),
        ),
        None => check(
            RULE,
            false,
            format!("no {PSA_ENFORCE} label: pods are not held to restricted"),
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

/// Denied when a policy selecting every pod (empty podSelector) covers the direction with no
/// rule, and no policy in the namespace allows anything in that direction: NetworkPolicies
/// are additive, so any allow rule anywhere may open the game pods.
fn network(policies: Option<&[NetworkPolicy]>, dir: Direction) -> Check {
    let (rule, word) = match dir {
        Direction::Ingress => (RULE_INGRESS, "Ingress"),
        Direction::Egress => (RULE_EGRESS, "Egress"),
    };
    let Some(policies) = policies else {
        return check(rule, false, "network policies cannot be listed");
    };
    let mut deny_all = None;
    for p in policies {
        let name = p.metadata.name.clone().unwrap_or_default();
        let Some(spec) = &p.spec else { continue };
        let types = spec.policy_types.clone().unwrap_or_default();
        // Without policyTypes, a policy covers Ingress, and Egress only if it has egress rules.
        let covers = types.iter().any(|t| t == word)
            || (types.is_empty() && (dir == Direction::Ingress || spec.egress.is_some()));
        if !covers {
            continue;
        }
        let allows = match dir {
            Direction::Ingress => spec.ingress.as_ref().is_some_and(|r| !r.is_empty()),
            Direction::Egress => spec.egress.as_ref().is_some_and(|r| !r.is_empty()),
        };
        if allows {
            return check(
                rule,
                false,
                format!("policy {name} allows {} traffic", word.to_lowercase()),
            );
        }
        let selector = &spec.pod_selector;
        let all_pods = selector.as_ref().is_none_or(|s| {
            s.match_labels.as_ref().is_none_or(|l| l.is_empty())
                && s.match_expressions.as_ref().is_none_or(|e| e.is_empty())
        });
        if all_pods && deny_all.is_none() {
            deny_all = Some(name);
        }
    }
    match deny_all {
        Some(name) => check(
            rule,
            true,
            format!(
                "policy {name} denies all {} for every pod",
                word.to_lowercase()
            ),
        ),
        None => check(
            rule,
            false,
            format!(
                "no policy with an empty podSelector denies all {} (and the network plugin must enforce it)",
                word.to_lowercase()
            ),
        ),
    }
}

fn quota(quotas: Option<&[ResourceQuota]>) -> Check {
    const RULE: &str = RULE_QUOTA;
    let Some(quotas) = quotas else {
        return check(RULE, false, "resource quotas cannot be listed");
    };
    let bounded = quotas.iter().find(|q| {
        q.spec
            .as_ref()
            .and_then(|s| s.hard.as_ref())
            .is_some_and(|h| {
                ["pods", "limits.cpu", "limits.memory"]
                    .iter()
                    .all(|k| h.contains_key(*k))
            })
    });
    match bounded {
        Some(q) => check(
            RULE,
            true,
            format!(
                "quota {} bounds pods, limits.cpu and limits.memory",
                q.metadata.name.clone().unwrap_or_default()
            ),
        ),
        None => check(
            RULE,
            false,
            "no ResourceQuota bounds pods, limits.cpu and limits.memory",
        ),
    }
}

fn token(sa: Option<&ServiceAccount>, name: &str) -> Check {
    const RULE: &str = RULE_SERVICE_ACCOUNT;
    match sa {
        None => check(
            RULE,
            false,
            format!("service account {name} does not exist or cannot be read"),
        ),
        Some(sa) if sa.automount_service_account_token == Some(false) => check(
            RULE,
            true,
            format!("service account {name} does not mount a token"),
        ),
        Some(_) => check(
            RULE,
            false,
            format!(
                "service account {name} mounts a token (set automountServiceAccountToken: false)"
            ),
        ),
    }
}

/// Whether a client error means the API server gave no answer at all (as opposed to an answer
/// that refuses or denies): then nothing about the namespace was learnt, and saying that it
/// failed its rules would send an operator after the wrong problem.
pub fn is_unreachable(e: &kube::Error) -> bool {
    matches!(e, kube::Error::HyperError(_) | kube::Error::Service(_))
}

/// Reads the namespace's objects and judges them. Read errors become failed rules; an API
/// server that does not answer is an error of its own.
pub async fn check_namespace(
    client: kube::Client,
    namespace: &str,
    service_account_name: &str,
) -> Result<Preflight, LaunchError> {
    Ok(read_and_judge(client, namespace, service_account_name)
        .await?
        .0)
}

/// [`check_namespace`], and whether a read failed (not: found nothing), which a cache should
/// not keep: the next check may read it. The read error is added to its rules' reasons.
pub async fn read_and_judge(
    client: kube::Client,
    namespace: &str,
    service_account_name: &str,
) -> Result<(Preflight, bool), LaunchError> {
    #[derive(Default)]
    struct Errors {
        by_rule: Vec<(&'static [&'static str], String)>,
        unreachable: Option<kube::Error>,
    }
    fn seen<T>(
        errors: &mut Errors,
        rules: &'static [&'static str],
        r: Result<T, kube::Error>,
    ) -> Option<T> {
        r.map_err(|e| {
            errors.by_rule.push((rules, e.to_string()));
            if is_unreachable(&e) && errors.unreachable.is_none() {
                errors.unreachable = Some(e);
            }
        })
        .ok()
    }
    let mut errors = Errors::default();
    let ns = seen(
        &mut errors,
        &[RULE_PSA],
        Api::<Namespace>::all(client.clone())
            .get_opt(namespace)
            .await,
    )
    .flatten();
    let lp = ListParams::default();
    let policies = seen(
        &mut errors,
        &[RULE_INGRESS, RULE_EGRESS],
        Api::<NetworkPolicy>::namespaced(client.clone(), namespace)
            .list(&lp)
            .await,
    )
    .map(|l| l.items);
    let quotas = seen(
        &mut errors,
        &[RULE_QUOTA],
        Api::<ResourceQuota>::namespaced(client.clone(), namespace)
            .list(&lp)
            .await,
    )
    .map(|l| l.items);
    let sa = seen(
        &mut errors,
        &[RULE_SERVICE_ACCOUNT],
        Api::<ServiceAccount>::namespaced(client, namespace)
            .get_opt(service_account_name)
            .await,
    )
    .flatten();
    let mut p = evaluate(
        namespace,
        ns.as_ref(),
        policies.as_deref(),
        quotas.as_deref(),
        sa.as_ref(),
        service_account_name,
    );
    if let Some(source) = errors.unreachable {
        return Err(LaunchError::Unreachable {
            source: std::sync::Arc::new(source),
        });
    }
    let failed_reads = !errors.by_rule.is_empty();
    for (rules, e) in errors.by_rule {
        for c in p.checks.iter_mut().filter(|c| rules.contains(&c.rule)) {
            c.reason = format!("{} ({e})", c.reason);
        }
    }
    Ok((p, failed_reads))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
        serde_json::from_value(serde_saphyr::from_str::<serde_json::Value>(text).unwrap()).unwrap()
    }

    fn protected() -> (
        Namespace,
        Vec<NetworkPolicy>,
        Vec<ResourceQuota>,
        ServiceAccount,
    ) {
        (
            yaml(
                "metadata: {name: games, labels: {pod-security.kubernetes.io/enforce: restricted}}",
            ),
            vec![yaml(
                "metadata: {name: deny-all}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}",
            )],
            vec![yaml(
                "metadata: {name: games}\nspec: {hard: {pods: '20', limits.cpu: '8', limits.memory: 16Gi}}",
            )],
            yaml("metadata: {name: game}\nautomountServiceAccountToken: false"),
        )
    }

    fn run(
        ns: &Namespace,
        np: &[NetworkPolicy],
        q: &[ResourceQuota],
        sa: &ServiceAccount,
    ) -> Preflight {
        evaluate("games", Some(ns), Some(np), Some(q), Some(sa), "game")
    }

    #[test]
    fn a_protected_namespace_passes_every_rule() {
        let (ns, np, q, sa) = protected();
        let p = run(&ns, &np, &q, &sa);
        assert!(p.passed(), "{}", p.failures());
        assert_eq!(p.checks.len(), 5);
    }

    #[test]
    fn each_missing_protection_fails_its_rule() {
        let (ns, np, q, sa) = protected();
        let baseline: Namespace =
            yaml("metadata: {name: games, labels: {pod-security.kubernetes.io/enforce: baseline}}");
        let p = run(&baseline, &np, &q, &sa);
        assert!(p.failures().contains("not restricted"), "{}", p.failures());

        let ingress_only: Vec<NetworkPolicy> = vec![yaml(
            "metadata: {name: in}\nspec: {podSelector: {}, policyTypes: [Ingress]}",
        )];
        let p = run(&ns, &ingress_only, &q, &sa);
        assert_eq!(
            p.checks
                .iter()
                .filter(|c| !c.pass)
                .map(|c| c.rule)
                .collect::<Vec<_>>(),
            vec!["network policy: egress"]
        );

        let mut opened = np.clone();
        opened.push(yaml("metadata: {name: dns}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}]}]}"));
        assert!(
            run(&ns, &opened, &q, &sa)
                .failures()
                .contains("policy dns allows egress")
        );

        let some_pods: Vec<NetworkPolicy> = vec![yaml(
            "metadata: {name: some}\nspec: {podSelector: {matchLabels: {app: x}}, policyTypes: [Ingress, Egress]}",
        )];
        assert!(!run(&ns, &some_pods, &q, &sa).passed());

        let loose: Vec<ResourceQuota> =
            vec![yaml("metadata: {name: q}\nspec: {hard: {pods: '20'}}")];
        assert!(
            run(&ns, &np, &loose, &sa)
                .failures()
                .contains("resource quota")
        );

        let mounting: ServiceAccount = yaml("metadata: {name: game}");
        assert!(
            run(&ns, &np, &q, &mounting)
                .failures()
                .contains("mounts a token")
        );
    }

    #[test]
    fn unreadable_objects_fail_closed() {
        let p = evaluate("games", None, None, None, None, "game");
        assert!(p.checks.iter().all(|c| !c.pass));
        assert_eq!(p.checks.len(), 5);
    }

    #[test]
    fn the_committed_base_manifests_pass() {
        // The policies the security team applies must satisfy the launcher's own preflight.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../policies/kubernetes/base/namespace.yaml"
        ))
        .unwrap();
        let ns: Namespace = yaml(&text);
        let np: NetworkPolicy = yaml(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../policies/kubernetes/base/networkpolicy.yaml"
            ))
            .unwrap(),
        );
        let q: ResourceQuota = yaml(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../policies/kubernetes/base/resourcequota.yaml"
            ))
            .unwrap(),
        );
        let sas = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../policies/kubernetes/base/serviceaccounts.yaml"
        ))
        .unwrap();
        let sa: ServiceAccount = sas
            .split("\n---")
            .filter_map(|doc| serde_saphyr::from_str::<serde_json::Value>(doc).ok())
            .filter_map(|v| serde_json::from_value::<ServiceAccount>(v).ok())
            .find(|sa| sa.metadata.name.as_deref() == Some("game"))
            .unwrap();
        let p = evaluate(
            "games",
            Some(&ns),
            Some(&[np]),
            Some(&[q]),
            Some(&sa),
            "game",
        );
        assert!(p.passed(), "{}", p.failures());
    }
}
