# attack: flood stdout then close it and keep running, hoping the cap is only checked at exit
# expect: output_limit
# check: stdout-full
import os
import time

os.write(1, b"B" * (1 << 20))
os.close(1)
time.sleep(3)
