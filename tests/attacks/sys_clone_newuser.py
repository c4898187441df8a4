# attack: raw clone(CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWUSER): a thread-looking clone with a namespace flag
# expect: policy_violation
# violation: clone(flags=CLONE_VM|CLONE_SIGHAND|CLONE_THREAD|CLONE_NEWUSER)
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(56, 0x00010000 | 0x00000800 | 0x00000100 | 0x10000000, 0, 0, 0, 0)
print("ESCAPED: clone returned", r, "errno", ctypes.get_errno())
sys.exit(42)
