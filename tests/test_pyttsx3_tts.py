"""Real pyttsx3/espeak-ng rendering: plausible, non-silent, rate-aware, and reliable."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from concurrent.futures import wait
from pathlib import Path

import numpy as np
import pytest

from assistant.adapters import pyttsx3_tts
from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer
from assistant.commands.say import say_text
from assistant.commands.voices import list_voices
from assistant.errors import AssistantError, AudioUnavailable
from assistant.settings import SpeechSettings

LINE = "Slide both thumbs slowly along the arch of the foot, from the heel toward the toes."


@pytest.fixture(scope="module")
def renderer() -> Iterator[Pyttsx3Renderer]:
    engine = Pyttsx3Renderer()
    yield engine
    engine.close()


def test_speech_has_a_plausible_duration_and_is_not_silent(renderer: Pyttsx3Renderer) -> None:
    started = time.perf_counter()
    line = renderer.render(LINE, 150)
    took = time.perf_counter() - started
    words = len(LINE.split())
    expected_s = words / 150 * 60
    assert 0.6 * expected_s < line.duration_s < 1.8 * expected_s
    rms = float(np.sqrt(np.mean(line.audio**2)))
    assert rms > 0.02 and np.max(np.abs(line.audio)) <= 1.0
    print(f"\nrender {took * 1000:.1f} ms for {line.duration_s:.2f} s of speech "
          f"(real-time factor {took / line.duration_s:.4f})")


def test_silence_around_speech_is_trimmed(renderer: Pyttsx3Renderer) -> None:
    """A short margin stays (10 ms before, 30 ms after the first and last sound above
    1 % of the peak); espeak's own pauses around the word are gone."""
    line = renderer.render("Stop.", 150)
    loud = np.flatnonzero(np.abs(line.audio) > 0.01 * np.max(np.abs(line.audio)))
    assert loud[0] / line.sample_rate < 0.015
    assert (len(line.audio) - loud[-1]) / line.sample_rate < 0.035
    assert line.audio[0] == 0.0 and line.audio[-1] == 0.0


def test_a_slower_rate_makes_longer_speech(renderer: Pyttsx3Renderer) -> None:
    normal = renderer.render(LINE, 150).duration_s
    slow = renderer.render(LINE, 120).duration_s
    fast = renderer.render(LINE, 188).duration_s
    assert slow > 1.15 * normal
    assert fast < 0.9 * normal


def test_many_renders_in_a_row_neither_hang_nor_go_silent(renderer: Pyttsx3Renderer) -> None:
    futures = [renderer.submit(f"Step {i}. Press gently.", 140 + i % 3 * 10) for i in range(40)]
    _, pending = wait(futures, timeout=60)
    assert not pending
    durations = [f.result().duration_s for f in futures]
    assert min(durations) > 0.5
    assert all(np.max(np.abs(f.result().audio)) > 0.1 for f in futures)


def test_renderers_share_one_engine_safely() -> None:
    """Two renderers alive at once (the CLI's voice list while a voice speaks)."""
    first, second = Pyttsx3Renderer(), Pyttsx3Renderer()
    lines = [r.submit(f"Line {i}.", 150) for i in range(10) for r in (first, second)]
    _, pending = wait(lines, timeout=60)
    assert not pending and all(f.result().duration_s > 0.3 for f in lines)


def test_voices_can_be_listed_and_chosen(renderer: Pyttsx3Renderer) -> None:
    voices = renderer.list_voices()
    assert voices and any(v.id and v.name for v in voices)
    english = renderer.resolve_voice("en-us")
    assert english == renderer.resolve_voice(english.upper())
    assert renderer.render("Hello.", 150, "en-us").duration_s > 0.2
    with pytest.raises(AssistantError, match="unknown voice"):
        renderer.resolve_voice("klingon-x-nonexistent")


def test_voice_rows_for_the_cli() -> None:
    rows = list_voices()
    assert len(rows) > 5
    assert any("en-us" in row for row in rows)


def test_say_writes_a_wav_file(tmp_path: Path) -> None:
    out = tmp_path / "stop.wav"
    say_text("Stop.", SpeechSettings(), out)
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        assert 0.2 < wav.getnframes() / wav.getframerate() < 1.5


def test_a_missing_engine_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyttsx3

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("could not initialize espeak")

    monkeypatch.setattr(pyttsx3, "init", broken)
    monkeypatch.setattr(pyttsx3_tts, "_shared", None)  # as in a fresh process
    with pytest.raises(AudioUnavailable) as caught:
        Pyttsx3Renderer()
    message = str(caught.value)
    assert "sudo apt-get install espeak-ng" in message and "\n" not in message
    assert pyttsx3_tts.INSTALL_HINT in message
