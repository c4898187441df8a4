"""A bot that plays two turns, then on its third writes terminal escapes and a traceback to
standard error and dies with KeyError: 'missing_key'. Its player must read the cause in the
outcome (the reason, turn 3, the end of its stderr) with the escapes shown as text."""

import sys

from game.sdk import run

turns = 0


def act(observation):
    global turns
    turns += 1
    if turns == 3:
        sys.stderr.write("thinking hard\n\x1b[2J\x1b[31mred alert\x07\n")
        sys.stderr.flush()
        return observation["missing_key"]
    return "STAY"


run(act)
