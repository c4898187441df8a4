# attack: a BSD lock (flock(2)) on a standard-library file: the same cross-sandbox channel as fcntl record locks, through another system call
# expect: policy_violation
# violation: flock(
# stdout: reached flock
import fcntl
import os
import sys

fd = os.open(os.__file__, os.O_RDONLY)
print("reached flock", flush=True)
fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
print("ESCAPED: flock granted")
sys.exit(42)
