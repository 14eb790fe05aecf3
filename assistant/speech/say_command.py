"""What `massage-assistant say` and `voices` do."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer
from assistant.settings import SpeechSettings
from assistant.speech.audio_out import Rendered
from assistant.speech.spoken_voice import open_spoken_voice


def say_text(text: str, settings: SpeechSettings, out: Path | None = None) -> None:
    """Speak `text` through the speakers and return when it has been heard, or, with
    `out`, write it as a 16-bit mono WAV file at unity gain (e.g. a test utterance)."""
    if out is not None:
        renderer = Pyttsx3Renderer()
        try:
            write_wav(out, renderer.render(text, settings.rate_wpm, settings.voice))
        finally:
            renderer.close()
        return
    voice = open_spoken_voice(settings)
    try:
        voice.say(text)
        voice.wait_idle(timeout_s=10.0 + len(text) * 30.0 / max(settings.rate_wpm, 1))
    finally:
        voice.close()


def write_wav(path: Path, rendered: Rendered) -> None:
    pcm = np.clip(np.round(rendered.audio * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rendered.sample_rate)
        wav.writeframes(pcm.tobytes())


def list_voices() -> list[str]:
    """One aligned row per installed voice: id, name, languages."""
    renderer = Pyttsx3Renderer()
    try:
        voices = renderer.list_voices()
    finally:
        renderer.close()
    id_width = max((len(v.id) for v in voices), default=0)
    name_width = max((len(v.name) for v in voices), default=0)
    return [
        f"{v.id:<{id_width}}  {v.name:<{name_width}}  {', '.join(v.languages)}".rstrip()
        for v in voices
    ]
