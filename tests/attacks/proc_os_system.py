# attack: os.system a shell command
# expect: policy_violation
import os
import sys

rc = os.system("id")
print("ESCAPED: os.system returned", rc)
sys.exit(42)
