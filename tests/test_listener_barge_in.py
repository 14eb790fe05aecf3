"""The listener's barge-in rules (logic only: a scripted canceller, recognizer and output)."""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from typing import cast

from assistant.listening.barge_in import BargeInSettings
from assistant.listening.echo_canceller import EchoCanceller
from assistant.listening.listener import Listener
from assistant.listening.spotter import CommandSpotter
from assistant.ports import Heard
from assistant.session.guide import Command
from assistant.session.vocabulary import load_vocabulary
from tests.fakes import QuietRecognizer

BLOCK_S = 0.1
BLOCK = b"\0\0" * int(16000 * BLOCK_S)


@dataclass
class ScriptedEcho:
    """Says, block by block, whether the user is talking over an audible assistant, and
    how many frames of their voice came with the assistant's sound gone (`alone`)."""

    speaking: list[bool]
    alone: list[int] = field(default_factory=list)
    speech: object = field(default_factory=lambda: _Speech())
    user_speaking: bool = False
    assistant_audible: bool = True
    user_frames_alone: int = 0
    relearned: int = 0

    def process(self, raw: bytes, at: float) -> bytes:
        self.user_speaking = self.speaking.pop(0) if self.speaking else False
        self.user_frames_alone += self.alone.pop(0) if self.alone else 0
        return raw

    def relearn(self) -> None:
        self.relearned += 1


@dataclass
class _Speech:
    settings: BargeInSettings = field(default_factory=BargeInSettings)


@dataclass
class ScriptedRecognizer(QuietRecognizer):
    """Hears `text` (final) on block `at_block`; notes every expect_command call."""

    text: str | None = None
    at_block: int = -1
    expected: list[tuple[int, bool]] = field(default_factory=list)
    _blocks: int = 0

    def accept(self, pcm: bytes) -> list[Heard]:
        self._blocks += 1
        if self.text is None or self._blocks != self.at_block:
            return []
        t = self._blocks * BLOCK_S
        return [Heard(self.text, True, t - 0.4, t - 0.1)]

    def expect_command(self, likely: bool) -> None:
        self.expected.append((self._blocks, likely))


@dataclass
class Output:
    holds: int = 0
    releases: int = 0

    def hold(self) -> bool:
        self.holds += 1
        return True

    def release(self) -> None:
        self.releases += 1


@dataclass
class Speaking:
    """The assistant's line, playing all along (a `PlaybackHistory`)."""

    text: str = "Make small thumb circles on your sole, from the heel to each toe."
    kind: str = "speech"
    started_at: float = 999.0
    ended_at: float | None = None
    duration_s: float = 10.0

    def recent(self, since: float) -> list[Speaking]:
        return [self]


def run(speaking: list[bool], recognizer: ScriptedRecognizer, blocks: int = 30,
        alone: list[int] | None = None, talking: bool = False,
        ) -> tuple[ScriptedEcho, Output, list[Command]]:
    """`talking`: the assistant's line plays all along (else nothing was played)."""
    vocab = load_vocabulary()
    echo, output = ScriptedEcho(list(speaking), list(alone or [])), Output()
    inbox: queue.Queue[Command] = queue.Queue()
    spotter = CommandSpotter(vocab, Speaking() if talking else None)
    listener = Listener(recognizer, spotter, vocab, inbox,
                        interrupt=lambda: None, echo=cast(EchoCanceller, echo), barge_in=output)
    listener.start()
    for i in range(blocks):
        listener.feed(BLOCK, 1000.0 + i * BLOCK_S)
    listener.stop()
    return echo, output, list(inbox.queue)


def test_talking_over_the_assistant_holds_it_and_expects_a_command_until_released() -> None:
    rec = ScriptedRecognizer()
    echo, output, commands = run([False] * 5 + [True] * 4, rec)
    assert output.holds == 1 and output.releases == 1
    assert [likely for _, likely in rec.expected] == [True, False]
    (held_at, _), (released_at, _) = rec.expected
    quiet_blocks = BargeInSettings().release_after_s / BLOCK_S
    assert released_at - held_at >= 4 + quiet_blocks - 1, "held while they talk, then a pause"
    assert echo.relearned == 1, "a hold that was nothing restarts the filter"
    assert commands == []


def test_an_urgent_command_heard_during_the_hold_ends_the_expectation() -> None:
    rec = ScriptedRecognizer("stop", at_block=9)
    echo, output, commands = run([False] * 5 + [True] * 4, rec)
    assert [c.intent for c in commands] == ["stop"]
    assert [likely for _, likely in rec.expected] == [True, False]
    assert output.releases == 0, "the stop silences the line; nothing to carry on"
    assert echo.relearned == 0


def test_without_a_barge_in_nothing_is_expected() -> None:
    rec = ScriptedRecognizer()
    _, output, _ = run([False] * 30, rec)
    assert output.holds == 0 and rec.expected == []


def test_a_command_over_the_line_acts_only_if_the_user_went_on_once_it_was_held() -> None:
    """Held for the canceller's leftovers, the line goes quiet and so does the "user";
    held for the user, they are still heard with the line gone."""
    rec = ScriptedRecognizer("slower", at_block=12)
    _, output, commands = run([False] * 5 + [True] * 4, rec, talking=True)
    assert output.holds == 1 and commands == [], "nothing heard with the line held"
    went_on = [0] * 6 + [1, 2, 2]
    rec = ScriptedRecognizer("slower", at_block=12)
    _, output, commands = run([False] * 5 + [True] * 4, rec, alone=went_on, talking=True)
    assert [c.intent for c in commands] == ["slower"]
    assert output.releases == 1


def test_an_urgent_command_over_the_line_needs_no_more_than_the_barge_in() -> None:
    rec = ScriptedRecognizer("stop", at_block=9)
    _, _, commands = run([False] * 5 + [True] * 4, rec, talking=True)
    assert [c.intent for c in commands] == ["stop"]
