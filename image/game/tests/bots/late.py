"""Answers turn 2 too late (0.6 s), every other turn at once: it gets one strike, its late
answer is dropped, and it stays in step afterwards."""
import time
from typing import Any

from game.sdk import run


def act(observation: dict[str, Any]) -> str:
    if observation["turn"] == 2:
        time.sleep(0.6)
    return "STAY"


run(act)
