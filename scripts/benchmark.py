#!/usr/bin/env python3
"""Benchmark the assistant's ears and mouth: one command, a table, and a JSON file.

    .venv/bin/python scripts/benchmark.py [--engine auto|pocketsphinx|vosk] [--model PATH]
                                          [--quick] [--json FILE] [--trials N] [--seed N]
                                          [--keep DIR] [--offline-only] [--streams-only]
                                          [--user-voice SPEC] [--voice NAME]

--voice chooses the assistant's voice for every launch in the room (piper:joe, the
default, or a system voice such as espeak:en-us), so the room figures of both voices
can be set side by side.

--quick (a smoke test, about 2 minutes) uses small subsets; the full run takes about
15-20 minutes on two cores. --keep DIR keeps each launch's events.jsonl and stderr.

Offline (the recognizer alone, clips fed as a microphone stream through the echo
canceller, which with nothing playing adds only its quiet comfort noise floor, -70 dBFS,
as in a session; before 2026-11-21 the clips went to the recognizer without it, which
flattered it: real "stop" 59.5 % then, about 28 % in the -50 dBFS floor of that time):
- accuracy: per intent, the share of clips heard as exactly that command. Synthesized
  clips of every intent's two main phrases in five espeak-ng voices (rates 130-190 wpm)
  and in a Piper neural voice (length scales 0.85, 1.0, 1.15), clean and with room or
  pink noise at 20, 10 and 5 dB SNR, rotating, and real clips from ../shared for every
  folder whose word is itself a command phrase (stop/, and yes/ no/ once those are
  phrases; "go" alone is not one). `accuracy` is the mean over intents of the
  synthesized share (both families); `accuracy_espeak` and `accuracy_piper` are the same
  mean per voice family (`accuracy_espeak` is the same clips as `accuracy` before Piper
  was added); `accuracy_stop_real` is the real "stop" clips. Piper's synthesis is not
  seedable: each clip's first synthesis is cached and reused (tests/speech_samples.py).
  Each clip is one stream with 0.5 s of quiet (or of the same noise) before and after,
  so the endpointer sees an utterance begin and end; the recognizer listens for what
  a session listens for where that command is valid: a running massage's commands,
  a paused one's for "resume", the safety questions' for the answers and choices only
  valid then (yes, no, gently); hypotheses count only when their text is exactly a phrase
  (`vocabulary.intent_for`), and an utterance's partials and final count once
  (`commands_from`). A clip is right when the intents heard are exactly {expected}.
- false_accept_rate: the share of non-command clips (up/down/left/right/on/off/
  _unknown_/go, and yes/no unless they are phrases) and of noise clips (_silence_) that
  trigger any command, listening for a running massage's commands (where the user
  spends the session, and talks).
- false_activations_per_hour: commands heard in one long stream of ordinary speech
  (LibriVox read speech, then the routines' instructions, cues and pressure lines read
  by an espeak-ng voice that is not the assistant's; ~8 minutes, quick: 30 s), fed as
  two halves in parallel, listening as for false accepts. The routines' lines contain
  command words ("stop right away", "less pressure"): a sentence is not a command, so
  those count too.

Continuous streams (scripts/stream_metrics.py, after the offline clips; --streams-only
runs it alone): each word folder of ../shared's clips laid end to end as one microphone
signal (../shared/audio/make_stream.py, clips 1.2 s apart) and heard by the session's own
path (`recognize_file`: recognizer, streaming stop spotter, its second opinion), quiet
(-60 dBFS hiss) and with the _silence_ recordings as a noise bed at -45 and -35 dBFS.
Per condition and word: `acted` (stop/yes/no heard as themselves), `wrong` (any other
command), `to_stop` (a non-stop word acted on as "stop"); which path acted on the stops;
and commands per minute in LibriVox read speech. JSON: `streams`; rows `stream_*` and
`speech_false_per_min` in the table. Quick: the quiet condition and the words stop, yes,
no, go, down, _unknown_, each stream cut after its first 30 clips. Skipped, with the
reason printed, without ../shared (or, for the speech figure, without LibriVox).

Live (the real program, `python -m assistant start`, in a private PulseAudio room; a
simulated user speaks into the same room; everything is timed on the room's recording):
- self_triggers: `command` events while the assistant speaks the quick routine by itself.
- stop_latency: end of the user's "stop" to the assistant going silent, while it reads
  a long instruction (details below).
- ack_latency: end of the user's "less pressure" (assistant quiet, session paused) to
  the first sound of the acknowledgement.
- cutoff: a typed "stop" (keyboard input works alongside the voice) 0.5-2 s into an
  instruction, from the session's `command` event (mapped by the event clock, ~5 ms) to
  the assistant's last sound before the cut (found as for stop_latency, below): voice
  out's own cut-off, apart from recognition (target 50 ms).
- first_word_s: launch of the program to its first sound in the room (the worst of
  every launch, each with an empty speech cache). first_word_cold_s / first_word_warm_s:
  the quick routine launched with an empty render cache, then again with the cache the
  first launch left (copied into a fresh home folder, so the first line is the same, not
  the offer to resume the interrupted first launch): the worst of each kind.
- cpu_percent / rss_mb: of the program's process, sampled from /proc while a paused
  session listens.

How the latencies are measured, and how far they can be off:
- Both ends of a latency are found in the same recording, so the difference is in
  sample indices and the room's timebase (tests/room.py) drops out.
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

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "scripts"):  # the project, and stream_metrics beside this file
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from stream_metrics import StreamReport, run_streams, table_rows  # noqa: E402

from assistant.listening.echo_canceller import EchoCanceller, EchoReference  # noqa: E402
from assistant.listening.recognize_file import commands_from, read_wav, resample  # noqa: E402
from assistant.ports import Heard, Recognizer  # noqa: E402
from assistant.settings import ListenSettings  # noqa: E402
from assistant.vocabulary import Vocabulary, load_vocabulary, normalize  # noqa: E402
from tests import speech_samples as ss  # noqa: E402

if TYPE_CHECKING:
    from tests.live_session import LiveSession
    from tests.room import Recorder, Recording

Samples = npt.NDArray[np.int16]
Floats = npt.NDArray[np.float64]
Event = dict[str, Any]

SR = ss.RATE
PAD_S = 0.5
"""Quiet (or noise) before and after each clip: the endpointer needs to see it end."""
FLOOR_STD = 4.0
"""Quiet padding is a faint dither (about -78 dBFS), not digital zero: a mic never is."""
GIVE_UP_AFTER = 4
"""Trials missed in a row, with none heard yet, before a live phase gives up (time)."""
STOP_WAIT_S = 10.0
"""A stop that has not stopped the session this long after the word counts as missed."""
SILENCE_THRESHOLD = 0.002
"""About -54 dBFS: the room is digitally silent, speech and chimes are far above this."""
BACKGROUND_VOICE = ("en-gb-x-rp+m1", 165)
"""A reader for the ordinary-speech stream: not the assistant's voice, not the user's."""
SYNTH_VOICES = ("en-us", "en+f3", "en+m3", "en-gb+m7", "en-us+f4")
SYNTH_RATES = (130, 160, 190)
PIPER_SCALES = (0.85, 1.0, 1.15)
"""Piper length scales (> 1 is slower) for the synthesized accuracy clips."""
FAMILIES = ("espeak", "piper")
CONDITIONS: tuple[tuple[str, float | None], ...] = (
    ("clean", None), ("snr20", 20.0), ("snr10", 10.0), ("snr5", 5.0),
)
DISTRACTOR_FOLDERS = ("up", "down", "left", "right", "on", "off", "_unknown_", "yes", "no", "go")
SYNTH_DISTRACTORS = (
    "up", "down", "left", "right", "on", "off", "yes", "no", "go", "okay", "hello",
    "thank you", "that's nice", "top", "shop", "pass", "lighter fluid", "next door",
)
"""Fallback non-commands when ../shared is absent (synthesized, so a weaker check)."""


# ----- results ---------------------------------------------------------------------


@dataclass
class Metric:
    """One row of the table; `target` is (operator, bound) or None for information only."""

    name: str
    value: float | None
    unit: str
    target: tuple[str, float] | None = None
    n: int = 0
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.value is None or math.isnan(self.value):
            return None
        op, bound = self.target
        return {"<=": self.value <= bound, ">=": self.value >= bound, "==": self.value == bound}[op]

    def target_text(self) -> str:
        if self.target is None:
            return "-"
        op, bound = self.target
        return f"{op} {_fmt(bound, self.unit)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value, "unit": self.unit, "n": self.n,
            "target": self.target_text() if self.target else None,
            "pass": self.passed, "note": self.note, "details": self.details,
        }


def _fmt(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit in ("count",):
        return f"{value:g}"
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


# ----- audio helpers -------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """One offline stream to recognize: where its speech comes from and what to add."""

    kind: str
    """'synth' (text spoken by `speaker`), 'file' (a WAV file) or 'noise' (pink only)."""
    source: str
    expected: str | None
    """The intent it should be heard as; None for non-commands and noise."""
    group: str
    """Where it is counted: 'synth', 'real', 'distractor', 'noise'."""
    label: str
    speaker: ss.Speaker | None = None
    condition: str = "clean"
    snr_db: float | None = None
    seed: int = 0


def clip_audio(clip: Clip) -> Samples:
    """The clip with PAD_S of quiet or noise each side; noise at `snr_db` covers it all."""
    if clip.kind == "noise":
        return ss.pink_noise(int((1.0 + 2 * PAD_S) * SR), clip.seed) // 3  # about -30 dBFS
    if clip.kind == "synth":
        assert clip.speaker is not None
        speech = ss.speak(clip.source, clip.speaker)
    else:
        speech = read_wav(Path(clip.source), SR)
    pad = np.zeros(int(PAD_S * SR), dtype=np.float64)
    x = np.concatenate([pad, speech.astype(np.float64), pad])
    rng = np.random.default_rng(clip.seed)
    if clip.snr_db is None:
        x += rng.normal(0.0, FLOOR_STD, x.size)
    else:
        noise_fn = ss.room_noise if clip.seed % 2 == 0 else ss.pink_noise
        noise = noise_fn(x.size, clip.seed).astype(np.float64)
        noise_power = float((noise**2).mean()) or 1.0
        gain = math.sqrt(ss.speech_power(speech) / (noise_power * 10 ** (clip.snr_db / 10)))
        x += gain * noise
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def hear(
    recognizer: Recognizer, vocabulary: Vocabulary, x: Samples, chunk_s: float = 0.1
) -> list[dict[str, object]]:
    """Commands in one stream, as a session's microphone path delivers it: through the
    echo canceller, which with nothing playing passes the sound on with its comfort noise
    floor added; a hypothesis counts only when its whole text is a phrase (like the live
    spotter)."""
    rate = recognizer.sample_rate
    step = int(chunk_s * rate)
    canceller = EchoCanceller(EchoReference(rate))
    heard: list[Heard] = []
    for i in range(0, x.size, step):
        heard.extend(recognizer.accept(canceller.process(x[i : i + step].tobytes(), i / rate)))
    heard.extend(recognizer.flush())
    exact = [h if _exact(vocabulary, h.text) else Heard("", h.final, h.start_s, h.end_s)
             for h in heard]
    return commands_from(exact, vocabulary)


def _exact(vocabulary: Vocabulary, text: str) -> bool:
    match = vocabulary.intent_for(text)
    return match is not None and normalize(text) == match[1]


def open_engine(engine: str, model: Path | None) -> Recognizer:
    """The recognizer the program itself would open with these flags."""
    from assistant.cli import MODEL_ENV, PROJECT_MODELS
    from assistant.listening.engines import open_recognizer

    settings = ListenSettings(
        engine=engine,  # type: ignore[arg-type]
        model_path=model,
        search_dirs=(PROJECT_MODELS,),
    )
    env_model = os.environ.get(MODEL_ENV)
    recognizer = open_recognizer(settings, Path(env_model) if env_model else None)
    recognizer.set_phrases(load_vocabulary().all_phrases())
    return recognizer


# Worker processes: each opens one recognizer and reuses it (flush() ends a stream).
_WORKER: tuple[Recognizer, Vocabulary] | None = None
_ENGINE: tuple[str, Path | None] = ("auto", None)


def _worker_init(engine: str, model: Path | None) -> None:
    global _WORKER, _ENGINE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and cleans up
    _ENGINE = (engine, model)
    _WORKER = (open_engine(engine, model), load_vocabulary())


def _worker_hear(x: Samples) -> tuple[list[dict[str, object]], str | None]:
    """Commands in `x`; a recognizer that raises is reported (not hidden) and replaced,
    so one bad stream cannot take the whole benchmark down."""
    global _WORKER
    assert _WORKER is not None
    recognizer, vocabulary = _WORKER
    try:
        return hear(recognizer, vocabulary, x), None
    except Exception as exc:
        _WORKER = (open_engine(*_ENGINE), vocabulary)
        return [], f"{type(exc).__name__}: {exc}"


def listening_for(vocabulary: Vocabulary, expected: str | None) -> list[str]:
    """The phrases a session listens for where `expected` is valid: a running massage's,
    else a paused one's (resume), else a safety question's (the answers and choices);
    None: a running massage's."""
    from assistant.session_states import TRANSITIONS, State

    def valid_in(state: State) -> frozenset[str]:
        sources = [t["source"] if isinstance(t["source"], list) else [t["source"]]
                   for t in TRANSITIONS]
        return frozenset(t["trigger"] for t, src in zip(TRANSITIONS, sources, strict=True)
                         if state in src)

    for state in (State.RUNNING, State.PAUSED, State.SCREENING):
        intents = valid_in(state)
        if expected is None or expected in intents:
            break
    return vocabulary.phrases_for(intents)


