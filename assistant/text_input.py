"""Keyboard mode: typed lines become commands, using the same phrases as speech."""

from __future__ import annotations

import queue
import threading
from typing import TextIO

from assistant.session import Command
from assistant.vocabulary import Vocabulary


def start_text_input(
    stream: TextIO, vocabulary: Vocabulary, inbox: queue.Queue[Command]
) -> threading.Thread:
    """Read lines until end of input; the session carries on after that."""

    def read() -> None:
        for line in stream:
            words = line.strip()
            if not words:
                continue
            match = vocabulary.intent_for(words)
            intent, phrase = match if match else (None, words)
            inbox.put(Command(intent, phrase, "text"))

    thread = threading.Thread(target=read, name="text-input", daemon=True)
    thread.start()
    return thread
