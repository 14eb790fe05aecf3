"""The microphone level for the meter, fed straight from the audio callback.

`feed` only appends the block to a short deque (no arithmetic, no lock), so the
callback and the listener never wait for the screen; the level is worked out when
the screen asks for it.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

FLOOR_DBFS = -60.0


def block_dbfs(pcm: bytes) -> float:
    """RMS level of 16-bit mono PCM in dB below full scale (FLOOR_DBFS for silence)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return FLOOR_DBFS
    rms = float(np.sqrt(np.mean(samples**2))) / 32768.0
    return max(20.0 * math.log10(rms), FLOOR_DBFS) if rms > 0 else FLOOR_DBFS


class MicLevel:
    """The loudest of the last few blocks: a meter that does not flicker."""

    def __init__(self, blocks: int = 4) -> None:
        self._recent: deque[bytes] = deque(maxlen=blocks)

    def feed(self, pcm: bytes, at: float) -> None:
        self._recent.append(pcm)

    def dbfs(self) -> float | None:
        """None until the microphone has delivered anything."""
        recent = list(self._recent)
        return max(block_dbfs(pcm) for pcm in recent) if recent else None
