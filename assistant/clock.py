"""The real clock; tests use a manual one (tests/fakes.py) so no logic ever sleeps."""

from __future__ import annotations

import time


class MonotonicClock:
    """Seconds since the clock was made, never going backwards."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start
