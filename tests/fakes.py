"""Fakes for unit tests of logic only: a clock the test drives, a voice that records, and
recognizers that hear what a test scripts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.events import EventLog
from assistant.ports import Heard
from assistant.session.dialog import load_dialog
from assistant.session.guide import Command, Session
from assistant.session.routines import load_routine
from assistant.session.safety import ScreeningPlan, ScreeningPlans
from assistant.session.screening import ResumeOffer
from assistant.session.vocabulary import load_vocabulary
from assistant.settings import SessionSettings


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class QuietRecognizer:
    """The Recognizer port hearing nothing; a test's own scripted recognizer extends it
    with what it hears (`accept`) and what it notes."""

    name = "scripted"
    sample_rate = 16000

    def set_phrases(self, phrases: Sequence[str]) -> None:
        pass

    def accept(self, pcm: bytes) -> list[Heard]:
        return []

    def flush(self) -> list[Heard]:
        return []

    def transcribe(self, pcm: bytes) -> tuple[str, ...] | None:
        return None

    def expect_command(self, likely: bool) -> None:
        pass


@dataclass
class ScriptedRecognizer(QuietRecognizer):
    """Reports `script[n]` after the n-th block."""

    script: dict[int, list[Heard]]
    _blocks: int = 0

    def accept(self, pcm: bytes) -> list[Heard]:
        self._blocks += 1
        return self.script.get(self._blocks, [])


@dataclass
class RecordingVoice:
    """Remembers what it was asked to do; `speaking` lets a test hold the timer."""

    said: list[str] = field(default_factory=list)
    chimes: list[str] = field(default_factory=list)
    silenced: int = 0
    pace: float = 1.0
    volume: int = 0
    speaking: bool = False

    def say(self, text: str) -> None:
        self.said.append(text)

    def chime(self, kind: str) -> None:
        self.chimes.append(kind)

    def silence(self) -> None:
        self.silenced += 1

    def busy(self) -> bool:
        return self.speaking

    def set_pace(self, factor: float) -> None:
        self.pace = factor

    def set_volume_step(self, step: int) -> bool:
        if abs(self.volume + step) > 3:
            return False
        self.volume += step
        return True


@dataclass
class Harness:
    session: Session
    clock: ManualClock
    voice: RecordingVoice
    events: EventLog

    def say(self, phrase: str) -> None:
        match = self.session.vocabulary.intent_for(phrase)
        intent, said = match if match else (None, phrase)
        self.session.command(Command(intent, said, "text"))

    def run_for(self, seconds: float, step: float = 0.5) -> None:
        end = self.clock.t + seconds
        while self.clock.t < end and not self.session.finished:
            self.clock.advance(step)
            self.session.tick()

    def said_keys(self) -> list[str]:
        return [e["key"] for e in self.events.of_type("say")]

    def states(self) -> list[str]:
        return [e["to"] for e in self.events.of_type("state")]

    def step_ids(self) -> list[tuple[str, int | None]]:
        return [(e["id"], e["foot"]) for e in self.events.of_type("step")]


def make_session(
    routine: str = "quick",
    screening: ScreeningPlan | ScreeningPlans | None = None,
    offer: ResumeOffer | None = None,
    **settings: object,
) -> Harness:
    """`screening`: one plan for everybody, or one per person."""
    clock = ManualClock()
    voice = RecordingVoice()
    events = EventLog(clock)
    session = Session(
        routine=load_routine(routine),
        settings=SessionSettings(routine=routine, **settings),  # type: ignore[arg-type]
        clock=clock,
        voice=voice,
        events=events,
        dialog=load_dialog(),
        vocabulary=load_vocabulary(),
        screening_plan=screening,
        resume_offer=offer,
    )
    return Harness(session, clock, voice, events)
