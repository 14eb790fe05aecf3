"""The natural voice's model loads in the background: a cached first line does not wait
for it, a load that fails hands every line to the system voice with one notice (and
never stores the system voice under Piper's cache key), and closing during a load is
safe."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.adapters import piper_tts
from assistant.adapters.piper_tts import PiperRenderer
from assistant.errors import AudioUnavailable, EngineUnavailable
from assistant.session.dialog import load_dialog
from assistant.settings import SpeechSettings
from assistant.speech.audio_out import Rendered, write_wav
from assistant.speech.render_cache import CachedRenderer
from assistant.speech.renderers import open_renderer
from tests.harness.speech_samples import require_piper

LINE = "Welcome. Rest your hands on the foot for a moment."


@pytest.fixture
def held_load(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Piper's model load blocks until the event is set (a slow, busy machine)."""
    require_piper()
    release = threading.Event()
    real_load = piper_tts._load

    def slow_load(name: str) -> Any:
        release.wait(timeout=30)
        return real_load(name)

    monkeypatch.setattr(piper_tts, "_load", slow_load)
    yield release
    release.set()


def piper_cache_path(folder: Path, text: str) -> Path:
    return CachedRenderer(None, "piper:joe", folder, 50_000_000).path_for(  # type: ignore[arg-type]
        text, 150, None)


def test_a_cached_first_line_does_not_wait_for_the_model(
    held_load: threading.Event, tmp_path: Path
) -> None:
    stored = Rendered((np.sin(np.arange(22050) / 10) * 0.5).astype(np.float32), 22050)
    write_wav(piper_cache_path(tmp_path, LINE), stored)
    started = time.monotonic()
    opened = open_renderer(SpeechSettings(cache_dir=tmp_path), notice=pytest.fail)
    try:
        line = opened.renderer.submit(LINE, 150, opened.voice).result(timeout=5)
        assert time.monotonic() - started < 0.5
        assert not held_load.is_set(), "the model was still loading"
        assert len(line.audio) == len(stored.audio)
        held_load.set()
        fresh = opened.renderer.submit("Breathe out.", 150, opened.voice).result(timeout=60)
        assert fresh.duration_s > 0.3
    finally:
        held_load.set()
        opened.renderer.close()


def test_a_load_that_fails_falls_back_once_and_keeps_the_caches_apart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    require_piper()

    def broken(name: str) -> Any:
        time.sleep(0.2)  # the lines below are asked for before it fails
        raise AudioUnavailable("piper:joe: the model is damaged (test)")

    monkeypatch.setattr(piper_tts, "_load", broken)
    notices: list[str] = []
    opened = open_renderer(SpeechSettings(cache_dir=tmp_path), notice=notices.append)
    try:
        lines = [LINE, "Breathe out.", "Slide your thumbs along the arch."]
        futures = [opened.renderer.submit(text, 150, opened.voice) for text in lines]
        rendered = [future.result(timeout=60) for future in futures]
        later = opened.renderer.submit("Well done.", 150, opened.voice).result(timeout=60)
    finally:
        opened.renderer.close()
    assert all(r.duration_s > 0.3 for r in [*rendered, later]), "spoken all the same"
    notice = load_dialog().line("notice.no_natural_voice",
                                reason="piper:joe: the model is damaged (test)")
    assert notices == [notice]
    system = CachedRenderer(None, "espeak", tmp_path, 50_000_000)  # type: ignore[arg-type]
    for text in [*lines, "Well done."]:
        assert not piper_cache_path(tmp_path, text).exists(), "espeak under Piper's key"
        assert system.path_for(text, 150, None).exists()


def test_every_line_fails_with_engine_unavailable_when_the_load_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_piper()

    def broken(name: str) -> Any:
        raise AudioUnavailable("piper:joe: broken (test)")

    monkeypatch.setattr(piper_tts, "_load", broken)
    renderer = PiperRenderer()
    try:
        for text in ("One.", "Two."):
            with pytest.raises(EngineUnavailable, match="broken"):
                renderer.submit(text, 150).result(timeout=10)
    finally:
        renderer.close()


def test_closing_while_the_model_loads_waits_for_the_load(
    held_load: threading.Event,
) -> None:
    """An onnxruntime call still running when the interpreter exits aborts the process."""
    renderer = PiperRenderer()
    queued = renderer.submit(LINE, 150)
    threading.Timer(0.3, held_load.set).start()
    started = time.monotonic()
    renderer.close()
    assert time.monotonic() - started >= 0.2, "close waited for the load in progress"
    assert not renderer._thread.is_alive()
    assert queued.cancelled()
