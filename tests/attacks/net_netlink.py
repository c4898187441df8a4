# attack: open a NETLINK_ROUTE socket to read or change routes and interfaces
# expect: policy_violation
# violation: socket(AF_NETLINK, SOCK_RAW
import socket
import sys

s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
s.bind((0, 0))
print("ESCAPED: netlink socket", s.fileno())
sys.exit(42)
