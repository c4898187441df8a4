"""A bot whose run() call sits behind a __main__ guard: solo must still find act()."""
from typing import Any

from game.sdk import run


def act(observation: dict[str, Any]) -> str:
    return "STAY"


if __name__ == "__main__":
    run(act)
