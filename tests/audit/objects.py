"""Split rendered manifests into one file per object and check the policy's invariants.

Used by tests/audit/run; runs with the audit venv's Python (PyYAML comes with
kubernetes-validate).

    objects.py OUTDIR SOURCE=FILE [SOURCE=FILE ...]

SOURCE names where FILE came from: `base`, `tenant-NAME` (a kustomize render of
policies/kubernetes/base or an overlay), `runtimeclasses`, or `extra-N` (a file
passed on the command line, e.g. the launcher's rendered Job). Every object is
written to OUTDIR/SOURCE/NN-kind-name.yaml for the third-party auditors.

For the namespace renders (base and tenant-*) it also checks what the offline
auditors cannot know: that the render really is the isolated namespace the
README describes (PSA labels, deny-all, quota, limits, tokens off) and that the
launcher's RBAC is a subset of the documented allowlist, in its own namespace.
These guard the kustomize patches: a transformer that silently stopped
rewriting a subject's namespace would grant the wrong tenant's account.

Prints one line per check, `PASS ...` or `FAIL ...`, and ends with
`objects: P passed, F failed`. Exit status 1 if anything failed or a file
could not be parsed.
"""

import os
import re
import sys

import yaml

PSA_LEVEL = "restricted"
PSA_VERSION = "v1.33"

QUOTA_KEYS = {
    "pods",
    "requests.cpu",
    "limits.cpu",
    "requests.memory",
    "limits.memory",
    "requests.ephemeral-storage",
    "limits.ephemeral-storage",
    "count/configmaps",
    "count/jobs.batch",
}
LIMIT_RESOURCES = {"cpu", "memory", "ephemeral-storage"}

# (apiGroup, resource) -> verbs the launcher may hold. A render may grant less,
# never more. namespaces is special-cased: get, and only on its own namespace;
# serviceaccounts too: get, and only the game ServiceAccount (the preflight's read).
RBAC_ALLOWLIST = {
    ("batch", "jobs"): {"create", "get", "list", "watch", "delete", "patch"},
    ("", "configmaps"): {"create", "get", "list", "delete"},
    ("", "pods"): {"get", "list", "watch"},
    ("", "pods/log"): {"get"},
    ("", "events"): {"get", "list", "watch"},
    ("events.k8s.io", "events"): {"get", "list", "watch"},
    ("", "namespaces"): {"get"},
    ("networking.k8s.io", "networkpolicies"): {"get", "list"},
    ("", "resourcequotas"): {"get", "list"},
    ("", "serviceaccounts"): {"get"},
}

CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "RuntimeClass",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "CustomResourceDefinition",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"PASS {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}")
        return ok


def slug(text):
    return re.sub(r"[^A-Za-z0-9.-]+", "_", str(text)).strip("_").lower() or "unnamed"


def split(checks, outdir, source, path):
    """Write each object of PATH to OUTDIR/SOURCE/; return the objects."""
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        checks.check(False, f"{source}: parse {path}: {e}")
        return []
    objects = []
    for doc in docs:
        # A List (kubectl get -o yaml) is unpacked into its items.
        if isinstance(doc, dict) and doc.get("kind") == "List" and "items" in doc:
            objects.extend(doc["items"] or [])
        else:
            objects.append(doc)
    ok = checks.check(
        len(objects) > 0 and all(isinstance(o, dict) and o.get("kind") for o in objects),
        f"{source}: {path} holds {len(objects)} Kubernetes object(s)",
    )
    if not ok:
        return []
    target = os.path.join(outdir, source)
    os.makedirs(target, exist_ok=True)
    for i, obj in enumerate(objects, 1):
        name = (obj.get("metadata") or {}).get("name", "unnamed")
        fname = f"{i:02d}-{slug(obj['kind'])}-{slug(name)}.yaml"
        with open(os.path.join(target, fname), "w", encoding="utf-8") as f:
            yaml.safe_dump(obj, f, sort_keys=False)
    return objects


