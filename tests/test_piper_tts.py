"""Real Piper rendering (the natural voice): plausible, paced, pausing, ordered."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from concurrent.futures import wait

import numpy as np
import pytest

from assistant.adapters import piper_tts
from assistant.adapters.piper_tts import PiperRenderer
from assistant.speech.audio_out import Rendered
from assistant.speech.voice_names import UnknownVoice
from tests.harness.speech_samples import require_piper

LINE = "Slide both thumbs slowly along the arch of the foot, from the heel toward the toes."


@pytest.fixture(scope="module")
def renderer() -> Iterator[PiperRenderer]:
    require_piper()
    engine = PiperRenderer()
    yield engine
    engine.close()


def test_speech_has_a_plausible_duration_and_is_not_silent(renderer: PiperRenderer) -> None:
    line = renderer.render(LINE, 150)
    expected_s = len(LINE.split()) / 150 * 60
    assert 0.6 * expected_s < line.duration_s < 1.6 * expected_s, line.duration_s
    rms = float(np.sqrt(np.mean(line.audio**2)))
    assert rms > 0.02 and np.max(np.abs(line.audio)) <= piper_tts.PEAK + 1e-6
    assert line.audio[0] == 0.0 and line.audio[-1] == 0.0, "trimmed with faded edges"


def test_rate_sets_the_length_scale(renderer: PiperRenderer) -> None:
    """Piper draws each phoneme's length at random, so one render of the line varies by
    about 5%: the median of three is compared. Pauses do not scale: 188 wpm (0.8 times
    the length scale of 150) makes the line about 0.87 as long, 120 wpm about 1.23."""
    normal, slow, fast = (median_duration_s(renderer, rate) for rate in (150, 120, 188))
    assert slow > 1.12 * normal
    assert fast < 0.93 * normal
    assert piper_tts.length_scale(piper_tts.NATURAL_RATE_WPM) == pytest.approx(1.0)


def test_sentences_are_separated_by_a_pause(renderer: PiperRenderer) -> None:
    """The same words as one sentence and as two: only the second has a gap of at
    least SENTENCE_PAUSE_S of pure silence."""
    joined = renderer.render("Breathe in slowly and breathe out", 150)
    split = renderer.render("Breathe in slowly. Breathe out.", 150)
    assert longest_silence_s(split) >= piper_tts.SENTENCE_PAUSE_S - 0.01
    assert longest_silence_s(joined) < 0.2


def median_duration_s(renderer: PiperRenderer, rate_wpm: int) -> float:
    return float(np.median([renderer.render(LINE, rate_wpm).duration_s for _ in range(3)]))


def longest_silence_s(line: Rendered) -> float:
    longest = run = 0
    for quiet in np.abs(line.audio) < 1e-4:
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    return longest / line.sample_rate


def test_many_lines_complete_in_order(renderer: PiperRenderer) -> None:
    finished: list[int] = []
    futures = [renderer.submit(f"Step {i}.", 150) for i in range(6)]
    for i, future in enumerate(futures):
        future.add_done_callback(functools.partial(lambda n, _: finished.append(n), i))
    _, pending = wait(futures, timeout=60)
    assert not pending and finished == sorted(finished)
    assert all(f.result().duration_s > 0.3 for f in futures)


def test_only_its_own_voice_and_only_known_voices(renderer: PiperRenderer) -> None:
    assert renderer.render("Hello.", 150, "piper:joe").duration_s > 0.2
    with pytest.raises(ValueError):
        renderer.submit("Hello.", 150, "espeak:en-us")
    with pytest.raises(UnknownVoice, match="massage-assistant voices"):
        PiperRenderer("piper:nobody")
