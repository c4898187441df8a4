# attack: fork bomb (every process forks forever)
# expect: policy_violation
import os

while True:
    os.fork()
    print("ESCAPED: fork returned", flush=True)