def _worker_clip(clip: Clip) -> tuple[list[str], str | None]:
    assert _WORKER is not None
    recognizer, vocabulary = _WORKER
    recognizer.set_phrases(listening_for(vocabulary, clip.expected))
    found, error = _worker_hear(clip_audio(clip))
    return [str(c["intent"]) for c in found], error


def _worker_stream(x: Samples) -> tuple[list[dict[str, object]], str | None]:
    """A long stream on a fresh recognizer, so its times start at 0 (a reused one's
    clock runs on across streams)."""
    global _WORKER
    assert _WORKER is not None
    vocabulary = _WORKER[1]
    _WORKER = (open_engine(*_ENGINE), vocabulary)
    _WORKER[0].set_phrases(listening_for(vocabulary, None))
    return _worker_hear(x)


# ----- offline metrics ---------------------------------------------------------------


MAIN_PHRASES = 2
"""Phrases per intent in the full run: the first ones, which help lists and users say."""
FOLDER_LIMITS = {"stop": None, "_unknown_": 75, "_silence_": 40}
"""Real clips per folder in the full run (others: DEFAULT_FOLDER_LIMIT): every 'stop',
evenly spaced subsets of the rest. Pocketsphinx decodes at about 0.35 x real time per
core here, so ~700 clips take 4 minutes on two cores."""
DEFAULT_FOLDER_LIMIT = 25


