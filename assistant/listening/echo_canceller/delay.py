"""Where the echo is in time: GCC-PHAT measures its lag against the reference.

The lag steps at every output underrun, so it is measured again and again, and the
reference is read at that lag; a new lag is believed once two measurements agree.
"""

from __future__ import annotations

import math

import numpy as np

from assistant.listening.echo_canceller.arrays import FloatArray, Real
from assistant.listening.echo_canceller.reference import EchoReference

_MIN_MIC_POWER = 1e-6
"""Below this (-60 dBFS) the microphone holds no echo worth measuring the lag from."""


class DelayEstimator:
    """GCC-PHAT between the microphone and the reference over the last second or so."""

    def __init__(self, rate: int, window_s: float = 0.25, max_lag_s: float = 0.25) -> None:
        self.n = 1 << math.ceil(math.log2(window_s * rate))
        self.max_lag = round(max_lag_s * rate)
        self._mic = np.zeros(self.n, dtype=np.float32)
        self._mic_end = 0.0
        """Reference index (unshifted) just after the newest mic sample."""
        self._filled = 0

    def restart(self) -> None:
        """Forget the audio so far (the echo moved): the next estimate uses only new audio."""
        self._filled = 0

    def add(self, frame: FloatArray, ref_index_end: float) -> None:
        k = len(frame)
        self._mic[:-k] = self._mic[k:]
        self._mic[-k:] = frame
        self._mic_end = ref_index_end
        self._filled = min(self.n, self._filled + k)

    def aligned(self, reference: EchoReference, lag: int, spread: int) -> tuple[Real, Real]:
        """The window's microphone samples and the reference samples they echo, with
        `spread` more reference samples on each side."""
        start = round(self._mic_end) - self.n
        ref = reference.read(start - lag - spread, self.n + 2 * spread).astype(np.float64)
        return self._mic.astype(np.float64), ref

    def estimate(self, reference: EchoReference) -> tuple[int, float] | None:
        """(lag, confidence): the mic hears reference index i at mic position i + lag."""
        if self._filled < self.n or float(np.mean(self._mic**2)) < _MIN_MIC_POWER:
            return None  # too little audio, or no echo in it to find
        start = round(self._mic_end) - self.n
        ref = reference.read(start - self.max_lag, self.n + 2 * self.max_lag)
        if float(np.mean(ref**2)) < 1e-8:
            return None
        size = 1 << math.ceil(math.log2(len(ref) + self.n))
        spec = np.fft.rfft(self._mic, size) * np.conj(np.fft.rfft(ref, size))
        corr = np.fft.irfft(spec / (np.abs(spec) + 1e-12), size)
        # corr[k] = sum mic[t] ref[t - k] and mic[t] ~ ref[t + max_lag - lag]: k = lag - max_lag.
        lags = np.arange(-self.max_lag, self.max_lag + 1)
        values = corr[(lags - self.max_lag) % size]
        best = int(np.argmax(values))
        spread = float(np.std(values)) + 1e-12
        return int(lags[best]), float(values[best] / spread)


class LagTracker:
    """The echo's lag (reference samples, against plain sample counting), from GCC-PHAT.

    Why not the timestamps alone: after an output underrun PortAudio's DAC times settle
    tens of ms away from where the sound really went (measured in the room), so the lag
    steps at each underrun. A new lag is taken when two estimates in a row agree (one
    taken at once after an underrun was sometimes measured across the jump, and wrong)."""

    def __init__(self, tolerance: int = 2) -> None:
        self.tolerance = tolerance
        self.lag = 0
        self._candidate: int | None = None

    def add(self, lag: int) -> None:
        if abs(lag - self.lag) <= self.tolerance:
            self._candidate = None
        elif self._candidate is not None and abs(lag - self._candidate) <= self.tolerance:
            self.lag, self._candidate = lag, None
        else:
            self._candidate = lag
