# attack: open a TCP socket over IPv6 to ::1
# expect: policy_violation
# violation: socket(AF_INET6, SOCK_STREAM
# args: {tcp_port}
import socket
import sys

s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
try:
    s.connect(("::1", int(sys.argv[1])))
except OSError as e:
    print(f"ESCAPED: got an AF_INET6 socket (connect: {e})")
    sys.exit(42)
print("ESCAPED: connected to ::1")
sys.exit(42)
