"""A progress bar on stderr for `plaza train` and first start: one line per model."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._current: str | None = None
        self._tty = stream.isatty()
        self._announced: set[str] = set()

    def __call__(self, what: str, fraction: float) -> None:
        fraction = max(0.0, min(1.0, fraction))
        if what != self._current:
            if self._current is not None:
                self._finish()
            self._current = what
        filled = int(round(fraction * self._width))
        bar = "#" * filled + "-" * (self._width - filled)
        line = f"training {what:<24} [{bar}] {fraction * 100:5.1f}%"
        if self._tty:
            self._stream.write("\r" + line)
            self._stream.flush()
        elif what not in self._announced:  # a log, not a terminal: one line per model
            self._announced.add(what)
            self._stream.write(f"training {what}…\n")
            self._stream.flush()

    def _finish(self) -> None:
        if self._tty and self._current is not None:
            self._stream.write("\n")
            self._stream.flush()
        self._current = None

    def close(self) -> None:
        self._finish()
