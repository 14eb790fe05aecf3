"""The listening thread: owns the recognizer, turns microphone audio into commands.

The microphone callback only calls `feed()` (a queue put); everything slow happens
here. The grammar follows the session state; stop, pause and pain silence the
speakers straight from this thread, before the session even sees the command.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from assistant.events import EventLog
from assistant.listening.echo_canceller import EchoCanceller
from assistant.listening.spotter import CommandSpotter
from assistant.ports import Heard, Recognizer
from assistant.session import Command
from assistant.vocabulary import Vocabulary

Block = tuple[bytes, float]
"""16-bit mono PCM and the time.monotonic() of its first sample."""


class Listener:
    def __init__(
        self,
        recognizer: Recognizer,
        spotter: CommandSpotter,
        vocabulary: Vocabulary,
        inbox: queue.Queue[Command],
        events: EventLog | None = None,
        interrupt: Callable[[], None] | None = None,
        echo: EchoCanceller | None = None,
    ) -> None:
        """`echo`, if given, cleans each block of the assistant's own voice on this thread
        (never in the microphone callback) before the recognizer hears it."""
        self.recognizer = recognizer
        self.spotter = spotter
        self.vocabulary = vocabulary
        self.inbox = inbox
        self.events = events
        self.interrupt = interrupt
        self.echo = echo
        self._blocks: queue.Queue[Block | None] = queue.Queue()
        self._grammar: frozenset[str] | None = None
        self._grammar_lock = threading.Lock()
        self._samples = 0
        self._stream_start: float | None = None
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)
        self._priority = vocabulary.priority_intents()

    def feed(self, pcm: bytes, at: float) -> None:
        self._blocks.put((pcm, at))

    def follow(self, valid: frozenset[str]) -> None:
        """Listen for these intents from now on (applied before the next block)."""
        with self._grammar_lock:
            self._grammar = valid
        self.spotter.set_valid(valid)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._blocks.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            self._apply_grammar()
            pcm, at = block
            if self.echo is not None:
                pcm = self.echo.process(pcm, at)
            start = at - self._samples / self.recognizer.sample_rate
            if self._stream_start is None or start < self._stream_start:
                self._stream_start = start
            self._samples += len(pcm) // 2
            for heard in self.recognizer.accept(pcm):
                self._decide(heard, self._stream_start)

    def _apply_grammar(self) -> None:
        with self._grammar_lock:
            valid, self._grammar = self._grammar, None
        if valid is not None:
            self.recognizer.set_phrases(self.vocabulary.phrases_for(valid))

    def _decide(self, heard: Heard, stream_start: float) -> None:
        decision = self.spotter.consider(heard, stream_start)
        if self.events is not None:
            self.events.emit(
                "heard", text=heard.text, final=heard.final, decision=decision.reason,
                start=round(heard.start_s, 2), end=round(heard.end_s, 2),
            )
        cmd = decision.command
        if cmd is None:
            return
        if cmd.intent in self._priority and self.interrupt is not None:
            self.interrupt()
        self.inbox.put(cmd)
