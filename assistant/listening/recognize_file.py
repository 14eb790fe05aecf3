"""Run a recognizer over a WAV file as if it were one long microphone stream.

This is how commands are checked offline (`massage-assistant recognize FILE.wav`)
and how the benchmark feeds recordings: same chunking, same streaming path as
the live microphone, so what works here works live.
"""

from __future__ import annotations

import struct
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.errors import AssistantError
from assistant.listening.hearing import Hearing
from assistant.listening.short_words import ShortWords
from assistant.listening.spotter import CommandSpotter
from assistant.listening.stop_spotter import StopSpotter
from assistant.ports import Heard, Recognizer
from assistant.session.vocabulary import Vocabulary

Samples = npt.NDArray[np.int16]

_RESAMPLE_BLOCK_SECONDS = 30.0
_RESAMPLE_PAD_SECONDS = 0.25
"""Resampling goes block by block (bounded memory); the pad hides block edges."""
RATES_HERTZ = (4000, 768000)
"""Sample rates read: beyond them a header is broken, not a recording (at 1 Hz, a
20 kB file would become 320 million samples at 16 kHz)."""


class AudioFileError(AssistantError):
    """A WAV file cannot be read or converted; the message names the file."""


def _decode_frames(raw: bytes, width: int, path: Path) -> npt.NDArray[np.float64]:
    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64)
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.astype(np.float64) / 256.0
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    raise AudioFileError(f"{path}: {8 * width}-bit samples are not supported (use 16-bit PCM)")


def resample(x: npt.NDArray[np.float64], rate_in: int, rate_out: int) -> npt.NDArray[np.float64]:
    """Band-limited (FFT) resampling, block by block so long files stay small in memory."""
    if rate_in == rate_out or x.size == 0:
        return x
    block = int(_RESAMPLE_BLOCK_SECONDS * rate_in)
    pad = int(_RESAMPLE_PAD_SECONDS * rate_in)
    ratio = rate_out / rate_in
    out: list[npt.NDArray[np.float64]] = []
    for start in range(0, x.size, block):
        lo, hi = max(0, start - pad), min(x.size, start + block + pad)
        seg = x[lo:hi]
        n_out = round(seg.size * ratio)
        if n_out < 1:  # under one output sample: nothing to keep
            continue
        spec = np.fft.rfft(seg)
        keep = n_out // 2 + 1
        if keep <= spec.size:
            spec = spec[:keep]
        else:
            spec = np.concatenate([spec, np.zeros(keep - spec.size, dtype=spec.dtype)])
        y = np.fft.irfft(spec, n=n_out) * (n_out / seg.size)
        first = round((start - lo) * ratio)
        last = first + round(min(block, x.size - start) * ratio)
        out.append(y[first:last])
    return np.concatenate(out) if out else np.zeros(0)


@dataclass(frozen=True)
class WavInfo:
    """What a WAV file holds, so `recognize` can say what it read before what it heard."""

    rate_hertz: int
    channels: int
    sample_bytes: int
    seconds: float

    def converted_for(self, rate_hertz: int) -> bool:
        """Whether the recognizer gets it changed (resampled, mixed down or re-scaled)."""
        return (self.rate_hertz, self.channels, self.sample_bytes) != (rate_hertz, 1, 2)


def wav_info(path: Path) -> WavInfo:
    """The WAV header only (cheap); AudioFileError as read_wav would raise it."""
    with _opened(path) as w:
        return WavInfo(w.getframerate(), w.getnchannels(), w.getsampwidth(),
                       w.getnframes() / w.getframerate())


@contextmanager
def _opened(path: Path) -> Iterator[wave.Wave_read]:
    """The file open for reading, its header checked; AudioFileError naming the file."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, rate = w.getnchannels(), w.getframerate()
            if channels < 1 or not RATES_HERTZ[0] <= rate <= RATES_HERTZ[1]:
                raise AudioFileError(
                    f"{path}: WAV header is broken ({channels} channels, {rate} Hz; "
                    f"rates from {RATES_HERTZ[0]} to {RATES_HERTZ[1]} Hz are read)"
                )
            yield w
    except FileNotFoundError as exc:
        raise AudioFileError(f"{path}: no such file") from exc
    except (wave.Error, EOFError, struct.error, RuntimeError) as exc:
        # RuntimeError: `wave` says so when a chunk claims more than the file holds.
        detail = str(exc) or "chunk sizes do not add up"
        raise AudioFileError(f"{path}: not a PCM WAV file ({detail})") from exc
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


def read_wav(path: Path, rate: int = 16000) -> Samples:
    """A PCM WAV file as mono int16 at `rate`: channels are averaged, other rates resampled."""
    with _opened(path) as w:
        channels, width, rate_in = w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(w.getnframes())
    usable = len(raw) - len(raw) % (width * channels)
    x = _decode_frames(raw[:usable], width, path)
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    x = resample(x, rate_in, rate)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def recognize_file(
    path: Path,
    recognizer: Recognizer,
    vocabulary: Vocabulary,
    chunk_seconds: float = 0.1,
    stop_spotter: StopSpotter | None = None,
    short_words: ShortWords | None = None,
    intents: frozenset[str] | None = None,
) -> list[dict[str, object]]:
    """Every command a session would act on in the file, in order, timed in seconds:
    the recognizer's, and with `stop_spotter` every spotted "stop" its second opinion
    let through (`by` says which). `intents`: listen only for these, as a session does
    in a given state (None: every command, a question waiting)."""
    samples = read_wav(path, recognizer.sample_rate)
    spotter = CommandSpotter(vocabulary, None)
    if intents is None:
        recognizer.set_phrases(vocabulary.all_phrases())
    else:
        recognizer.set_phrases(vocabulary.phrases_for(intents))
        spotter.set_valid(intents)
    hearing = Hearing(recognizer, spotter, vocabulary, stop_spotter, words=short_words)
    chunk = max(1, round(chunk_seconds * recognizer.sample_rate))
    events = []
    for start in range(0, samples.size, chunk):
        events += hearing.feed(samples[start : start + chunk].tobytes(), 0.0)
    events += hearing.flush(0.0)
    return [
        {"intent": e.command.intent, "phrase": e.command.phrase,
         "start": round(e.start_s, 2), "end": round(e.end_s, 2), "by": e.reason}
        for e in events if e.kind == "acted" and e.command is not None
    ]


def commands_from(heard: list[Heard], vocabulary: Vocabulary) -> list[dict[str, object]]:
    """Collapse hypotheses into one command per utterance.

    Partials of an utterance repeat and the final that closes it names the same
    intent again: together they count once, the latest timing winning. A final
    ends the utterance, so the next hypothesis starts a new command. As in a
    session, a partial counts only for the priority commands (stop, pause, pain),
    which act on it; the others wait for the final, which may drop them.
    """
    priority = vocabulary.priority_intents()
    found: list[dict[str, object]] = []
    pending: dict[str, object] | None = None
    for h in heard:
        match = vocabulary.intent_for(h.text)
        if match is not None and (h.final or match[0] in priority):
            intent, phrase = match
            item: dict[str, object] = {
                "intent": intent,
                "phrase": phrase,
                "start": round(h.start_s, 2),
                "end": round(h.end_s, 2),
            }
            if pending is not None and pending["intent"] == intent:
                pending.update(item)
            else:
                found.append(item)
                pending = item
        if h.final:
            pending = None
    return found
