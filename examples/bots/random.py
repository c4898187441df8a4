"""Random bot: a random legal move each turn (never into a wall).

Reproducible: it seeds its generator from the observation's rng_seed, so the same game seed
gives the same moves. (This file is called random.py, so it must not `import random`:
that would import itself. game.sdk's Rng does the job.)
"""

from game.sdk import Rng, neighbours, run

rng = None


def act(observation):
    global rng
    if rng is None:
        rng = Rng(observation["rng_seed"])
    x, y = observation["positions"][observation["you"]]
    return rng.choice([move for move, _ in neighbours(observation, x, y)] + ["STAY"])


run(act)
