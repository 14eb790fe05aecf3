"""Where the check's lines go: printed plainly, plus a live level meter on a terminal.

Piped output gets the plain lines only (tests read them); a terminal also sees the
microphone meter move while the user speaks.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from assistant.screen.level import FLOOR_DBFS

METER_CELLS = 30


class Report:
    def __init__(self, stream: TextIO, live: bool) -> None:
        self.stream = stream
        self.live = live
        self.problems = 0

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def problem(self, text: str, fix: str) -> None:
        """A failure, always with what to do about it."""
        self.problems += 1
        self.line(text)
        self.line(f"  {fix}")

    @contextmanager
    def meter(self, level: Callable[[], float | None]) -> Iterator[None]:
        """A moving microphone meter while the block runs (terminals only)."""
        if not self.live:
            yield
            return

        def frame() -> Text:
            dbfs = level()
            value = FLOOR_DBFS if dbfs is None else dbfs
            lit = round(METER_CELLS * (value - FLOOR_DBFS) / -FLOOR_DBFS)
            text = Text("  ")
            text.append("▮" * lit, style="red" if value > -6 else "green")
            text.append("▯" * (METER_CELLS - lit), style="grey50")
            text.append(f"  {value:5.1f} dBFS")
            return text

        with Live(console=Console(file=self.stream), get_renderable=frame,
                  refresh_per_second=12, transient=True):
            yield


class TypedAnswers:
    """Lines typed on standard input, read on their own thread so spoken answers can win."""

    def __init__(self, stream: TextIO) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self._ended = threading.Event()
        threading.Thread(target=self._read, args=(stream,), name="answers", daemon=True).start()

    def _read(self, stream: TextIO) -> None:
        try:
            for line in stream:
                if line.strip():
                    self._lines.put(line.strip())
        finally:
            self._ended.set()

    def ready(self) -> bool:
        return not self._lines.empty()

    def take(self, timeout_s: float) -> str | None:
        """The next typed line; None if none came in time or input ended without one."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self._lines.get(timeout=0.05)
            except queue.Empty:
                if self._ended.is_set() and self._lines.empty():
                    return None
                if time.monotonic() >= deadline:
                    return None
