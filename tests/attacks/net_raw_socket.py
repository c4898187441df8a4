# attack: open a raw ICMP socket (ping, packet crafting)
# expect: policy_violation
# violation: socket(AF_INET, SOCK_RAW
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print("ESCAPED: raw socket", s.fileno())
sys.exit(42)
