# cheat: exit at once with status 0 before the first observation, to void the match (no game, no loser)
# verdict: forfeit
# win: forfeit
# detail: closed its pipe
"""A closed pipe is a forfeit; with one player left the match ends and that player wins: it
is never a draw and never void."""
import os

os._exit(0)
