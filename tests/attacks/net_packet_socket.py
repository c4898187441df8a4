# attack: open an AF_PACKET socket to sniff or inject link-layer frames
# expect: policy_violation
# violation: socket(AF_PACKET, SOCK_RAW
import socket
import sys

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
print("ESCAPED: packet socket", s.fileno())
sys.exit(42)
