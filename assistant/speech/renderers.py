"""Which engine speaks: the one place that picks a renderer for a voice name.

No voice chosen: the natural Piper voice when its packages load, else the system voice
through pyttsx3 with one notice (the session carries on). `piper:NAME` asks for Piper
(falling back the same way when it cannot load); `espeak:ID` or a bare id, name or
language asks for a system voice. Either renderer is wrapped in the disk cache when
the settings give it a folder. Engines are imported only when called.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from assistant.errors import AudioUnavailable
from assistant.settings import SpeechSettings
from assistant.speech.audio_out import ClosableRenderer
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
    opened: OpenedRenderer | None = None
    if wanted is None or wanted.engine == PIPER:
        if wanted is not None and not piper_tts.is_known(wanted.name):
            raise UnknownVoice(voice or "")
        try:
            piper = piper_tts.PiperRenderer(wanted.name if wanted else None)
            opened = OpenedRenderer(piper, None, piper.spec)
        except AudioUnavailable as exc:
            from assistant.dialog import load_dialog

            line = load_dialog().line("notice.no_natural_voice", reason=str(exc).rstrip("."))
            (notice or _to_stderr)(line)
            voice = None
    if opened is None:
        from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer

        opened = OpenedRenderer(Pyttsx3Renderer(), voice, "espeak")
    return _cached(opened, settings)


def _cached(opened: OpenedRenderer, settings: SpeechSettings) -> OpenedRenderer:
    if settings.cache_dir is None:
        return opened
    from assistant.speech.render_cache import CachedRenderer

    cached = CachedRenderer(opened.renderer, opened.engine, settings.cache_dir,
                            settings.cache_max_bytes)
    return OpenedRenderer(cached, opened.voice, opened.engine)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
