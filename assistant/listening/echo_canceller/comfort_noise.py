"""Comfort noise: a faint floor under what the canceller lets through.

Why: what is taken out leaves near-digital silence, which pocketsphinx cannot segment or
normalise, and the floor masks what the filter leaves. Once the echo has been gone a
while a much quieter floor is used, since a loud one costs the user's words.
"""

from __future__ import annotations

import numpy as np

from assistant.listening.echo_canceller.arrays import INT16, FloatArray


def _rms(dbfs: float | None) -> float:
    """A level in dBFS as an RMS in int16 units; None (no noise) is 0."""
    return 0.0 if dbfs is None else INT16 * 10 ** (dbfs / 20)


class ComfortNoise:
    """Adds the floor frame by frame; seeded, so a replay adds the very same noise."""

    def __init__(
        self, level_dbfs: float | None, quiet_level_dbfs: float | None, hold_frames: int
    ) -> None:
        self._level = _rms(level_dbfs)
        """Comfort noise (RMS, int16 units) while the assistant's echo may be in the
        microphone: what is taken out leaves near-digital silence, which pocketsphinx
        cannot segment or normalise (no "stop" found in 4 of 4 room takes), and the floor
        masks what the filter leaves (4 of 4 at -50 dBFS, 3 of 4 at -56)."""
        self._quiet_level = _rms(quiet_level_dbfs)
        """The floor once the echo has been gone `hold_frames`. Nothing to mask then, and
        -50 dBFS costs the user's words: of 131 real "stop" clips in that floor 54 were
        heard, in -70 dBFS 83 (false accepts 24 and 21 of 225 clips)."""
        self._hold_frames = hold_frames
        self._since_echo = hold_frames + 1
        """Frames since the echo filter last ran (the assistant's sound could be in them)."""
        self._noise = np.random.default_rng(0)

    def next_frame(self) -> None:
        """A frame begins."""
        self._since_echo += 1

    def echo_present(self) -> None:
        """The echo filter runs on this frame."""
        self._since_echo = 0

    def add(self, out: FloatArray) -> FloatArray:
        """The frame with the floor added (as it is when that floor is none)."""
        level = self._level if self._since_echo <= self._hold_frames else self._quiet_level
        if not level:
            return out
        return out + self._noise.normal(0.0, level, len(out)).astype(np.float32)
