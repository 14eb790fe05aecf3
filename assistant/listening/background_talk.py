"""Talk going on in the background (a TV, someone on the phone): its typical level.

The user's commands are a word or two now and then; a TV talks on. When most of the
last few seconds were speech, their median level is the background's, and the user,
nearer than the TV, is heard only clearly above it. Shared by the endpointer (which
cuts utterances) and barge-in (which holds the assistant's line).
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

import numpy as np


class BackgroundTalk:
    """Levels of the last `size` frames, each marked speech or not."""

    def __init__(self, size: int, share: float, least: int | None = None) -> None:
        """`share`: talk is in the background when at least this share of the frames
        was speech; `least`: judged once this many frames are in (default: all `size`)."""
        self.size = max(1, size)
        self.share = share
        self.least = self.size if least is None else max(1, min(least, self.size))
        self._history: deque[tuple[float, bool]] = deque(maxlen=self.size)
        self._speech = 0

    def level(self) -> float | None:
        """The median level of the speech frames, or None when there is no talk in the
        background (too short a history yet, or too little of it was speech)."""
        history = self._history
        if len(history) < self.least or self._speech < self.share * len(history):
            return None
        return median(level for level, speech in history if speech)

    def remember(self, level: float, speech: bool) -> None:
        history = self._history
        if len(history) == self.size and history[0][1]:
            self._speech -= 1
        history.append((level, speech))
        self._speech += speech


SPEECH_DBFS = -45.0
"""A 10 ms frame at least this loud may be talk (as barge-in's `min_level_db`)."""


class WordOverBackground:
    """Is the last second's loudest 100 ms clearly over the talk in the background?
    Fed 16 kHz mono int16; the background is judged on the 8 s before that second, so
    the word itself does not raise it."""

    FRAME = 160
    WORD_FRAMES = 100
    PEAK_FRAMES = 10

    def __init__(self) -> None:
        self._background = BackgroundTalk(800, 0.2, least=200)
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
