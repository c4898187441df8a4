# attack: personality(READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE) to weaken ASLR and NX
# expect: policy_violation
# violation: personality(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(135, 0x0400000 | 0x0040000)
print("ESCAPED: personality returned", r, "errno", ctypes.get_errno())
sys.exit(42)
