"""The live half's means: a private room (tests/harness/room.py), the real program launched in it
(tests/harness/live_session.py) with a simulated user, the program's clock mapped to the room's,
and where things are in the room's recording (the timebase is described in
bench/latencies.py)."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from assistant.listening.recognize_file import resample
from bench.interrupt import signals_held
from tests.harness import speech_samples as ss
from tests.harness.speech_samples import RATE as SR

if TYPE_CHECKING:
    from tests.harness.live_session import LiveSession
    from tests.harness.room import Recorder, Recording

Floats = npt.NDArray[np.float64]
Event = dict[str, Any]

SILENCE_THRESHOLD = 0.002
"""About -54 dBFS: the room is digitally silent, speech and chimes are far above this."""


class EventClock:
    """Maps the program's session clock (events' "t") to time.monotonic().

    A thread tails the events file every few ms and notes when each line first shows;
    an event cannot be seen before it happened, so the smallest (seen - t) over all
    events is the clocks' offset, late by at most one poll plus the write (~5 ms)."""

    POLL_S = 0.004

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = math.inf
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-clock", daemon=True)
        self._thread.start()

    def monotonic(self, t: float) -> float | None:
        """time.monotonic() of session time `t`, once any event has been seen."""
        return None if math.isinf(self._offset) else self._offset + t

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        at, partial = 0, b""
        while not self._stop.wait(self.POLL_S):
            try:
                with self.path.open("rb") as f:
                    f.seek(at)
                    data = f.read()
            except OSError:
                continue
            seen = time.monotonic()
            at += len(data)
            *lines, partial = (partial + data).split(b"\n")
            for line in lines:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self._offset = min(self._offset, seen - float(json.loads(line)["t"]))


@dataclass
class Launch:
    """One run of the program, with what the benchmark needs to judge it."""

    live: LiveSession
    launched_at: float
    monitor: Recorder
    """The room from just before launch on."""
    clock: EventClock


