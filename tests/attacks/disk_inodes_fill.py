# attack: fill the scratch space with 12,000 empty files (each within the file-size limit, no bytes to speak of) and hold them: inodes are what a tmpfs emptyDir has no bound on
# expect: disk_limit
# reason-contains: more than 10000 entries while it ran
# runner-args: --cpu-time 10 --wall-time 20
# args: {scratch}
import os
import sys
import time

fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(12_000):
    os.close(os.open(f"e{i}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
time.sleep(60)
print("ESCAPED: 12,000 files held for 60 s")
sys.exit(42)
