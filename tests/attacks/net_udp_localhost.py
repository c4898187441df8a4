# attack: send a UDP datagram to 127.0.0.1 (Landlock cannot stop UDP; seccomp must)
# expect: policy_violation
# violation: socket(AF_INET, SOCK_DGRAM
# args: {udp_port}
# check: udp
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"ESCAPED", ("127.0.0.1", int(sys.argv[1])))
print("ESCAPED: sent a UDP datagram")
sys.exit(42)
