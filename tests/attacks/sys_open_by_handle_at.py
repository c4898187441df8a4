# attack: the "shocker" escape: name_to_handle_at / open_by_handle_at open files by inode handle, bypassing every path check
# expect: policy_violation
# violation: name_to_handle_at(
# args: {secret}
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
handle = ctypes.create_string_buffer(128)
ctypes.c_uint.from_buffer(handle).value = 120  # handle_bytes
mount_id = ctypes.c_int()
SYS_name_to_handle_at, SYS_open_by_handle_at = 303, 304
r = libc.syscall(SYS_name_to_handle_at, AT_FDCWD, sys.argv[1].encode(), handle, ctypes.byref(mount_id), 0)
print("ESCAPED: name_to_handle_at returned", r, ctypes.get_errno(), flush=True)
r = libc.syscall(SYS_open_by_handle_at, AT_FDCWD, handle, 0)
print("ESCAPED: open_by_handle_at returned", r, ctypes.get_errno())
sys.exit(42)
