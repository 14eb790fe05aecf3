"""Chimes: 'step' is one note, 'switch' rises, 'pause'/'stop' fall; all short, soft and
click-free."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.speech.audio_out import FloatAudio
from assistant.speech.chimes import KINDS, PEAK, chime

RATE = 44100
FIRST_S = 0.12
"""The opening part: the first note alone (a second note starts at 0.14 s or later)."""
LAST_S = 0.15
"""The closing part: the last note alone (the first has ended by then)."""


def dominant_hertz(audio: FloatAudio, rate: int) -> float:
    """The strongest frequency, zero-padded to about 1.3 Hz resolution."""
    size = 1 << 15
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), size))
    return float(np.argmax(spectrum) * rate / size)


def first_and_last_pitch(audio: FloatAudio) -> tuple[float, float]:
    return (
        dominant_hertz(audio[: round(FIRST_S * RATE)], RATE),
        dominant_hertz(audio[-round(LAST_S * RATE) :], RATE),
    )


def onsets(audio: FloatAudio, frame_s: float = 0.01) -> int:
    """How many notes start: runs of 10 ms frames whose level jumps by a quarter or more."""
    n = round(frame_s * RATE)
    level = np.array(
        [np.sqrt(np.mean(audio[i : i + n] ** 2)) for i in range(0, len(audio) - n + 1, n)]
    )
    rising = (level[1:] > 1.25 * level[:-1]) & (level[1:] > 0.05 * level.max())
    starts = np.flatnonzero(rising & ~np.concatenate([[False], rising[:-1]]))
    return len(starts)


@pytest.mark.parametrize("kind", KINDS)
def test_short_soft_and_click_free(kind: str) -> None:
    audio = chime(kind, RATE)
    assert audio.dtype == np.float32
    assert 0.2 < len(audio) / RATE < 0.6, "short"
    peak = float(np.max(np.abs(audio)))
    assert peak == pytest.approx(PEAK, rel=1e-3)
    assert peak <= 0.5, "soft: well below full scale"
    assert audio[0] == 0.0 and abs(audio[-1]) < 1e-6, "starts and ends at zero"
    assert np.max(np.abs(audio[: round(0.001 * RATE)])) < 0.05 * peak, "fades in"
    assert np.max(np.abs(audio[-round(0.005 * RATE) :])) < 0.01 * peak, "fades out"
    # A click is a step much larger than a sine at the highest partial can make.
    assert np.max(np.abs(np.diff(audio))) < 2 * np.pi * 1800 / RATE * PEAK


def test_step_is_one_steady_note() -> None:
    audio = chime("step", RATE)
    assert onsets(audio) == 1
    first, last = first_and_last_pitch(audio)
    assert last == pytest.approx(first, rel=0.01)


def test_switch_rises() -> None:
    audio = chime("switch", RATE)
    assert onsets(audio) == 2
    first, last = first_and_last_pitch(audio)
    assert last > 1.2 * first


@pytest.mark.parametrize("kind", ["pause", "stop"])
def test_pause_and_stop_fall_and_sound_lower_than_step(kind: str) -> None:
    audio = chime(kind, RATE)
    assert onsets(audio) == 2
    first, last = first_and_last_pitch(audio)
    assert last < first / 1.2
    step, _ = first_and_last_pitch(chime("step", RATE))
    assert first < 0.7 * step, "never mistaken for the next step"


def test_any_rate() -> None:
    assert len(chime("step", 16000)) == pytest.approx(len(chime("step", 48000)) / 3, abs=1)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown chime"):
        chime("gong", RATE)
