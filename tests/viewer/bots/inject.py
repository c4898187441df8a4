"""A bot that answers with markup instead of moves, to check that the replay's viewer shows
what a bot wrote as text and never runs it. The referee quotes each invalid move (its first
24 bytes) in the replay's events; the third strike forfeits, which ends the match."""

import sys

PAYLOADS = ["<svg onload=alert(1)>", "</script><b>bold</b>", "<!--\x1b[31mred"]

for n, line in enumerate(sys.stdin):
    if '"type":"end"' in line:
        break
    sys.stdout.write(PAYLOADS[n % len(PAYLOADS)] + "\n")
    sys.stdout.flush()
