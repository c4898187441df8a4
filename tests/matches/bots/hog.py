"""A bot that asks for 3 GiB in one allocation on its first turn: under any memory limit below
that, its verdict is a memory one, and its outcome says so."""

from game.sdk import run


def act(observation):
    blob = bytearray(3 << 30)
    return "STAY" if blob else "N"


run(act)
