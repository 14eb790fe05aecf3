"""Typing under the live screen: keys read with the terminal's echo off.

With echo on, the terminal prints what is typed (and the Enter's new line) below the
screen, where the screen's next redraw does not expect it, and a stale copy of its
top border is left behind. So while the screen is up the terminal does not echo;
this reads the keys itself, and the line being typed is drawn inside the screen.
Enter sends it as a command, the same as a piped line. Ctrl-C still interrupts
(signals stay on), and the terminal's settings are put back on `stop`.
"""

from __future__ import annotations

import codecs
import os
import queue
import select
import termios
import threading
from typing import Any

from assistant.session.guide import Command
from assistant.session.text_input import typed_command
from assistant.session.vocabulary import Vocabulary

MAX_CHARS = 60
_ERASE = ("\x7f", "\x08")
_KILL_LINE = "\x15"
_ESCAPE = "\x1b"


class TerminalTyping:
    def __init__(self, fd: int, vocabulary: Vocabulary, inbox: queue.Queue[Command]) -> None:
        self.fd = fd
        self.vocabulary = vocabulary
        self.inbox = inbox
        self.text = ""
        """The line typed so far (the screen reads it; assigning a str is atomic)."""
        self._saved: list[Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="typing", daemon=True)
        self._in_escape = False

    def start(self) -> None:
        attrs = termios.tcgetattr(self.fd)
        self._saved = list(attrs)
        quiet = list(attrs)
        quiet[3] &= ~(termios.ECHO | termios.ICANON)  # lflags: no echo, key by key
        cc = list(quiet[6])
        cc[termios.VMIN], cc[termios.VTIME] = 1, 0
        quiet[6] = cc
        termios.tcsetattr(self.fd, termios.TCSANOW, quiet)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        if self._saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def _run(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 1024)
            except OSError:
                return
            if not data:
                return
            for char in decoder.decode(data):
                self.key(char)

    def key(self, char: str) -> None:
        """One key: printable ones build the line, Enter sends it, Backspace and Ctrl-U
        edit it; escape sequences (arrow keys) and other controls are ignored."""
        if self._in_escape:
            self._in_escape = not (char.isalpha() or char == "~")
            return
        if char == _ESCAPE:
            self._in_escape = True
        elif char in ("\r", "\n"):
            self._send(self.text)
            self.text = ""
        elif char in _ERASE:
            self.text = self.text[:-1]
        elif char == _KILL_LINE:
            self.text = ""
        elif char.isprintable() and len(self.text) < MAX_CHARS:
            self.text += char

    def _send(self, line: str) -> None:
        command = typed_command(line, self.vocabulary)
        if command is not None:
            self.inbox.put(command)
