"""Progress reporting: a bar on a terminal, silence everywhere else.

The library only calls a :class:`Progress`; the command line picks :class:`TerminalProgress` when
standard error is a terminal and :class:`NullProgress` otherwise (logs, CI, pipes stay clean).
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    """What the pipeline reports as it goes."""

    def start(self, total: int, label: str) -> None:
        """A stage with ``total`` steps begins."""

    def advance(self, steps: int = 1) -> None:
        """Some steps are done."""

    def finish(self) -> None:
        """The stage is over."""


class NullProgress:
    """Reports nothing."""

    def start(self, total: int, label: str) -> None:
        """Ignore."""

    def advance(self, steps: int = 1) -> None:
        """Ignore."""

    def finish(self) -> None:
        """Ignore."""


class TerminalProgress:
    """A one-line bar: documents done, rate and time left, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.total = 0
        self.done = 0
        self.label = ""
        self.started = 0.0
        self._drawn = 0.0

    def start(self, total: int, label: str) -> None:
        """Begin a bar."""
        self.total, self.done, self.label = total, 0, label
        self.started = time.monotonic()
        self._drawn = 0.0
        self._draw()

    def advance(self, steps: int = 1) -> None:
        """Move the bar."""
        self.done += steps
        now = time.monotonic()
        if now - self._drawn >= 0.1 or self.done >= self.total:
            self._draw()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        now = time.monotonic()
        self._drawn = now
        elapsed = max(now - self.started, 1e-9)
        fraction = self.done / self.total if self.total else 1.0
        filled = int(self.width * fraction)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {self.done}/{self.total}  {rate:6.0f}/s  {left:4.0f}s left "
        )
        self.stream.flush()


def for_stream(stream: TextIO) -> Progress:
    """A bar when ``stream`` is a terminal, nothing otherwise."""
    return TerminalProgress(stream) if stream.isatty() else NullProgress()
