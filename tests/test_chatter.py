"""Library chatter on fd 2 goes to the session log, never to the terminal."""

from __future__ import annotations

import ctypes
import io
import os
import pty
import queue
import sys
import termios
import time
from pathlib import Path

import pytest

from assistant.app import RunOptions, run_guided_session
from assistant.chatter import chatter_to
from assistant.screen.typing import TerminalTyping
from assistant.session.dialog import load_dialog
from assistant.session.guide import Command
from assistant.session.vocabulary import load_vocabulary
from assistant.settings import ListenSettings, MemorySettings, SessionSettings

CHATTER = b"ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred\n"


def c_write_to_stderr(data: bytes) -> None:
    """As ALSA does it: C's write(2, ...), under Python's sys.stderr."""
    libc = ctypes.CDLL(None)
    libc.write(2, data, len(data))


class ChatteringInput(io.StringIO):
    """Keyboard input that makes a C library chatter on fd 2 mid-session, then ends it."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        time.sleep(0.2)
        c_write_to_stderr(CHATTER)
        yield "end session\n"


def test_c_chatter_during_a_session_lands_in_the_log_not_on_stderr(
    tmp_path: Path, home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "session.log"
    session = run_guided_session(
        SessionSettings(routine="quick", time_scale=0.01),
        (False, False), {}, ListenSettings(), MemorySettings(folder=home),
        RunOptions(text_mode=True, events_path=None, env_model=None, chatter_log=log),
        ChatteringInput(), io.StringIO(),
    )
    assert session.ended_by_user
    err = capfd.readouterr().err
    assert "underrun" not in err
    assert load_dialog().line("notice.keyboard") in err, "the program's own notices still show"
    assert log.read_bytes() == CHATTER
    c_write_to_stderr(b"after the session\n")
    assert "after the session" in capfd.readouterr().err, "fd 2 is put back"


def test_an_unwritable_log_still_keeps_chatter_off_the_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "f").touch()
    with chatter_to(tmp_path / "f" / "session.log") as went:
        c_write_to_stderr(CHATTER)
        print("own notice", file=sys.stderr)
    assert went == Path(os.devnull)
    err = capfd.readouterr().err
    assert "underrun" not in err and "own notice" in err


def test_typing_turns_the_echo_off_and_back_on() -> None:
    leader, follower = pty.openpty()
    inbox: queue.Queue[Command] = queue.Queue()
    typing = TerminalTyping(follower, load_vocabulary(), inbox)
    try:
        typing.start()
        assert not termios.tcgetattr(follower)[3] & termios.ECHO
        os.write(leader, b"slo\x7fow\x1b[Aer\r")
        command = inbox.get(timeout=5)
        assert (command.intent, command.source) == ("slower", "text")
        assert typing.text == ""
        os.set_blocking(leader, False)
        with pytest.raises(BlockingIOError):
            os.read(leader, 100)  # nothing echoed back to the terminal
        typing.stop()
        assert termios.tcgetattr(follower)[3] & termios.ECHO
    finally:
        os.close(leader)
        os.close(follower)
