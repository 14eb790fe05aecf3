"""What the live screen shows, gathered from the event stream and the session.

`ScreenModel.on_event` is an EventLog subscriber: it runs on whichever thread
emitted (the session's, or the listener's for 'heard'), so it only stores a few
fields under a lock. The screen's own refresh thread asks for a `Snapshot`,
reading the session's timers as plain attributes; nothing here ever blocks the
session or the listener.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from assistant.events import Event
from assistant.session.guide import VALIDITY
from assistant.session.plan import PlanItem
from assistant.session.routines import Routine
from assistant.settings import PRESSURES, SessionSettings

TIMED_STATES = ("running", "switching", "paused", "stopped")


class SessionView(Protocol):
    """The parts of `session.Session` the screen reads (a fake in tests)."""

    @property
    def routine(self) -> Routine: ...
    @property
    def settings(self) -> SessionSettings: ...
    @property
    def plan(self) -> tuple[PlanItem, ...]: ...
    @property
    def index(self) -> int: ...
    @property
    def remaining_s(self) -> float: ...
    @property
    def total_s(self) -> float: ...
    @property
    def pace(self) -> float: ...
    @property
    def pressure(self) -> int: ...
    @property
    def mode(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def phase(self) -> str | None: ...

    def valid_intents(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class HeardLine:
    """The last thing heard or typed and what came of it."""

    kind: str
    """A dialog key under 'screen.': heard_accepted, typed_not_now, heard_talking, ..."""
    phrase: str
    intent: str | None


@dataclass(frozen=True)
class Snapshot:
    routine: str
    mode: str
    state: str
    started: bool
    """A step has begun: the step line and timers mean something."""
    number: int
    count: int
    title: str
    foot: int | None
    kind: str
    instruction: str | None
    latest: str | None
    """The last spoken line that was not the instruction (a question, an answer)."""
    step_left_s: float | None
    step_total_s: float | None
    session_left_s: float
    session_total_s: float
    pace: float
    pressure: str
    mic_dbfs: float | None
    engine: str | None
    """None: no microphone (keyboard only)."""
    heard: HeardLine | None
    valid: frozenset[str]
    awaiting: str | None = None
    """The prompt waiting for a reply (session/screening.py's phase): its answers come first."""
    typing: str | None = None
    """The line being typed on the terminal; None: keys are not read by the screen."""


class ScreenModel:
    def __init__(
        self,
        session: SessionView,
        engine: str | None = None,
        mic_level: Callable[[], float | None] | None = None,
        typing: Callable[[], str] | None = None,
    ) -> None:
        self.session = session
        self.engine = engine
        self.mic_level = mic_level
        self.typing = typing
        self._lock = threading.Lock()
        self._instruction: str | None = None
        self._latest: str | None = None
        self._heard: HeardLine | None = None
        self._started = False
        self._valid = session.valid_intents()
        self._awaiting = session.phase

    def on_event(self, event: Event) -> None:
        kind = event["type"]
        with self._lock:
            if kind == "say":
                if str(event["key"]).startswith("step."):
                    self._instruction, self._latest = event["text"], None
                elif event["key"] not in ("step_intro", "foot_intro"):
                    self._latest = event["text"]
            elif kind == "step":
                self._started = True
            elif kind in VALIDITY:
                self._valid = self.session.valid_intents()
                self._awaiting = self.session.phase
            elif kind == "command":
                self._heard = _from_command(event)
            elif kind == "heard" and event.get("decision") == "talking":
                self._heard = HeardLine("heard_talking", str(event["text"]), None)

    def snapshot(self) -> Snapshot:
        s = self.session
        with self._lock:
            instruction, latest, heard = self._instruction, self._latest, self._heard
            started, valid, awaiting = self._started, self._valid, self._awaiting
        plan, index, state = s.plan, s.index, s.state
        item = plan[index]
        scale = s.settings.time_scale * s.pace
        timed = started and state in TIMED_STATES
        later = sum(i.step.duration_s for i in plan[index + 1 :]) * scale
        current = max(s.remaining_s, 0.0) if timed else item.step.duration_s * scale
        return Snapshot(
            routine=s.routine.title,
            mode=s.mode,
            state=state,
            started=started,
            number=index + 1,
            count=len(plan),
            title=item.step.title,
            foot=item.foot,
            kind=item.kind,
            instruction=instruction,
            latest=latest,
            step_left_s=max(s.remaining_s, 0.0) if timed else None,
            step_total_s=s.total_s if timed else None,
            session_left_s=later + current,
            session_total_s=sum(i.step.duration_s for i in plan) * scale,
            pace=s.pace,
            pressure=PRESSURES[s.pressure],
            mic_dbfs=self.mic_level() if self.mic_level is not None else None,
            engine=self.engine,
            heard=heard,
            valid=valid,
            awaiting=awaiting,
            typing=self.typing() if self.typing is not None else None,
        )


def _from_command(event: Event) -> HeardLine:
    phrase, intent = str(event["phrase"]), event["intent"]
    how = "typed" if event["source"] == "text" else "heard"
    if intent is None:
        return HeardLine(f"{how}_unknown", phrase, None)
    if not event["accepted"]:
        return HeardLine(f"{how}_not_now", phrase, intent)
    return HeardLine(f"{how}_accepted", phrase, intent)
