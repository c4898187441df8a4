# attack: fork bomb (every process forks forever)
# expect: policy_violation
# violation: clone(flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD)
import os

while True:
    os.fork()
    print("ESCAPED: fork returned", flush=True)
