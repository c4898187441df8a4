#!/usr/bin/env bash
# Check, on a REAL cluster, that a game namespace is actually isolated from the
# network. CI runs it against the lab (tests/cluster/), where kube-router
# enforces NetworkPolicy.
#
#   policies/kubernetes/verify-cluster.sh NAMESPACE
#
# Why: a NetworkPolicy is only data. A network plugin that does not implement
# NetworkPolicy (flannel alone, old kindnet, many bare setups) accepts the
# deny-all object and silently ignores it, and nothing in the API says so. The
# only proof is to try from inside the namespace.
#
# It starts one throwaway pod in NAMESPACE (restricted-profile securityContext,
# so Pod Security Admission admits it; ServiceAccount `game`, no token) that
# tries:
#   - a TCP connection to each of VERIFY_TCP_TARGETS (default 1.1.1.1:53, the
#     internet),
#   - a DNS lookup of kubernetes.default.svc.CLUSTER_DOMAIN (cluster DNS),
#   - a TCP connection to the cluster DNS server's port 53,
#   - a TCP connection to the API server's service address,
# and asserts that every attempt fails. The pod is deleted afterwards.
#
# Exit status: 0 isolated (a start-up window before the plugin applies the
# policy is printed as a WARNING); 1 some egress worked once the policy had
# had time to apply (it is not enforced: do not run games here); 2
# inconclusive (the probe pod could not be created or did not finish, or the
# control run reached nothing either).
#
# Environment:
#   KUBECTL                   kubectl to use (default: kubectl; its current context)
#   VERIFY_IMAGE              image with python3 on its PATH (default:
#                             python:3.13-alpine; mirror it for air-gapped
#                             clusters, or use the game image if it has python3)
#   CLUSTER_DOMAIN            cluster DNS domain (default: cluster.local)
#   VERIFY_CONTROL_NAMESPACE  optional namespace WITHOUT a deny-all policy: the
#                             same probe must reach cluster DNS there, which
#                             shows that "blocked" above was the policy's doing
#                             and not, say, a broken cluster DNS.
#   VERIFY_TIMEOUT            seconds to wait for each probe pod (default: 180)
#   VERIFY_SETTLE             seconds between the probe's two rounds (default 5)
#   VERIFY_TCP_TARGETS        space-separated HOST:PORT the probe must not reach
#                             (default: 1.1.1.1:53); an air-gapped cluster names
#                             hosts of its own that a pod elsewhere can reach
set -euo pipefail

KUBECTL=${KUBECTL:-kubectl}
IMAGE=${VERIFY_IMAGE:-python:3.13-alpine}
CLUSTER_DOMAIN=${CLUSTER_DOMAIN:-cluster.local}
TIMEOUT=${VERIFY_TIMEOUT:-180}
TCP_TARGETS=${VERIFY_TCP_TARGETS:-1.1.1.1:53}
SETTLE=${VERIFY_SETTLE:-5}

