"""Safety screening as data: the questions, when to ask them again, what a yes means.

Answers belong to the person being massaged: your own answers say nothing about a
partner's feet, so each person ("self" or "partner") has a plan of their own.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from assistant.errors import DataFileError
from assistant.session.routines import Phrasing
from assistant.settings import Mode

SAFETY_FILE = "assistant/data/safety.toml"
DAY_S = 86400.0
PERSONS: tuple[Mode, ...] = ("self", "partner")


@dataclass(frozen=True)
class Question:
    id: str
    text: Phrasing
    skip_pressure_points: bool
    short: str = ""
    """The condition in a few words, for any person: names a yes when it is recalled."""
    doctor_first: bool = True
    """A yes recommends a doctor first and offers to end or go on gently."""
    reminder: Phrasing | None = None
    """Said every session while the answer is yes (check your feet for sores...)."""


@dataclass(frozen=True)
class Screening:
    questions: tuple[Question, ...]
    renew_after_days: float

    def yes_to(self, answers: Mapping[str, bool]) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if answers.get(q.id))


@dataclass(frozen=True)
class ScreeningPlan:
    """What the session does about one person's safety: ask now, or apply what is known."""

    ask: bool
    answers: dict[str, bool] = field(default_factory=dict)
    """Remembered answers (True is yes) when not asking."""
    assumed: frozenset[str] = frozenset()
    """Questions taken as yes this session because no clear answer came: nobody said
    so, so they are neither remembered nor recalled as "you told me"."""


ScreeningPlans = Mapping[Mode, ScreeningPlan]


def plans_for(plan: ScreeningPlan | ScreeningPlans | None) -> dict[Mode, ScreeningPlan]:
    """One plan for everybody (tests, or nothing known) or one per person."""
    if plan is None:
        plan = ScreeningPlan(ask=False)
    if isinstance(plan, ScreeningPlan):
        return {person: plan for person in PERSONS}
    return {person: plan.get(person, ScreeningPlan(ask=True)) for person in PERSONS}


def _phrasing(raw: Any, where: str) -> Phrasing:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(m), str) for m in PERSONS):
        raise DataFileError(f"{SAFETY_FILE}: {where} needs 'self' and 'partner' lines")
    return Phrasing(self=raw["self"], partner=raw["partner"])


def load_screening() -> Screening:
    text = resources.files("assistant").joinpath("data/safety.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
        questions = tuple(
            Question(
                id=q["id"],
                text=_phrasing(q, f"question '{q['id']}'"),
                skip_pressure_points=bool(q.get("skip_pressure_points", False)),
                short=str(q["short"]),
                doctor_first=bool(q.get("doctor_first", True)),
                reminder=(
                    _phrasing(q["reminder"], f"question '{q['id']}' reminder")
                    if "reminder" in q
                    else None
                ),
            )
            for q in raw["questions"]
        )
        return Screening(questions, float(raw["renew_after_days"]))
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise DataFileError(f"{SAFETY_FILE}: {exc!r}") from exc


def plan_screening(
    screening: Screening, remembered: dict[str, tuple[bool, float]], now: float, asked: bool
) -> ScreeningPlan:
    """Ask when the user asked (every question), or when an answer is missing or too old
    (those questions; the current answers are kept and still apply)."""
    ids = [q.id for q in screening.questions]
    current = {
        qid: remembered[qid][0]
        for qid in ids
        if qid in remembered and now - remembered[qid][1] <= screening.renew_after_days * DAY_S
    }
    if asked:
        return ScreeningPlan(ask=True)
    return ScreeningPlan(ask=len(current) < len(ids), answers=current)
