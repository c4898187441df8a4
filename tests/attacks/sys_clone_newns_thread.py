# attack: raw clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWNET): namespace flag smuggled into a thread clone
# expect: policy_violation
# violation: clone(flags=CLONE_VM|CLONE_SIGHAND|CLONE_THREAD|CLONE_NEWNET)
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(56, 0x00010000 | 0x00000800 | 0x00000100 | 0x40000000, 0, 0, 0, 0)
print("ESCAPED: clone returned", r, "errno", ctypes.get_errno())
sys.exit(42)
