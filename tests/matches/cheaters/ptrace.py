# cheat: ptrace(PTRACE_ATTACH) the referee, guessed as the pid after its own, to rewrite its scores in memory
# verdict: policy_violation
# status: policy_violation
# violation: ptrace(16,
# win: forfeit
# detail: closed its pipe
"""ptrace is not in the seccomp allowlist: the first call is stopped before it runs, named in the bot's report and the bot killed. The referee
sees its pipe close and declares the forfeit."""
import ctypes
import os
import sys

from game.sdk import run

PTRACE_ATTACH = 16


def act(observation):
    if observation["turn"] == 2:
        libc = ctypes.CDLL(None, use_errno=True)
        for pid in (os.getpid() + 1, os.getpid() + 2, os.getpid() - 1):
            r = libc.ptrace(PTRACE_ATTACH, pid, None, None)
            print(f"ESCAPED: ptrace({pid}) returned {r} errno {ctypes.get_errno()}",
                  file=sys.stderr, flush=True)
        os._exit(42)
    return "STAY"


run(act)
