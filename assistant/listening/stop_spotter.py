"""A "stop" spotted on every frame, whatever the utterance boundaries.

The neural model (microWakeWord's "stop", `adapters/micro_wakeword.py`) gives one output
per 30 ms step. A "stop" is spotted when the mean of the last `window` outputs passes
`cutoff` (95% of real stops in a continuous stream, but also 16% of "go", 7% of "no"
and 32% of "down", which is why every spot goes to a second opinion,
`listening/second_opinion.py`). A real "stop" holds the output near its top
for about 450 ms while other words only spike, so the mean over a longer window,
`strength`, says how sure the model is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

ModelOutputs = Callable[[bytes], list[float]]
"""PCM in (16 kHz mono int16), the model's output for each 30 ms step it completes."""


@dataclass(frozen=True)
class StopSpotterSettings:
    window: int = 10
    cutoff: float = 0.6
    """A mean over 10 outputs (300 ms) above 0.6. The model's published rule (5, 0.5)
    caught a few more real stops, but far more other words. Measured through the whole
    path (spotter, second opinion, recognizer) on the dev clips in a quiet stream:
    (5, 0.5) stop 89%, "go" became a stop 8.3%, "down" 18.3%; (10, 0.6) 87%, 4.2%,
    8.3%. It spots 150-300 ms after the word ends instead of 10-150 ms."""
    refractory_s: float = 1.0
    """One word spots once: no new spot this soon after the last."""
    strong_window: int = 15
    """`strength` is the best mean over this many outputs (450 ms)."""
    step_s: float = 0.03
    """Audio per model output."""


@dataclass(frozen=True)
class Spot:
    at_s: float
    """Stream seconds at the end of the step that crossed the cutoff."""


class StopSpotter:
    def __init__(self, outputs: ModelOutputs, settings: StopSpotterSettings | None = None,
                 ) -> None:
        self.settings = settings or StopSpotterSettings()
        self._outputs = outputs
        self._steps = 0
        self._recent: deque[float] = deque(maxlen=self.settings.window)
        self._history: deque[tuple[float, float]] = deque(maxlen=200)
        """(stream seconds, output) of the last 6 s, for `strength`."""
        self._last_spot = -1e9

    def feed(self, pcm: bytes) -> list[Spot]:
        spots = []
        settings = self.settings
        for value in self._outputs(pcm):
            self._steps += 1
            now = self._steps * settings.step_s
            self._recent.append(value)
            self._history.append((now, value))
            full = len(self._recent) == settings.window
            if (full and sum(self._recent) / settings.window > settings.cutoff
                    and now - self._last_spot >= settings.refractory_s):
                self._last_spot = now
                spots.append(Spot(now))
        return spots

    def strength(self, since_s: float) -> float:
        """The best mean over `strong_window` outputs that end after `since_s`."""
        values = [v for _, v in self._history]
        times = [t for t, _ in self._history]
        n = self.settings.strong_window
        best = 0.0
        for end in range(n, len(values) + 1):
            if times[end - 1] >= since_s:
                best = max(best, sum(values[end - n : end]) / n)
        return best
