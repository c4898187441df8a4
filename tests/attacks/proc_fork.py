# attack: os.fork() a child process (clone without CLONE_THREAD)
# expect: policy_violation
import os
import sys

pid = os.fork()
if pid == 0:
    os._exit(0)
print("ESCAPED: forked", pid)
sys.exit(42)
