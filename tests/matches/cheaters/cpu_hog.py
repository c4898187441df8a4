# cheat: exhaust CPU from turn 2 (four threads hashing outside the GIL, and the main thread spinning) to starve the opponent and the referee
# verdict: timeout
# status: timeout_cpu
# win: forfeit
# limits: cpu_time=1s wall_time=30s
# referee-args: --turn-timeout-ms 20000
"""Its own CPU limit (1 s here; the opponent keeps 2 s) stops it. The turn deadline is long
for this match so that the CPU limit, not the referee's clock, ends the bot."""
import hashlib
import sys
import threading

from game.sdk import run

BLOCK = b"\x5a" * (1 << 20)


def burn():
    while True:
        hashlib.sha256(BLOCK).digest()


def act(observation):
    if observation["turn"] == 2:
        print("cpu_hog: burning", file=sys.stderr, flush=True)
        for _ in range(4):
            threading.Thread(target=burn, daemon=True).start()
        while True:
            pass
    return "STAY"


run(act)
