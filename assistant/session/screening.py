"""Before massaging: the resume offer, who is massaged, and the safety questions.

A mixin of `Session`, because the state machine finds its callbacks on the model.

Each prompt waits for a reply: the resume offer (yes/no), the mode (myself/partner),
the safety questions (yes/no), and, after a doctor-first yes, the choice to end or to
continue gently. The safety questions come as one first ("does any of these apply?",
naming every condition): a clear no answers them all; a yes or an unclear reply goes
through them one by one, so what each yes means is decided as before. Commands still
act as commands (stop, pause and pain at once; repeat asks again); only speech that is
no command is an unclear reply. An unclear reply or silence (the answer timeout,
scaled like every duration) gets the prompt once more, then the safe default: a new
session, self-massage, "yes" to a safety question, and going on gently without the
pressure points. Nothing waits forever.
A "yes" taken by default is said to be one, holds for this session only, is never
remembered as the person's answer, and so is asked again next time.

Answers belong to the person being massaged; switching between myself and partner
screens the other person when their answers are not current.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from transitions import EventData

from assistant.events import Event, EventLog
from assistant.ports import Voice
from assistant.session.dialog import Dialog
from assistant.session.plan import PlanItem, make_plan
from assistant.session.routines import Routine
from assistant.session.safety import Question, Screening, ScreeningPlan
from assistant.session.states import State
from assistant.settings import Mode, SessionSettings

Phase = Literal["offer", "mode", "any", "questions", "choice"]
""""any": the one question naming every condition; "questions": one at a time."""


def awaited_question(history: Sequence[Event]) -> str | None:
    """The text of the line that asks what the session awaits now: the first line said
    after the newest 'awaiting' event ("" until it is said; None when nothing is
    awaited). The phase is set, and announced, just before its question is queued."""
    for i in range(len(history) - 1, -1, -1):
        if history[i]["type"] == "awaiting":
            if history[i]["reply"] is None:
                return None
            said = (e["text"] for e in history[i + 1 :] if e["type"] == "say")
            return next(said, "")
    return None


@dataclass(frozen=True)
class ResumeOffer:
    """An unfinished session found at the start: "pick up where you left off?"."""

    session_id: int
    routine_name: str
    routine: Routine
    mode: Mode
    start_index: int
    """Where to start in the routine's whole plan (nothing left out)."""


