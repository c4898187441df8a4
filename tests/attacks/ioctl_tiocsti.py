# attack: TIOCSTI: push characters into the controlling terminal's input queue
# expect: policy_violation
# violation: ioctl(0, TIOCSTI)
import fcntl
import sys

TIOCSTI = 0x5412
for fd in (0, 1, 2):
    try:
        fcntl.ioctl(fd, TIOCSTI, b"X")
    except OSError as e:
        print(f"ESCAPED: TIOCSTI reached the kernel on fd {fd} ({e.strerror})")
        sys.exit(42)
print("ESCAPED: TIOCSTI succeeded")
sys.exit(42)
