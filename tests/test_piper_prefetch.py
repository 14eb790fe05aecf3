"""The answers to commands are rendered before they are needed, and never in the way:
with the natural voice a prefetched line is answered at once, a submitted line goes
before every waiting prefetch, and a line silenced mid-render frees the voice after the
sentence being rendered instead of the whole line."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.adapters.piper_tts import PiperRenderer
from assistant.session.dialog import load_dialog
from assistant.settings import SpeechSettings
from assistant.speech.audio_out import Rendered
from assistant.speech.player import Player
from assistant.speech.render_cache import CachedRenderer
from assistant.speech.spoken_voice import SpokenVoice
from tests.harness.speech_samples import require_piper

RATE = 150
ANSWERS = load_dialog().fixed_lines("ack_")
LONG = ("Rest your hands on the foot. Breathe in slowly. Breathe out. Let the shoulders drop. "
        "Feel the warmth of the oil. Now begin at the heel.")


@pytest.fixture
def piper() -> Iterator[PiperRenderer]:
    require_piper()
    renderer = PiperRenderer()
    renderer.render("Hello.", RATE)  # loaded
    yield renderer
    renderer.close()


def wait_until(done: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_answers_are_fixed_lines_of_every_acknowledgement() -> None:
    assert "Okay, lighter." in ANSWERS and "Lighter, then." in ANSWERS
    assert all("{" not in line for line in ANSWERS)
    assert len(ANSWERS) >= 20


def test_a_prefetched_line_is_answered_at_once_and_is_the_same_audio(
    piper: PiperRenderer,
) -> None:
    line = "That's already the lightest pressure. If it still hurts, stop and rest."
    piper.prefetch(line, RATE)
    wait_until(lambda: piper.has_prefetched(line, RATE))
    answered = piper.submit(line, RATE)
    assert answered.done()
    audio = answered.result().audio
    assert len(audio) > 0.5 * 22050 and float(np.abs(audio).max()) > 0.1
    assert not piper.submit(line, RATE + 30).done()  # another pace is another line


def test_a_submitted_line_goes_before_every_waiting_prefetch(piper: PiperRenderer) -> None:
    for line in ANSWERS:
        piper.prefetch(line, RATE)
    submitted = piper.submit("Slide your thumb along the arch.", RATE)
    submitted.result(timeout=60)
    ready = [line for line in ANSWERS if piper.has_prefetched(line, RATE)]
    assert len(ready) <= 1, f"{len(ready)} prefetches went first: {ready}"
    wait_until(lambda: all(piper.has_prefetched(line, RATE) for line in ANSWERS), 120)


class _Counting:
    """Piper's voice, counting the sentences it synthesizes and telling when the first
    of a line is out."""

    def __init__(self, voice: Any) -> None:
        self.voice = voice
        self.sentences = 0
        self.first_out = threading.Event()

    def synthesize(self, text: str, syn_config: Any) -> Iterator[Any]:
        for chunk in self.voice.synthesize(text, syn_config=syn_config):
            self.sentences += 1
            self.first_out.set()
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.voice, name)


def test_a_line_silenced_mid_render_stops_after_its_sentence(piper: PiperRenderer) -> None:
    counting = _Counting(piper._voice)
    piper._voice = counting
    long_line = piper.submit(LONG, RATE)
    assert counting.first_out.wait(30)
    assert long_line.cancel(), "a line being rendered can still be silenced"
    after = piper.submit("Okay, lighter.", RATE)
    assert len(after.result(timeout=60).audio) > 0
    assert counting.sentences <= 3, f"{counting.sentences} sentences: the line went on"
    full = piper.render(LONG, RATE)
    assert full.duration_s > 6  # it has six sentences


class _Prefetcher:
    def __init__(self) -> None:
        self.prefetched: list[tuple[str, int]] = []

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        future: Future[Rendered] = Future()
        future.set_result(Rendered(np.zeros(100, dtype=np.float32), 16000))
        return future

    def prefetch(self, text: str, rate_wpm: int, voice: str | None = None) -> None:
        self.prefetched.append((text, rate_wpm))


def test_the_voice_prefetches_from_its_first_line_and_again_at_a_new_pace() -> None:
    renderer = _Prefetcher()
    voice = SpokenVoice(SpeechSettings(rate_wpm=RATE), renderer, Player(16000))
    voice.prefetch_answers(["Okay, lighter.", "Okay, lighter.", "Next."])
    assert renderer.prefetched == []  # nothing before the first line is asked for
    voice.say("Welcome.")
    assert renderer.prefetched == [("Okay, lighter.", RATE), ("Next.", RATE)]
    voice.say("Rest your hands.")
    assert len(renderer.prefetched) == 2
    voice.set_pace(1.25)  # slower
    voice.say("Slower now.")
    slower = voice.rate_wpm
    assert slower < RATE
    assert renderer.prefetched[2:] == [("Okay, lighter.", slower), ("Next.", slower)]


def test_the_disk_cache_skips_a_stored_line_and_prefetches_the_rest(
    piper: PiperRenderer, tmp_path: Path
) -> None:
    cached = CachedRenderer(piper, "piper:joe", tmp_path, 50_000_000)
    cached.submit("Okay, lighter.", RATE).result(timeout=60)
    cached.prefetch("Okay, lighter.", RATE)
    cached.prefetch("Lighter, then.", RATE)
    wait_until(lambda: piper.has_prefetched("Lighter, then.", RATE))
    assert not piper.has_prefetched("Okay, lighter.", RATE)
    assert cached.submit("Lighter, then.", RATE).done()
    assert cached.path_for("Lighter, then.", RATE, None).exists()
