"""The soak run in the room (described in bench/soak.py): the TV, the real people's
"stop", the program followed through its events, and its CPU and memory."""

from __future__ import annotations

import json
import math
import random
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from stream_metrics import speech_stream, synthetic_speech, trained_speakers, write_wav

from assistant.listening.recognize_file import read_wav
from bench.resources import proc_usage
from bench.room_bench import Event, Launch, RoomBench, _going_on
from tests.harness import speech_samples as ss
from tests.harness.speech_samples import RATE as SR

TV_DBFS = -38.0
"""The TV's speech level at the microphone (RMS over its speech): a TV next door."""
TALKING_DBFS = -28.0
"""Above this over 0.3 s, the room holds the assistant's voice (the TV never gets there)."""
QUIET_DBFS = -31.0
"""Below this over QUIET_S, the assistant is silent (the TV alone stays under it)."""
QUIET_S = 1.5
GAP_S = (120.0, 180.0)
MIN_GAP_S = 8.0
STOP_WAIT_S = 5.0
RESUME_AFTER_S = (3.0, 5.0)
HALT_GRACE_S = 5.0
TALK_FOR_S = 1.0
"""A stop over speech comes once the assistant has been talking this long."""
OTHER_KIND_AFTER_S = 20.0
WAIT_FOR_MOMENT_S = 120.0
USAGE_EVERY_S = 10.0
HOLD_ENDS = ("barge_in_end", "command")


def dbfs(rms: float) -> float:
    return 20 * math.log10(max(rms, 1e-9))


# ----- what plays into the room -----------------------------------------------------------


def tv_audio(folder: Path) -> tuple[Path, float, list[str]]:
    """The TV's programme as one WAV at TV_DBFS: LibriVox, then the synthetic sentences.
    Its length in seconds and where it came from."""
    parts: list[npt.NDArray[np.float64]] = []
    sources: list[str] = []
    librivox = sorted(ss.LIBRIVOX.glob("*.wav"))
    if librivox:
        speech_stream(librivox, folder / "librivox.wav")
        parts.append(read_wav(folder / "librivox.wav", SR).astype(np.float64))
        sources.append(f"LibriVox read speech ({len(librivox)} files)")
    if synthetic_speech("sentences", folder / "sentences.wav") is not None:
        parts.append(read_wav(folder / "sentences.wav", SR).astype(np.float64))
        sources.append(f"{len(ss.SENTENCES)} ordinary sentences (Piper joe, espeak-ng)")
    if not parts:
        raise RuntimeError("no ordinary speech for the TV: no LibriVox and no espeak-ng")
    x = np.concatenate(parts)
    scaled = ss.at_level(np.clip(x, -32768, 32767).astype(np.int16), TV_DBFS)
    path = folder / "tv.wav"
    write_wav(path, np.clip(np.round(scaled), -32768, 32767).astype(np.int16))
    return path, x.size / SR, sources


class Television:
    """The TV: `wav` played into the room again and again, until `stop()`."""

    def __init__(self, bench: RoomBench, wav: Path) -> None:
        from tests.harness.room import SINK

        self.command = ["paplay", f"--device={SINK}", "--latency-msec=100", str(wav)]
        self.env = bench.room.env
        self.starts: list[float] = []
        """time.monotonic() at each paplay start (the programme from its beginning)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tv", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.starts.append(time.monotonic())
            self._proc = subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._proc.wait() != 0:  # killed by stop(), or the room is gone
                self._stop.wait(1.0)


@dataclass(frozen=True)
class StopClip:
    speaker: str
    audio: npt.NDArray[np.float32]
    dbfs: float
    """RMS over its speech."""
    heard_in_training: bool


def stop_clips(count: int, rng: random.Random) -> list[StopClip]:
    """One real "stop" per speaker, in a seeded order: speakers the short-word classifier
    never heard first."""
    trained = trained_speakers()
    by_speaker: dict[str, Path] = {}
    for path in ss.clips("stop"):
        by_speaker.setdefault(ss.speaker_of(path), path)
    speakers = sorted(by_speaker)
    rng.shuffle(speakers)
    speakers.sort(key=lambda s: s in trained)  # stable: unheard first, each group shuffled
    out = []
    for speaker in speakers[:count]:
        pcm = ss.trim(read_wav(by_speaker[speaker], SR))
        level = 10 * math.log10(max(ss.speech_power(pcm), 1e-9) / 32768**2)
        out.append(StopClip(speaker, (pcm / np.float32(32768)).astype(np.float32), level,
                            speaker in trained))
    return out


# ----- following the program ----------------------------------------------------------------


class EventTail:
    """The program's events, read incrementally (the file grows for twenty minutes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events: list[Event] = []
        self._at = 0
        self._partial = b""

    def update(self) -> list[Event]:
        try:
            with self.path.open("rb") as f:
                f.seek(self._at)
                data = f.read()
        except OSError:
            return self.events
        self._at += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        self.events.extend(json.loads(line) for line in lines if line.strip())
        return self.events

    def wait(self, match: Callable[[Event], bool], timeout_s: float, after: int) -> Event | None:
        deadline = time.monotonic() + timeout_s
        while True:
            for event in self.update()[after:]:
                if match(event):
                    return event
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


