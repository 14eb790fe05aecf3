"""What the speakers played, as the echo canceller's reference.

`EchoReference`: the player's output, resampled to the microphone's rate into a ring of a
few seconds, placed by counting samples. Block times only reveal underruns (see
`ClockFollower`). `write` runs in the audio callback and only appends to a deque; the
listener thread folds the blocks in. The canceller follows the microphone's clock with a
`ClockFollower` too.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np

from assistant.listening.echo_canceller.arrays import FloatArray

Tap = Callable[[FloatArray, float, int], None]

_DRIFT_FOLLOW = 0.02
"""Per block, how much of a small timing deviation is taken as the clocks' drift."""
_SHIFT_TOLERANCE_S = 0.004
"""Speaker blocks this much later than counting puts them, for a whole window, start a
new stretch: an underrun shifted the sound."""
_SHIFT_WINDOW = 16
"""Speaker blocks (about 90 ms) that must all be late before a shift is believed."""


class ClockFollower:
    """Finds real jumps in a stream's block times against plain sample counting.

    Why not the times themselves: they are taken when the callback runs, and under load
    (the recognizer on the other core, the GIL) callbacks run late by tens of ms, then
    in bursts. A late callback never makes a block early, so the lower envelope of the
    deviations is the truth: it drifts slowly (the stream's clock against
    time.monotonic(), 0.45 ms/s in the room) and steps up when samples were lost or an
    underrun delayed the sound. A step counts once every block of a window is late.
    """

    def __init__(self, tolerance_s: float, window: int) -> None:
        self.tolerance = tolerance_s
        self._recent: deque[float] = deque(maxlen=window)
        self._base: float | None = None

    def restart(self) -> None:
        self._recent.clear()
        self._base = None

    def update(self, deviation: float) -> float | None:
        """The size of a confirmed jump (seconds, later), or None; after a jump the caller
        moves its counting by it, so deviations go back to the old level."""
        self._recent.append(deviation)
        if self._base is None or deviation < self._base:
            self._base = deviation
            return None
        if len(self._recent) < (self._recent.maxlen or 1):
            return None
        low = min(self._recent)
        if low - self._base > self.tolerance:  # the caller counts from the jump on
            self._recent.clear()
            return low - self._base
        self._base += _DRIFT_FOLLOW * (low - self._base)
        return None


class StreamResampler:
    """Band-limited polyphase (Kaiser-windowed sinc) resampling of a stream, block by block.

    Output sample m sits at input position m * from / to exactly, so a stretch's timing
    is kept: output 0 is input 0. Outputs lag the input by the kernel's half-width.
    """

    def __init__(self, from_rate: int, to_rate: int, zero_crossings: int = 10) -> None:
        common = math.gcd(from_rate, to_rate)
        self.up, self.down = to_rate // common, from_rate // common
        cutoff = 0.92 * min(from_rate, to_rate) / 2 / from_rate
        """Cycles per input sample."""
        half = math.ceil(zero_crossings / (2 * cutoff))
        self._offsets = np.arange(-half + 1, half + 1)
        x = (np.arange(self.up)[:, None] / self.up) - self._offsets[None, :]
        window = np.i0(8.0 * np.sqrt(np.clip(1 - (x / half) ** 2, 0, 1))) / np.i0(8.0)
        self._table = (2 * cutoff * np.sinc(2 * cutoff * x) * window).astype(np.float32)
        self._half = half
        self._buf = np.zeros(half, dtype=np.float32)
        self._buf_start = -half
        self._next = 0

    def process(self, block: FloatArray) -> FloatArray:
        if self.up == self.down:
            return block
        buf = np.concatenate([self._buf, block])
        end = self._buf_start + len(buf)
        last = ((end - self._half) * self.up - 1) // self.down
        m = np.arange(self._next, last + 1)
        if len(m) and buf.any():
            base = (m * self.down) // self.up
            taps = buf[base[:, None] + self._offsets[None, :] - self._buf_start]
            out = np.einsum("ij,ij->i", taps, self._table[(m * self.down) % self.up])
        else:
            out = np.zeros(len(m), dtype=np.float32)
        self._next = last + 1
        keep = (self._next * self.down) // self.up - self._half + 1 - self._buf_start
        self._buf = buf[keep:]
        self._buf_start += keep
        result: FloatArray = out.astype(np.float32, copy=False)
        return result


