# attack: chroot(2) to escape Landlock path rules
# expect: policy_violation
# violation: chroot(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(ctypes.c_long(161), b"/")
print("ESCAPED: chroot returned", r, "errno", ctypes.get_errno())
sys.exit(42)
