# attack: fill the disk with one ever-growing file in scratch
# expect: file_size_limit
# args: {scratch}
import os
import sys

with open(os.path.join(sys.argv[1], "fill"), "wb") as f:
    for _ in range(64):
        f.write(b"\0" * (1 << 20))
print("ESCAPED: wrote 64 MiB")
sys.exit(42)
