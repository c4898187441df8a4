# attack: raw bpf(BPF_PROG_LOAD) to load an eBPF program
# expect: policy_violation
# violation: bpf(
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(128)
r = libc.syscall(321, 5, attr, 128)
print("ESCAPED: bpf returned", r, "errno", ctypes.get_errno())
sys.exit(42)
