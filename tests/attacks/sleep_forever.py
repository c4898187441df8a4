# attack: sleep forever, holding a slot without using CPU
# expect: timeout_wall
# runner-args: --wall-time 1
import sys
import time

time.sleep(3600)
print("ESCAPED: woke up")
sys.exit(42)
