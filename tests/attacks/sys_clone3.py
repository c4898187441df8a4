# attack: clone3(2), whose flags seccomp cannot inspect: it must fail with ENOSYS (so glibc falls back to clone), never run
# expect: ok
import ctypes
import errno
import sys

libc = ctypes.CDLL(None, use_errno=True)
args = (ctypes.c_uint64 * 11)()
args[4] = 17  # exit_signal = SIGCHLD: a fork
r = libc.syscall(435, ctypes.byref(args), ctypes.c_size_t(88))
if r == 0:
    libc._exit(0)
err = ctypes.get_errno()
if r > 0:
    print("ESCAPED: clone3 forked", r)
    sys.exit(42)
if err != errno.ENOSYS:
    print(f"unexpected errno {errno.errorcode.get(err, err)}")
    sys.exit(43)
print("blocked: clone3: ENOSYS")