def of_kind(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def name_of(obj):
    return (obj.get("metadata") or {}).get("name")


def check_namespace_render(checks, source, objects):
    c = checks.check
    namespaces = of_kind(objects, "Namespace")
    if not c(len(namespaces) == 1, f"{source}: exactly one Namespace"):
        return
    ns = name_of(namespaces[0])
    if source.startswith("tenant-"):
        c(ns == f"games-{source}", f"{source}: Namespace is games-{source} (got {ns})")

    labels = namespaces[0].get("metadata", {}).get("labels") or {}
    for mode in ("enforce", "audit", "warn"):
        key = f"pod-security.kubernetes.io/{mode}"
        c(
            labels.get(key) == PSA_LEVEL and labels.get(f"{key}-version") == PSA_VERSION,
            f"{source}: PSA {mode}={PSA_LEVEL} pinned to {PSA_VERSION}",
        )

    stray = [
        f"{o['kind']}/{name_of(o)}"
        for o in objects
        if o["kind"] not in CLUSTER_SCOPED and (o.get("metadata") or {}).get("namespace") != ns
    ]
    c(not stray, f"{source}: every namespaced object is in {ns}" + (f" (not: {stray})" if stray else ""))
    cluster = [f"{o['kind']}/{name_of(o)}" for o in objects if o["kind"] in CLUSTER_SCOPED and o["kind"] != "Namespace"]
    c(not cluster, f"{source}: no cluster-scoped object but the Namespace" + (f" (found: {cluster})" if cluster else ""))

    deny = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if (p.get("spec") or {}).get("podSelector") == {}
        and set((p.get("spec") or {}).get("policyTypes") or []) == {"Ingress", "Egress"}
        and not (p.get("spec") or {}).get("ingress")
        and not (p.get("spec") or {}).get("egress")
    ]
    c(len(deny) == 1, f"{source}: a NetworkPolicy selects every pod and allows no ingress and no egress")
    allowing = [
        name_of(p)
        for p in of_kind(objects, "NetworkPolicy")
        if (p.get("spec") or {}).get("ingress") or (p.get("spec") or {}).get("egress")
    ]
    c(not allowing, f"{source}: no NetworkPolicy allows any traffic" + (f" (allowing: {allowing})" if allowing else ""))

    quotas = of_kind(objects, "ResourceQuota")
    hard = set()
    for q in quotas:
        hard |= set(((q.get("spec") or {}).get("hard") or {}).keys())
    missing = sorted(QUOTA_KEYS - hard)
    c(quotas and not missing, f"{source}: ResourceQuota caps {', '.join(sorted(QUOTA_KEYS))}" + (f" (missing: {missing})" if missing else ""))

    container_limits = [
        item
        for lr in of_kind(objects, "LimitRange")
        for item in ((lr.get("spec") or {}).get("limits") or [])
        if item.get("type") == "Container"
    ]
    ok = bool(container_limits) and all(
        LIMIT_RESOURCES <= set((item.get(field) or {}).keys())
        for item in container_limits
        for field in ("default", "defaultRequest", "max")
    )
    c(ok, f"{source}: LimitRange sets default, defaultRequest and max for cpu, memory, ephemeral-storage")

    accounts = {name_of(sa): sa for sa in of_kind(objects, "ServiceAccount")}
    for sa in ("game", "default", "launcher"):
        c(
            sa in accounts and accounts[sa].get("automountServiceAccountToken") is False,
            f"{source}: ServiceAccount {sa} has automountServiceAccountToken: false",
        )

    check_rbac(checks, source, objects, ns)


def check_rbac(checks, source, objects, ns):
    c = checks.check
    problems = []
    roles = {name_of(r): r for r in of_kind(objects, "Role")}
    for role in roles.values():
        for rule in role.get("rules") or []:
            groups = rule.get("apiGroups") or []
            resources = rule.get("resources") or []
            verbs = set(rule.get("verbs") or [])
            if rule.get("nonResourceURLs"):
                problems.append(f"{name_of(role)}: nonResourceURLs")
            for group in groups:
                for resource in resources:
                    allowed = RBAC_ALLOWLIST.get((group, resource))
                    if allowed is None:
                        problems.append(f"{name_of(role)}: {group or 'core'}/{resource} not allowed")
                    elif not verbs <= allowed:
                        problems.append(f"{name_of(role)}: {group or 'core'}/{resource} verbs {sorted(verbs - allowed)} not allowed")
                    if resource == "serviceaccounts" and rule.get("resourceNames") != ["game"]:
                        problems.append(f"{name_of(role)}: serviceaccounts resourceNames {rule.get('resourceNames')} != [game]")
                    if resource == "namespaces" and rule.get("resourceNames") != [ns]:
                        problems.append(f"{name_of(role)}: namespaces resourceNames {rule.get('resourceNames')} != [{ns}]")
    c(roles and not problems, f"{source}: Roles grant only the documented allowlist" + (f" ({'; '.join(problems)})" if problems else ""))

    problems = []
    bindings = of_kind(objects, "RoleBinding")
    for b in bindings:
        ref = b.get("roleRef") or {}
        if ref.get("kind") != "Role" or ref.get("name") not in roles:
            problems.append(f"{name_of(b)}: roleRef {ref.get('kind')}/{ref.get('name')} is not a Role of this render")
        for s in b.get("subjects") or []:
            if s.get("kind") != "ServiceAccount" or s.get("name") != "launcher" or s.get("namespace") != ns:
                problems.append(f"{name_of(b)}: subject {s.get('kind')} {s.get('namespace')}/{s.get('name')}")
    c(
        bindings and not problems,
        f"{source}: RoleBindings bind only Roles of this render to ServiceAccount {ns}/launcher"
        + (f" ({'; '.join(problems)})" if problems else ""),
    )


def check_runtimeclasses(checks, source, objects):
    handlers = {name_of(o): o.get("handler") for o in of_kind(objects, "RuntimeClass")}
    checks.check(
        handlers == {"gvisor": "runsc", "kata": "kata"},
        f"{source}: RuntimeClasses gvisor->runsc and kata->kata (got {handlers})",
    )


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = argv[1]
    checks = Checks()
    for arg in argv[2:]:
        source, _, path = arg.partition("=")
        objects = split(checks, outdir, source, path)
        if not objects:
            continue
        if source == "base" or source.startswith("tenant-"):
            check_namespace_render(checks, source, objects)
        elif source == "runtimeclasses":
            check_runtimeclasses(checks, source, objects)
    print(f"objects: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