class EchoReference:
    """What the speakers played, at `rate_hertz`, by time; see the module docstring."""

    def __init__(
        self, rate_hertz: int = 16000, keep_seconds: float = 3.0, max_pending: int = 4096
    ) -> None:
        self.rate = rate_hertz
        self._pending: deque[tuple[FloatArray, float, int]] = deque(maxlen=max_pending)
        self._ring = np.zeros(round(keep_seconds * rate_hertz), dtype=np.float32)
        self._written = 0
        """Absolute index one past the newest sample written."""
        self.anchor: float | None = None
        """time.monotonic() of absolute index 0; None until the first block."""
        self._resampler: StreamResampler | None = None
        self._in_rate = 0
        self._expected = 0.0
        self._clock = ClockFollower(_SHIFT_TOLERANCE_S, _SHIFT_WINDOW)
        self._stretch_time = 0.0
        self._stretch_in = 0
        self.glitches = 0
        """Shifts found (underruns): the echo moved."""
        self.underflows = 0
        """Underruns the output stream reported."""
        self._stretch_at = 0
        """Absolute index of the current stretch's first output sample."""
        self._stretch_out = 0

    def write(self, block: FloatArray, dac_time: float, sample_rate: int) -> None:
        """Player tap, from the audio callback: copy and queue, nothing else."""
        self._pending.append((block.copy(), dac_time, sample_rate))

    def underflowed(self) -> None:
        """Player underflow tap, from the audio callback: the sound is about to move.
        Counted at once, so the canceller stops trusting itself before the microphone
        hears the echo jump (the shift itself is placed once the block times show it)."""
        self.underflows += 1

    def drain(self, seen: Tap | None = None) -> None:
        """Fold queued blocks into the ring; called from the consuming thread. `seen` gets
        each block as it is folded in (a capture for replay)."""
        while self._pending:
            block, at, rate = self._pending.popleft()
            if seen is not None:
                seen(block, at, rate)
            if self._resampler is None or rate != self._in_rate:
                self._new_stretch(at, rate, None)
            elif (jump := self._clock.update(at - self._expected)) is not None:
                self.glitches += 1
                self._new_stretch(self._expected + jump, rate, jump)
            assert self._resampler is not None
            out = self._resampler.process(block)
            self._stretch_in += len(block)
            self._put(self._stretch_at + self._stretch_out, out)
            self._stretch_out += len(out)
            self._expected = self._stretch_time + self._stretch_in / rate

    def _new_stretch(self, at: float, rate: int, jump: float | None) -> None:
        """Start counting again from this block. Placed by the `jump` off the clock's
        trend, not by `at` itself: the stream's clock drifts from time.monotonic()
        (0.45 ms/s measured in the room) and the microphone's count drifts with it."""
        if self.anchor is None:
            self.anchor = at
        if jump is None:
            self._stretch_at = round((at - self.anchor) * self.rate)
        else:
            self._stretch_at += self._stretch_out + round(jump * self.rate)
        self._resampler = StreamResampler(rate, self.rate)
        self._in_rate = rate
        self._stretch_time = at
        self._stretch_out = 0
        self._stretch_in = 0
        if jump is None:
            self._clock.restart()

    def _put(self, start: int, samples: FloatArray) -> None:
        size = len(self._ring)
        if start > self._written:
            gap = np.arange(max(self._written, start - size), start)
            self._ring[gap % size] = 0.0
        samples = samples[-size:]
        self._ring[np.arange(start, start + len(samples)) % size] = samples
        self._written = max(self._written, start + len(samples))

    def read(self, start: int, n: int) -> FloatArray:
        """Samples [start, start + n) by absolute index; zeros where nothing is known."""
        size = len(self._ring)
        lo, hi = max(start, self._written - size, 0), min(start + n, self._written)
        out = np.zeros(n, dtype=np.float32)
        if lo < hi:
            out[lo - start : hi - start] = self._ring[np.arange(lo, hi) % size]
        return out

    @property
    def written(self) -> int:
        return self._written
