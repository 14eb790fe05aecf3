"""Talk going on in the background (a TV, someone on the phone): its typical level.

The user's commands are a word or two now and then; a TV talks on. When enough of the
last few seconds was speech, their median level is the background's, and the user,
nearer than the TV, is heard only clearly above it. Shared by the endpointer (which
cuts utterances, in the recognizer's own process: no numpy here) and barge-in (which
holds the assistant's line).
"""

from __future__ import annotations

from collections import deque
from statistics import median


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
