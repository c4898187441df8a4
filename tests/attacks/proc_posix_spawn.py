# attack: os.posix_spawn a shell (glibc uses clone(CLONE_VM|CLONE_VFORK))
# expect: policy_violation
# violation: clone(flags=CLONE_VM|CLONE_VFORK|SIGCHLD)
import os
import sys

pid = os.posix_spawn("/bin/sh", ["sh", "-c", "true"], {})
print("ESCAPED: posix_spawn returned", pid)
sys.exit(42)