class RoomBench:
    """The live half: owns a Room; every program it starts is killed on the way out."""

    def __init__(self, args: argparse.Namespace, folder: Path, rng: random.Random) -> None:
        from tests.harness.live_session import USER_VOICE
        from tests.harness.room import Room

        self.args = args
        self.user: ss.Speaker = args.user_voice or USER_VOICE
        self.folder = folder
        self.rng = rng
        self.room = Room()
        self.first_words: list[float] = []
        self._launches: list[Launch] = []
        self._count = 0

    def engine_args(self) -> list[str]:
        out = ["--engine", self.args.engine]
        if self.args.model is not None:
            out += ["--model", str(self.args.model)]
        return out

    # -- program lifecycle

    def voice_args(self) -> list[str]:
        return ["--voice", self.args.voice] if self.args.voice else []

    def launch(self, *args: str, home: Path | None = None) -> Launch:
        """A fresh program; `home` shares a memory folder (and so the speech cache) with
        another launch, else each launch has its own, fresh one."""
        from tests.harness.live_session import LiveSession

        self._count += 1
        folder = self.folder / f"run{self._count}"
        folder.mkdir()
        os.environ["MASSAGE_ASSISTANT_HOME"] = str(home or seeded_home(folder / "home"))
        monitor = self.room.record()
        launched = time.monotonic()
        live = LiveSession(self.room, folder, *args, *self.engine_args(), *self.voice_args(),
                           user=self.user, save_audio=self.args.keep is not None)
        run = Launch(live, launched, monitor, EventClock(live.events_path))
        self._launches.append(run)
        return run

    def end(self, run: Launch) -> None:
        """Stop the program as a user would (Ctrl-C, then a kill if it hangs) and note
        its first word (launch to first sound)."""
        if run.live.proc.poll() is None:
            run.live.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(Exception):
                run.live.proc.wait(timeout=5)
        run.live.close()
        run.clock.close()
        recording = run.monitor.stop()
        first = recording.first_sound(after=run.launched_at, threshold=SILENCE_THRESHOLD)
        if first is not None:
            self.first_words.append(first - run.launched_at)

    def close_all(self) -> None:
        for run in self._launches:
            run.live.close()
            run.clock.close()

    # -- the user

    def user_audio(self, text: str) -> npt.NDArray[np.float32]:
        """Exactly what LiveSession.say plays for `text` (16 kHz float), in the tests'
        user voice unless --user-voice asks for another simulated user."""
        from tests.harness.live_session import user_audio

        return user_audio(text, self.user)

    def say(self, text: str) -> tuple[float, npt.NDArray[np.float32]]:
        """Play the user's words; paplay's start time and the samples played."""
        audio = self.user_audio(text)
        return self.room.play(audio, sample_rate=SR), audio

    def say_until(self, run: Launch, text: str, match: Callable[[Event], bool],
                  tries: int = 3, timeout_s: float = 8.0, wait_quiet: bool = True) -> bool:
        """Say `text` until an event matching appears (the recognizer can miss); first
        wait for the assistant to be quiet unless the command is one that barges in."""
        for _ in range(tries):
            if wait_quiet:
                self.wait_quiet(run)
            mark = len(run.live.events())
            self.say(text)
            if self.wait_event(run, match, timeout_s, mark) is not None:
                return True
        return False

    def type_line(self, run: Launch, text: str) -> None:
        """Type a command, as keyboard mode allows alongside the voice."""
        stdin = run.live.proc.stdin
        if stdin is not None:
            stdin.write(text + "\n")
            stdin.flush()

    def type_until(self, run: Launch, text: str, match: Callable[[Event], bool]) -> bool:
        """Type `text` and wait for an event matching."""
        mark = len(run.live.events())
        self.type_line(run, text)
        return self.wait_event(run, match, 8.0, mark) is not None

    # -- waiting

    def wait_event(self, run: Launch, match: Callable[[Event], bool], timeout_s: float,
                   after: int = 0) -> Event | None:
        try:
            event: Event = run.live.wait_for(match, timeout_s, after=after)
        except AssertionError:
            return None
        return event

    def wait_quiet(self, run: Launch, quiet_s: float = 0.6, timeout_s: float = 60.0) -> bool:
        """Until the room has been quiet for `quiet_s`. Not LiveSession.wait_quiet: that
        takes an RMS of exactly 0 for "not enough audio yet", but the null sink's
        silence is exactly 0, so it waits forever once the assistant is silent."""
        from tests.harness.room import RATE

        need = int(quiet_s * RATE) * 2
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with run.monitor._lock:
                have = run.monitor._bytes
            if have >= need and run.monitor.tail_rms(quiet_s) <= 0.003:
                return True
            time.sleep(0.05)
        return False

    def wait_talking(self, run: Launch, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while run.monitor.tail_rms(0.2) <= 0.003:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def wait_for_chime(self, run: Launch, kind: str, timeout_s: float) -> float | None:
        """Poll the room until the `kind` chime plays; its start (monotonic seconds)."""
        from assistant.speech.chimes import chime

        template = chime(kind, 44100).astype(np.float64)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and state_of(run) in (None, "screening", "running"):
            time.sleep(0.25)
            recording = peek(run.monitor)
            t = recording.time_at(len(recording.samples))
            found = locate(recording, template, t - 2.0, t, min_score=0.6)
            if found is not None:
                return found
        return None

    # -- running state

    def reach_running(self, run: Launch, timeout_s: float = 90.0) -> bool:
        """Into the routine: answers safety questions 'no' if the program asks them."""
        from assistant.session.safety import load_screening

        answers = {f"safety.{q.id}": "no" for q in load_screening().questions}
        answers["safety.any"] = "no"  # the one question about all of them, asked first
        answers["ask_mode"] = "myself"
        deadline = time.monotonic() + timeout_s
        answered = held_back = 0
        while time.monotonic() < deadline:
            events = run.live.events()
            if any(e["type"] == "state" and e["to"] == "running" for e in events):
                return True
            asked = [e for e in events if e["type"] == "say" and e.get("key") in answers]
            # An answer said in a pause before its question was heard is held back
            # (`CommandSpotter.expect_answer`): say it again at the next quiet.
            early = sum(e["type"] == "heard" and e.get("decision") == "not_asked"
                        for e in events)
            if len(asked) > answered or early > held_back:
                self.wait_quiet(run)
                self.say(answers[asked[-1]["key"]])
                answered, held_back = len(asked), early
            if run.live.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False


def seeded_home(folder: Path) -> Path:
    """A private memory folder with the safety questions answered 'no', like the tests':
    every launch is a user who has done the screening, and nothing touches real data."""
    from assistant.memory.store import Memory
    from assistant.session.safety import load_screening

    memory = Memory(folder)
    try:
        for person in ("self", "partner"):
            memory.save_screening({q.id: False for q in load_screening().questions}, person)
    finally:
        memory.close()
    return folder


@contextlib.contextmanager
def room_bench(args: argparse.Namespace, rng: random.Random) -> Iterator[RoomBench]:
    """A started room; whatever happens, its programs, tap and server end with it."""
    folder = Path(tempfile.mkdtemp(prefix="massage-bench-"))
    bench = RoomBench(args, folder, rng)
    try:
        bench.room.start()
        yield bench
    finally:
        with signals_held():
            bench.close_all()
            bench.room.stop()
            if args.keep is not None:
                shutil.copytree(folder, args.keep, dirs_exist_ok=True)
            shutil.rmtree(folder, ignore_errors=True)


def peek(recorder: Recorder) -> Recording:
    """What a still-running Recorder has so far, as a Recording (same timebase rule)."""
    from tests.harness.room import RATE, Recording

    with recorder._lock:
        chunks = list(recorder._chunks)
        arrivals = list(recorder._arrivals)
    data = b"".join(chunks)
    samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32)
    offsets = np.array([t - n / RATE for t, n in arrivals] or [time.monotonic()])
    start = float(offsets.min())
    return Recording(samples / 32768.0, RATE, start, float(np.median(offsets) - start))


