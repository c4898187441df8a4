# attack: raw socket(AF_INET, SOCK_STREAM) syscall through ctypes, bypassing Python's socket module
# expect: policy_violation
# violation: socket(AF_INET, SOCK_STREAM, 0)
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(41, 2, 1, 0)
print("ESCAPED: socket returned", r, "errno", ctypes.get_errno())
sys.exit(42)
