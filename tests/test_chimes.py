"""Chimes are soft, click-free, short, and 'pause'/'stop' sound lower than 'step'."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.speech.audio_out import FloatAudio
from assistant.speech.chimes import KINDS, PEAK, chime

RATE = 44100


def dominant_hertz(audio: FloatAudio, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * rate / len(audio))


@pytest.mark.parametrize("kind", KINDS)
def test_soft_short_and_click_free(kind: str) -> None:
    audio = chime(kind, RATE)
    assert audio.dtype == np.float32
    assert 0.2 < len(audio) / RATE < 0.6
    assert np.max(np.abs(audio)) == pytest.approx(PEAK, rel=1e-3)
    assert audio[0] == 0.0 and abs(audio[-1]) < 1e-6, "starts and ends at zero"
    onset = np.abs(audio[: round(0.002 * RATE)])
    assert np.max(onset) < PEAK / 4, "fades in rather than jumping"
    # A click is a step much larger than a sine at the highest partial can make.
    assert np.max(np.abs(np.diff(audio))) < 2 * np.pi * 1800 / RATE * PEAK


def test_pause_and_stop_are_lower_than_step_and_switch() -> None:
    step = dominant_hertz(chime("step", RATE), RATE)
    switch = chime("switch", RATE)
    pause = chime("pause", RATE)
    np.testing.assert_array_equal(pause, chime("stop", RATE))
    assert dominant_hertz(pause, RATE) < 0.7 * step
    assert not np.array_equal(switch[: len(pause)], pause)


def test_any_rate() -> None:
    assert len(chime("step", 16000)) == pytest.approx(len(chime("step", 48000)) / 3, abs=1)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown chime"):
        chime("gong", RATE)
