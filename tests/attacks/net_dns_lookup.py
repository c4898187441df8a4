# attack: resolve a host name (a DNS query is a UDP socket; also probes nscd over AF_UNIX)
# expect: policy_violation
# violation: socket(AF_INET, SOCK_DGRAM
import socket
import sys

try:
    addrs = socket.getaddrinfo("example.com", 443)
except OSError as e:
    # Resolution failing without a network socket would also be safe, but the resolver
    # reaches socket(AF_INET, SOCK_DGRAM) and must be killed there.
    print(f"ESCAPED: resolver returned an error instead of being stopped: {e}")
    sys.exit(42)
print("ESCAPED: resolved", addrs[:1])
sys.exit(42)
