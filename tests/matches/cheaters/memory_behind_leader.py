# cheat: hold memory where the runner did not look: the main thread ends with a raw exit(2), leaving a zombie thread-group leader that shows no resident memory, while a worker thread plays the game and holds 192 MiB (over its 128 MiB limit) for the rest of the match, then lingers until the runner stops it
# verdict: memory
# status: memory_limit
# win: forfeit
"""Before the runner measured the whole thread group it saw nothing, and a player stopped at
the end of the match was `ok` before its peak was checked."""
import ctypes
import sys
import threading
import time

from game.sdk import run

SYS_exit = 60
hog = []


def act(observation):
    if observation["turn"] == 2:
        print("memory_behind_leader: allocating", file=sys.stderr, flush=True)
        for _ in range(192):
            hog.append(bytearray(1 << 20))
    return "STAY"


def play_then_linger():
    run(act)
    time.sleep(60)  # stopped by the runner at the end of the match, not exiting by itself


threading.Thread(target=play_then_linger).start()
ctypes.CDLL(None).syscall(SYS_exit, 0)  # only the main thread ends
