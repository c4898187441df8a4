"""Greedy bot: walk a shortest path to the nearest gem, going around the other players."""

from game.sdk import first_step, run


def act(observation):
    me = observation["you"]
    positions = observation["positions"]
    others = [pos for pid, pos in positions.items() if pid != me]
    move, _distance = first_step(observation, positions[me], observation["gems"], avoid=others)
    return move or "STAY"


run(act)
