"""Ctrl-C or SIGTERM during a run: unwind through every `finally`, which stops the room,
and let that cleanup finish."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

_INTERRUPTED = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM: unwind through every `finally` (which stop the room)."""
    global _INTERRUPTED
    _INTERRUPTED = True
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Cleanup must finish: a second Ctrl-C must not cut it short and leave a server."""
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def catch_signals() -> None:
    """From now on, Ctrl-C and SIGTERM end the run through every `finally`."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)


def interrupted() -> bool:
    """Whether a signal has asked the run to end (a failure then is not a phase's own)."""
    return _INTERRUPTED
