# cheat: exhaust memory on turn 2 (8 MiB pages touched as fast as possible) to starve the machine and the opponent
# verdict: memory
# status: memory_limit
# win: forfeit
"""Its own memory limit stops it (the runner's RSS sampler, or the address-space backstop);
the opponent's limits are its own and it plays on."""
import sys

from game.sdk import run

hog = []


def act(observation):
    if observation["turn"] == 2:
        print("memory_bomb: allocating", file=sys.stderr, flush=True)
        while True:
            hog.append(b"\x01" * (8 << 20))
    return "STAY"


run(act)
