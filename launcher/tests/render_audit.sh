#!/usr/bin/env bash
# Renders the launcher's Kubernetes objects and audits them with the project's third-party
# auditors (tests/audit/run: kubernetes-validate --strict for 1.33 and the newest known
# version, and checkov with the namespace policy, so graph checks see the deny-all
# NetworkPolicy).
#
#   launcher/tests/render_audit.sh
#
# Audits three renders: the default Job, a Job with every optional hardening (RuntimeClass,
# hostUsers: false, Localhost seccomp, results PVC), and the bare Pod of `render --as-pod`.
# Skips (exit 0 with a note) when tests/audit/run is not there.
set -Eeuo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$HERE/../.." && pwd)
AUDIT=$ROOT/tests/audit/run
if [[ ! -x $AUDIT ]]; then
    echo "render_audit: $AUDIT not found; skipped"
    exit 0
fi
cd "$ROOT"
cargo build -q -p launcher
LAUNCHER=$ROOT/target/debug/launcher
WORK=$(mktemp -d "${TMPDIR:-/tmp}/render-audit.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
IMAGE=registry.example/game-sandbox/runner@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
BOTS=(examples/bots/random.py examples/bots/greedy.py)

"$LAUNCHER" render --image "$IMAGE" --match-id audit-default "${BOTS[@]}" >"$WORK/default.yaml"
cat >"$WORK/settings.yaml" <<YAML
image: $IMAGE
runtime_class: gvisor
user_namespace: true
results_pvc: match-results
seccomp_localhost_profile: profiles/game-sandbox.json
node_selector:
  sandbox.example/pool: games
tolerations:
  - key: sandbox.example/games
    operator: Exists
    effect: NoSchedule
YAML
"$LAUNCHER" render --settings "$WORK/settings.yaml" --match-id audit-hardened "${BOTS[@]}" >"$WORK/hardened.yaml"
"$LAUNCHER" render --image "$IMAGE" --as-pod --match-id audit-pod "${BOTS[@]}" >"$WORK/pod.yaml"
exec "$AUDIT" "$WORK/default.yaml" "$WORK/hardened.yaml" "$WORK/pod.yaml"
