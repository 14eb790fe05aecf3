"""The small interfaces the domain talks to, so engines can be swapped and faked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    """Session time in seconds; injected so tests can run a routine in a second."""

    def now(self) -> float: ...


@dataclass(frozen=True)
class Heard:
    """One recognizer hypothesis, timed in seconds from the start of the audio stream."""

    text: str
    final: bool
    start_s: float
    end_s: float
    confidence: float | None = None
    words: tuple[str, ...] | None = None
    """Set only on an utterance report (text "", final), which follows the utterance's
    commands once it closes: every word decoded in it, commands as their phrases. The
    stop spotter's second opinion reads it; nothing else acts on it."""

    @property
    def is_utterance(self) -> bool:
        return self.words is not None


class Recognizer(Protocol):
    """A streaming speech recognizer fed 16-bit little-endian mono PCM."""

    @property
    def name(self) -> str: ...

    @property
    def sample_rate(self) -> int: ...

    def set_phrases(self, phrases: Sequence[str]) -> None:
        """Limit what can be heard to these phrases (plus rejection of anything else)."""

    def accept(self, pcm: bytes) -> list[Heard]:
        """Feed audio; return hypotheses that became available (partial or final)."""

    def flush(self) -> list[Heard]:
        """End of stream: return what is still pending as final."""

    def transcribe(self, pcm: bytes) -> tuple[str, ...] | None:
        """The words in this stretch alone (commands as their phrases), for the stop
        spotter's second opinion; None when it cannot now (an utterance is open: its
        report will come instead)."""

    def expect_command(self, likely: bool) -> None:
        """The user is (or is no longer) talking over the assistant, so what they say
        next is probably a command; an engine with priors may favour the urgent ones."""


@runtime_checkable
class Pipelined(Protocol):
    """A recognizer that answers some blocks after `accept` has returned."""

    @property
    def behind(self) -> int:
        """Requests whose answers have not come yet."""

    def answers(self) -> list[Heard]:
        """What has come of those answers by now, without waiting or sending audio."""


class Voice(Protocol):
    """Where the session's spoken lines and chimes go (speakers, or printed text)."""

    def say(self, text: str) -> None:
        """Queue a line after whatever is already queued."""

    def chime(self, kind: str) -> None:
        """Queue a short tone: 'step', 'switch', 'pause' or 'stop'."""

    def silence(self) -> None:
        """Cut off what is playing now and drop everything queued."""

    def busy(self) -> bool:
        """True while something is playing or queued."""

    def set_pace(self, factor: float) -> None:
        """Speaking-rate factor: above 1 is slower (it follows the session pace)."""

    def set_volume_step(self, step: int) -> bool:
        """Move the volume by steps; False when already at the end of the scale."""
