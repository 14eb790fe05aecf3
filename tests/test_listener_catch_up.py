"""The listener takes a late answer of the recognizer as soon as it comes, not with the
next block: the recognizer's process answers a slow block after `accept` has returned
(`listening/recognizer_process.py`), and after a command the room may give no more
audio for a while (a paused stream, the end of a recording)."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

import pytest

from assistant.listening.listener import Listener
from assistant.listening.spotter import CommandSpotter
from assistant.ports import Heard
from assistant.session.guide import Command
from assistant.session.vocabulary import load_vocabulary
from tests.fakes import QuietRecognizer


@dataclass
class LateRecognizer(QuietRecognizer):
    """Owes the answer to its first block until `ready` is set."""

    ready: threading.Event = field(default_factory=threading.Event)
    owed: list[Heard] = field(default_factory=list)

    @property
    def behind(self) -> int:
        return len(self.owed)

    def accept(self, pcm: bytes) -> list[Heard]:
        if not self.owed:
            self.owed.append(Heard("repeat", True, 0.1, 0.6))
        return []

    def answers(self) -> list[Heard]:
        if not self.ready.is_set():
            return []
        out, self.owed = self.owed, []
        return out


def test_a_late_answer_acts_without_another_block() -> None:
    vocab = load_vocabulary()
    recognizer = LateRecognizer()
    inbox: queue.Queue[Command] = queue.Queue()
    listener = Listener(recognizer, CommandSpotter(vocab, None), vocab, inbox)
    listener.start()
    try:
        listener.feed(b"\0\0" * 800, 0.0)  # one block, and then no more
        with pytest.raises(queue.Empty):  # nothing before the recognizer answers
            inbox.get(timeout=0.3)
        recognizer.ready.set()
        command = inbox.get(timeout=2.0)
        assert command.intent == "repeat"
        assert recognizer.behind == 0
    finally:
        listener.stop()
