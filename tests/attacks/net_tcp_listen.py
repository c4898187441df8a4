# attack: listen on a TCP port to offer a service inside the pod
# expect: policy_violation
# violation: socket(AF_INET, SOCK_STREAM
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("0.0.0.0", 0))
s.listen()
print("ESCAPED: listening on", s.getsockname())
sys.exit(42)
