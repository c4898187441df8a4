# cheat: flood its standard error (its log in the output directory) on turn 2 to fill the disk and bury the other logs
# verdict: crash
# status: output_limit
# win: forfeit
# detail: closed its pipe
"""The runner keeps the first `output` bytes of the log (64 KiB here) and stops the bot."""
import os

from game.sdk import run


def act(observation):
    if observation["turn"] == 2:
        line = b"flood " * 1000 + b"\n"
        while True:
            os.write(2, line)
    return "STAY"


run(act)
