"""Library chatter kept off the terminal: fd 2 goes to a log file for a session.

ALSA and PortAudio are C libraries that write straight to file descriptor 2 ("ALSA
lib pcm.c: ... underrun occurred"): nothing in Python sees those lines, and each one
that reaches the terminal breaks the live screen. For the session's duration fd 2 is
pointed at a log file at the OS level (child processes inherit it too), while
`sys.stderr`, where the program's own notices go, keeps writing to the terminal.
Both are put back afterwards.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

STDERR_FD = 2


@contextlib.contextmanager
def chatter_to(log: Path | None) -> Iterator[Path | None]:
    """Divert fd 2 into `log` (os.devnull when it cannot be written); yields where it
    went, None when nothing was diverted (no log asked for, or no fd 2 to divert)."""
    if log is None:
        yield None
        return
    try:
        saved = os.dup(STDERR_FD)
    except OSError:
        yield None
        return
    target = log
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        sink = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError:
        target = Path(os.devnull)
        sink = os.open(os.devnull, os.O_WRONLY)
    original = sys.stderr
    with contextlib.suppress(Exception):
        original.flush()
    terminal = io.TextIOWrapper(
        io.FileIO(saved, "w", closefd=False),
        encoding=getattr(original, "encoding", None) or "utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    os.dup2(sink, STDERR_FD)
    os.close(sink)
    sys.stderr = terminal
    try:
        yield target
    finally:
        with contextlib.suppress(Exception):
            terminal.flush()
        os.dup2(saved, STDERR_FD)
        os.close(saved)
        if sys.stderr is terminal:
            sys.stderr = original