def synth_clips(vocabulary: Vocabulary, quick: bool, piper: bool = True) -> list[Clip]:
    """Each intent's main phrases x every espeak voice, in one of the four noise
    conditions and one of the rates, both rotating, so every intent is heard in every
    voice and condition; then the same x every Piper length scale (unless `piper` is
    False). (The full factorial would take an hour of recognition.)"""
    out: list[Clip] = []
    if quick:  # the first phrase once: clean or at 10 dB SNR, in turn, in two voices
        for i, intent in enumerate(vocabulary.intents):
            condition, snr = CONDITIONS[2 * (i % 2)]
            out.append(Clip("synth", intent.phrases[0], intent.name, "synth", intent.phrases[0],
                            ss.Speaker.espeak(SYNTH_VOICES[i % 2], 160), condition, snr, i + 1))
        if piper:  # and once more in Piper, at the length scales in turn
            for i, intent in enumerate(vocabulary.intents):
                condition, snr = CONDITIONS[2 * ((i + 1) % 2)]
                speaker = ss.Speaker.piper(PIPER_SCALES[i % len(PIPER_SCALES)])
                out.append(Clip("synth", intent.phrases[0], intent.name, "synth",
                                intent.phrases[0], speaker, condition, snr, len(out) + 1))
        return out
    for i, intent in enumerate(vocabulary.intents):
        for p, phrase in enumerate(intent.phrases[:MAIN_PHRASES]):
            for v, voice in enumerate(SYNTH_VOICES):
                condition, snr = CONDITIONS[(i + p * len(SYNTH_VOICES) + v) % len(CONDITIONS)]
                rate = SYNTH_RATES[(i + p + v) % len(SYNTH_RATES)]
                out.append(Clip("synth", phrase, intent.name, "synth", phrase,
                                ss.Speaker.espeak(voice, rate), condition, snr, len(out) + 1))
    for i, intent in enumerate(vocabulary.intents if piper else ()):
        for p, phrase in enumerate(intent.phrases[:MAIN_PHRASES]):
            for k, scale in enumerate(PIPER_SCALES):
                condition, snr = CONDITIONS[(i + p * len(PIPER_SCALES) + k) % len(CONDITIONS)]
                out.append(Clip("synth", phrase, intent.name, "synth", phrase,
                                ss.Speaker.piper(scale), condition, snr, len(out) + 1))
    return out


def voice_label(speaker: ss.Speaker | None) -> str:
    """An espeak voice by its name (rates rotate within it), a Piper one by its spec."""
    if speaker is None:
        return ""
    return speaker.voice if speaker.engine == "espeak" else speaker.spec


def real_clips(vocabulary: Vocabulary, quick: bool) -> tuple[list[Clip], list[str]]:
    """Real commands, real non-commands and real noise from ../shared (or notes why not)."""
    if not ss.SPEECH_COMMANDS.is_dir():
        return [], [f"{ss.SPEECH_COMMANDS} not found: real-clip accuracy skipped, false "
                    "accepts measured on synthesized non-commands and pink noise instead"]
    out: list[Clip] = []
    folders = sorted(p.name for p in ss.SPEECH_COMMANDS.iterdir() if p.is_dir())
    for folder in folders:
        if quick:
            limit: int | None = 12 if folder == "stop" else 3
        else:
            limit = FOLDER_LIMITS.get(folder, DEFAULT_FOLDER_LIMIT)
        for path in ss.clips(folder, limit):
            word = path.name.split("_")[0] if folder == "_unknown_" else folder
            if folder == "_silence_":
                out.append(Clip("file", str(path), None, "noise", "_silence_"))
            elif _exact(vocabulary, word):
                intent = vocabulary.intent_for(word)
                assert intent is not None
                out.append(Clip("file", str(path), intent[0], "real", folder))
            elif folder in DISTRACTOR_FOLDERS:
                out.append(Clip("file", str(path), None, "distractor", folder))
    return out, []


