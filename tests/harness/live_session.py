"""Drive the real `massage-assistant start` in the virtual room, as a user would.

The program runs as a subprocess with the room as its speakers and microphone; a
simulated user speaks into the same room (by default a Piper neural voice, not the
assistant's espeak-ng one; any `Speaker` can stand in). Events are read back from the
program's --events file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tests.harness.room import RATE as ROOM_RATE
from tests.harness.room import Recorder, Room
from tests.harness.speech_samples import RATE, Speaker, require_speaker, speak

Event = dict[str, Any]
USER_VOICE = Speaker.piper(length_scale=1.0)
"""The simulated user: a natural voice, which pocketsphinx hears far better than espeak's."""
ESPEAK_USER_VOICE = Speaker.espeak("en-us+m3", 150)
"""The former simulated user (formant speech; pass `user=` to hear how it fares)."""
USER_GAIN = 0.8
"""The user's level in the room, relative to full scale."""


def user_audio(text: str, speaker: Speaker = USER_VOICE) -> npt.NDArray[np.float32]:
    """Exactly what the simulated user plays into the room for `text` (RATE, float)."""
    pcm = speak(text, speaker)
    audio: npt.NDArray[np.float32] = (pcm.astype(np.float32) / 32768.0) * USER_GAIN
    return audio


class LiveSession:
    def __init__(
        self, room: Room, folder: Path, *args: str, user: Speaker = USER_VOICE,
        save_audio: bool = False, env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        """`save_audio`: keep what the microphone heard (and the recognizer was fed) in
        `folder`/audio, to replay a failure (`massage-assistant recognize`). `env`: more
        environment for the program; `prefix`: a command it runs under (`unshare -n`)."""
        self.user = require_speaker(user)  # skip before launching when it cannot speak
        if save_audio:
            args = (*args, "--save-audio", str(folder / "audio"))
        self.room = room
        self.events_path = folder / "events.jsonl"
        self.stderr_path = folder / "stderr.txt"
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "assistant", "start", *args,
             "--events", str(self.events_path)],
            env={**room.env, "MASSAGE_ASSISTANT_HOME": os.environ["MASSAGE_ASSISTANT_HOME"],
                 **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr_path.open("w"),
            text=True,
        )

    def events(self) -> list[Event]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def of_type(self, type_: str) -> list[Event]:
        return [e for e in self.events() if e["type"] == type_]

    def accepted(self) -> list[tuple[str, str]]:
        return [(e["intent"], e["source"]) for e in self.of_type("command") if e["accepted"]]

    def wait_for(self, match: Callable[[Event], bool], timeout_s: float, after: int = 0) -> Event:
        """The first event past index `after` that matches; fails the test on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in self.events()[after:]:
                if match(event):
                    return event
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"no matching event within {timeout_s} s; stderr: {self.stderr()[-800:]}\n"
            f"last events: {self.events()[-8:]}"
        )

    def wait_state(self, state: str, timeout_s: float = 30.0, after: int = 0) -> Event:
        return self.wait_for(lambda e: e["type"] == "state" and e["to"] == state, timeout_s, after)

    def wait_quiet(self, recorder: Recorder, quiet_s: float = 0.6, timeout_s: float = 60.0) -> None:
        """Until the room has been silent for `quiet_s` after the assistant has begun
        talking (the room is quiet too while its first line is still being rendered: a
        user who spoke then, in CI, was heard before any step had been spoken).
        tail_rms is 0.0 both before `quiet_s` of audio has arrived and in the null sink's
        exact digital silence, so the amount recorded tells the two apart."""
        need = int(quiet_s * ROOM_RATE) * 2
        deadline = time.monotonic() + timeout_s
        while True:
            with recorder._lock:
                have, sounded = recorder._bytes, recorder.sounded
            if sounded and have >= need and recorder.tail_rms(quiet_s) <= 0.003:
                return
            if time.monotonic() > deadline:
                raise AssertionError("the assistant never went quiet")
            time.sleep(0.05)

    def say(self, text: str, slower: float = 1.0) -> float:
        """The user speaks into the room (`slower` than their usual pace, as said again);
        returns the time.monotonic() when they finished."""
        audio = user_audio(text, self.user.slower(slower) if slower != 1.0 else self.user)
        started = self.room.play(audio, sample_rate=RATE)
        return started + len(audio) / RATE

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def finish(self, timeout_s: float = 60.0) -> int:
        try:
            return self.proc.wait(timeout=timeout_s)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
