"""What the speech side needs from an audio output, so it never imports an audio library.

The sounddevice adapter implements these; tests use a fake stream that pulls blocks
by hand, so the player's bookkeeping is checked without a sound card.
"""

from __future__ import annotations

import wave
from concurrent.futures import Future
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatAudio = npt.NDArray[np.float32]
"""Mono samples in -1..1."""

_TRIM_THRESHOLD = 0.01
"""Relative to the clip's peak: below this a frame counts as silence."""
_LEAD_S = 0.01
_TAIL_S = 0.03
_EDGE_FADE_S = 0.003


@dataclass(frozen=True)
class Rendered:
    """A line of speech as audio, at the rate the engine produced it."""

    audio: FloatAudio
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate



class Renderer(Protocol):
    """A speech engine: lines rendered in the background, in the order submitted."""

    def submit(self, text: str, rate_wpm: int, voice: str | None = None) -> Future[Rendered]:
        """Render in the background; results complete in the order submitted."""


@runtime_checkable
class Prefetching(Protocol):
    """An engine slow enough that the lines answering a command are worth rendering
    before they are asked for (Piper: 0.1-0.4 s a line, where espeak-ng takes tens of ms)."""

    def prefetch(self, text: str, rate_wpm: int, voice: str | None = None) -> None:
        """Render when nothing else is waiting, so a later `submit` of the same line is
        answered at once; never delays a submitted line by more than a sentence."""


class ClosableRenderer(Renderer, Protocol):
    def close(self) -> None:
        """Release the engine: what is queued is dropped, the line being rendered ends."""


def write_wav(path: Path, rendered: Rendered) -> None:
    """A 16-bit mono WAV file at unity gain (say --out, the render cache)."""
    pcm = np.clip(np.round(rendered.audio * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rendered.sample_rate)
        wav.writeframes(pcm.tobytes())


class FrameSource(Protocol):
    """Fills output blocks from the audio callback."""

    def fill(self, out: FloatAudio, dac_time: float) -> None:
        """Write len(out) frames into `out`; must never block.

        `dac_time` is the time.monotonic() at which the first frame will be heard
        (the callback time plus the output latency the stream reports).
        """

    def underflowed(self) -> None:
        """The stream ran dry before the next block: it will be heard later than counted."""


class OutputStream(Protocol):
    """A running output stream that pulls from one FrameSource."""

    @property
    def sample_rate(self) -> int: ...

    def close(self) -> None:
        """Stop pulling and release the device."""


def resample(audio: FloatAudio, from_rate: int, to_rate: int) -> FloatAudio:
    """Band-limited resampling through the spectrum (whole clips, a few ms per line).

    The clip is zero-padded to a length whose FFTs are fast (an awkward length can
    take 100 ms) and that maps to a whole number of output samples at the new rate.
    """
    if from_rate == to_rate or len(audio) == 0:
        return audio.astype(np.float32, copy=False)
    common = gcd(from_rate, to_rate)
    up, down = to_rate // common, from_rate // common
    blocks = _next_smooth(-(-len(audio) // down))
    n_in, n_out = blocks * down, blocks * up
    spectrum = np.fft.rfft(audio.astype(np.float64), n=n_in)
    resized = np.zeros(n_out // 2 + 1, dtype=np.complex128)
    keep = min(len(spectrum), len(resized))
    resized[:keep] = spectrum[:keep]
    out = np.fft.irfft(resized, n=n_out) * (n_out / n_in)
    return out[: round(len(audio) * up / down)].astype(np.float32)


def _next_smooth(n: int) -> int:
    """The smallest 2^a * 3^b * 5^c that is at least n."""
    best = 1 << max(0, (n - 1).bit_length())
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            candidate = power35
            while candidate < n:
                candidate *= 2
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best


def trim(audio: FloatAudio, sample_rate: int) -> FloatAudio:
    """Cut leading and trailing silence, keeping a short margin, so replies start fast.

    The edges get a 3 ms fade so the cut never lands mid-waveform.
    """
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak == 0.0:
        return audio[:0]
    loud = np.flatnonzero(np.abs(audio) > _TRIM_THRESHOLD * peak)
    start = max(0, int(loud[0]) - round(_LEAD_S * sample_rate))
    end = min(len(audio), int(loud[-1]) + 1 + round(_TAIL_S * sample_rate))
    out = audio[start:end].copy()
    fade = min(len(out) // 2, round(_EDGE_FADE_S * sample_rate))
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return out
