"""Every input of the echo canceller, kept so a session's barge-in can be replayed offline.

Why: whether the assistant held its line for nothing, or missed the user's "stop" over
it, depends on exactly which speaker blocks the canceller had folded in at each
microphone block, and on when the listener made it re-measure the echo. The WAV files
of `--save-audio` lose that timing. This file keeps it: replayed through a fresh
canceller (`scripts/replay_echo.py`), the same code makes the same decisions frame for
frame, and a change can be judged on the very moment that went wrong.

The file is a header and then records, each a kind byte and its fields (little-endian):
- `S` a speaker block as the canceller folded it in: DAC time (f64), rate (u32),
  samples (u32), then float32 samples;
- `M` a microphone block: its time (f64), the output underruns counted so far (u32),
  bytes (u32), then 16-bit PCM;
- `L` the listener asked the canceller to re-measure the echo (a hold for nothing).
A file cut short (the program was killed) replays up to its last whole record.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from assistant.errors import AssistantError

_MAGIC = b"ECHOIN1\n"
_HEADER = struct.Struct("<Idi")
"""Microphone rate, filter tail seconds, frame samples."""
_BLOCK = struct.Struct("<dII")
"""A block's time, a count (the speaker's rate, or the underruns so far), its length."""


@dataclass(frozen=True)
class CaptureHeader:
    rate: int
    tail_seconds: float
    frame: int


@dataclass(frozen=True)
class SpeakerBlock:
    samples: npt.NDArray[np.float32]
    dac_time: float
    rate: int


@dataclass(frozen=True)
class MicrophoneBlock:
    pcm: bytes
    at: float
    underflows: int


@dataclass(frozen=True)
class Relearn:
    pass


Record = SpeakerBlock | MicrophoneBlock | Relearn


class EchoCaptureWriter:
    """Appends records on the listener thread; `close` once the listener has stopped."""

    def __init__(self, path: Path, header: CaptureHeader) -> None:
        try:
            self._file: BinaryIO | None = path.open("wb")
        except OSError as exc:
            raise AssistantError(f"cannot save the echo canceller's input in {path}: {exc}") \
                from exc
        self._file.write(_MAGIC + _HEADER.pack(header.rate, header.tail_seconds, header.frame))

    def speaker(self, samples: npt.NDArray[np.float32], dac_time: float, rate: int) -> None:
        if self._file is not None:
            data = np.ascontiguousarray(samples, dtype="<f4").tobytes()
            self._file.write(b"S" + _BLOCK.pack(dac_time, rate, len(samples)) + data)

    def microphone(self, pcm: bytes, at: float, underflows: int) -> None:
        """Flushed at once (20 times a second): the program may end without closing it."""
        if self._file is not None:
            self._file.write(b"M" + _BLOCK.pack(at, underflows, len(pcm)) + pcm)
            self._file.flush()

    def relearn(self) -> None:
        if self._file is not None:
            self._file.write(b"L")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_capture(path: Path) -> tuple[CaptureHeader, Iterator[Record]]:
    """The header, and the records in order; raises AssistantError naming the file when it
    is not a capture, or (while reading) holds a record of no known kind."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AssistantError(f"cannot read {path}: {exc}") from exc
    start = len(_MAGIC) + _HEADER.size
    if not data.startswith(_MAGIC) or len(data) < start:
        raise AssistantError(f"{path} is not an echo canceller capture (saved by --save-audio)")
    rate, tail, frame = _HEADER.unpack_from(data, len(_MAGIC))
    return CaptureHeader(rate, tail, frame), _records(path, data, start)


def _records(path: Path, data: bytes, pos: int) -> Iterator[Record]:
    view = memoryview(data)
    while pos < len(data):
        kind, pos = data[pos : pos + 1], pos + 1
        if kind == b"L":
            yield Relearn()
            continue
        if kind not in (b"S", b"M"):
            raise AssistantError(f"{path}: no record of kind {kind!r} at byte {pos - 1}")
        if pos + _BLOCK.size > len(data):
            return  # cut short
        a, b, n = _BLOCK.unpack_from(data, pos)
        pos += _BLOCK.size
        size = 4 * n if kind == b"S" else n
        if pos + size > len(data):
            return  # cut short
        body = view[pos : pos + size]
        pos += size
        if kind == b"S":
            yield SpeakerBlock(np.frombuffer(body, dtype="<f4").astype(np.float32), a, b)
        else:
            yield MicrophoneBlock(bytes(body), a, b)
