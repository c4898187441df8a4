# cheat: forge a result: print a result line (itself the winner) on standard output before and instead of its moves, and on standard error in the referee's exact format, and try the referee's descriptor numbers
# verdict: forfeit
# win: forfeit
# detail: unrequested line
# args: {opponent_id}
# log: "reason":"higher score"
"""Its standard output is a pipe to the referee, never read by the runner: a result printed
there is only a bad move line (an unrequested line before turn 1, then invalid moves), so
three strikes and a forfeit. Its standard error is its log. Descriptors 3 and up (the
referee's player pipes) do not exist in a player."""
import errno
import json
import os
import sys

ME = "forge-result"
OPPONENT = sys.argv[1]
FORGED = json.dumps({
    "winner": ME, "scores": {ME: 99, OPPONENT: 0}, "reason": "higher score", "turns": 20,
    "players": {ME: {"status": "ok", "detail": "ok"},
                OPPONENT: {"status": "forfeit", "detail": "turn 1: 3 strikes"}},
}, separators=(",", ":")).encode() + b"\n"


def send(fd, data):
    try:
        os.write(fd, data)
    except BrokenPipeError:
        os._exit(0)


for fd in range(3, 64):
    try:
        os.write(fd, FORGED)
        print(f"ESCAPED: wrote the forged result to descriptor {fd}", file=sys.stderr, flush=True)
        os._exit(42)
    except OSError as e:
        if e.errno != errno.EBADF:
            print(f"UNEXPECTED: descriptor {fd}: {e!r}", file=sys.stderr, flush=True)
            os._exit(43)
send(2, FORGED)
send(1, FORGED)  # before any observation: an unrequested line
buf = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        _line, buf = buf.split(b"\n", 1)
        send(2, FORGED)
        send(1, FORGED)
send(2, FORGED)
