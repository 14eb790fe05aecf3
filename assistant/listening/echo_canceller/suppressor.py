"""The residual echo suppressor: attenuates frames holding nothing but leftover echo.

Off by default (the canceller's `suppress_residual`): it also clipped the start of the
user's words under the assistant's voice, and comfort noise masks what the linear filter
leaves (30-50 dB down in the room).
"""

from __future__ import annotations

import numpy as np

from assistant.listening.echo_canceller.arrays import FloatArray, Real

_RES_OVER = 4.0
"""Residual echo taken as this many times the leakage estimate (a safety margin)."""
_RES_FLOOR = 0.03
"""The suppressor's deepest attenuation (-30 dB)."""
_RES_RELEASE = 0.5
"""Per frame, how fast the gain comes back up."""


class ResidualSuppressor:
    """What the linear filter leaves (20-30 dB down) is still heard as words by a
    recognizer that normalizes its input level. When the error is no louder than the
    residual echo expected from the leakage estimate, the frame is attenuated (ramped,
    so it never clicks); the user's voice on top of the echo keeps the error well above
    that estimate and passes."""

    def __init__(self) -> None:
        self.gain = 1.0
        """The gain at the end of the last frame."""

    def apply(self, e: Real, syy: float, see: float, leak: float, unsure: bool) -> FloatArray:
        """The error `e` attenuated; `syy`, `see`: the predicted echo's and the error's
        energies; `leak`: the filter's leakage estimate; `unsure`: the echo moved and
        its new lag is not known yet."""
        residual = _RES_OVER * leak * syy
        if unsure:  # the filter output is no better than the echo estimate
            residual = max(residual, syy)
        gain = min(1.0, max(_RES_FLOOR, 1.0 - residual / (see + 1.0)))
        # Falls at once, recovers over a few frames.
        rise = self.gain + _RES_RELEASE * (gain - self.gain)
        target = gain if gain < self.gain else rise
        ramp = np.linspace(self.gain, target, len(e) + 1)[1:]
        self.gain = target
        out: FloatArray = (e * ramp).astype(np.float32)
        return out
