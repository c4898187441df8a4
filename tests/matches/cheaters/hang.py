# cheat: hang without answering (never reads, never writes) to stall the match until everyone's time runs out
# verdict: forfeit
# win: forfeit
# detail: 3 strikes
"""The referee waits at most one turn's deadline: three timeouts are three strikes, a forfeit,
and the match ends. The runner stops the bot once the referee is done."""
import time

while True:
    time.sleep(3600)
