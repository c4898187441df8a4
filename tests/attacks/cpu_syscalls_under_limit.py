# attack: none; a program that spends its CPU time in short system calls (creating files) and stops at 1.8 s of a 2 s limit must end ok: the kernel's RLIMIT_CPU accounting runs ahead of the measured time here and killed it with SIGXCPU at about 1.75 s
# expect: ok
# runner-args: --cpu-time 2 --wall-time 30 --disk-inodes 100000
# args: {scratch}
import os
import sys
import time

fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
i = 0
while time.process_time() < 1.8:
    os.close(os.open(f"e{i}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    i += 1
print(f"{i} files in {time.process_time():.3f} s of CPU time", file=sys.stderr)
