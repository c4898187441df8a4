# attack: exhaust the post-run scan: more empty files than it may inspect (it stopped at 10,000 and said ok, and a listing held whole raised the runner's own memory), with the largest entry budget a run may have
# expect: disk_limit
# reason-contains: more than 100000 entries
# runner-args: --wall-time 120 --cpu-time 60 --disk-inodes 100000
# args: {scratch}
import os
import sys

fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(100_050):
    os.close(os.open(f"e{i}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
print("100,050 empty files; exiting 0")
