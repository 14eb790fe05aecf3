"""Run the echo canceller again on a capture of its inputs (see `echo_capture`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.listening.echo_canceller import EchoCanceller, EchoReference
from assistant.listening.echo_capture import MicrophoneBlock, SpeakerBlock, read_capture


@dataclass
class Replay:
    canceller: EchoCanceller
    cleaned: list[bytes] = field(default_factory=list)
    """What the recognizer heard, block by block."""
    onsets: list[float] = field(default_factory=list)
    """Seconds into the microphone stream where the user was noticed over the assistant's
    sound: where the listener holds the line (unless a chime plays, or a hold is on)."""
    relearns: int = 0


def replay(path: Path, watch: Callable[[EchoCanceller, float], None] | None = None) -> Replay:
    """The canceller's decisions on the captured session; `watch` sees the canceller after
    each microphone block, with the seconds heard so far. With unchanged code they are
    the session's own; with changed code the re-measurements still come when the session
    asked for them."""
    header, records = read_capture(path)
    reference = EchoReference(header.rate)
    canceller = EchoCanceller(reference, tail_seconds=header.tail_seconds, frame=header.frame)
    result = Replay(canceller)
    seconds, noticed = 0.0, False
    for record in records:
        if isinstance(record, SpeakerBlock):
            reference.write(record.samples, record.dac_time, record.rate)
        elif isinstance(record, MicrophoneBlock):
            reference.underflows = record.underflows
            result.cleaned.append(canceller.process(record.pcm, record.at))
            seconds += len(record.pcm) / 2 / header.rate
            now = canceller.user_speaking and canceller.assistant_audible
            if now and not noticed:
                result.onsets.append(round(seconds, 2))
            noticed = now
            if watch is not None:
                watch(canceller, seconds)
        else:
            canceller.relearn()
            result.relearns += 1
    return result
