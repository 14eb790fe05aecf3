"""Soft generated tones that mark steps; no sound files to ship or lose.

Each note is a sine with a quieter octave partial and an exponential decay, shaped by
raised-cosine fades so it starts and ends at zero (no click). 'pause' and 'stop'
share one lower, falling tone so they are never mistaken for "next step".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assistant.speech.audio_out import FloatAudio

PEAK = 0.35
"""Chimes sit well below full scale: a gentle cue, not an alarm."""

_NOTES: dict[str, tuple[tuple[float, float], ...]] = {
    # (frequency in hertz, start in seconds) per note
    "step": ((880.0, 0.0),),
    "switch": ((659.3, 0.0), (880.0, 0.14)),
    "pause": ((523.3, 0.0), (392.0, 0.16)),
}
_NOTES["stop"] = _NOTES["pause"]

KINDS: tuple[str, ...] = tuple(_NOTES)

_NOTE_S = 0.32
_DECAY_S = 0.09
_FADE_IN_S = 0.008
_FADE_OUT_S = 0.04


def chime(kind: str, sample_rate: int) -> FloatAudio:
    """The tone for `kind` ('step', 'switch', 'pause', 'stop') at `sample_rate`."""
    try:
        notes = _NOTES[kind]
    except KeyError:
        raise ValueError(f"unknown chime {kind!r}; expected one of {', '.join(KINDS)}") from None
    length = max(start for _, start in notes) + _NOTE_S
    out = np.zeros(round(length * sample_rate), dtype=np.float64)
    for frequency, start in notes:
        note = _note(frequency, sample_rate)
        at = round(start * sample_rate)
        out[at : at + len(note)] += note
    out *= PEAK / max(float(np.max(np.abs(out))), 1e-9)
    return out.astype(np.float32)


def _note(frequency: float, sample_rate: int) -> npt.NDArray[np.float64]:
    t = np.arange(round(_NOTE_S * sample_rate)) / sample_rate
    tone = np.sin(2 * np.pi * frequency * t) + 0.25 * np.sin(4 * np.pi * frequency * t)
    envelope = np.exp(-t / _DECAY_S)
    shaped: npt.NDArray[np.float64] = tone * envelope * _fades(len(t), sample_rate)
    return shaped


def _fades(n: int, sample_rate: int) -> npt.NDArray[np.float64]:
    """Raised-cosine fade-in and fade-out; first and last samples are exactly zero."""
    shape = np.ones(n)
    fade_in = min(n, round(_FADE_IN_S * sample_rate))
    fade_out = min(n, round(_FADE_OUT_S * sample_rate))
    if fade_in > 1:
        shape[:fade_in] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(fade_in) / (fade_in - 1))
    if fade_out > 1:
        shape[-fade_out:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(fade_out) / (fade_out - 1))
    return shape
