# Shared by build, up, down and test: names, addresses and helpers. Sourced, not run.
# shellcheck shell=bash

LAB_NAME=sandboxlab
NODE_NAME=sandboxlab-node
PAUSE_IMAGE=sandboxlab.local/pause:lab
# The lab's own addresses. The node has one of its own on a dummy interface; pods get the pod
# CIDR on a bridge; a test host in a network namespace of the lab's own stands for "outside".
# A guard chain drops anything a pod sends elsewhere, so no packet of the lab leaves the machine
# whatever the NetworkPolicy enforcer does.
NODE_IF=sandboxlab0
NODE_IP=10.201.0.1
POD_CIDR=10.202.0.0/16
NODE_POD_CIDR=10.202.0.0/24
SERVICE_CIDR=10.203.0.0/24
OUTSIDE_NETNS=sandboxlab-outside
OUTSIDE_HOST_IP=10.204.0.1
OUTSIDE_IP=10.204.0.2
OUTSIDE_PORT=8080
BRIDGE=sandboxlab-br
APISERVER_PORT=6443
ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$repo/target/cluster"
state="$out/state"
run="$out/run"
logs="$out/logs"
pki="$out/pki"
bin="$out/bin"

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The last lines of a component's log, for a failure message.
log_tail() {
  local f="$logs/$1.log"
  [[ -f "$f" ]] || return 0
  printf -- '--- last lines of %s ---\n' "$f" >&2
  tail -n "${2:-25}" "$f" >&2
}

pid_of() {
  local f="$run/$1.pid"
  [[ -f "$f" ]] && cat "$f"
}

alive() {
  local pid
  pid="$(pid_of "$1")" && [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

admin_kubectl() { "$bin/kubectl" --kubeconfig "$out/admin.kubeconfig" "$@"; }