def locate(recording: Recording, template: Floats, t0: float, t1: float,
           min_score: float = 0.3) -> float | None:
    """Start time of `template` inside [t0, t1] of the recording, by normalized
    cross-correlation; None when nothing matches at least `min_score`."""
    lo = recording.index_at(t0)
    seg = recording.samples[lo : recording.index_at(t1)].astype(np.float64)
    m = template.size
    if seg.size < m or m == 0:
        return None
    nfft = 1 << math.ceil(math.log2(seg.size + m))
    corr = np.fft.irfft(np.fft.rfft(seg, nfft) * np.conj(np.fft.rfft(template, nfft)), nfft)
    corr = corr[: seg.size - m + 1]
    energy = np.concatenate([[0.0], np.cumsum(seg**2)])
    local = np.sqrt(np.maximum(energy[m:] - energy[:-m], 1e-12))
    score = corr / (local * float(np.linalg.norm(template)) + 1e-12)
    k = int(np.argmax(score))
    if score[k] < min_score:
        return None
    result: float = recording.time_at(lo + k)
    return result


def loud_span(recording: Recording, t0: float, t1: float) -> tuple[float, float] | None:
    """First and last time above SILENCE_THRESHOLD within [t0, t1]."""
    lo = recording.index_at(t0)
    loud = np.flatnonzero(np.abs(recording.samples[lo : recording.index_at(t1)])
                          > SILENCE_THRESHOLD)
    if not loud.size:
        return None
    return recording.time_at(lo + int(loud[0])), recording.time_at(lo + int(loud[-1]) + 1)


def user_word_end(recording: Recording, audio: npt.NDArray[np.float32],
                  started: float) -> tuple[float, float, bool]:
    """Where the user's played samples really are: (start, end, found by correlation)."""
    rate = recording.sample_rate
    template = resample(audio.astype(np.float64), SR, rate)
    length = template.size / rate
    at = locate(recording, template, started - 0.05, started + length + 0.8)
    if at is None:
        return started, started + length, False
    return at, at + length, True


def _running(e: Event) -> bool:
    return bool(e["type"] == "state" and e["to"] == "running")


def _going_on(e: Event) -> bool:
    return bool(e["type"] == "state" and e["to"] in ("running", "switching"))


def _instruction(e: Event) -> bool:
    return bool(e["type"] == "say" and str(e["key"]).startswith("step."))


def state_of(run: Launch) -> str | None:
    states = [e["to"] for e in run.live.events() if e["type"] == "state"]
    return states[-1] if states else None