def fallback_distractors(quick: bool) -> list[Clip]:
    """Synthesized non-commands and pink-noise-only clips, when there is no real audio."""
    vocabulary = load_vocabulary()
    words = [w for w in SYNTH_DISTRACTORS if not _exact(vocabulary, w)][: 6 if quick else None]
    voices = SYNTH_VOICES[:2] if quick else SYNTH_VOICES
    out = [Clip("synth", w, None, "distractor", w, ss.Speaker.espeak(v, 160), seed=i)
           for i, (w, v) in enumerate((w, v) for w in words for v in voices)]
    out += [Clip("noise", "", None, "noise", "pink", seed=i) for i in range(5 if quick else 50)]
    return out


def run_clips(pool: ProcessPoolExecutor, clips: list[Clip],
              errors: list[str]) -> list[list[str]]:
    """Intents heard per clip; a clip the recognizer failed on counts as heard nothing,
    and its error goes to `errors`."""
    results: list[list[str]] = []
    for clip, (found, error) in zip(clips, pool.map(_worker_clip, clips, chunksize=8),
                                    strict=True):
        results.append(found)
        if error is not None:
            errors.append(f"{clip.label} ({clip.source[-40:]}, {clip.condition}): {error}")
    return results


def accuracy_metrics(clips: list[Clip], results: list[list[str]]) -> list[Metric]:
    """Per-intent accuracy tables, the synthesized mean (all voices, and per voice
    family: espeak, piper), and real 'stop' accuracy."""
    per: dict[str, dict[str, list[int]]] = {}
    confusions: dict[str, dict[str, int]] = {}
    for clip, found in zip(clips, results, strict=True):
        if clip.expected is None:
            continue
        hit = int(set(found) == {clip.expected})
        key = "real" if clip.group == "real" else clip.condition
        per.setdefault(clip.expected, {}).setdefault(key, []).append(hit)
        per[clip.expected].setdefault("all_synth" if clip.group == "synth" else "all_real",
                                      []).append(hit)
        if clip.group == "synth" and clip.speaker is not None:
            per[clip.expected].setdefault(clip.speaker.engine, []).append(hit)
        if not hit:
            what = ",".join(found) or "(nothing)"
            confusions.setdefault(clip.expected, {}).setdefault(what, 0)
            confusions[clip.expected][what] += 1
    table = {intent: {k: {"share": sum(v) / len(v), "n": len(v)} for k, v in row.items()}
             for intent, row in per.items()}
    synth_shares = [row["all_synth"]["share"] for row in table.values() if "all_synth" in row]
    by_voice: dict[str, list[int]] = {}
    for clip, found in zip(clips, results, strict=True):
        if clip.group == "synth" and clip.expected is not None:
            by_voice.setdefault(voice_label(clip.speaker), []).append(
                int(set(found) == {clip.expected}))
    by_condition: dict[str, list[int]] = {}
    for clip, found in zip(clips, results, strict=True):
        if clip.expected is not None:
            key = "real" if clip.group == "real" else clip.condition
            by_condition.setdefault(key, []).append(int(set(found) == {clip.expected}))
    synth_n = sum(1 for c in clips if c.group == "synth" and c.expected is not None)
    families = family_metrics(table, clips)
    mean = Metric(
        "accuracy", float(np.mean(synth_shares)) if synth_shares else None, "share", None,
        synth_n, "mean over intents of synthesized clips (all voices, rates, SNRs)",
        {"per_intent": table, "confusions": confusions,
         "per_condition": {k: {"share": sum(h) / len(h), "n": len(h)}
                           for k, h in by_condition.items()},
         "per_voice": {v: sum(h) / len(h) for v, h in by_voice.items()},
         "per_family": {m.name.removeprefix("accuracy_"): m.value for m in families}},
    )
    stop_real = table.get("stop", {}).get("real")
    real = Metric(
        "accuracy_stop_real", stop_real["share"] if stop_real else None, "share",
        (">=", 0.97), int(stop_real["n"]) if stop_real else 0,
        "" if stop_real else "skipped: no real 'stop' clips (../shared absent)",
        {"confusions": confusions.get("stop", {})},
    )
    return [real, mean, *families]


def family_metrics(table: dict[str, dict[str, dict[str, float]]],
                   clips: list[Clip]) -> list[Metric]:
    """`accuracy` per voice family: the mean over intents of each family's share."""
    out: list[Metric] = []
    for family in FAMILIES:
        shares = [row[family]["share"] for row in table.values() if family in row]
        n = sum(1 for c in clips if c.group == "synth" and c.expected is not None
                and c.speaker is not None and c.speaker.engine == family)
        voices = sorted({voice_label(c.speaker) for c in clips
                         if c.group == "synth" and c.speaker is not None
                         and c.speaker.engine == family})
        out.append(Metric(
            f"accuracy_{family}", float(np.mean(shares)) if shares else None, "share", None, n,
            f"as accuracy, {family} voices only: {', '.join(voices)}" if shares
            else f"not measured: no {family} clips (see the notes)",
            {"per_intent": {i: row[family]["share"] for i, row in table.items()
                            if family in row}},
        ))
    return out


