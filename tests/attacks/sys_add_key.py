# attack: add_key(2) to plant a key in the session keyring
# expect: policy_violation
# violation: add_key(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(ctypes.c_long(248), b"user", b"x", b"data", ctypes.c_long(4), ctypes.c_long(-3))
print("ESCAPED: add_key returned", r, "errno", ctypes.get_errno())
sys.exit(42)
