"""Keyboard mode: typed lines become commands, using the same phrases as speech."""

from __future__ import annotations

import queue
import threading
from typing import TextIO

from assistant.session.guide import Command
from assistant.session.vocabulary import Vocabulary


def start_text_input(
    stream: TextIO, vocabulary: Vocabulary, inbox: queue.Queue[Command]
) -> threading.Thread:
    """Read lines until end of input; the session carries on after that."""

    def read() -> None:
        for line in stream:
            command = typed_command(line, vocabulary)
            if command is not None:
                inbox.put(command)

    thread = threading.Thread(target=read, name="text-input", daemon=True)
    thread.start()
    return thread


def typed_command(line: str, vocabulary: Vocabulary) -> Command | None:
    """A typed line as a command (intent None when it is none); None for a blank line."""
    words = line.strip()
    if not words:
        return None
    match = vocabulary.intent_for(words)
    intent, phrase = match if match else (None, words)
    return Command(intent, phrase, "text")
