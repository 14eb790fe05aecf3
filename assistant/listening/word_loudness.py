"""Whether a word is said clearly over the talk in the background (`BackgroundTalk`):
the short-word classifier spots a "stop" on its own only then."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from assistant.listening.barge_in import BargeInSettings, background_talk

SPEECH_DBFS = -45.0
"""A 10 ms frame at least this loud may be talk (as barge-in's `min_level_db`)."""


class WordOverBackground:
    """Is the last second's loudest 100 ms clearly over the talk in the background?
    Fed 16 kHz mono int16; the background is judged as barge-in judges it, on the
    seconds before that second, so the word itself does not raise it."""

    FRAME = 160
    WORD_FRAMES = 100
    PEAK_FRAMES = 10

    def __init__(self) -> None:
        self._background = background_talk(BargeInSettings())
        self._word: deque[float] = deque(maxlen=self.WORD_FRAMES)
        """Power (relative to full scale) of the last second's frames."""
        self._rest = np.zeros(0, dtype=np.float64)

    def feed(self, pcm: bytes) -> None:
        x = np.concatenate([self._rest, np.frombuffer(pcm, dtype="<i2") / 32768.0])
        whole = len(x) // self.FRAME * self.FRAME
        self._rest = x[whole:]
        for power in (x[:whole].reshape(-1, self.FRAME) ** 2).mean(axis=1):
            if len(self._word) == self.WORD_FRAMES:
                level = _db(self._word[0])
                self._background.remember(level, level >= SPEECH_DBFS)
            self._word.append(float(power))

    def stands_out(self, margin_db: float) -> bool:
        floor = self._background.level()
        if floor is None:
            return True
        powers = np.array(self._word)
        if len(powers) < self.PEAK_FRAMES:
            return False
        peak = np.convolve(powers, np.ones(self.PEAK_FRAMES) / self.PEAK_FRAMES, "valid").max()
        return _db(float(peak)) >= floor + margin_db


def _db(power: float) -> float:
    return 10 * math.log10(power + 1e-12)
