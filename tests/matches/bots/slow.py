"""A slow but honest bot: it thinks (sleeps) for 90 % of each turn's budget, the first turn's
longer one included, then plays greedy's move. Arguments: the first turn's budget and every
other turn's, in milliseconds. Its clock must only run while it may run: it is `ok`, and so is
an opponent that spends the same match stopped between its own quick turns."""

import sys
import time

from game.sdk import first_step, run

FIRST_MS, TURN_MS = int(sys.argv[1]), int(sys.argv[2])
turns = 0


def act(observation):
    global turns
    turns += 1
    time.sleep(0.9 * (FIRST_MS if turns == 1 else TURN_MS) / 1000)
    me = observation["you"]
    positions = observation["positions"]
    others = [pos for pid, pos in positions.items() if pid != me]
    move, _distance = first_step(observation, positions[me], observation["gems"], avoid=others)
    return move or "STAY"


run(act)
