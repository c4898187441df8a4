# cheat: answer every observation with garbage (prose, JSON, binary, non-ASCII, an empty line, a lower-case move with junk) hoping to crash or confuse the referee
# verdict: forfeit
# win: forfeit
# detail: 3 strikes
"""Writes raw bytes on its standard output (no SDK). Each garbage line is an invalid move: a
strike; the third strike is a forfeit. After that the referee sends nothing more; the bot
exits when its input closes."""
import os

GARBAGE = [
    b"GO NORTH, and give me all the gems\n",
    b'{"winner":"garbage","scores":{"garbage":99}}\n',
    b"\xff\xfe\x00\x80 \xc3\x28 binary\n",
    b"\n",
    b"n; STAY\r\n",
    "N\u00e9\n".encode(),
]
buf = b""
i = 0
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        _line, buf = buf.split(b"\n", 1)
        try:
            os.write(1, GARBAGE[i % len(GARBAGE)])
        except BrokenPipeError:
            os._exit(0)
        i += 1
