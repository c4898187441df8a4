"""Stands still, taking 150 ms over every move: a match of 100 turns lasts about 15 s, long
enough for the lab to act on it while it runs (cancel, suspend, kill a component)."""

import time

from game.sdk import run


def act(observation):
    time.sleep(0.15)
    return "STAY"


run(act)
