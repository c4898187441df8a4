"""Where things sit in the image, and the helpers every step of the build shares."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PY = "python3.11"
MULTIARCH = "usr/lib/x86_64-linux-gnu"
STDLIB = f"usr/lib/{PY}"
LOADER = f"{MULTIARCH}/ld-linux-x86-64.so.2"
INTERPRETER = f"usr/bin/{PY}"
RUNNER = "usr/local/bin/runner"
GAME_DIR = "opt/game"
UID = GID = 65532
# Compressed layer budget (issue 5: under 8 MB).
BUDGET = 8_000_000

# The only files with an execute bit: the runner (entrypoint), the interpreter, the loader.
EXECUTABLES = frozenset({RUNNER, INTERPRETER, LOADER})


class BuildError(Exception):
    """A build step refused its input: the message says what and where, and the build stops."""


def log(msg: str) -> None:
    print(f"mkimage: {msg}", file=sys.stderr, flush=True)


def walk(top: Path) -> list[str]:
    """Every path under top (files, symlinks, directories), relative, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        base = Path(dirpath).relative_to(top)
        for name in dirnames + sorted(filenames):
            out.append((base / name).as_posix())
    return sorted(out)
