# cheat: freeze itself with SIGSTOP on every turn from turn 2 (as if the machine starved it), hoping the match waits for it or the runner mistakes a stopped process for a finished one
# verdict: forfeit
# status: ok
# win: forfeit
# detail: 3 strikes
"""A stopped bot answers nothing: a timeout. The referee continues it (through the runner)
when the next turn starts, and it stops itself again: three timeouts, a forfeit. The runner
kills it once the referee is done (SIGKILL ends a stopped process too)."""
import os
import signal

from game.sdk import run


def act(observation):
    if observation["turn"] >= 2:
        os.kill(os.getpid(), signal.SIGSTOP)
    return "STAY"


run(act)
