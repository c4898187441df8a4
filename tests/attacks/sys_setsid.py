# attack: leave the runner's session and process group (setsid/setpgid) so the final group kill would miss it
# expect: policy_violation
# violation: setpgid(0, 0)
import os
import sys

os.setpgid(0, 0)
print("ESCAPED: setpgid succeeded")
os.setsid()
print("ESCAPED: setsid succeeded")
sys.exit(42)
