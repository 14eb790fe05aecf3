"""The screening part of the session: yes/no safety questions before massaging.

A mixin of `Session`, because the state machine finds its callbacks on the model.
Any yes recommends a doctor first and offers to end or to go on gently (light
pressure only; no pressure points during pregnancy). An unclear answer is asked
once more, then taken as yes.
"""

from __future__ import annotations

from collections.abc import Callable

from transitions import EventData

from assistant.events import EventLog
from assistant.plan import PlanItem, make_plan
from assistant.ports import Voice
from assistant.routines import Routine
from assistant.safety import Question, Screening, ScreeningPlan
from assistant.session_states import State
from assistant.settings import Mode, SessionSettings


class ScreeningMixin:
    # Provided by Session (and by the state machine: `trigger`).
    state: str
    mode: Mode
    mode_known: bool
    settings: SessionSettings
    events: EventLog
    voice: Voice
    routine: Routine
    plan: tuple[PlanItem, ...]
    pressure: int
    trigger: Callable[..., bool]
    _say: Callable[..., None]
    _say_text: Callable[[str, str], None]
    _welcome: Callable[[], None]
    _choose_mode: Callable[[Mode], None]
    screening: Screening
    screening_plan: ScreeningPlan
    answers: dict[str, bool]
    question_index: int
    unclear_answers: int
    asked_at: float | None
    awaiting_choice: bool
    gentle: bool
    welcomed: bool

    def _init_screening(self, screening: Screening, plan: ScreeningPlan) -> None:
        self.screening = screening
        self.screening_plan = plan
        self.answers = {}
        self.question_index = 0
        self.unclear_answers = 0
        self.asked_at = None
        self.awaiting_choice = False
        self.gentle = False
        self.welcomed = False

    # ----- state machine callbacks -------------------------------------------------

    def enter_screening(self, event: EventData) -> None:
        if event.event.name == "safety_check":
            self.screening_plan = ScreeningPlan(ask=True)
            self.answers, self.question_index, self.awaiting_choice = {}, 0, False
        if not self.mode_known:
            self._say("ask_mode")
            return
        self._continue_screening()

    def awaiting_mode(self, event: EventData) -> bool:
        return not self.mode_known

    def _continue_screening(self) -> None:
        if not self.welcomed:
            self.welcomed = True
            self._welcome()
        if not self.screening_plan.ask:
            self._apply_answers(self.screening_plan.answers, remembered=True)
            self.trigger("screened")
        elif self.awaiting_choice:
            self._say("safety.choice")
        else:
            if self.question_index == 0:
                self._say("safety.intro" if self.mode == "self" else "safety.intro_partner")
            self._ask_question()

    def awaiting_answer(self, event: EventData) -> bool:
        return self.awaiting_answer_now()

    def choice_pending(self, event: EventData) -> bool:
        return self.awaiting_choice

    def answer_yes(self, event: EventData) -> None:
        self._record_answer(True)

    def answer_no(self, event: EventData) -> None:
        self._record_answer(False)

    def go_gently(self, event: EventData) -> None:
        self.awaiting_choice = False
        self._apply_answers(self.answers, remembered=False)

    # ----- the questions -------------------------------------------------------------

    @property
    def _question(self) -> Question:
        return self.screening.questions[self.question_index]

    def _ask_question(self) -> None:
        question = self._question
        self._say_text(f"safety.{question.id}", question.text.for_mode(self.mode))
        self.asked_at = None

    def _record_answer(self, yes: bool) -> None:
        self.answers[self._question.id] = yes
        self.unclear_answers = 0
        self.question_index += 1
        if self.question_index < len(self.screening.questions):
            self._ask_question()
            return
        self.asked_at = None
        self.events.emit("screening", answers=dict(self.answers))
        if any(self.answers.values()):
            self.awaiting_choice = True
            self._say("safety.doctor")
            self._say("safety.choice")
        else:
            self._say("safety.clear")
            self.trigger("screened")

    def unclear_answer(self) -> None:
        """Asked once more; a second unclear answer counts as yes, to be safe."""
        if not self.mode_known:
            self._unclear_mode()
        elif self.unclear_answers == 0:
            self.unclear_answers = 1
            self._say("safety.unclear")
            self._ask_question()
        else:
            self._record_answer(True)

    def _unclear_mode(self) -> None:
        """The mode question is asked once more; then self-massage, which is switchable."""
        if self.unclear_answers == 0:
            self.unclear_answers = 1
            self._say("ask_mode")
        else:
            self.unclear_answers = 0
            self._choose_mode("self")

    def screening_tick(self, now: float) -> None:
        """No answer at all within the timeout is an unclear answer."""
        if self.state != State.SCREENING or not (self.awaiting_answer_now() or not self.mode_known):
            return
        if self.voice.busy():
            self.asked_at = None
            return
        if self.asked_at is None:
            self.asked_at = now
        elif now - self.asked_at > self.settings.answer_timeout_s:
            self.asked_at = None
            self.unclear_answer()

    def awaiting_answer_now(self) -> bool:
        return (
            self.mode_known
            and self.screening_plan.ask
            and not self.awaiting_choice
            and self.question_index < len(self.screening.questions)
        )

    def _apply_answers(self, answers: dict[str, bool], remembered: bool) -> None:
        if not any(answers.values()):
            return
        self.gentle = True
        self.pressure = 0
        skip = any(answers.get(q.id) for q in self.screening.questions if q.skip_pressure_points)
        if skip:
            self.plan = make_plan(self.routine, skip_pressure_points=True)
        if remembered:
            self._say("safety.remembered_gentle")
        else:
            self._say("safety.gentle_no_points" if skip else "safety.gentle")
