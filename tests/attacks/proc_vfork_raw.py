# attack: raw vfork(2) through ctypes
# expect: policy_violation
# violation: vfork()
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_vfork = 58
r = libc.syscall(SYS_vfork)
if r == 0:
    libc._exit(0)
print("ESCAPED: vfork returned", r, ctypes.get_errno())
sys.exit(42)
