# attack: open a TCP connection to a listener on 127.0.0.1 (the harness checks nothing connected)
# expect: policy_violation
# violation: socket(AF_INET, SOCK_STREAM
# args: {tcp_port}
# check: tcp
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # seccomp: socket(AF_INET) kills
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"ESCAPED\n")
print("ESCAPED: connected to 127.0.0.1")
sys.exit(42)