usage() { sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
[[ $# -eq 1 && $1 != -* ]] || usage
NAMESPACE=$1

# The probe, run by the image's python3 inside the pod. A TCP connection counts
# as OPEN only if the handshake completed, a lookup only if it returned an
# address; refused, unreachable, reset and timed out all mean blocked. It
# tries everything twice: the moment it starts, and again SETTLE seconds
# later. Network plugins apply a policy to a new pod asynchronously (kube-router
# once it sees the pod's IP), so the first round shows the start-up window
# and the second the steady state. Prints one line per attempt; exits 10 if
# anything was OPEN in the second round, 11 if only in the first (a window),
# else 0 (a crash of the probe itself exits 1, which counts as inconclusive,
# never as a pass).
PROBE=$(cat <<'PY'
import os, socket, sys, time
opened = False
phase = "at start"
def report(ok, what):
    global opened
    opened |= ok
    print(("OPEN " if ok else "blocked ") + what + f" [{phase}]", flush=True)
def tcp(host, port):
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        report(True, f"tcp {host}:{port}")
    except OSError as e:
        report(False, f"tcp {host}:{port} ({e.__class__.__name__})")
def dns(name):
    try:
        addrs = sorted({a[4][0] for a in socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)})
        report(True, f"dns {name} -> {addrs}")
    except OSError as e:
        report(False, f"dns {name} ({e.__class__.__name__})")
nameservers = []
try:
    with open("/etc/resolv.conf") as f:
        nameservers = [l.split()[1] for l in f if l.startswith("nameserver ") and len(l.split()) > 1]
except OSError:
    pass
def attempt_all():
    for target in os.environ.get("TCP_TARGETS", "").split():
        tcp(*target.rsplit(":", 1))
    dns(f"kubernetes.default.svc.{os.environ.get('CLUSTER_DOMAIN', 'cluster.local')}.")
    for ns in nameservers[:1]:
        tcp(ns, 53)
    tcp(os.environ.get("KUBERNETES_SERVICE_HOST", "10.96.0.1"), os.environ.get("KUBERNETES_SERVICE_PORT", "443"))
attempt_all()
at_start, opened = opened, False
time.sleep(float(os.environ.get("SETTLE", "5")))
phase = "settled"
attempt_all()
sys.exit(10 if opened else 11 if at_start else 0)
PY
)

POD=netpol-verify-$(date +%s)-$$
CREATED=()
cleanup() {
    local entry
    for entry in ${CREATED[@]+"${CREATED[@]}"}; do
        "$KUBECTL" delete pod "${entry#*/}" -n "${entry%%/*}" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT

# Runs the probe in namespace $1 with service account $2; prints its log;
# returns the probe's exit code (0 all blocked, 10 something OPEN; anything
# else, including 2 when the pod was not admitted or never finished, means
# inconclusive).
run_probe() {
    local ns=$1 sa=$2 phase="" waited=0 code
    "$KUBECTL" create -n "$ns" -f - >/dev/null <<EOF || return 2
apiVersion: v1
kind: Pod
metadata:
  name: $POD
  labels:
    app.kubernetes.io/name: netpol-verify
spec:
  restartPolicy: Never
  activeDeadlineSeconds: $TIMEOUT
  serviceAccountName: $sa
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: probe
      image: $IMAGE
      imagePullPolicy: IfNotPresent
      command: ["python3", "-c"]
      args:
        - |
          ${PROBE//$'\n'/$'\n'          }
      env:
        - name: CLUSTER_DOMAIN
          value: "$CLUSTER_DOMAIN"
        - name: TCP_TARGETS
          value: "$TCP_TARGETS"
        - name: SETTLE
          value: "$SETTLE"
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        privileged: false
        capabilities:
          drop: ["ALL"]
      resources:
        requests: {cpu: 50m, memory: 64Mi, ephemeral-storage: 16Mi}
        limits: {cpu: 200m, memory: 64Mi, ephemeral-storage: 16Mi}
EOF
    CREATED+=("$ns/$POD")
    while ((waited < TIMEOUT + 30)); do
        phase=$("$KUBECTL" get pod "$POD" -n "$ns" -o 'jsonpath={.status.phase}' 2>/dev/null || true)
        [[ $phase == Succeeded || $phase == Failed ]] && break
        sleep 2
        waited=$((waited + 2))
    done
    "$KUBECTL" logs "$POD" -n "$ns" 2>/dev/null | sed "s|^|  [$ns] |" || true
    if [[ $phase != Succeeded && $phase != Failed ]]; then
        echo "verify-cluster: probe pod in $ns did not finish (phase '${phase:-unknown}'); events:" >&2
        "$KUBECTL" get events -n "$ns" --field-selector "involvedObject.name=$POD" >&2 || true
        return 2
    fi
    code=$("$KUBECTL" get pod "$POD" -n "$ns" \
        -o 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}' 2>/dev/null || true)
    [[ $code =~ ^[0-9]+$ ]] || code=2
    return "$code"
}

"$KUBECTL" get namespace "$NAMESPACE" >/dev/null || { echo "verify-cluster: no namespace $NAMESPACE" >&2; exit 2; }
echo "verify-cluster: probing egress from $NAMESPACE with $IMAGE"
rc=0
run_probe "$NAMESPACE" game || rc=$?
window=0
case $rc in
    0) ;;
    11) window=1
        echo "verify-cluster: WARNING: traffic left $NAMESPACE in the first moment of the pod's life, before the network plugin applied the policy; it was blocked ${SETTLE}s later. Game pods rely on the runner's seccomp filter (no socket but AF_UNIX) for that window (policies/README.md)." >&2 ;;
    10) echo "verify-cluster: FAIL: traffic left $NAMESPACE; its NetworkPolicy is not enforced by this cluster's network plugin" >&2
       exit 1 ;;
    *) echo "verify-cluster: INCONCLUSIVE (probe exit $rc)" >&2
       exit 2 ;;
esac

if [[ -n ${VERIFY_CONTROL_NAMESPACE:-} ]]; then
    echo "verify-cluster: control run in $VERIFY_CONTROL_NAMESPACE (expected: cluster DNS answers there)"
    crc=0
    run_probe "$VERIFY_CONTROL_NAMESPACE" default || crc=$?
    if [[ $crc != 10 ]]; then
        echo "verify-cluster: INCONCLUSIVE: nothing was reachable from the control namespace either (exit $crc), so 'blocked' may not be the policy's doing" >&2
        exit 2
    fi
fi
echo "verify-cluster: OK: no egress from $NAMESPACE (internet, cluster DNS, API server all blocked)$( ((window)) && echo ", after a start-up window")"
