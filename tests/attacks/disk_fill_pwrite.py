# attack: pwrite far past the limit (a sparse file with a huge apparent size) and ftruncate it larger
# expect: file_size_limit
# args: {scratch}
# runner-args: --file-size-limit 1MiB
import errno
import os
import sys

fd = os.open(os.path.join(sys.argv[1], "sparse"), os.O_RDWR | os.O_CREAT, 0o644)
for what, fn in (("pwrite at 1 GiB", lambda: os.pwrite(fd, b"x", 1 << 30)), ("ftruncate to 1 GiB", lambda: os.ftruncate(fd, 1 << 30))):
    try:
        fn()
    except OSError as e:
        if e.errno != errno.EFBIG:
            raise
        print(f"blocked: {what}: EFBIG")
        continue
    print(f"ESCAPED: {what} succeeded")
    sys.exit(42)
# And grow it to exactly the limit + 1: the post-run scan must catch it.
os.pwrite(fd, b"y" * 4096, (1 << 20) - 4000)
sys.exit(0)