def false_accept_metric(clips: list[Clip], results: list[list[str]], synthetic: bool) -> Metric:
    by_folder: dict[str, list[int]] = {}
    triggered: dict[str, int] = {}
    for clip, found in zip(clips, results, strict=True):
        if clip.expected is not None:
            continue
        by_folder.setdefault(clip.label if clip.group == "distractor" else "noise",
                             []).append(int(bool(found)))
        for intent in found:
            triggered[intent] = triggered.get(intent, 0) + 1
    flat = [x for v in by_folder.values() for x in v]
    note = "synthesized non-commands + pink noise (no real clips)" if synthetic else (
        "real non-command words + _silence_ noise clips")
    return Metric(
        "false_accept_rate", sum(flat) / len(flat) if flat else None, "share", ("<=", 0.03),
        len(flat), note,
        {"per_folder": {k: {"share": sum(v) / len(v), "n": len(v)} for k, v in by_folder.items()},
         "triggered_intents": triggered},
    )


def ordinary_speech(quick: bool) -> tuple[list[tuple[str, Samples]], list[str]]:
    """LibriVox read speech, then routine lines read by BACKGROUND_VOICE, up to the length."""
    from assistant.routines import builtin_names, load_routine

    budget_s = 30.0 if quick else 600.0
    pieces: list[tuple[str, Samples]] = []
    notes: list[str] = []
    files = sorted(ss.LIBRIVOX.glob("*.wav"))
    if not files:
        notes.append(f"no LibriVox read speech at {ss.LIBRIVOX}: routine lines only")
    for path in files:
        pieces.append((f"librivox:{path.name}", read_wav(path, SR)))
    lines: dict[str, None] = {}
    for name in builtin_names():
        routine = load_routine(name)
        for step in (*routine.steps, routine.switch, routine.finish):
            for mode in ("self", "partner"):
                lines[step.instruction.for_mode(mode)] = None
                for cue in step.cues:
                    lines[cue.text.for_mode(mode)] = None
                for guidance in step.pressure.values():
                    lines[guidance.for_mode(mode)] = None
    voice, rate = BACKGROUND_VOICE
    total = sum(x.size for _, x in pieces) / SR
    for text in lines:
        if total >= budget_s:
            break
        x = ss.synthesize(text, voice=voice, rate=rate)
        pieces.append((text, x))
        total += x.size / SR + 0.4
    return pieces, notes


