"""Listening during the check: microphone blocks, their level, and what the recognizer heard.

The microphone callback only calls `feed` (a queue put and a deque append); the
check's own thread pulls blocks, measures them and runs the recognizer. Blocks
captured before `since` (the assistant's own prompt still in the air) are dropped
unheard, so the prompt "say stop" is never taken for the user saying it.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.ports import Heard, Recognizer
from assistant.screen.level import FLOOR_DBFS, MicLevel, block_dbfs

Block = tuple[bytes, float]


@dataclass
class Listened:
    heard: list[Heard] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)
    """dBFS of every block listened to."""

    @property
    def peak_dbfs(self) -> float:
        return max(self.levels, default=FLOOR_DBFS)

    @property
    def floor_dbfs(self) -> float:
        """The background: the level nine blocks in ten are louder than."""
        ordered = sorted(self.levels)
        return ordered[len(ordered) // 10] if ordered else FLOOR_DBFS


class Hearing:
    def __init__(self, recognizer: Recognizer, clock: Callable[[], float] = time.monotonic):
        self.recognizer = recognizer
        self.clock = clock
        self.level = MicLevel()
        self._blocks: queue.Queue[Block] = queue.Queue()

    def feed(self, pcm: bytes, at: float) -> None:
        self._blocks.put((pcm, at))
        self.level.feed(pcm, at)

    def listen(
        self,
        phrases: Sequence[str],
        seconds: float,
        since: float,
        wanted: Callable[[Heard], bool],
        settle_s: float = 1.5,
        give_up: Callable[[], bool] = lambda: False,
    ) -> Listened:
        """Listen for up to `seconds` after `since` (a monotonic time, maybe in the future).

        Ends early on a final result that is `wanted`, `settle_s` after an early one
        (waiting for the final, which may carry a confidence), or when `give_up()`.
        """
        self.recognizer.set_phrases(phrases)
        out = Listened()
        deadline = max(since, self.clock()) + seconds
        while self.clock() < deadline and not give_up():
            try:
                pcm, at = self._blocks.get(timeout=0.05)
            except queue.Empty:
                continue
            if at < since:
                continue
            out.levels.append(block_dbfs(pcm))
            for heard in self.recognizer.accept(pcm):
                out.heard.append(heard)
                if wanted(heard):
                    now = self.clock()
                    deadline = now if heard.final else min(deadline, now + settle_s)
        out.heard.extend(self.recognizer.flush())
        return out
