# attack: the first half of a futex channel between sandboxes: map a standard-library file MAP_SHARED, whose futex words every sandbox mapping the same file shares (FUTEX_WAKE in one ends a FUTEX_WAIT in the other)
# expect: ok
import ctypes
import errno
import mmap
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open(os.__file__, os.O_RDONLY)
for flags, name in ((mmap.MAP_SHARED, "MAP_SHARED"), (0x03, "MAP_SHARED_VALIDATE")):
    p = libc.mmap(None, 4096, mmap.PROT_READ, flags, fd, 0)
    if p not in (None, ctypes.c_void_p(-1).value):
        print(f"ESCAPED: {name} mapping of {os.__file__} at {p:#x}")
        sys.exit(42)
    if ctypes.get_errno() != errno.ENOSYS:
        print(name, "unexpected errno", ctypes.get_errno())
        sys.exit(43)
try:
    mmap.mmap(fd, 4096, prot=mmap.PROT_READ)  # the module's default is MAP_SHARED
    print("ESCAPED: mmap.mmap mapped the file shared")
    sys.exit(42)
except OSError as e:
    assert e.errno == errno.ENOSYS, e
# What still works: private file mappings, shared anonymous memory.
m = mmap.mmap(fd, 4096, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
assert len(m[:16]) == 16
a = mmap.mmap(-1, 1 << 20)
a[:5] = b"hello"
assert a[:5] == b"hello"
