"""A slow but honest bot: it thinks (sleeps) for 90 % of each turn's budget, the first turn's
longer one included, then stays where it is (its timing is the point, not its moves).
Arguments: the first turn's budget and every other turn's, in milliseconds. Its clock must only
run while it may run: it is `ok`, and so is an opponent that spends the same match stopped
between its own quick turns."""

import sys
import time

from game.sdk import run

FIRST_MS, TURN_MS = int(sys.argv[1]), int(sys.argv[2])
turns = 0


def act(_observation):
    global turns
    turns += 1
    time.sleep(0.9 * (FIRST_MS if turns == 1 else TURN_MS) / 1000)
    return "STAY"


run(act)
