"""Which engine speaks: the one place that picks a renderer for a voice name.

No voice chosen: the natural Piper voice when its packages load, else the system voice
through pyttsx3 with one notice (the session carries on). `piper:NAME` asks for Piper
(falling back the same way when it cannot load); `espeak:ID` or a bare id, name or
language asks for a system voice. Either renderer is wrapped in the disk cache when
the settings give it a folder. Engines are imported only when called.

Piper's model loads in the background, so a load that fails is only known when lines
fail with `EngineUnavailable`: `FallingBack` then says the notice (once), and those lines
and all later ones are spoken by the system voice. Each engine has its own disk cache
around it, so the system voice's audio is never stored under Piper's key.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass

from assistant.errors import AudioUnavailable, EngineUnavailable
from assistant.settings import SpeechSettings
from assistant.speech.audio_out import ClosableRenderer, Prefetching, Rendered
from assistant.speech.voice_names import PIPER, UnknownVoice, parse_voice


@dataclass(frozen=True)
class OpenedRenderer:
    renderer: ClosableRenderer
    voice: str | None
    """What to pass as `voice` to `submit` (None: the engine's default)."""
    engine: str
    """`piper:joe` or `espeak`: which engine speaks, for reports and the cache key."""


def open_renderer(
    settings: SpeechSettings, notice: Callable[[str], None] | None = None
) -> OpenedRenderer:
    """The renderer for `settings.voice` (see the module docstring); UnknownVoice for a
    Piper voice that does not exist, AudioUnavailable when no engine works at all."""
    from assistant.adapters import piper_tts

    voice = settings.voice or None
    wanted = parse_voice(voice) if voice else None
    say = notice or _to_stderr
    if wanted is None or wanted.engine == PIPER:
        if wanted is not None and not piper_tts.is_known(wanted.name):
            raise UnknownVoice(voice or "")
        try:
            piper = piper_tts.PiperRenderer(wanted.name if wanted else None)
        except AudioUnavailable as exc:
            say(_no_natural_voice(exc))
            return _system(None, settings)
        natural = _cached(OpenedRenderer(piper, None, piper.spec), settings)
        fallback = FallingBack(natural.renderer, lambda: _system(None, settings).renderer,
                               lambda exc: say(_no_natural_voice(exc)))
        return OpenedRenderer(fallback, None, piper.spec)
    return _system(voice, settings)


class FallingBack:
    """The natural voice until it turns out it cannot load, then the system voice for the
    lines that failed and every later one (see the module docstring).

    The lines re-rendered by the system voice may complete out of order with later ones;
    the player plays lines in the order they were asked for all the same."""

    def __init__(self, natural: ClosableRenderer, open_system: Callable[[], ClosableRenderer],
                 notice: Callable[[EngineUnavailable], None]) -> None:
        self._natural = natural
        self._open_system = open_system
        self._notice = notice
        self._lock = threading.Lock()
        self._system: ClosableRenderer | None = None
        self._system_error: AudioUnavailable | None = None

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        if self._fallen():
            try:
                return self._system_renderer(None).submit(text, rate_wpm, voice)
            except AudioUnavailable as exc:
                return _failed(exc)
        outer: Future[Rendered] = Future()
        inner = self._natural.submit(text, rate_wpm, voice)

        def done(finished: Future[Rendered]) -> None:
            if finished.cancelled():
                outer.cancel()
                return
            error = finished.exception()
            if isinstance(error, EngineUnavailable):
                try:
                    again = self._system_renderer(error).submit(text, rate_wpm, voice)
                except AudioUnavailable as exc:
                    _pass_on(_failed(exc), outer)
                    return
                outer.add_done_callback(lambda f: again.cancel() if f.cancelled() else None)
                again.add_done_callback(lambda f: _pass_on(f, outer))
                return
            _pass_on(finished, outer)

        outer.add_done_callback(lambda f: inner.cancel() if f.cancelled() else None)
        inner.add_done_callback(done)
        return outer

    def prefetch(self, text: str, rate_wpm: int, voice: str | None = None) -> None:
        engine = self._system if self._fallen() else self._natural
        if isinstance(engine, Prefetching):
            engine.prefetch(text, rate_wpm, voice)

    def close(self) -> None:
        self._natural.close()
        with self._lock:
            system = self._system
        if system is not None:
            system.close()

    def _fallen(self) -> bool:
        """Whether the natural voice has failed (and the system voice opened, or failed too)."""
        with self._lock:
            return self._system is not None or self._system_error is not None

    def _system_renderer(self, why: EngineUnavailable | None) -> ClosableRenderer:
        """The system voice, opened (and the notice said) by the first line that needs it;
        AudioUnavailable when it cannot open either."""
        with self._lock:
            if self._system is None and self._system_error is None:
                if why is not None:
                    self._notice(why)
                try:
                    self._system = self._open_system()
                except AudioUnavailable as exc:
                    self._system_error = exc
            if self._system_error is not None:
                raise self._system_error
            assert self._system is not None
            return self._system


def _pass_on(finished: Future[Rendered], outer: Future[Rendered]) -> None:
    """Complete `outer` as `finished` completed, unless `outer` was cancelled meanwhile."""
    with contextlib.suppress(InvalidStateError):
        if finished.cancelled():
            outer.cancel()
        elif finished.exception() is not None:
            outer.set_exception(finished.exception())
        else:
            outer.set_result(finished.result())


def _failed(error: BaseException) -> Future[Rendered]:
    future: Future[Rendered] = Future()
    future.set_exception(error)
    return future


def _no_natural_voice(exc: AudioUnavailable) -> str:
    from assistant.session.dialog import load_dialog

    return load_dialog().line("notice.no_natural_voice", reason=str(exc).rstrip("."))


def _system(voice: str | None, settings: SpeechSettings) -> OpenedRenderer:
    """pyttsx3 (espeak-ng), in its own cache."""
    from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer

    return _cached(OpenedRenderer(Pyttsx3Renderer(), voice, "espeak"), settings)


def _cached(opened: OpenedRenderer, settings: SpeechSettings) -> OpenedRenderer:
    if settings.cache_dir is None:
        return opened
    from assistant.speech.render_cache import CachedRenderer

    cached = CachedRenderer(opened.renderer, opened.engine, settings.cache_dir,
                            settings.cache_max_bytes)
    return OpenedRenderer(cached, opened.voice, opened.engine)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