class UsageSampler:
    """proc_usage over back-to-back USAGE_EVERY_S windows, on a thread."""

    def __init__(self, pid: int, since: float) -> None:
        self.pid, self.since = pid, since
        self.samples: list[tuple[float, float, float]] = []
        """(seconds since launch at the window's start, CPU %, peak RSS MB)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=USAGE_EVERY_S + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic() - self.since
            try:
                cpu, rss, _ = proc_usage(self.pid, USAGE_EVERY_S)
            except OSError:  # the program is gone
                return
            if rss > 0:
                self.samples.append((at, cpu, rss))


def room_dbfs(run: Launch, seconds: float) -> float:
    return dbfs(run.monitor.tail_rms(seconds))


def moment_for(kind: str, run: Launch, tail: EventTail) -> bool:
    """Whether now is a moment for a stop of this kind: the session running and its line
    not held (a barge-in), and the assistant talking for the last TALK_FOR_S
    (`over_speech`) or silent for QUIET_S (`quiet`; the TV may talk on)."""
    if state_of_tail(tail) != "running":
        return False
    if kind == "over_speech":
        return not held(run, tail, 0.0) and all(
            room_dbfs(run, s) > TALKING_DBFS for s in (0.3, TALK_FOR_S))
    return not held(run, tail, QUIET_S + 1.0) and room_dbfs(run, QUIET_S) < QUIET_DBFS


def held(run: Launch, tail: EventTail, within_s: float) -> bool:
    """The line is held (a `barge_in` with nothing after it yet that ends the hold), or
    was within the last `within_s`: the room is quiet then, but the line is not over. A
    hold ends with `barge_in_end`, or with a command (which says no `barge_in_end`: a
    false "pause" in a hold once kept the soak waiting for the rest of the run)."""
    holds = [e for e in tail.update() if e["type"] in ("barge_in", *HOLD_ENDS)]
    if not holds:
        return False
    if holds[-1]["type"] == "barge_in":
        return True
    released = run.clock.monotonic(float(holds[-1]["t"]))
    return released is None or time.monotonic() - released < within_s


def state_of_tail(tail: EventTail) -> str | None:
    states = [e["to"] for e in tail.update() if e["type"] == "state"]
    return states[-1] if states else None


def moment_now(soak: Soak, run: Launch, tail: EventTail, late_s: float) -> str | None:
    """The kind of stop to say now, if any: over speech and in quiet by turns, or
    whichever comes first once the turn's kind has been waited for OTHER_KIND_AFTER_S (a
    long silent step has no moment over speech, a talkative stretch none in quiet)."""
    if late_s < 0:
        return None
    turn = ("over_speech", "quiet")[len(soak.trials) % 2]
    other = "quiet" if turn == "over_speech" else "over_speech"
    kinds = (turn,) if late_s < OTHER_KIND_AFTER_S else (turn, other)
    return next((kind for kind in kinds if moment_for(kind, run, tail)), None)


# ----- one stop and resume ----------------------------------------------------------------------


@dataclass
class Trial:
    kind: str
    """'over_speech' or 'quiet': what was aimed for."""
    speaker: str
    clip_dbfs: float
    unheard_speaker: bool
    started: float = 0.0
    ended: float = 0.0
    stopped: bool = False
    decided_ms: float | None = None
    """End of the clip to the session's `stopped` state (by the event clock)."""
    room_before_dbfs: float | None = None
    """The room over 0.5 s before the clip: the assistant's voice, or the TV alone."""
    resume: dict[str, Any] = field(default_factory=dict)


def stop_and_resume(bench: RoomBench, run: Launch, tail: EventTail, kind: str,
                    clip: StopClip, windows: list[tuple[float, float, str]]) -> Trial | None:
    """Say the clip (over speech: 0-0.5 s later still, if the assistant still talks),
    and "resume" once stopped; None when the moment passed before the clip began."""
    if kind == "over_speech":
        time.sleep(bench.rng.uniform(0.0, 0.5))
        if not moment_for(kind, run, tail):
            return None
    trial = Trial(kind, clip.speaker, round(clip.dbfs, 1), not clip.heard_in_training)
    mark = len(tail.update())
    trial.room_before_dbfs = round(room_dbfs(run, 0.5), 1)
    trial.started = bench.room.play(clip.audio, sample_rate=SR)
    trial.ended = trial.started + clip.audio.size / SR
    windows.append((trial.started, trial.ended + STOP_WAIT_S, "stop"))
    left = trial.ended + STOP_WAIT_S - time.monotonic()
    stopped = tail.wait(lambda e: e["type"] == "state" and e["to"] == "stopped", left, mark)
    trial.stopped = stopped is not None
    if stopped is None:
        return trial
    decided = run.clock.monotonic(float(stopped["t"]))
    if decided is not None:
        trial.decided_ms = round((decided - trial.ended) * 1000)
    time.sleep(bench.rng.uniform(*RESUME_AFTER_S))
    waited = time.monotonic()  # and as a person would, until it has said its piece
    while ((room_dbfs(run, 0.6) > QUIET_DBFS or held(run, tail, 1.0))
           and time.monotonic() - waited < 10.0):
        time.sleep(0.1)
    mark = len(tail.update())
    started, audio = bench.say("resume")
    ended = started + audio.size / SR
    windows.append((started, ended + STOP_WAIT_S, "resume"))
    going = tail.wait(_going_on, ended + STOP_WAIT_S - time.monotonic(), mark)
    trial.resume = {"heard": going is not None, "started": started, "dbfs": round(
        10 * math.log10(ss.speech_power((audio * 32768).astype(np.int16)) / 32768**2), 1)}
    if going is None:
        bench.type_line(run, "resume")
        trial.resume["typed"] = tail.wait(_going_on, 5.0, len(tail.update())) is not None
    return trial


