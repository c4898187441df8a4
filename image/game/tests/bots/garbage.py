"""Answers every observation with a line that is not a move (no SDK)."""
import os

GARBAGE = [b"hello", b"\xff\xfe\x00", b'{"move": "N"}', b"NORTH", b""]
buf = b""
turn = 0
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        _line, buf = buf.split(b"\n", 1)
        os.write(1, GARBAGE[turn % len(GARBAGE)] + b"\n")
        turn += 1
