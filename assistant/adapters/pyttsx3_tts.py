"""Text to audio with pyttsx3 (espeak-ng on Linux); the only module that imports pyttsx3.

`trim` (from `speech.audio_out`) and `UnknownVoice` (from `speech.voice_names`) are
shared with the Piper adapter and importable from here as before.

pyttsx3 cannot stop its own playback on Linux, so it only renders: `save_to_file` +
`runAndWait` into a private temp WAV; the player does the playing.

One engine and one thread per process. pyttsx3 hands out a cached engine, espeak
keeps a single global synthesis callback, and a collected engine clears that callback
on its way out, so two engines (or two threads on one engine) break each other's
renders. Every Pyttsx3Renderer therefore sends its work to the same `_EngineThread`,
which lives until the process ends.

espeak-driver quirks that shape `_render_once`: synthesis and property changes run on
espeak's own command thread; `runAndWait` cancels whatever is still queued there when
it starts (a rate set just before it is lost, or the line itself is cut), and the WAV
is written from that thread. So we wait for espeak to go idle before each loop and
again before reading the file, and a render that produced no file is retried.
"""

from __future__ import annotations

import atexit
import queue
import shutil
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["Pyttsx3Renderer", "UnknownVoice", "VoiceInfo", "trim"]

import numpy as np

from assistant.errors import AudioUnavailable
from assistant.speech.audio_out import Rendered, trim
from assistant.speech.render_jobs import fulfil
from assistant.speech.voice_names import ESPEAK, UnknownVoice, parse_voice

T = TypeVar("T")

INSTALL_HINT = "install it with `sudo apt-get install espeak-ng`"
_ATTEMPTS = 3


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    name: str
    languages: tuple[str, ...]


class _NoAudio(Exception):
    """One render left no readable WAV file."""


class _EngineThread:
    """The process's pyttsx3 engine and the one thread that touches it."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._dir = Path(tempfile.mkdtemp(prefix="massage-tts-"))
        atexit.register(shutil.rmtree, self._dir, ignore_errors=True)
        self._wav = str(self._dir / "line.wav")
        self._engine: Any = None
        self._espeak: Any = None
        self._voice: str | None = None
        self.default_voice: str | None = None
        self.voices: tuple[VoiceInfo, ...] = ()
        self.sample_rate = 22050
        """espeak-ng's rate; replaced by the one the first render reports."""
        self.thread = threading.Thread(target=self._work, name="tts", daemon=True)
        self.thread.start()

    def call(self, job: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((job, future))
        return future

    def start(self) -> None:
        """Runs on the thread: create the engine and prove it renders."""
        try:
            import pyttsx3
            import pyttsx3.drivers.espeak as espeak_driver

            # The driver prints "Audio saved to ..." after every save; keep stdout clean.
            espeak_driver.print = lambda *args, **kwargs: None
            self._engine = pyttsx3.init()
            if self._engine.driver_name == "espeak":
                from pyttsx3.drivers import _espeak

                self._espeak = _espeak
            self.default_voice = self._voice = self._engine.getProperty("voice")
            self.voices = tuple(
                VoiceInfo(str(v.id), str(v.name), tuple(str(x) for x in v.languages or ()))
                for v in self._engine.getProperty("voices") or []
            )
        except Exception as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise AudioUnavailable(
                f"no text-to-speech engine ({reason}): {INSTALL_HINT}"
            ) from error
        # The first loop after init runs with the proxy still busy and loses its settings.
        self.sample_rate = self.render("ready", 150, None).sample_rate

    def render(self, text: str, rate_wpm: int, voice_id: str | None) -> Rendered:
        """Runs on the thread."""
        if not text.strip():
            return Rendered(np.zeros(0, dtype=np.float32), self.sample_rate)
        for _ in range(_ATTEMPTS - 1):
            try:
                return self._render_once(text, rate_wpm, voice_id)
            except _NoAudio:
                continue
        try:
            return self._render_once(text, rate_wpm, voice_id)
        except _NoAudio as error:
            raise AudioUnavailable(f"speech engine produced no audio: {error}") from None

    def _render_once(self, text: str, rate_wpm: int, voice_id: str | None) -> Rendered:
        engine = self._engine
        self._settle()
        voice_id = voice_id or self.default_voice
        if voice_id is not None and voice_id != self._voice:
            engine.setProperty("voice", voice_id)
            self._voice = voice_id
        engine.setProperty("rate", int(rate_wpm))
        self._settle()
        Path(self._wav).unlink(missing_ok=True)
        engine.save_to_file(text, self._wav)
        engine.runAndWait()
        self._settle()
        try:
            with wave.open(self._wav, "rb") as wav:
                rate = wav.getframerate()
                pcm = wav.readframes(wav.getnframes())
        except (OSError, EOFError, wave.Error) as error:
            raise _NoAudio(str(error) or type(error).__name__) from error
        if not pcm:
            raise _NoAudio("empty file")
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        return Rendered(trim(audio, rate), rate)

    def _settle(self, limit_s: float = 2.0) -> None:
        """Wait until espeak's command thread is idle (see the module docstring)."""
        if self._espeak is None:
            return
        deadline = time.monotonic() + limit_s
        while self._espeak.IsPlaying() and time.monotonic() < deadline:
            time.sleep(0.0005)

    def _work(self) -> None:
        while True:
            fulfil(*self._jobs.get())


_shared: _EngineThread | None = None
_shared_lock = threading.Lock()


def _engine_thread(timeout_s: float) -> _EngineThread:
    """The shared engine thread, started (and checked) on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            worker = _EngineThread()
            try:
                _wait(worker.call(worker.start), timeout_s)
            except BaseException:
                shutil.rmtree(worker._dir, ignore_errors=True)
                raise
            _shared = worker
        return _shared


def _wait(future: Future[T], timeout_s: float) -> T:
    try:
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        raise AudioUnavailable(f"speech engine did not answer within {timeout_s:g} s") from None


class Pyttsx3Renderer:
    """Renders lines in the background; `submit` returns at once with a Future.

    Renders from every renderer in the process run one at a time, in submission order.
    """

    def __init__(self, *, timeout_s: float = 30.0) -> None:
        self._timeout_s = timeout_s
        self._worker = _engine_thread(timeout_s)
        self.voices = self._worker.voices
        self.sample_rate = self._worker.sample_rate

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        voice_id = self.resolve_voice(voice) if voice else None
        return self._worker.call(lambda: self._worker.render(text, rate_wpm, voice_id))

    def render(self, text: str, rate_wpm: int, voice: str | None = None) -> Rendered:
        return _wait(self.submit(text, rate_wpm, voice), self._timeout_s)

    def list_voices(self) -> list[VoiceInfo]:
        return list(self.voices)

    def resolve_voice(self, spec: str) -> str:
        """A voice id from an id, a name or a language code like en-us or en (any case),
        bare or after `espeak:`; UnknownVoice for anything else (a `piper:` voice too)."""
        parsed = parse_voice(spec)
        wanted = parsed.name.lower()
        if parsed.engine != ESPEAK or not wanted:
            raise UnknownVoice(spec)
        for match in (
            lambda v: v.id.lower() == wanted,
            lambda v: v.name.lower() == wanted,
            lambda v: wanted in (lang.lower() for lang in v.languages),
            lambda v: any(lang.lower().startswith(f"{wanted}-") for lang in v.languages),
        ):
            found = [v for v in self.voices if match(v)]
            if found:
                return found[0].id
        raise UnknownVoice(spec)

    def close(self) -> None:
        """Nothing to release: the engine thread is shared and lives with the process
        (espeak cannot be shut down and started again in one process)."""
