"""The recognizer in a process of its own, behind the same Recognizer protocol.

Why: pocketsphinx holds Python's GIL while it decodes (measured: another thread waits
up to 270 ms, 54 ms at p99). The speaker and microphone callbacks are Python and need
the GIL every few ms, so in one process the output underran twice a second, each
underrun moved the echo the canceller had learnt, and the user's "stop" went unheard
under the assistant's own voice. Here the decoding runs in a child process; the
listener sends each block and waits for the answer on a pipe, and waiting on a pipe
releases the GIL.

Calls stay in order, so results mean exactly what they mean in-process, but the
listener does not wait out a slow block: pocketsphinx takes 3 ms for most 50 ms blocks
and up to 600 ms for some (p99 290 ms, a stream of real stops in hiss), and the stop
spotter, the short-word classifier and the barge-in detector run on the listener's
thread after it. `accept` sends its block, waits `ACCEPT_WAIT_S` for answers, and
returns those that have come; the listener collects the rest as they come (`answers`,
`behind`), between blocks.
Grammar and expectation changes go down the same pipe, in order, without a wait.
The child is a plain `python -m` of this module, its end of a socket pair as its
stdin: multiprocessing's spawn would add a resource-tracker process (13 MB) and, under
the `massage-assistant` script, import the whole program again in the child.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.ports import Heard
from assistant.settings import ListenSettings

_START_TIMEOUT_S = 60.0
_ANSWER_TIMEOUT_S = 30.0
ACCEPT_WAIT_S = 0.01
"""How long `accept` waits for its block's answer (most come within 3 ms)."""


class RecognizerProcessError(AssistantError):
    """The recognizer's process failed or stopped answering."""


def _serve(conn: Connection, settings: ListenSettings, env_model: Path | None) -> None:
    """The child: open the recognizer, then answer requests until told to stop."""
    from assistant.listening.engines import open_recognizer

    try:
        recognizer = open_recognizer(settings, env_model)
    except BaseException as exc:  # reported to the parent, which raises it there
        conn.send(("error", exc))
        return
    conn.send(("ready", (recognizer.name, recognizer.sample_rate)))
    while True:
        try:
            request, arg = conn.recv()
        except (EOFError, OSError):
            return
        if request == "close":
            return
        try:
            if request == "audio":
                answer: Any = recognizer.accept(arg)
            elif request == "phrases":
                recognizer.set_phrases(arg)
                answer = None
            elif request == "transcribe":
                answer = recognizer.transcribe(arg)
            elif request == "expect":
                recognizer.expect_command(arg)
                answer = None
            else:
                answer = recognizer.flush()
            conn.send(("ok", answer))
        except Exception as exc:
            conn.send(("error", exc))


class RecognizerProcess:
    """A Recognizer whose engine runs in a child process; see the module docstring."""

    def __init__(self, settings: ListenSettings, env_model: Path | None,
                 wait: bool = True) -> None:
        """`wait=False` returns as soon as the child is started, so its model loads while
        the caller does other things (a session speaks its first line meanwhile); the
        first use of `name` or `sample_rate`, or `wait_ready()`, waits for it."""
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=theirs.fileno(), stdout=subprocess.DEVNULL
            )
        self._conn = Connection(ours.detach())
        self._ready: tuple[str, int] | None = None
        self._sent_at: deque[float] = deque()
        """When each request still without its answer was sent, oldest first."""
        self._early: list[Heard] = []
        """Answers collected by a call that had to wait for all, for the next `accept`."""
        try:
            self._conn.send((settings, env_model))
        except BaseException:
            self.close()
            raise
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Block until the child has loaded its engine; its error if it could not."""
        if self._ready is not None:
            return
        try:
            name, rate = self._answer(_START_TIMEOUT_S, "ready")
        except BaseException:  # Ctrl-C while it loads, too: no process left behind
            self.close()
            raise
        self._ready = (str(name), int(rate))

    @property
    def name(self) -> str:
        self.wait_ready()
        assert self._ready is not None
        return self._ready[0]

    @property
    def sample_rate(self) -> int:
        self.wait_ready()
        assert self._ready is not None
        return self._ready[1]

    def _answer(self, timeout_s: float, expected: str = "ok") -> Any:
        try:
            if not self._conn.poll(timeout_s):
                raise RecognizerProcessError(
                    f"the recognizer did not answer within {timeout_s:.0f} s")
            kind, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise RecognizerProcessError(f"the recognizer's process stopped ({exc})") from exc
        if kind == "error":
            if isinstance(value, AssistantError):
                raise value
            raise RecognizerProcessError(f"the recognizer failed: {value}") from value
        if kind != expected:
            raise RecognizerProcessError(f"the recognizer answered {kind!r}, not {expected!r}")
        return value

    def _send(self, request: str, arg: object = None, answered_later: bool = True) -> None:
        self.wait_ready()
        try:
            self._conn.send((request, arg))
        except (OSError, ValueError) as exc:
            raise RecognizerProcessError(f"the recognizer's process stopped ({exc})") from exc
        if answered_later:
            self._sent_at.append(time.monotonic())

    def _collect(self, wait_s: float | None) -> list[Heard]:
        """The answers that have come, waiting up to `wait_s` for them (None: for all)."""
        heard, self._early = self._early, []
        deadline = None if wait_s is None else time.monotonic() + wait_s
        while self._sent_at:
            overdue = self._sent_at[0] + _ANSWER_TIMEOUT_S
            until = overdue if deadline is None else min(deadline, overdue)
            if not self._conn.poll(max(until - time.monotonic(), 0.0)):
                if time.monotonic() >= overdue:
                    raise RecognizerProcessError(
                        f"the recognizer did not answer within {_ANSWER_TIMEOUT_S:.0f} s")
                break  # the rest come with a later block
            self._sent_at.popleft()
            answer = self._answer(0.0)
            if answer:
                heard.extend(answer)
        return heard

    def _call(self, request: str, arg: object = None) -> Any:
        """A request whose answer is needed now; the answers before it are kept."""
        self._early = self._collect(None)
        self._send(request, arg, answered_later=False)
        return self._answer(_ANSWER_TIMEOUT_S)

    @property
    def behind(self) -> int:
        """Requests sent whose answers have not come yet."""
        return len(self._sent_at)

    def answers(self) -> list[Heard]:
        return self._collect(0.0)

    def set_phrases(self, phrases: Sequence[str]) -> None:
        self._send("phrases", list(phrases))

    def accept(self, pcm: bytes) -> list[Heard]:
        self._send("audio", pcm)
        return self._collect(ACCEPT_WAIT_S)

    def flush(self) -> list[Heard]:
        heard = self._collect(None)
        flushed: list[Heard] = self._call("flush")
        return heard + flushed

    def transcribe(self, pcm: bytes) -> tuple[str, ...] | None:
        words: tuple[str, ...] | None = self._call("transcribe", pcm)
        return words

    def expect_command(self, likely: bool) -> None:
        self._send("expect", likely)

    def close(self) -> None:
        """Ask the child to stop, then make sure it has."""
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(("close", None))
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._conn.close()


def _child() -> None:
    """The child's entry: its stdin is the parent's socket; settings come first.

    Ctrl-C reaches the whole foreground process group: the parent ends the session and
    then this process (by closing the socket), so the child ignores SIGINT; a parent
    gone mid-answer is no error worth a traceback either."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(0)
    try:
        settings, env_model = conn.recv()
        _serve(conn, settings, env_model)
    except (EOFError, OSError):
        return


if __name__ == "__main__":
    _child()
