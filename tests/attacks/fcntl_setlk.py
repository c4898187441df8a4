# attack: the sending end of a covert channel between sandboxes: a read lock (fcntl.lockf, F_SETLK) on a standard-library file that another sandbox can see with F_GETLK
# expect: policy_violation
# violation: fcntl(3, F_SETLK,
# stdout: reached F_SETLK
import fcntl
import os
import sys

fd = os.open(os.__file__, os.O_RDONLY)
print("reached F_SETLK", flush=True)
fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 0)
print("ESCAPED: took a read lock on", os.__file__)
sys.exit(42)
