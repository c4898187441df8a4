"""Crasher bot: plays two turns, then raises on turn 3. The process dies, the referee sees
its pipe close, and the bot forfeits (see PROTOCOL.md)."""

from game.sdk import run


def act(observation):
    if observation["turn"] >= 3:
        raise RuntimeError("crasher: crashing on purpose")
    print(f"crasher: turn {observation['turn']}, still fine")  # goes to stderr
    return "E"


run(act)
