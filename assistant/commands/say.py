"""What `massage-assistant say` and `voices` do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.errors import AudioUnavailable
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


def list_voices() -> list[str]:
    """One aligned row per voice, natural ones first: its name for --voice, what it is,
    and a command that lets you hear it."""
    from assistant.adapters import piper_tts

    dialog = load_dialog()
    rows: list[tuple[str, str]] = []
    for name in piper_tts.VOICES:
        if piper_tts.installed(name):
            rows.append((f"{piper_tts.PREFIX}{name}", dialog.line(
                "voices.natural", language=piper_tts.LANGUAGES.get(name, ""))))
    try:
        from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer

        renderer = Pyttsx3Renderer()
        system = renderer.list_voices()
        renderer.close()
    except AudioUnavailable:
        if not rows:
            raise
        system = []
    for v in system:
        rows.append((f"espeak:{v.id}", dialog.line(
            "voices.system", name=v.name, languages=", ".join(v.languages))))
    name_width = max((len(name) for name, _ in rows), default=0)
    about_width = max((len(about) for _, about in rows), default=0)
    sample = dialog.line("voices.sample_text")
    return [
        f"{name:<{name_width}}  {about:<{about_width}}  "
        + dialog.line("voices.try", voice=name, text=sample)
        for name, about in rows
    ]