# ----- the run ------------------------------------------------------------------------------------


@dataclass
class Soak:
    minutes: float
    notes: list[str] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    windows: list[tuple[float, float, str]] = field(default_factory=list)
    """When the user spoke: (from, to, what) in time.monotonic()."""
    typed_resumes: list[float] = field(default_factory=list)
    """Halts nobody asked for, resumed by typing (monotonic times)."""
    ran_s: float = 0.0
    ended: str = ""
    exit_code: int | None = None
    traceback: bool = False
    tv: dict[str, Any] = field(default_factory=dict)
    tv_starts: list[float] = field(default_factory=list)
    tv_wav: Path | None = None


def run_soak(bench: RoomBench, minutes: float) -> tuple[Soak, Launch, UsageSampler, EventTail]:
    soak = Soak(minutes)
    wav, seconds, sources = tv_audio(bench.folder)
    soak.tv = {"dbfs": TV_DBFS, "loop_s": round(seconds, 1), "sources": sources}
    total_s = minutes * 60
    scale = min(1.0, minutes / 10.0)
    clips = stop_clips(max(2, math.ceil(total_s / (GAP_S[0] * scale)) + 1), bench.rng)
    soak.tv_wav = wav
    tv = Television(bench, wav)
    tv.start()
    run = bench.launch("--routine", "full", "--mode", "self", "--time-scale", "1")
    launched = run.launched_at
    deadline = launched + total_s
    usage = UsageSampler(run.live.proc.pid, launched)
    tail = EventTail(run.live.events_path)
    try:
        if not bench.reach_running(run, timeout_s=min(90.0, total_s)):
            soak.notes.append(f"the routine was never reached: {run.live.stderr()[-300:]}")
        next_at = time.monotonic() + max(MIN_GAP_S, bench.rng.uniform(*GAP_S) * scale)
        halted_since: float | None = None
        while time.monotonic() < deadline and run.live.proc.poll() is None:
            state = state_of_tail(tail)
            if state in ("stopped", "paused"):  # nobody here asked for that
                halted_since = halted_since or time.monotonic()
                if time.monotonic() - halted_since > HALT_GRACE_S:
                    bench.type_line(run, "resume")
                    soak.typed_resumes.append(time.monotonic())
                    halted_since = None
                    tail.wait(_going_on, 5.0, len(tail.events))
            else:
                halted_since = None
            kind = moment_now(soak, run, tail, time.monotonic() - next_at)
            if kind is not None and clips:
                trial = stop_and_resume(bench, run, tail, kind, clips[0], soak.windows)
                if trial is not None:
                    clips.pop(0)
                    soak.trials.append(trial)
                    print(f"    {len(soak.trials)}: stop ({trial.kind}, {trial.speaker}, "
                          f"{trial.clip_dbfs:.0f} dBFS) at {trial.started - launched:.0f} s: "
                          f"{'stopped' if trial.stopped else 'MISSED'}"
                          + (f", resume {'heard' if trial.resume.get('heard') else 'MISSED'}"
                             if trial.stopped else ""), flush=True)
                next_at = time.monotonic() + max(MIN_GAP_S, bench.rng.uniform(*GAP_S) * scale)
            elif time.monotonic() > next_at + WAIT_FOR_MOMENT_S:
                soak.notes.append(f"no moment for a stop within {WAIT_FOR_MOMENT_S:.0f} s "
                                  f"from {next_at - launched:.0f} s")
                next_at = time.monotonic() + max(MIN_GAP_S, bench.rng.uniform(*GAP_S) * scale)
            time.sleep(0.2)
        soak.ran_s = time.monotonic() - launched
        soak.ended = "routine finished" if run.live.proc.poll() is not None else "time up"
    finally:
        usage.stop()
        tv.stop()
        soak.tv["plays"] = len(tv.starts)
        soak.tv_starts = tv.starts
        bench.end(run)  # Ctrl-C as a user would, then a kill if it hangs
    soak.exit_code = run.live.proc.returncode
    soak.traceback = "Traceback" in run.live.stderr()
    tail.update()
    return soak, run, usage, tail
