"""The disk cache of rendered lines, around the real engines: a line rendered once is
never rendered again (in this launch or the next), a damaged file is rendered afresh,
the folder stays within its bound, and lines still come out in the order asked for."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from assistant.speech.audio_out import ClosableRenderer, Rendered
from assistant.speech.render_cache import CachedRenderer
from tests.harness.speech_samples import require_piper

LINE = "Small thumb circles on your sole, from the heel up to the base of each toe."


class Counting:
    """The real renderer, counting the lines it was asked to render."""

    def __init__(self, inner: ClosableRenderer) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        self.calls.append(text)
        return self.inner.submit(text, rate_wpm, voice)

    def close(self) -> None:
        """The engine outlives each wrapper: it is the module's fixture."""


@pytest.fixture(scope="module")
def piper() -> Iterator[ClosableRenderer]:
    require_piper()
    from assistant.adapters.piper_tts import PiperRenderer

    engine = PiperRenderer()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def espeak() -> ClosableRenderer:
    from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer

    return Pyttsx3Renderer()


def launch(engine: ClosableRenderer, folder: Path, max_bytes: int = 50_000_000,
           ) -> tuple[CachedRenderer, Counting]:
    """A cache as one launch of the program opens it."""
    counting = Counting(engine)
    return CachedRenderer(counting, "test", folder, max_bytes), counting


@pytest.mark.parametrize("engine_name", ["piper", "espeak"])
def test_a_line_is_rendered_once_across_launches(
    engine_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    engine: ClosableRenderer = request.getfixturevalue(engine_name)
    first, counted = launch(engine, tmp_path)
    rendered = first.submit(LINE, 150).result(timeout=60)
    again = first.submit(LINE, 150).result(timeout=60)
    assert counted.calls == [LINE]
    second, counted_next = launch(engine, tmp_path)
    from_disk = second.submit(LINE, 150).result(timeout=60)
    assert counted_next.calls == [], "the next launch does not render it again"
    assert from_disk.sample_rate == rendered.sample_rate
    assert len(from_disk.audio) == len(rendered.audio) == len(again.audio)
    assert np.max(np.abs(from_disk.audio - rendered.audio)) < 1e-4, "16-bit copy"
    second.submit(LINE, 120).result(timeout=60)
    second.submit(LINE + " Again.", 150).result(timeout=60)
    assert len(counted_next.calls) == 2, "another rate or text is another line"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "header only"])
def test_a_damaged_file_is_rendered_afresh_and_replaced(
    damage: str, espeak: ClosableRenderer, tmp_path: Path
) -> None:
    cache, counted = launch(espeak, tmp_path)
    good = cache.submit(LINE, 150).result(timeout=60)
    path = cache.path_for(LINE, 150, None)
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"not a wav" * 100,
                      "empty": b"", "header only": data[:44]}[damage])
    again, counted_again = launch(espeak, tmp_path)
    rendered = again.submit(LINE, 150).result(timeout=60)
    assert counted_again.calls == [LINE]
    assert abs(rendered.duration_s - good.duration_s) < 0.2
    third, counted_third = launch(espeak, tmp_path)
    assert third.submit(LINE, 150).result(timeout=60).duration_s == rendered.duration_s
    assert counted_third.calls == [], "the replacement is whole"
    assert counted.calls == [LINE]


def test_the_folder_keeps_within_its_bound(espeak: ClosableRenderer, tmp_path: Path) -> None:
    cache, _ = launch(espeak, tmp_path, max_bytes=300_000)
    for n in range(12):
        cache.submit(f"Line number {n}. Press gently along the arch.", 150).result(timeout=60)
        time.sleep(0.01)  # distinct modification times
    total = sum(p.stat().st_size for p in tmp_path.glob("*.wav"))
    assert 0 < total <= 300_000
    newest = cache.path_for("Line number 11. Press gently along the arch.", 150, None)
    oldest = cache.path_for("Line number 0. Press gently along the arch.", 150, None)
    assert newest.exists() and not oldest.exists(), "the least recently used go first"


def test_lines_from_disk_wait_for_the_lines_asked_for_before(
    piper: ClosableRenderer, tmp_path: Path
) -> None:
    cache, _ = launch(piper, tmp_path)
    cache.submit("Breathe out.", 150).result(timeout=60)
    slow = cache.submit(LINE + " Then rest your hands for a moment.", 150)
    quick = cache.submit("Breathe out.", 150)
    assert not quick.done(), "found on disk, but held back"
    slow_done_first: list[bool] = []
    quick.add_done_callback(lambda _: slow_done_first.append(slow.done()))
    quick.result(timeout=60)
    assert slow_done_first == [True]


def test_an_unwritable_folder_only_turns_the_cache_off(
    espeak: ClosableRenderer, tmp_path: Path
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    cache, counted = launch(espeak, blocked / "cache")
    assert cache.submit(LINE, 150).result(timeout=60).duration_s > 1
    assert cache.submit(LINE, 150).result(timeout=60).duration_s > 1
    assert counted.calls == [LINE, LINE]
