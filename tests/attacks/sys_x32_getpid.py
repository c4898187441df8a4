# attack: an x32 syscall number (getpid | 0x40000000), which plain x86_64 allowlists do not see
# expect: policy_violation
# violation: kernel
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(0x40000000 | 39)
print("ESCAPED: x32 getpid returned", r, "errno", ctypes.get_errno())
sys.exit(42)
