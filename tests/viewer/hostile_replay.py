#!/usr/bin/env python3
"""Writes a copy of a real replay whose player names are markup, for the viewer's tests.

    hostile_replay.py IN OUT    (prints the names used, one per line)

Player ids are `[a-z0-9-]` under the referee, but the viewer must not rely on what wrote the
file: a replay is data, and whatever it holds is shown as text.
"""

import json
import sys

NAMES = [
    '</script><script>window.__pwned=1</script>',
    '<img src=x onerror="window.__pwned=1">',
    '"><svg onload=window.__pwned=1>',
    "<iframe srcdoc='<script>parent.__pwned=1</script>'>",
]


def rename(value: object, names: dict[str, str]) -> object:
    if isinstance(value, dict):
        return {names.get(k, k): rename(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [rename(v, names) for v in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        lines = [json.loads(line) for line in f]
    # Up to four players, one name each: a replay never has more players than NAMES.
    names = dict(zip(lines[0]["players"], NAMES, strict=False))
    with open(dst, "w") as f:
        f.writelines(json.dumps(rename(line, names), separators=(",", ":")) + "\n"
                     for line in lines)
    print("\n".join(names.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
