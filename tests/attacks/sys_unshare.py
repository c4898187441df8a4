# attack: raw unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) to become root in a new user namespace
# expect: policy_violation
# violation: unshare(CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWNET)
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(272, 0x10000000 | 0x00020000 | 0x40000000)
print("ESCAPED: unshare returned", r, "errno", ctypes.get_errno())
sys.exit(42)
