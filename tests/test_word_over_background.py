"""When the classifier may spot a "stop" on its own: the word clearly over any talk in
the background (logic on scripted levels; measured on real streams in the README)."""

from __future__ import annotations

import numpy as np

from assistant.listening.word_loudness import WordOverBackground

RATE = 16000


def noise(seconds: float, dbfs: float, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 32768 * 10 ** (dbfs / 20), round(seconds * RATE))
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def test_in_quiet_any_word_stands_out() -> None:
    loudness = WordOverBackground()
    loudness.feed(noise(9.0, -70.0))
    loudness.feed(noise(0.4, -40.0))
    assert loudness.stands_out(6.0)


def test_over_a_tv_only_a_nearer_voice_stands_out() -> None:
    loudness = WordOverBackground()
    loudness.feed(noise(9.0, -38.0))
    assert not loudness.stands_out(6.0), "the TV's own words"
    loudness.feed(noise(0.4, -36.0, seed=1))
    assert not loudness.stands_out(6.0), "2 dB over it"
    loudness.feed(noise(0.4, -26.0, seed=2))
    assert loudness.stands_out(6.0), "12 dB over it"


def test_the_background_is_judged_before_the_word() -> None:
    """A long loud word does not raise the bar for itself."""
    loudness = WordOverBackground()
    loudness.feed(noise(9.0, -38.0))
    loudness.feed(noise(0.9, -26.0, seed=3))
    assert loudness.stands_out(6.0)
