"""Ctrl-C and SIGTERM end a voice session cleanly: the real program in the room.

Ctrl-C in a terminal signals the whole foreground process group, the recognizer's
process included, so the test does the same; `kill` signals the program alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.session.dialog import load_dialog
from tests.harness.room import Room


def states(events: Path) -> list[str]:
    if not events.exists():
        return []
    lines = events.read_text().splitlines()
    return [e["to"] for e in map(json.loads, lines[:-1] if lines else []) if e["type"] == "state"]


def group_gone(pgid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _as_from_a_terminal() -> None:
    """Ctrl-C as a terminal delivers it: a process started with SIGINT ignored (as this
    test run may be, after a tool that ignores it) keeps it ignored, and Python then
    never turns it into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("sig", "state", "fresh"),
    [
        (signal.SIGINT, "screening", True),
        (signal.SIGINT, "paused", False),
        (signal.SIGTERM, "running", False),
    ],
)
def test_a_signal_ends_a_voice_session_without_a_traceback(
    room: Room, home: Path, tmp_path: Path, sig: signal.Signals, state: str, fresh: bool
) -> None:
    folder = tmp_path / "fresh" if fresh else home  # fresh: "myself, or partner?" is asked
    events, err = tmp_path / "events.jsonl", tmp_path / "stderr.txt"
    env = {**room.env, "MASSAGE_ASSISTANT_HOME": str(folder)}
    with err.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "start", "--routine", "quick", "--plain",
             "--events", str(events)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
            text=True, start_new_session=True, preexec_fn=_as_from_a_terminal,
        )
    try:
        deadline = time.monotonic() + 60
        wanted = "running" if state == "paused" else state
        while wanted not in states(events) and time.monotonic() < deadline:
            time.sleep(0.1)
        if state == "paused":
            assert proc.stdin is not None
            proc.stdin.write("pause\n")
            proc.stdin.flush()
            while "paused" not in states(events) and time.monotonic() < deadline:
                time.sleep(0.1)
        assert states(events)[-1] == state, err.read_text()
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    text = err.read_text()
    assert "Traceback" not in text, text
    assert code == 128 + sig, text
    assert load_dialog().line("notice.interrupted") in text
    assert group_gone(proc.pid), "the recognizer's process is still running"
