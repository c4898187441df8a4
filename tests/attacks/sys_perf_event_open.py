# attack: perf_event_open(2) (kernel attack surface, side channels)
# expect: policy_violation
# violation: perf_event_open(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(128)
r = libc.syscall(298, attr, 0, -1, -1, 0)
print("ESCAPED: perf_event_open returned", r, "errno", ctypes.get_errno())
sys.exit(42)
