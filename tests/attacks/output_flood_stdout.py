# attack: flood standard output (the runner's memory must stay flat; the kept output is exactly the limit)
# expect: output_limit
# check: stdout-full
import os

chunk = b"A" * 65536
while True:
    os.write(1, chunk)
