# attack: os.system a shell command
# expect: policy_violation
# violation: clone(flags=CLONE_VM|CLONE_VFORK|SIGCHLD)
import os
import sys

rc = os.system("id")
print("ESCAPED: os.system returned", rc)
sys.exit(42)
