# attack: the receiving end of a covert channel between sandboxes: F_GETLK on a standard-library file any sandbox of the same uid can open read-only, which reports another process's lock and its pid
# expect: policy_violation
# violation: fcntl(3, F_GETLK,
# stdout: reached F_GETLK
import fcntl
import os
import struct
import sys

fd = os.open(os.__file__, os.O_RDONLY)
# struct flock: l_type, l_whence, l_start, l_len, l_pid
probe = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
print("reached F_GETLK", flush=True)
answer = fcntl.fcntl(fd, fcntl.F_GETLK, probe)
print("ESCAPED: F_GETLK answered", struct.unpack("hhqqi4x", answer))
sys.exit(42)
