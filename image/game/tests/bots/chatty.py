"""Prints debug output and returns lower-case moves: the SDK must keep print() off the
protocol and normalise the case, so this bot never gets a strike."""
import os
import sys
from typing import Any

from game.sdk import run


def act(observation: dict[str, Any]) -> str:
    print("thinking about turn", observation["turn"])
    sys.stdout.write("more noise\n")
    os.write(1, b"raw noise on fd 1\n")
    return "s" if observation["turn"] % 2 else "e"


run(act)
