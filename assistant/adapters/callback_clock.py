"""PortAudio's stream times mapped to time.monotonic(), unharmed by a late callback.

A Python callback starts only when it gets the GIL, which can be milliseconds after
PortAudio read its clock (measured: 5 ms typical with one busy thread at the default
switch interval). Reading time.monotonic() in the callback and adding PortAudio's
`ahead` or `behind` carries that wait into every timestamp, so echo rejection would
believe a line started later than it was heard. The offset between the two clocks is
constant, and a wait only ever makes it look larger, so its smallest recent value is
the true one. "Recent" (two windows of `window_s`) lets a stepped clock be followed.
"""

from __future__ import annotations

import math


class CallbackClock:
    """The lower envelope of `now - stream_now` over the last one to two windows."""

    def __init__(self, window_s: float = 1.0) -> None:
        self._window_s = window_s
        self._current = math.inf
        self._previous = math.inf
        self._window_ends: float | None = None

    def to_monotonic(self, stream_time: float, stream_now: float, now: float) -> float:
        """`stream_time` on PortAudio's clock as time.monotonic(); `stream_now` is the
        callback's `currentTime` and `now` the time.monotonic() read in the callback."""
        if self._window_ends is None or now >= self._window_ends:
            self._previous, self._current = self._current, math.inf
            self._window_ends = now + self._window_s
        self._current = min(self._current, now - stream_now)
        return stream_time + min(self._current, self._previous)
