# attack: none; a stdlib-heavy program (json, random, math, collections, dataclasses, re, itertools, heapq, functools, fractions, decimal, statistics) must run untouched
# expect: ok
import collections
import dataclasses
import decimal
import fractions
import functools
import hashlib
import heapq
import itertools
import json
import math
import random
import re
import statistics


@dataclasses.dataclass(order=True)
class Move:
    score: int
    name: str = dataclasses.field(compare=False)


rng = random.Random(12345)
moves = [Move(rng.randint(0, 1000), f"m{i}") for i in range(200)]
best = [m.name for m in heapq.nlargest(3, moves)]
counts = collections.Counter(m.score % 7 for m in moves)
words = re.findall(r"[a-z]+", "the quick brown fox jumps over the lazy dog the end")
pairs = sum(1 for _ in itertools.combinations(range(12), 3))


@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


doc = {
    "best": best,
    "mod7": sorted(counts.items()),
    "top_word": collections.Counter(words).most_common(1)[0],
    "pairs": pairs,
    "fib90": fib(90),
    "pi": round(math.pi * 1e6),
    "harmonic": str(sum(fractions.Fraction(1, k) for k in range(1, 11))),
    "dec": str(decimal.Decimal(1) / decimal.Decimal(7)),
    "median": statistics.median(m.score for m in moves),
    "sha": hashlib.sha256(json.dumps(best).encode()).hexdigest()[:12],
}
text = json.dumps(doc, sort_keys=True)
assert json.loads(text) == json.loads(json.dumps(doc, sort_keys=True))
print(text)
