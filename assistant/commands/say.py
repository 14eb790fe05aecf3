"""`massage-assistant say`: speak a text aloud, or write it to a WAV file (handy for
choosing a voice, and for making test utterances)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from assistant.commands.common import Environment, cannot_write, fail, stderr_line
from assistant.errors import AssistantError
from assistant.session.dialog import load_dialog
from assistant.settings import SpeechSettings
from assistant.speech.audio_out import write_wav
from assistant.speech.renderers import open_renderer
from assistant.speech.spoken_voice import open_spoken_voice

RENDER_TIMEOUT_S = 60.0


def say_text(
    text: str, settings: SpeechSettings, out: Path | None = None,
    notice: Callable[[str], None] | None = None,
) -> None:
    """Speak `text` through the speakers and return when it has been heard, or, with
    `out`, write it as a 16-bit mono WAV file at unity gain (e.g. a test utterance).
    `notice` gets the one line saying the natural voice could not load (default: stderr)."""
    if out is not None:
        opened = open_renderer(settings, notice)
        try:
            future = opened.renderer.submit(text, settings.rate_wpm, opened.voice)
            write_wav(out, future.result(timeout=RENDER_TIMEOUT_S))
        finally:
            opened.renderer.close()
        return
    voice = open_spoken_voice(settings, notice)
    try:
        voice.say(text)
        voice.wait_idle(timeout_s=10.0 + len(text) * 30.0 / max(settings.rate_wpm, 1))
    finally:
        voice.close()


def run(text: str, out: Path | None, voice: str | None, rate: int | None, env: Environment,
        ) -> None:
    try:
        if out is not None and not out.parent.is_dir():  # before the speech is rendered
            code = errno.ENOTDIR if out.parent.exists() else errno.ENOENT
            raise OSError(code, os.strerror(code), str(out.parent))
        if voice:  # a wrong name is the first thing to say, whatever else is missing
            from assistant.speech.voice_choice import check_voice

            check_voice(voice)
        settings = SpeechSettings(voice=voice, cache_dir=env.cache_dir)
        say_text(text, settings if rate is None else replace(settings, rate_wpm=rate), out,
                 stderr_line)
    except AssistantError as exc:
        fail(exc)
    except OSError as exc:
        if out is None:
            raise
        fail(AssistantError(cannot_write(load_dialog(), out, exc)))
