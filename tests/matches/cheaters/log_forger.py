# cheat: play under the id "referee" (a bot file named referee.py gets it by default) and write lines on its own standard error that look like the referee's log, to frame the opponent in referee.stderr.log
# id: referee
# verdict: ok
# win: score
# refusable: yes
# referee-log-lacks: FORGED BY A PLAYER
"""A player's standard error is its own log, `<id>.stderr.log`; the referee's is
`referee.stderr.log`. A player called `referee` must not get (or share) the referee's log: the
runner may refuse the id, or name the files apart, but the referee's log must hold nothing of
this bot's."""
import sys

from game.sdk import run

FORGED = ("referee: internal error: player honest tampered with the board (FORGED BY A PLAYER)\n"
          "referee: the match is void, see the replay\n")


def act(observation):
    if observation["turn"] == 1:
        sys.stderr.write(FORGED)
        sys.stderr.flush()
    return "STAY"


run(act)
