"""Small trees on disk for the build's tests: no packages, no root, no network."""

from __future__ import annotations

import os
import tempfile
import unittest
from pathlib import Path

from builder.layout import INTERPRETER, LOADER, RUNNER


class TreeCase(unittest.TestCase):
    """Each test gets a fresh directory, removed afterwards."""

    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="image-test-")
        self.tmp = Path(self._tmp.name)

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def put(self, root: Path, rel: str, data: bytes = b"x", mode: int = 0o644) -> Path:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.chmod(p, mode)
        return p

    def minimal_image(self, root: Path) -> Path:
        """The three files the sandbox profile names, as plain (non-ELF) placeholders."""
        for rel in (RUNNER, INTERPRETER, LOADER):
            self.put(root, rel, b"placeholder\n", 0o755)
        for rel in ("usr", "usr/bin", "usr/local", "usr/local/bin", "usr/lib"):
            os.chmod(root / rel, 0o755)
        return root
