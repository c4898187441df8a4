# cheat: answer with huge lines (1 MiB and then 4 MiB of 'N' with no newline) to make the referee buffer without bound or take a prefix as a move
# verdict: forfeit
# win: forfeit
# detail: line over 4096 bytes
"""The referee never holds more than 4096 bytes of a line: an over-long line is a strike, its
rest is dropped, the turns it is still being written in time out. Three strikes: forfeit.
Raw writes, no SDK; a closed pipe (the referee is done) ends the bot quietly."""
import os


def send(data):
    try:
        while data:
            data = data[os.write(1, data):]
    except BrokenPipeError:
        os._exit(0)


turn = 0
buf = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        _line, buf = buf.split(b"\n", 1)
        turn += 1
        if turn == 1:
            send(b"N" * (1 << 20) + b"\n")
        else:
            send(b"N" * (4 << 20))
