# attack: io_uring_setup(2): io_uring performs I/O outside seccomp's view
# expect: policy_violation
# violation: io_uring_setup(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
r = libc.syscall(425, 8, params)
print("ESCAPED: io_uring_setup returned", r, "errno", ctypes.get_errno())
sys.exit(42)