def false_activation_metric(pool: ProcessPoolExecutor, quick: bool) -> Metric:
    """Commands per hour in continuous ordinary speech, fed as two parallel streams."""
    pieces, notes = ordinary_speech(quick)
    halves = [pieces[: len(pieces) // 2], pieces[len(pieces) // 2 :]]
    streams = [ss.concatenate(h, gap_s=0.4, lead_s=0.5) for h in halves if h]
    with_floor = []
    for x, _ in streams:
        noisy = x.astype(np.float64) + np.random.default_rng(7).normal(0, FLOOR_STD, x.size)
        with_floor.append(np.clip(np.round(noisy), -32768, 32767).astype(np.int16))
    results = []
    for heard, error in pool.map(_worker_stream, with_floor):
        results.append(heard)
        if error is not None:
            notes.append(f"the recognizer failed on the ordinary-speech stream: {error}")
    hours = sum(x.size for x in with_floor) / SR / 3600
    found: list[dict[str, object]] = []
    for (_, placed), commands in zip(streams, results, strict=True):
        for c in commands:
            start = float(str(c["start"]))
            nearest = min(placed, key=lambda p: max(p.start_s - start, start - p.end_s, 0.0))
            found.append({**c, "in": nearest.label[:90]})
    return Metric(
        "false_activations_per_hour", len(found) / hours if hours else None, "per hour", None,
        len(pieces),
        "; ".join([f"{len(found)} in {hours * 60:.1f} min of ordinary speech", *notes]),
        {"minutes": hours * 60, "commands": found},
    )


def offline_metrics(engine: str, model: Path | None, quick: bool, notes: list[str]) -> list[Metric]:
    """Everything that needs only the recognizer, in two worker processes."""
    vocabulary = load_vocabulary()
    piper_missing = ss.piper_missing()
    if piper_missing is not None:
        notes.append(f"no Piper clips: {piper_missing}")
    synth = synth_clips(vocabulary, quick, piper=piper_missing is None)
    real, real_notes = real_clips(vocabulary, quick)
    notes.extend(real_notes)
    synthetic_fa = not real
    if synthetic_fa:
        real = fallback_distractors(quick)
    clips = synth + real
    workers = max(1, min(2, os.cpu_count() or 1))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, context, _worker_init, (engine, model)) as pool:
        try:
            t0 = time.monotonic()
            errors: list[str] = []
            results = run_clips(pool, clips, errors)
            print(f"  {len(clips)} clips recognized in {time.monotonic() - t0:.0f} s", flush=True)
            if errors:
                notes.append(f"the recognizer raised on {len(errors)} of {len(clips)} clips "
                             f"(counted as heard nothing), e.g. {errors[0]}")
            t0 = time.monotonic()
            activations = false_activation_metric(pool, quick)
            print(f"  ordinary speech stream in {time.monotonic() - t0:.0f} s", flush=True)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [
        *accuracy_metrics(clips, results),
        false_accept_metric(clips, results, synthetic_fa),
        activations,
    ]


# ----- the room ------------------------------------------------------------------------


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
        from tests.live_session import USER_VOICE
        from tests.room import Room

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
        from tests.live_session import LiveSession

        self._count += 1
        folder = self.folder / f"run{self._count}"
        folder.mkdir()
        os.environ["MASSAGE_ASSISTANT_HOME"] = str(home or seeded_home(folder / "home"))
        monitor = self.room.record()
        launched = time.monotonic()
        live = LiveSession(self.room, folder, *args, *self.engine_args(), *self.voice_args(),
                           user=self.user)
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
        from tests.live_session import user_audio

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
        from tests.room import RATE

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
        from assistant.safety import load_screening

        answers = {f"safety.{q.id}": "no" for q in load_screening().questions}
        answers["safety.any"] = "no"  # the one question about all of them, asked first
        answers["ask_mode"] = "myself"
        deadline = time.monotonic() + timeout_s
        answered = 0
        while time.monotonic() < deadline:
            events = run.live.events()
            if any(e["type"] == "state" and e["to"] == "running" for e in events):
                return True
            asked = [e for e in events if e["type"] == "say" and e.get("key") in answers]
            if len(asked) > answered:
                self.wait_quiet(run)
                self.say(answers[asked[-1]["key"]])
                answered = len(asked)
            if run.live.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False


def seeded_home(folder: Path) -> Path:
    """A private memory folder with the safety questions answered 'no', like the tests':
    every launch is a user who has done the screening, and nothing touches real data."""
    from assistant.memory import Memory
    from assistant.safety import load_screening

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
    from tests.room import RATE, Recording

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


# ----- live metrics ----------------------------------------------------------------------


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


def _running(e: Event) -> bool:
    return bool(e["type"] == "state" and e["to"] == "running")


def _going_on(e: Event) -> bool:
    return bool(e["type"] == "state" and e["to"] in ("running", "switching"))


def _instruction(e: Event) -> bool:
    return bool(e["type"] == "say" and str(e["key"]).startswith("step."))


def state_of(run: Launch) -> str | None:
    states = [e["to"] for e in run.live.events() if e["type"] == "state"]
    return states[-1] if states else None


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
               f"{_fmt(percentile(decided, 50), 'ms')}); the line is held from the user's "
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


def proc_usage(pid: int, seconds: float) -> tuple[float, float, int]:
    """CPU % of one core and peak RSS (MB) of `pid` and its children (the recognizer runs
    in one) over `seconds`, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")

    def family() -> list[int]:
        kids = Path(f"/proc/{pid}/task/{pid}/children")
        return [pid, *(int(c) for c in kids.read_text().split())] if kids.exists() else [pid]

    def cpu(of: list[int]) -> dict[int, float]:
        out = {}
        for p in of:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                out[p] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return out

    def rss(of: list[int]) -> float:
        total = 0.0
        for p in of:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{p}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        return total

    pids = family()
    c0, t0 = cpu(pids), time.monotonic()
    peak, samples = rss(pids), 1
    while time.monotonic() - t0 < seconds:
        time.sleep(0.5)
        peak, samples = max(peak, rss(pids)), samples + 1
    c1 = cpu(pids)
    used = sum(c1[p] - c0[p] for p in c1 if p in c0)
    return 100 * used / (time.monotonic() - t0), peak, samples


def read_alone(bench: RoomBench, run: Launch, cap_s: float) -> str:
    """Let the program read on by itself until it exits, hits the cap, or sits halted
    (a self-trigger stopped or paused it: nothing but a user would ever resume it)."""
    deadline = time.monotonic() + cap_s
    while time.monotonic() < deadline:
        if run.live.proc.poll() is not None:
            return "finished"
        if state_of(run) in ("stopped", "paused") and bench.wait_quiet(run, 3.0, 10.0):
            return f"halted ({state_of(run)})"
        time.sleep(0.2)
    return f"cut at {cap_s:.0f} s"


def first_word_metrics(bench: RoomBench, quick: bool) -> list[Metric]:
    """Launch to first sound with an empty speech cache, then again with the cache the
    first launch filled. The second launch gets a fresh memory folder holding only that
    cache, so it has the same first line: in the first launch's own folder it would open
    with "your last session stopped at step 1..." (the first launch was interrupted), a
    line never rendered before."""
    cold: list[float] = []
    warm: list[float] = []
    for attempt in range(2 if quick else 4):
        cold_home = seeded_home(bench.folder / f"first-word-{attempt}")
        warm_home = seeded_home(bench.folder / f"first-word-{attempt}-warm")
        for into, home in ((cold, cold_home), (warm, warm_home)):
            if into is warm and (cold_home / "speech-cache").is_dir():
                shutil.copytree(cold_home / "speech-cache", warm_home / "speech-cache")
            run = bench.launch("--routine", "quick", "--mode", "self", home=home)
            try:
                bench.wait_talking(run, 20.0)
                time.sleep(1.5)  # let the first line be rendered whole, and cached
            finally:
                heard = len(bench.first_words)
                bench.end(run)
            if len(bench.first_words) > heard:
                into.append(bench.first_words[-1])
    return [
        Metric("first_word_cold_s", max(cold) if cold else None, "s", ("<=", 2.0), len(cold),
               "empty speech cache", {"launches": cold}),
        Metric("first_word_warm_s", max(warm) if warm else None, "s", ("<=", 1.0), len(warm),
               "the cache of the launch before", {"launches": warm}),
    ]


def self_trigger_metric(bench: RoomBench, quick: bool) -> list[Metric]:
    """The assistant reads the quick routine into the room by itself: nothing may fire."""
    modes = ("self",) if quick else ("self", "partner")
    cap_s = 20.0 if quick else 300.0
    commands: list[Event] = []
    holds: list[Event] = []
    decisions: dict[str, int] = {}
    runs: list[str] = []
    spoken_s = 0.0
    for mode in modes:
        run = bench.launch("--routine", "quick", "--mode", mode, "--time-scale", "0.05")
        try:
            how = read_alone(bench, run, cap_s)
            spoken_s += time.monotonic() - run.launched_at
            runs.append(f"{mode}: {how} after {time.monotonic() - run.launched_at:.0f} s")
            for e in run.live.events():
                if e["type"] == "command":
                    commands.append({**e, "mode": mode})
                elif e["type"] == "barge_in":
                    holds.append({**e, "mode": mode})
                elif e["type"] == "heard":
                    decisions[e["decision"]] = decisions.get(e["decision"], 0) + 1
        finally:
            bench.end(run)
    return [
        Metric("self_triggers", float(len(commands)), "count", ("==", 0.0), len(modes),
               f"{spoken_s:.0f} s of the quick routine; " + "; ".join(runs),
               {"commands": commands, "heard_decisions": decisions, "runs": runs,
                "spoken_s": spoken_s}),
        Metric("false_holds", float(len(holds)), "count", None, len(modes),
               "times its own voice was taken for the user talking over it (the line "
               "pauses about a second)", {"holds": holds}),
    ]


def engine_in_use(run: Launch) -> str:
    """The engine the program says it listens with (its startup notice)."""
    match = re.search(r"Listening with (\w+)", run.live.stderr())
    return match.group(1) if match else "unknown"


def usage_metrics(run: Launch, quick: bool, state: str | None) -> list[Metric]:
    seconds = 5.0 if quick else 10.0
    cpu, rss, samples = proc_usage(run.live.proc.pid, seconds)
    engine = engine_in_use(run)
    rss_target: tuple[str, float] | None = ("<=", 300.0) if engine == "pocketsphinx" else None
    return [
        Metric("cpu_percent", cpu, "%", ("<=", 25.0), samples,
               f"one core = 100 %; {seconds:.0f} s quiet, {state}, listening"),
        Metric("rss_mb", rss, "MB", rss_target, samples,
               f"peak VmRSS, with the recognizer's process ({engine})"),
    ]


def real_stops(count: int) -> list[npt.NDArray[np.float32]]:
    """Real people's "stop" (dev clips of speakers the short-word classifier never heard,
    trimmed to the word), or none without ../shared."""
    from assistant.cli import WORD_MODEL
    from assistant.errors import ModelMissing
    from assistant.listening.short_words import WordModel

    try:
        trained = WordModel(WORD_MODEL).train_speakers
    except ModelMissing:
        trained = frozenset()
    files = [f for f in ss.clips("stop") if f.name.split("_")[0] not in trained]
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


def pause(bench: RoomBench, run: Launch) -> bool:
    """Paused by voice (resumed first if stopped: only a running session pauses)."""
    if state_of(run) == "stopped" and not bench.say_until(run, "resume", _running):
        return False
    bench.wait_talking(run, 3.0)
    return bench.say_until(run, "pause", lambda e: e["type"] == "state" and e["to"] == "paused",
                           wait_quiet=False, timeout_s=8.0)


def live_metrics(args: argparse.Namespace, rng: random.Random, notes: list[str]) -> list[Metric]:
    """Stop and acknowledgement latency, CPU and memory, self-triggers, first word."""
    import pytest

    try:
        with room_bench(args, rng) as bench:
            return live_phases(bench, notes)
    except pytest.skip.Exception as exc:  # Room.start: PulseAudio missing or not starting
        notes.append(f"no room, so no live metrics: {exc}")
        return []


def live_phases(bench: RoomBench, notes: list[str]) -> list[Metric]:
    """One long session for the latencies and usage, then the self-trigger runs. A phase
    that fails is noted and its metrics left empty; the others still run."""
    out: list[Metric] = []
    quick = bench.args.quick
    trials = bench.args.trials or (3 if quick else 20)

    def phase(name: str, work: Callable[[], list[Metric]]) -> None:
        t0 = time.monotonic()
        try:
            out.extend(work())
        except Exception as exc:
            if _INTERRUPTED:  # e.g. paplay killed by the same Ctrl-C
                raise
            notes.append(f"{name} failed: {type(exc).__name__}: {exc}")
        print(f"  {name} in {time.monotonic() - t0:.0f} s", flush=True)

    def paused_then_acks(run: Launch) -> list[Metric]:
        if not pause(bench, run):
            if state_of(run) != "running":
                raise RuntimeError(f"could not pause the session by voice ({state_of(run)})")
            notes.append("could not pause the session by voice: acknowledgement trials "
                         "ran while it was running (quiet between lines)")
        return ack_latency_metrics(bench, run, trials)

    def usage(run: Launch) -> list[Metric]:
        bench.wait_quiet(run)
        return usage_metrics(run, quick, state_of(run))

    run = bench.launch("--routine", "full", "--mode", "self", "--time-scale", "10")
    try:
        if bench.reach_running(run):
            phase("cut-off trials", lambda: cutoff_metrics(bench, run, max(trials // 2, 3)))
            phase("stop trials", lambda: stop_latency_metrics(bench, run, trials, notes))
            phase("quiet stop trials",
                  lambda: quiet_stop_metrics(bench, run, 2 if quick else max(trials // 2, 3)))
            phase("acknowledgement trials", lambda: paused_then_acks(run))
            phase("cpu and memory", lambda: usage(run))
        else:
            notes.append(f"the program never reached the routine: {run.live.stderr()[-400:]}")
    finally:
        bench.end(run)
    phase("self-trigger runs", lambda: self_trigger_metric(bench, quick))
    phase("first word, cold and warm cache", lambda: first_word_metrics(bench, quick))
    words = bench.first_words
    out.append(Metric("first_word_s", max(words) if words else None, "s", ("<=", 2.0),
                      len(words), "worst of the launches", {"launches": words}))
    return out


# ----- continuous streams ----------------------------------------------------------------


def stream_phase(args: argparse.Namespace, notes: list[str]) -> StreamReport | None:
    """scripts/stream_metrics.py's streams; what it skipped goes to the notes (and is
    printed now). A failure is noted and the other phases go on."""
    t0 = time.monotonic()
    try:
        report = run_streams(args.engine, args.model, args.quick,
                             workers=max(1, min(2, os.cpu_count() or 1)))
    except Exception as exc:
        if _INTERRUPTED:
            raise
        notes.append(f"the stream phase failed: {type(exc).__name__}: {exc}")
        print(f"  the stream phase failed: {exc}", flush=True)
        return None
    for note in report.notes:
        print(f"  {note}", flush=True)
        notes.append(f"streams: {note}")
    print(f"  streams in {time.monotonic() - t0:.0f} s", flush=True)
    return report


def stream_table(report: StreamReport | None) -> list[Metric]:
    """The stream phase's rows as table rows (not in the JSON's `metrics`: its `streams`)."""
    if report is None:
        return []
    return [Metric(r.name, r.value, r.unit, r.target, r.n, r.note) for r in table_rows(report)]


# ----- putting it together ---------------------------------------------------------------

METRIC_ORDER = (
    "accuracy_stop_real", "accuracy", "accuracy_espeak", "accuracy_piper", "false_accept_rate",
    "false_activations_per_hour", "self_triggers", "false_holds", "stop_latency_p50_ms",
    "stop_latency_p95_ms", "stop_decided_p95_ms", "stop_chime_p95_ms", "stop_missed",
    "quiet_stop_p50_ms", "quiet_stop_p95_ms", "quiet_stop_missed", "cutoff_p50_ms", "cutoff_p95_ms",
    "ack_latency_p50_ms", "ack_latency_p95_ms",
    "first_word_s", "first_word_cold_s", "first_word_warm_s", "cpu_percent", "rss_mb",
)


def print_table(metrics: list[Metric], streams: Sequence[Metric] = ()) -> None:
    """The metrics, then the continuous-stream rows, then accuracy per intent."""
    print(f"\n{'metric':<28} {'value':>10} {'target':>10}  result   n  note")

    def line(m: Metric) -> None:
        verdict = {True: "pass", False: "FAIL", None: "-"}[m.passed]
        print(f"{m.name:<28} {_fmt(m.value, m.unit):>10} {m.target_text():>10}  {verdict:<6} "
              f"{m.n:>4}  {m.note}")

    for m in metrics:
        line(m)
    if streams:
        print("continuous streams (scripts/stream_metrics.py):")
        for m in streams:
            line(m)
    accuracy = next((m for m in metrics if m.name == "accuracy"), None)
    if accuracy is None or "per_intent" not in accuracy.details:  # --room-only: not measured
        return
    table: dict[str, dict[str, dict[str, float]]] = accuracy.details["per_intent"]
    columns = [c for c, _ in CONDITIONS] + list(FAMILIES) + ["real"]
    print(f"\n{'intent':<16}" + "".join(f"{c:>9}" for c in columns))
    families = {f: {"share": v} for f, v in accuracy.details["per_family"].items()
                if v is not None}
    overall: dict[str, dict[str, float]] = {**accuracy.details["per_condition"], **families}
    for intent, row in [*table.items(), ("(all clips)", overall)]:
        cells = [f"{100 * row[c]['share']:8.0f}%" if c in row else f"{'':>9}" for c in columns]
        print(f"{intent:<16}" + "".join(cells))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--engine", choices=["auto", "pocketsphinx", "vosk"], default="auto")
    parser.add_argument("--model", type=Path, default=None, help="a vosk model folder")
    parser.add_argument("--quick", action="store_true", help="small subsets (about 2 minutes)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--trials", type=int, default=0,
                        help="stop / acknowledgement trials (default 20, quick 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--offline-only", action="store_true", help="skip the room")
    parser.add_argument("--room-only", action="store_true",
                        help="only the live metrics in the room (no recognition of clips)")
    parser.add_argument("--streams-only", action="store_true",
                        help="only the continuous-stream recognition (scripts/stream_metrics.py)")
    parser.add_argument("--user-voice", default=None, type=_speaker, metavar="SPEC",
                        help="the simulated user's voice: 'piper:1.0' (Piper at a length "
                        "scale; 'piper:joe:0.9' names the voice) or an espeak-ng "
                        "'VOICE[:WPM]' such as 'en-us+m3:150' (default: the tests', Piper)")
    parser.add_argument("--voice", default=None, metavar="NAME",
                        help="the assistant's voice in the room: piper:joe (the program's "
                        "default) or a system voice such as espeak:en-us")
    parser.add_argument("--soak", type=float, nargs="?", const=20.0, default=None,
                        metavar="MINUTES", help="only the soak run: the full routine at real "
                        "speed in the room with a TV talking and a real 'stop' every 2-3 "
                        "minutes (scripts/soak.py; default 20 minutes, fractions allowed)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy each launch's events.jsonl and stderr here (evidence)")
    return parser.parse_args(argv)


def _speaker(spec: str) -> ss.Speaker:
    try:
        return ss.Speaker.parse(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


_INTERRUPTED = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM: unwind through every `finally` (which stop the room)."""
    global _INTERRUPTED
    _INTERRUPTED = True
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Cleanup must finish: a second Ctrl-C must not cut it short and leave a server."""
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    started = time.monotonic()
    rng = random.Random(args.seed)
    notes: list[str] = []
    load_before = os.getloadavg()[0]
    if load_before > 0.8:
        notes.append(f"the machine was busy at the start (load average {load_before:.1f}): "
                     "latencies and CPU figures are pessimistic")
    metrics: list[Metric] = []
    streams: StreamReport | None = None
    if shutil.which("espeak-ng") is None and not args.streams_only:
        print("espeak-ng is needed to synthesize voices (apt-get install espeak-ng)",
              file=sys.stderr)
        return 2
    from tests.live_session import ESPEAK_USER_VOICE, USER_VOICE

    args.user_voice = args.user_voice or USER_VOICE
    if args.user_voice.engine == "piper" and (missing := ss.piper_missing(args.user_voice.voice)):
        notes.append(f"the simulated user speaks espeak-ng ({ESPEAK_USER_VOICE}): {missing}")
        args.user_voice = ESPEAK_USER_VOICE
    if args.soak is not None:
        from soak import main as soak

        return soak(args)
    if not args.room_only and not args.streams_only:
        print("offline recognition...", flush=True)
        metrics += offline_metrics(args.engine, args.model, args.quick, notes)
    if not args.room_only:
        print("continuous streams...", flush=True)
        streams = stream_phase(args, notes)
    if not args.offline_only and not args.streams_only:
        print("live session in the room...", flush=True)
        metrics += live_metrics(args, rng, notes)
    if not args.streams_only:
        have = {m.name for m in metrics}
        metrics += [Metric(name, None, "", note="not measured (see the notes)")
                    for name in METRIC_ORDER if name not in have]
    metrics.sort(key=lambda m: METRIC_ORDER.index(m.name) if m.name in METRIC_ORDER else 99)
    elapsed = time.monotonic() - started
    print_table(metrics, stream_table(streams))
    for note in notes:
        print(f"note: {note}")
    print(f"\n{'quick' if args.quick else 'full'} run took {elapsed:.0f} s")
    if args.json is not None:
        report = {
            "engine": args.engine, "quick": args.quick, "seed": args.seed,
            "user_voice": args.user_voice.spec, "voice": args.voice or "default",
            "elapsed_s": elapsed, "shared_audio": ss.SPEECH_COMMANDS.is_dir(), "notes": notes,
            "load_average": {"start": load_before, "end": os.getloadavg()[0]},
            "metrics": {m.name: m.as_json() for m in metrics},
            "streams": streams.as_json() if streams is not None else None,
        }
        args.json.write_text(json.dumps(report, indent=2, default=_json_default))
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        if not _INTERRUPTED:
            raise
    except KeyboardInterrupt:
        pass
    print("\ninterrupted; the room and its programs were stopped", file=sys.stderr)
    sys.exit(130)
