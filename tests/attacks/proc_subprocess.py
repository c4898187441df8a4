# attack: subprocess.run a shell command
# expect: policy_violation
# violation: vfork()
import subprocess
import sys

r = subprocess.run(["/bin/sh", "-c", "id"], capture_output=True)
print("ESCAPED: subprocess ran:", r)
sys.exit(42)
