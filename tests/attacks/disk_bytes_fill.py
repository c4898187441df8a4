# attack: fill the scratch space past its byte budget with files each within the file-size limit (16 files of 1 MiB against an 8 MiB budget) and exit 0 (stopped while it ran or judged when it ended: either way over the budget)
# expect: disk_limit
# reason-contains: (limit 8MiB)
# runner-args: --disk-limit 8MiB --cpu-time 20 --wall-time 20
# args: {scratch}
import os
import sys

chunk = b"\x01" * (1 << 20)
for i in range(16):
    with open(os.path.join(sys.argv[1], f"f{i}"), "wb") as f:
        f.write(chunk)
print("16 MiB written; exiting 0")
