# attack: os.fork() a child process (clone without CLONE_THREAD)
# expect: policy_violation
# violation: clone(flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD)
import os
import sys

pid = os.fork()
if pid == 0:
    os._exit(0)
print("ESCAPED: forked", pid)
sys.exit(42)