class ScreeningMixin:
    # Provided by Session (and by the state machine: `trigger`).
    state: str
    mode: Mode
    mode_known: bool
    settings: SessionSettings
    events: EventLog
    voice: Voice
    dialog: Dialog
    routine: Routine
    plan: tuple[PlanItem, ...]
    index: int
    pressure: int
    screening_done: bool
    trigger: Callable[..., bool]
    _say: Callable[..., None]
    _say_text: Callable[[str, str], None]
    _welcome: Callable[[], None]
    _choose_mode: Callable[..., None]

    def _init_screening(
        self, screening: Screening, plans: dict[Mode, ScreeningPlan], offer: ResumeOffer | None
    ) -> None:
        self.screening = screening
        self.plans = plans
        """Per person: ask, or the answers known (updated as questions are answered)."""
        self.offer = offer
        self._phase: Phase | None = None
        self.answers: dict[str, bool] = {}
        """The answers for the person being massaged now (assumed ones included)."""
        self.given: dict[str, bool] = {}
        """The answers they gave in this round of questions: only these are remembered."""
        self.assumed: set[str] = set()
        """Questions taken as yes for want of a clear answer, this session."""
        self.assumed_now: set[str] = set()
        """The ones of those taken in this round of questions."""
        self.to_ask: tuple[Question, ...] = ()
        """The questions this round: those with no current answer (all, when asked for)."""
        self.question_index = 0
        self.retries = 0
        """Unclear replies or silences at the current prompt (one more try, then default)."""
        self.asked_at: float | None = None
        self.gentle = False
        self.skip_points = False
        self.welcomed = False
        self._choice_defaulted = False

    @property
    def phase(self) -> Phase | None:
        """What the session is waiting for a reply to, in the screening state."""
        return self._phase

    @phase.setter
    def phase(self, phase: Phase | None) -> None:
        """A new prompt changes what is understood (yes/no, myself/partner...) without a
        change of state: the 'awaiting' event lets the grammar and the screen follow."""
        if phase != self._phase:
            self._phase = phase
            self.events.emit("awaiting", reply=phase)

    @property
    def awaiting_choice(self) -> bool:
        return self.phase == "choice"

    # ----- state machine callbacks -------------------------------------------------

    def enter_screening(self, event: EventData) -> None:
        self.screening_done = False
        name = event.event.name
        if name == "resume" and self.phase is not None:
            self.retries = 0  # back from a pause or a stop: a fresh try at the prompt
            self._prompt()
        elif name == "start" and self.offer is not None:
            self._ask("offer")
        elif name == "start" and not self.mode_known:
            self._ask("mode")
        else:
            if name == "safety_check":
                self.plans[self.mode] = ScreeningPlan(ask=True)
            self._screen_person()

    def awaiting_answer(self, event: EventData) -> bool:
        """A yes or a no answers something now."""
        return self.phase in ("offer", "any", "questions")

    def mode_choosable(self, event: EventData) -> bool:
        """Myself or partner: the answer to the mode question, or a change of person
        (which screens the new one); not while the resume offer is open."""
        return self.phase is not None and self.phase != "offer"

    def choice_pending(self, event: EventData) -> bool:
        return self.phase == "choice"

    def answer_yes(self, event: EventData) -> None:
        self._yes_no(True)

    def answer_no(self, event: EventData) -> None:
        self._yes_no(False)

    def go_gently(self, event: EventData) -> None:
        defaulted, self._choice_defaulted = self._choice_defaulted, False
        self.phase = None
        skip = defaulted or self._points_answer()
        self._set_safety(gentle=True, skip=skip)
        if defaulted:
            self._say("safety.choice_timeout")
        else:
            self._say("safety.gentle_no_points" if skip else "safety.gentle")
        self.trigger("screened")

    def repeat_prompt(self, event: EventData) -> None:
        self.voice.silence()
        self.retries = 0
        self._prompt()

    # ----- replies that are not answers ------------------------------------------------

    def screening_reply(self, intent: str | None) -> bool:
        """A reply that does not fit the prompt; False when the session should answer it
        as any command that does not fit now."""
        if self.phase is None:
            return False
        if intent is None:
            self.unclear_answer()
            return True
        if self.phase == "choice":
            return False
        if self.phase == "offer":
            self._say("resume.not_now")
        elif self.phase == "mode":
            self._say("ask_mode")
        else:
            self._say("not_now.screening")
            self._prompt()
        self.asked_at = None
        return True

    def unclear_answer(self) -> None:
        """Asked once more; then the safe default for what was asked. To the one question
        about every condition, it means going through them one by one."""
        if self.phase == "any":
            self._say("safety.one_by_one_unclear")
            self._ask("questions")
            return
        if self.retries == 0:
            self.retries = 1
            if self.phase in ("offer", "questions"):
                self._say("safety.unclear")
            self._prompt()
            return
        self.retries = 0
        if self.phase == "offer":
            self._answer_offer("none")
        elif self.phase == "mode":
            self._choose_mode("self", defaulted=True)
        elif self.phase == "questions":
            self._say("safety.assumed_yes")
            self._record_answer(True, assumed=True)
        elif self.phase == "choice":
            self._choice_defaulted = True
            self.trigger("gently")

    def screening_tick(self, now: float) -> None:
        """No reply at all within the answer timeout is an unclear reply."""
        if self.state != State.SCREENING or self.phase is None:
            return
        if self.voice.busy():
            self.asked_at = None
            return
        if self.asked_at is None:
            self.asked_at = now
        elif now - self.asked_at > self.settings.answer_timeout_s * self.settings.time_scale:
            self.asked_at = None
            self.unclear_answer()

    def person_chosen(self, changed: bool) -> None:
        """After myself/partner: screen the person now massaged, if their answers are not
        current or call for a reminder or a choice."""
        if self.state == State.SCREENING:
            if self.phase == "mode" or changed:
                self._screen_person()
            else:
                self._prompt()
            return
        if not changed:
            return
        plan = self.plans[self.mode]
        if plan.ask or self.screening.yes_to(plan.answers):
            self.trigger("screen_person")
        else:
            self.answers, self.assumed = dict(plan.answers), set(plan.assumed)
            self._set_safety(gentle=False, skip=False)

    # ----- prompts ---------------------------------------------------------------------

    def _ask(self, phase: Phase) -> None:
        self.phase, self.retries = phase, 0
        self._prompt()

    def _prompt(self) -> None:
        if self.phase == "offer" and self.offer is not None:
            routine = self.offer.routine
            self._say(
                "resume.offer",
                routine=routine.title,
                step=self.offer.start_index + 1,
                count=len(make_plan(routine)),
            )
        elif self.phase == "mode":
            self._say("ask_mode")
        elif self.phase == "any":
            self._say(
                "safety.any" if self.mode == "self" else "safety.any_partner",
                conditions=self._names(list(self.to_ask), "join.last_or"),
            )
        elif self.phase == "questions":
            question = self._question
            self._say_text(f"safety.{question.id}", question.text.for_mode(self.mode))
        elif self.phase == "choice":
            self._say("safety.choice")
        self.asked_at = None

    @property
    def _question(self) -> Question:
        return self.to_ask[self.question_index]

    def _yes_no(self, yes: bool) -> None:
        if self.phase == "offer":
            self._answer_offer("yes" if yes else "no")
        elif self.phase == "any" and yes:
            self._say("safety.one_by_one")
            self._ask("questions")
        elif self.phase == "any":  # none of them: a no to each
            self.given.update({q.id: False for q in self.to_ask})
            self.answers.update(self.given)
            self._questions_done()
        else:
            self._record_answer(yes)

    def _answer_offer(self, answer: str) -> None:
        """'yes' picks the old session up; 'no' or 'none' (no clear answer) starts anew."""
        offer = self.offer
        assert offer is not None
        self.offer, self.phase = None, None
        self.events.emit(
            "resume",
            answer=answer,
            session=offer.session_id,
            routine=offer.routine_name,
            mode=offer.mode,
            index=offer.start_index,
        )
        if answer == "yes":
            self.routine = offer.routine
            self.plan = make_plan(offer.routine)
            self.index = min(max(offer.start_index, 0), len(self.plan) - 1)
            self.mode, self.mode_known = offer.mode, True
            self._say("resume.accepted", title=self.plan[self.index].step.title)
        else:
            self._say("resume.declined" if answer == "no" else "resume.no_answer")
        if self.mode_known:
            self._screen_person()
        else:
            self._ask("mode")

    # ----- the questions and what the answers mean -----------------------------------

    def _screen_person(self) -> None:
        """Ask about the person massaged now, or apply what is known about them."""
        self.phase, self.answers, self.question_index = None, {}, 0
        self.given, self.assumed_now = {}, set()
        if not self.welcomed:
            self.welcomed = True
            self._welcome()
        plan = self.plans[self.mode]
        if plan.ask:
            # Answers still current are kept; only the others are asked (all of them
            # when none is left, as on "safety check").
            self.answers, self.assumed = dict(plan.answers), set()
            questions = self.screening.questions
            self.to_ask = tuple(q for q in questions if q.id not in self.answers)
            if not self.to_ask:
                self.answers, self.to_ask = {}, questions
            self._say("safety.intro" if self.mode == "self" else "safety.intro_partner")
            self._ask("any" if len(self.to_ask) > 1 else "questions")
        else:
            self.answers, self.assumed = dict(plan.answers), set(plan.assumed)
            self._conclude(remembered=True)

    def _record_answer(self, yes: bool, assumed: bool = False) -> None:
        """`assumed`: no clear answer came; a yes for this session, not the person's."""
        qid = self._question.id
        self.answers[qid] = yes
        if assumed:
            self.assumed.add(qid)
            self.assumed_now.add(qid)
        else:
            self.given[qid] = yes
        self.retries = 0
        self.question_index += 1
        if self.question_index < len(self.to_ask):
            self._prompt()
            return
        self._questions_done()

    def _questions_done(self) -> None:
        self.phase = None
        self.plans[self.mode] = ScreeningPlan(
            ask=False, answers=dict(self.answers), assumed=frozenset(self.assumed)
        )
        self.events.emit(
            "screening",
            person=self.mode,
            answers=dict(self.given),
            assumed=sorted(self.assumed_now),
        )
        self._conclude(remembered=False)

    def _conclude(self, remembered: bool) -> None:
        """Any yes: its reminder; a doctor-first yes: the doctor line and the choice, every
        session while it stands. All no: no gentle mode left over from before."""
        yes = self.screening.yes_to(self.answers)
        for question in yes:
            if question.reminder is not None:
                self._say_text(
                    f"safety.reminder.{question.id}", question.reminder.for_mode(self.mode)
                )
        doctor = [q for q in yes if q.doctor_first]
        if doctor:
            self._doctor_first(doctor, remembered)
            self._ask("choice")
            return
        self._set_safety(gentle=bool(yes), skip=self._points_answer())
        if not yes and not remembered:
            self._say("safety.clear")
        self.trigger("screened")

    def _doctor_first(self, doctor: list[Question], remembered: bool) -> None:
        """The doctor line: after answers just given; else naming what was told before,
        or what is only taken as yes today (never "you told me" for that)."""
        if not remembered:
            self._say("safety.doctor")
            return
        told = [q for q in doctor if q.id not in self.assumed]
        if told:
            self._say("safety.doctor_again", conditions=self._names(told, "join.last_and"))
        else:
            self._say("safety.doctor_assumed", conditions=self._names(doctor, "join.last_and"))

    def _names(self, questions: list[Question], last: str) -> str:
        """The conditions' short names as a spoken list ("a, b and c")."""
        names = [q.short for q in questions]
        if len(names) == 1:
            return names[0]
        between = self.dialog.line("join.between")
        return between.join(names[:-1]) + self.dialog.line(last) + names[-1]

    def _points_answer(self) -> bool:
        points = [q for q in self.screening.questions if q.skip_pressure_points]
        return any(self.answers.get(q.id) for q in points)

    def _set_safety(self, gentle: bool, skip: bool) -> None:
        """Gentle means light pressure only; `skip` leaves out the pressure-point steps."""
        self.gentle = gentle
        if gentle:
            self.pressure = 0
        if skip != self.skip_points:
            self.skip_points = skip
            self._rebuild_plan()

    def _rebuild_plan(self) -> None:
        """The plan with or without the pressure points, staying on the current step
        (or, if that one is left out now, the next one that remains)."""
        old = self.plan[self.index :]
        plan = make_plan(self.routine, skip_pressure_points=self.skip_points)
        where = {(i.step.id, i.kind, i.foot): n for n, i in enumerate(plan)}
        index = len(plan) - 1
        for item in old:
            found = where.get((item.step.id, item.kind, item.foot))
            if found is not None:
                index = found
                break
        self.plan, self.index = plan, index
