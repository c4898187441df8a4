"""Answers every observation with two lines: the second one is unrequested (a strike)."""
import os

buf = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        _line, buf = buf.split(b"\n", 1)
        os.write(1, b"N\nS\n")
