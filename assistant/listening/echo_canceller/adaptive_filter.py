"""The adaptive filter that learns the echo's path through the room and predicts the echo.

A partitioned-block frequency-domain NLMS filter (the MDF design of Speex), with Valin's
step control: the step follows the estimated residual echo over the error, so it shrinks
when the user talks over the assistant. It can also start from a measured short path
(`seed`) instead of from zero. When it may learn, and what to undo, the canceller decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from assistant.listening.echo_canceller.arrays import Complex, Real

_SEED_FIT = 10 ** (-15 / 10)
"""Seed only when the short path explains the echo to this (-15 dB) or better: measured,
seeding a reverberant synthetic room lowered its ERLE after 5 s from 22.9 to 19.3 dB."""


@dataclass(frozen=True)
class Estimate:
    """One frame through the filter: what is left of the microphone, and what learning
    from it needs; energies in int16 units squared."""

    error: Real
    """The microphone less the predicted echo."""
    error_spectrum: Complex
    step: Real
    """Per frequency bin, how far to learn from this frame."""
    echo_energy: float
    """Of the predicted echo."""
    error_energy: float
    mic_energy: float


class AdaptiveFilter:
    """`parts` partitions of `frame` taps each, in the frequency domain."""

    def __init__(self, frame: int, parts: int, rate: int) -> None:
        self.n = frame
        self.parts = parts
        self.rate = rate
        bins = frame + 1
        self.w = np.zeros((parts, bins), dtype=np.complex128)
        """The filter: one spectrum per partition."""
        self.x = np.zeros((parts, bins), dtype=np.complex128)
        """The reference's spectra, newest first."""
        self._power = np.zeros(bins)
        self.reset()

    def reset(self) -> None:
        """Start from zero: nothing learnt, nothing seeded."""
        self.w[:] = 0
        self.x[:] = 0
        self._power[:] = 0
        self._adapted = False
        self.seeded = False
        self.learnt_frames = 0
        self._sum_adapt = 0.0
        self.leak = 0.0
        """How much of the echo estimate leaks into the error (residual echo)."""
        self._pey = 0.0
        self._pyy = 1.0
        self._eh = np.zeros(self.n + 1)
        self._yh = np.zeros(self.n + 1)

    def estimate(self, d: Real, x2: Real) -> Estimate:
        """The microphone frame `d` less the echo predicted from the reference `x2` (this
        frame and the one before); the step control follows every frame, learnt or not."""
        n, parts = self.n, self.parts
        x_spec = np.fft.rfft(x2)
        self.x[1:] = self.x[:-1]
        self.x[0] = x_spec
        y = np.fft.irfft((self.w * self.x).sum(axis=0))[n:]
        e = d - y
        spectra = np.fft.rfft(np.concatenate([np.zeros((2, n)), np.stack([e, y])], axis=1))
        e_spec, y_spec = spectra[0], spectra[1]
        rf = e_spec.real**2 + e_spec.imag**2
        yf = y_spec.real**2 + y_spec.imag**2
        xf = x_spec.real**2 + x_spec.imag**2
        sxx, see, syy = float(x2[n:] @ x2[n:]), float(e @ e), float(y @ y)
        sey, sdd = float(e @ y), float(d @ d)
        self._power = 0.9 * self._power + 0.1 * xf
        mu = self._step(rf, yf, sxx, see, syy, sey)
        # The power is smoothed over frames, so at the first frame after a silence it is a
        # tenth of the frame's own: normalising by that would make the step ten times too
        # big and wreck the learnt path at every onset.
        step = mu / (parts * np.maximum(self._power, xf) + 10.0 * n)
        return Estimate(e, e_spec, step, syy, see, sdd)

    def learn(self, frame: Estimate) -> None:
        """Move the filter towards what `frame` showed."""
        n, parts = self.n, self.parts
        # Proportionate: partitions holding more of the echo path learn faster (sparse paths
        # converge in seconds instead of tens of seconds).
        norms = np.sqrt((self.w.real**2 + self.w.imag**2).sum(axis=1))
        share = norms + 0.1 * norms.max() + 1e-9
        grad = np.conj(self.x) * (frame.error_spectrum * frame.step)[None, :]
        grad *= (parts * share / share.sum())[:, None]
        self.w += grad
        taps = np.fft.irfft(self.w, axis=1)
        taps[:, n:] = 0.0
        self.w = np.fft.rfft(taps, axis=1)
        self.learnt_frames += 1

    def _step(
        self, rf: Real, yf: Real, sxx: float, see: float, syy: float, sey: float
    ) -> Real:
        """Valin's step control (as in Speex MDF): residual echo over error, per bin."""
        n = self.n
        see = see + 1.0
        average = n / self.rate
        pey = float(np.sum((rf - self._eh) * (yf - self._yh)))
        pyy = float(np.sum((yf - self._yh) ** 2))
        self._eh = (1 - average) * self._eh + average * rf
        self._yh = (1 - average) * self._yh + average * yf
        pyy = math.sqrt(pyy)
        pey = pey / (pyy + 1e-9)
        alpha = min(2 * average * syy, 0.5 * average * see) / see
        self._pey = (1 - alpha) * self._pey + alpha * pey
        self._pyy = max((1 - alpha) * self._pyy + alpha * pyy, 1.0)
        self._pey = min(max(self._pey, 0.005 * self._pyy), self._pyy)
        self.leak = self._pey / self._pyy
        rer = (1e-4 * sxx + 3.0 * self.leak * syy) / see
        rer = min(max(rer, sey * sey / (1 + see * syy)), 0.5)
        if not self._adapted and self._sum_adapt > self.parts and self.leak > 0.03:
            self._adapted = True
        e = rf + 1.0
        if self._adapted:
            r = np.minimum(self.leak * yf, 0.5 * e)
            mu: Real = (0.7 * r + 0.3 * rer * e) / e
            return mu
        rate = 0.0
        if sxx > n * 1000.0:
            rate = min(0.25 * sxx, 0.25 * see) / see
        self._sum_adapt += rate
        return np.full_like(rf, rate)

    def seed(
        self, mic: Real, ref: Real, lead: int, half_taps: int, left_at_most: float = _SEED_FIT
    ) -> float | None:
        """Start from the echo's direct path: a short least-squares FIR mapping `ref` (the
        reference around the measured lag, `half_taps` more on each side) onto `mic`,
        placed at `lead`. Its gain, or None when the short path leaves more than
        `left_at_most` of the echo's energy (never more than -15 dB): nothing changes then."""
        k = half_taps
        if float(ref @ ref) <= 0.0:
            return None
        # A short least-squares FIR around the lag: the echo rarely sits on a whole
        # sample (resampling phase differs each run), and half a sample off leaves only
        # about 10 dB cancelled at 2 kHz.
        columns = np.stack([ref[2 * k - j : len(ref) - j] for j in range(2 * k + 1)], axis=1)
        fir = np.linalg.lstsq(columns, mic, rcond=None)[0]
        left = mic - columns @ fir
        if float(left @ left) > min(left_at_most, _SEED_FIT) * float(mic @ mic):
            return None  # a reverberant room: a short path would mislead the filter; learn it
        flat = np.zeros(self.parts * self.n)
        flat[lead - k : lead + k + 1] = fir
        taps = np.zeros((self.parts, 2 * self.n))
        taps[:, : self.n] = flat.reshape(self.parts, self.n)
        self.w = np.fft.rfft(taps, axis=1)
        self.seeded = True
        return float(np.sum(fir))

    def refill(self, span: npt.NDArray[np.floating[Any]]) -> None:
        """Rebuild the reference's spectra from `span`, the reference of the `parts` + 1
        frames before the next one (the read position jumped)."""
        frames = np.stack([span[i * self.n : i * self.n + 2 * self.n] for i in range(self.parts)])
        self.x = np.fft.rfft(frames[::-1].astype(np.float64), axis=1)

    def peak_s(self) -> float:
        """Where the learnt echo path peaks, in seconds into the filter."""
        taps = np.fft.irfft(self.w, axis=1)[:, : self.n].ravel()
        return float(np.argmax(np.abs(taps))) / self.rate
