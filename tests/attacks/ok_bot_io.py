# attack: none; typical bot I/O: read stdin to EOF (/dev/null), big output under the limit, unicode, exit 0
# expect: ok
import sys

data = sys.stdin.read()
assert data == ""
for i in range(500):
    print(f"move {i}: é→✓ {'x' * 50}")
sys.stdout.flush()
