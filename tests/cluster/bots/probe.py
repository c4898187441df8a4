"""Looks for what a game pod must not give user code, prints what it found as one JSON line on
its standard error, then tries the network, which the sandbox must refuse.

A service-account token, service-link variables (`*_SERVICE_HOST`), the API server's address:
none may be visible. The connection attempt is the last thing it does: the runner's seccomp
filter kills it there (policy_violation), so reaching the print proves the checks ran."""

import json
import os
import socket
import sys

found = {
    "token": any(os.path.exists(p) for p in (
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "/run/secrets/kubernetes.io/serviceaccount/token")),
    "service_env": sorted(k for k in os.environ if k.endswith("_SERVICE_HOST") or k.startswith("KUBERNETES")),
    "env_keys": sorted(os.environ),
}
print(json.dumps(found), file=sys.stderr, flush=True)
target = os.environ.get("PROBE_TARGET", "10.204.0.2:8080").rsplit(":", 1)
socket.create_connection((target[0], int(target[1])), timeout=3).close()
print("ESCAPED: connected out", file=sys.stderr, flush=True)
