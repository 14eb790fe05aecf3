"""Trials in the room: how fast the assistant falls silent and answers.

Live (the real program, `python -m assistant start`, in a private PulseAudio room; a
simulated user speaks into the same room; everything is timed on the room's recording):
- stop_latency: end of the user's "stop" to the assistant going silent, while it reads
  a long instruction (details below).
- ack_latency: end of the user's "less pressure" (assistant quiet, session paused) to
  the first sound of the acknowledgement.
- cutoff: a typed "stop" (keyboard input works alongside the voice) 0.5-2 s into an
  instruction, from the session's `command` event (mapped by the event clock, ~5 ms) to
  the assistant's last sound before the cut (found as for stop_latency, below): voice
  out's own cut-off, apart from recognition (target 50 ms).

How the latencies are measured, and how far they can be off:
- Both ends of a latency are found in the same recording, so the difference is in
  sample indices and the room's timebase (tests/harness/room.py) drops out.
- The end of the user's word: the exact samples the user played (its voice, trimmed of
  silence) are resampled to the room's rate and located in the recording by normalized
  cross-correlation around the time paplay was started; end = match + clip length.
  Play time + length alone would be off by paplay's start-up (a few ms here, reported
  as `user_offset_ms`) and by any scheduling delay of the benchmark itself. Checked on
  a mix with a known truth: the match is exact to the sample. The clip ends at a 10 ms
  trim frame, and its last sample above -54 dBFS comes 4-9 ms before that end, so the
  word's audible end is up to ~10 ms earlier than the one used (latencies read that
  much low at most).
- Assistant silent (stop): the last sample above -54 dBFS between the word's end and
  the cut. The cut is found from two clues and the earlier one wins. (1) The listener
  silences the speakers right after it logs the `heard` event it acts on; that event's
  session time is mapped to time.monotonic() (see EventClock, within ~5 ms), and the
  first 20 ms of digital silence in the room after it is the cut (a cut player writes
  exact zeros; the null sink adds no noise). (2) After a cut the session plays a stop
  chime, then an acknowledgement; the chime's samples are known, so its start is found
  by cross-correlation, and nothing after it counts (the chime can follow the cut with
  no gap at all, and sometimes it is missing, hence both clues). If there is no sound
  between the word's end and the cut, the assistant was already silent when the word
  ended (cut from a partial result, or between words) and the trial counts 0 ms. A cut
  that lands between two words reads as the end of the word before it: low by up to
  that pause; `chime_ms` per trial and `stop_chime_p95_ms` bound it from above.
  Checked on a played mix with a known cut and chime: within 0.5 ms of the truth.
- Acknowledgement start: the first sample above -54 dBFS after the word's end (the room
  is quiet then, so it is the acknowledgement). Error: the first few ms of a soft onset.
- Each stop comes 1-3 s (random) into a reading of the first step's long instruction:
  after the step chime, or after a typed "resume" (plus its "Carrying on."), or after a
  typed "repeat" when the last stop was missed (so a stop never lands on the end of a
  line). Only the "stop" is spoken: the setting up is typed, so a missed "repeat" does
  not end the phase. One
  program instance runs all the stop trials, is then paused by voice for the
  acknowledgement trials, and stays paused for the CPU and memory sample. A trial where
  the listener acted before the user began is a self-trigger ('preempted'), and a stop
  that has not stopped the session 10 s after the word is 'missed'; neither is a
  latency (both are reported).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from assistant.listening.recognize_file import read_wav
from bench.metric import Metric, fmt, percentile
from bench.room_bench import (
    Event,
    Launch,
    RoomBench,
    _going_on,
    _instruction,
    _running,
    locate,
    loud_span,
    state_of,
    user_word_end,
)
from tests.harness import speech_samples as ss
from tests.harness.speech_samples import RATE as SR

if TYPE_CHECKING:
    from tests.harness.room import Recording

GIVE_UP_AFTER = 4
"""Trials missed in a row, with none heard yet, before a live phase gives up (time)."""
STOP_WAIT_S = 10.0
"""A stop that has not stopped the session this long after the word counts as missed."""


@dataclass
class StopTrial:
    outcome: str
    """'cut' (measured), 'missed' (the session never stopped), 'preempted' (it stopped
    before the user began: it heard a command in its own voice) or 'unmeasured' (no
    event to time the cut by, or no silence within 1 s of it)."""
    latency_ms: float | None = None
    chime_ms: float | None = None
    request_ms: float | None = None
    """When the listener asked for silence, from the end of the word (negative: before)."""
    user_offset_ms: float | None = None
    correlated: bool = False
    heard: list[Event] = field(default_factory=list)


def into_instruction(bench: RoomBench, run: Launch, fresh: bool) -> bool:
    """Running, and 1-3 s (random) into an instruction being read: resume or repeat as
    needed, typed (this is setting up a trial, not measuring recognition: a missed
    spoken "repeat" used to end the whole stop phase). `fresh` asks for a new reading
    even if one is going on (after a missed stop the current one may be near its end,
    and a stop said as it ends would read as 0 ms). At the foot switch the session
    waits for "next" (its line is no instruction): typed too, else the phase ended
    there. False when the session cannot be brought there."""
    state = state_of(run)
    if state in ("stopped", "paused"):
        if not bench.type_until(run, "resume", _going_on):
            return False
        state = state_of(run)
        if state == "running":
            bench.wait_talking(run, 5.0)
            time.sleep(1.0)  # "Carrying on." comes before the instruction
    elif state == "running" and (fresh or not bench.wait_talking(run, 0.5)):
        if not bench.type_until(run, "repeat", _instruction):
            return False
        bench.wait_talking(run, 5.0)
    if state == "switching":
        if not bench.type_until(run, "next", _instruction):
            return False
        bench.wait_talking(run, 5.0)
    time.sleep(bench.rng.uniform(1.0, 3.0))
    return state_of(run) == "running" and bench.wait_talking(run, 2.0)


def cut_time(recording: Recording, after: float, until: float,
             quiet_s: float = 0.02) -> float | None:
    """Where the output was cut: the start of the first stretch of digital silence
    (`quiet_s` of exact zeros: the player writes zeros once cut, and speech never
    decays to exactly zero that long) at or after `after`."""
    lo = recording.index_at(after)
    silent = np.abs(recording.samples[lo : recording.index_at(until)]) < 0.5 / 32768
    need = int(quiet_s * recording.sample_rate)
    if silent.size < need:
        return None
    runs = np.convolve(silent.astype(np.int32), np.ones(need, dtype=np.int32), "valid")
    full = np.flatnonzero(runs == need)
    return recording.time_at(lo + int(full[0])) if full.size else None


def stop_trial(bench: RoomBench, run: Launch) -> StopTrial:
    """One 'stop' while the assistant talks, measured on the room's recording.

    The listener silences the speakers right after it logs the `heard` event it acted
    on. The cut is the earlier of: the first run of digital silence in the room from
    that moment (mapped by the event clock) on, and the stop chime (which may follow
    the cut with no gap, or go missing). The assistant's last sound before the cut
    is where it went silent."""
    from assistant.speech.chimes import chime

    rec = bench.room.record()
    mark = len(run.live.events())
    started, audio = bench.say("stop")
    stopped = bench.wait_event(run, lambda e: e["type"] == "state" and e["to"] == "stopped",
                               STOP_WAIT_S, mark)
    time.sleep(1.2 if stopped else 0.0)
    recording = rec.stop()
    events = run.live.events()[mark:]
    keys = ("t", "type", "text", "final", "decision", "intent", "start", "end")
    heard: list[Event] = [{k: e[k] for k in keys if k in e} for e in events
                          if e["type"] in ("heard", "command")]
    if stopped is None:
        return StopTrial("missed", heard=heard)
    acted = [e for e in events if e["type"] == "heard" and e["decision"] == "accepted"]
    acted += [e for e in events if e["type"] == "command"]  # typed: no `heard`
    requested = run.clock.monotonic(float(acted[0]["t"])) if acted else None
    if requested is None:
        return StopTrial("unmeasured", heard=heard)
    u0, u1, correlated = user_word_end(recording, audio, started)
    if requested < u0:
        return StopTrial("preempted", heard=heard)
    chime_at = locate(recording, chime("stop", recording.sample_rate).astype(np.float64),
                      u0 - 1.0, u1 + 3.0, min_score=0.5)
    silent = cut_time(recording, requested, requested + 1.0)
    ends = [t for t in (chime_at, silent) if t is not None]
    if not ends:  # never went quiet within 1 s of being asked to, and no chime
        return StopTrial("unmeasured", request_ms=(requested - u1) * 1000, heard=heard)
    cut = min(ends)
    ring = u1 + 0.002
    """Skip the resampler's ring-out after the user's last sample."""
    span = loud_span(recording, ring, cut) if cut > ring else None
    return StopTrial(
        "cut",
        latency_ms=0.0 if span is None else max(0.0, span[1] - u1) * 1000,
        chime_ms=None if chime_at is None else max(0.0, chime_at - u1) * 1000,
        request_ms=(requested - u1) * 1000,
        user_offset_ms=(u0 - started) * 1000,
        correlated=correlated,
        heard=heard,
    )


def cutoff_trial(bench: RoomBench, run: Launch) -> float | None:
    """One typed "stop" 0.5-2 s into an instruction: from the session's decision (its
    `command` event, mapped by the event clock) to the first 20 ms of digital silence in
    the room. None when the session could not be brought there or did not stop."""
    if state_of(run) == "stopped":
        mark = len(run.live.events())
        bench.type_line(run, "resume")
        if bench.wait_event(run, _running, 8.0, mark) is None:
            return None
        bench.wait_talking(run, 5.0)
        time.sleep(1.0)  # "Carrying on." comes before the instruction
    elif not bench.wait_talking(run, 0.3):
        mark = len(run.live.events())
        bench.type_line(run, "repeat")
        if bench.wait_event(run, _instruction, 8.0, mark) is None:
            return None
        bench.wait_talking(run, 5.0)
    time.sleep(bench.rng.uniform(0.5, 2.0))
    if not bench.wait_talking(run, 0.5):
        return None
    rec = bench.room.record()
    mark = len(run.live.events())
    bench.type_line(run, "stop")
    command = bench.wait_event(run, lambda e: e["type"] == "command" and e["intent"] == "stop",
                               5.0, mark)
    stopped = bench.wait_event(run, lambda e: e["type"] == "state" and e["to"] == "stopped",
                               5.0, mark)
    time.sleep(0.5)
    recording = rec.stop()
    requested = run.clock.monotonic(float(command["t"])) if command else None
    if requested is None or stopped is None:
        return None
    return silent_after(recording, requested)


def silent_after(recording: Recording, requested: float) -> float | None:
    """Milliseconds from `requested` to the assistant's last sound before the cut (as in
    stop_trial: the earlier of 20 ms of digital silence and the stop chime, which can
    follow the cut with no gap); 0 when it was already silent; None if neither is found."""
    from assistant.speech.chimes import chime

    template = chime("stop", recording.sample_rate).astype(np.float64)
    chime_at = locate(recording, template, requested - 0.05, requested + 2.0, min_score=0.5)
    silent = cut_time(recording, requested - 0.01, requested + 1.0)
    ends = [t for t in (chime_at, silent) if t is not None]
    if not ends:
        return None
    cut = min(ends)
    span = loud_span(recording, requested, cut) if cut > requested else None
    return 0.0 if span is None else max(0.0, span[1] - requested) * 1000


def cutoff_metrics(bench: RoomBench, run: Launch, trials: int) -> list[Metric]:
    """Typed stops while it talks: how fast the output goes silent once the session has
    decided (voice out's own target, apart from recognition)."""
    got: list[float] = []
    failed = 0
    for i in range(trials):
        ms = cutoff_trial(bench, run)
        if ms is None:
            failed += 1
            if failed >= GIVE_UP_AFTER and not got:
                break
        else:
            got.append(ms)
        print(f"    cut-off trial {i + 1}/{trials}: "
              f"{'-' if ms is None else f'{ms:.0f} ms'}", flush=True)
    if state_of(run) == "stopped":
        bench.type_line(run, "resume")
    note = f"{len(got)} measured of {len(got) + failed}; typed stop, decision to silence"
    return [
        Metric("cutoff_p50_ms", percentile(got, 50), "ms", None, len(got), note,
               {"trials_ms": got, "unmeasured": failed}),
        Metric("cutoff_p95_ms", percentile(got, 95), "ms", ("<=", 50.0), len(got),
               "the session deciding to stop to the output going silent"),
    ]


def stop_latency_metrics(bench: RoomBench, run: Launch, trials: int,
                         all_notes: list[str]) -> list[Metric]:
    """Say 'stop' `trials` times into a long instruction, resuming by voice in between."""
    results: list[StopTrial] = []
    notes: list[str] = []
    first = bench.wait_for_chime(run, "step", 60.0)
    if first is None:
        notes.append("the first step's chime was not found; first trial may cut the welcome")
    else:
        time.sleep(max(0.0, first + 1.5 - time.monotonic()))  # chime + the step title
    budget_s = (40.0 if bench.args.quick else 30.0) * trials
    deadline = time.monotonic() + budget_s
    for i in range(trials):
        if time.monotonic() > deadline:
            notes.append(f"stop trials took over {budget_s:.0f} s: stopped after {i}")
            break
        if len(results) >= GIVE_UP_AFTER and all(t.outcome == "missed" for t in results):
            notes.append(f"gave up after {len(results)} missed stops in a row")
            break
        fresh = bool(results) and results[-1].outcome != "cut"
        # Once more with a fresh reading: in a CI-like run the first try found it running
        # but not talking, and the whole phase measured nothing.
        if not into_instruction(bench, run, fresh) and not into_instruction(bench, run, True):
            notes.append(f"could not get the assistant reading an instruction before trial "
                         f"{i + 1} (state {state_of(run)}): stopped early")
            break
        trial = stop_trial(bench, run)
        results.append(trial)
        label = f"{trial.latency_ms:.0f} ms" if trial.latency_ms is not None else trial.outcome
        print(f"    stop trial {i + 1}/{trials}: {label}", flush=True)
    cut = [t for t in results if t.outcome == "cut"]
    got = [t.latency_ms for t in cut if t.latency_ms is not None]
    decided = [t.request_ms for t in cut if t.request_ms is not None]
    chimes = [t.chime_ms for t in cut if t.chime_ms is not None]
    missed = [t.heard for t in results if t.outcome == "missed"]
    preempted = [t.heard for t in results if t.outcome == "preempted"]
    details = {
        "trials": [t.__dict__ for t in results],
        "user_offset_ms_median": percentile([t.user_offset_ms for t in cut
                                             if t.user_offset_ms is not None], 50),
        "not_correlated": sum(1 for t in cut if not t.correlated),
        "notes": notes,
    }
    all_notes.extend(notes)
    note = f"{len(cut)} measured of {len(results)}"
    if preempted:
        note += f"; {len(preempted)} preempted by a self-trigger"
    return [
        Metric("stop_latency_p50_ms", percentile(got, 50), "ms", None, len(got), note, details),
        Metric("stop_latency_p95_ms", percentile(got, 95), "ms", ("<=", 300.0), len(got),
               "end of 'stop' to the assistant's last sound before the stop chime"),
        Metric("stop_decided_p95_ms", percentile(decided, 95), "ms", None, len(decided),
               f"end of 'stop' to the recognizer's verdict (p50 "
               f"{fmt(percentile(decided, 50), 'ms')}); the line is held from the user's "
               "first ~100 ms, so silence comes first"),
        Metric("stop_chime_p95_ms", percentile(chimes, 95), "ms", None, len(chimes),
               "upper bound: end of 'stop' to the stop chime"),
        Metric("stop_missed", float(len(missed)), "count", ("==", 0.0), len(results),
               f"{len(missed)} of {len(results)} spoken stops never stopped the session",
               {"heard": missed, "preempted": preempted}),
    ]


def ack_latency_metrics(bench: RoomBench, run: Launch, trials: int) -> list[Metric]:
    """'less pressure' while paused and quiet, to the first sound of the answer."""
    latencies: list[float] = []
    rows: list[dict[str, Any]] = []
    misses: list[list[Event]] = []
    for i in range(trials):
        if len(misses) >= GIVE_UP_AFTER and not latencies:
            break
        bench.wait_quiet(run)
        rec = bench.room.record()
        mark = len(run.live.events())
        started, audio = bench.say("less pressure")
        command = bench.wait_event(run, lambda e: e["type"] == "command", 8.0, mark)
        said = None
        if command is not None and command["intent"] == "less_pressure":
            said = bench.wait_event(run, lambda e: e["type"] == "say", 3.0, mark)
        time.sleep(1.0 if said else 0.0)
        recording = rec.stop()
        _, u1, correlated = user_word_end(recording, audio, started)
        span = loud_span(recording, u1 + 0.002, u1 + 8.0) if said else None
        if said is None or span is None:
            misses.append([e for e in run.live.events()[mark:]
                           if e["type"] in ("heard", "command")])
            print(f"    ack trial {i + 1}/{trials}: missed", flush=True)
            continue
        latency = (span[0] - u1) * 1000
        earlier = [e for e in run.live.events()[:mark] if e["type"] == "say"]
        cached = any(e["text"] == said["text"] for e in earlier)
        latencies.append(latency)
        rows.append({"latency_ms": latency, "key": said["key"], "cached": cached,
                     "correlated": correlated})
        print(f"    ack trial {i + 1}/{trials}: {latency:.0f} ms ({said['key']})", flush=True)
    uncached = [r["latency_ms"] for r in rows if not r["cached"]]
    details = {"trials": rows, "missed": misses,
               "uncached_p50_ms": percentile(uncached, 50), "uncached_n": len(uncached)}
    return [
        Metric("ack_latency_p50_ms", percentile(latencies, 50), "ms", None, len(latencies),
               f"{len(latencies)} of {len(latencies) + len(misses)} acknowledged", details),
        Metric("ack_latency_p95_ms", percentile(latencies, 95), "ms", ("<=", 1000.0),
               len(latencies), "end of 'less pressure' (assistant quiet) to the answer's sound"),
    ]


def real_stops(count: int) -> list[npt.NDArray[np.float32]]:
    """Real people's "stop" (dev clips of speakers the short-word classifier never heard,
    trimmed to the word), or none without ../shared."""
    from assistant.commands.common import WORD_MODEL
    from assistant.errors import ModelMissing
    from assistant.listening.short_words import WordModel

    try:
        trained = WordModel(WORD_MODEL).train_speakers
    except ModelMissing:
        trained = frozenset()
    files = [f for f in ss.clips("stop") if ss.speaker_of(f) not in trained]
    step = max(1, len(files) // max(1, count))
    return [(ss.trim(read_wav(f, SR)) / np.float32(32768)).astype(np.float32)
            for f in files[::step][:count]]


def quiet_stop_metrics(bench: RoomBench, run: Launch, trials: int) -> list[Metric]:
    """A real person's "stop" while the assistant is quiet (the session paused): from the
    end of the word to the session's decision (its `stopped` state event) or the stop
    chime, whichever comes first. Typed "resume" and "pause" bring it back between."""
    from assistant.speech.chimes import chime

    clips = real_stops(trials)
    if not clips:
        return [Metric("quiet_stop_p95_ms", None, "ms", ("<=", 300.0), 0,
                       "no ../shared: no real stops to play")]
    got: list[float] = []
    missed = 0
    for i, audio in enumerate(clips):
        if state_of(run) != "paused":
            if state_of(run) == "stopped":
                bench.type_until(run, "resume", _running)
            bench.type_until(run, "pause", lambda e: e["type"] == "state" and e["to"] == "paused")
        bench.wait_quiet(run, quiet_s=1.0, timeout_s=20.0)
        rec = bench.room.record()
        mark = len(run.live.events())
        started = bench.room.play(audio, sample_rate=SR)
        stopped = bench.wait_event(run, lambda e: e["type"] == "state" and e["to"] == "stopped",
                                   STOP_WAIT_S, mark)
        time.sleep(0.8 if stopped else 0.0)
        recording = rec.stop()
        if stopped is None:
            missed += 1
            print(f"    quiet stop trial {i + 1}/{len(clips)}: missed", flush=True)
            continue
        _, u1, _ = user_word_end(recording, audio, started)
        decided = run.clock.monotonic(float(stopped["t"]))
        template = chime("stop", recording.sample_rate).astype(np.float64)
        chime_at = locate(recording, template, u1 - 0.2, u1 + 3.0, min_score=0.5)
        at = min(t for t in (decided, chime_at) if t is not None)
        got.append(max(0.0, at - u1) * 1000)
        print(f"    quiet stop trial {i + 1}/{len(clips)}: {got[-1]:.0f} ms", flush=True)
    note = (f"{len(got)} measured of {len(clips)} real stops (dev clips, unheard speakers), "
            f"{missed} missed; end of the word to the decision or the stop chime")
    return [
        Metric("quiet_stop_p50_ms", percentile(got, 50), "ms", None, len(got), note,
               {"trials_ms": got, "missed": missed}),
        Metric("quiet_stop_p95_ms", percentile(got, 95), "ms", ("<=", 300.0), len(got), note),
        Metric("quiet_stop_missed", missed, "count", ("<=", 0.0), len(clips), note),
    ]
