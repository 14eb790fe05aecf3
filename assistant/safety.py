"""Safety screening as data: the questions, when to ask them again, what a yes means."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources

from assistant.errors import DataFileError
from assistant.routines import Phrasing

SAFETY_FILE = "assistant/data/safety.toml"
DAY_S = 86400.0


@dataclass(frozen=True)
class Question:
    id: str
    text: Phrasing
    skip_pressure_points: bool


@dataclass(frozen=True)
class Screening:
    questions: tuple[Question, ...]
    renew_after_days: float


@dataclass(frozen=True)
class ScreeningPlan:
    """What the session does about safety: ask now, or apply remembered answers."""

    ask: bool
    answers: dict[str, bool] = field(default_factory=dict)
    """Remembered answers (True is yes) when not asking."""


def load_screening() -> Screening:
    text = resources.files("assistant").joinpath("data/safety.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
        questions = tuple(
            Question(
                id=q["id"],
                text=Phrasing(self=q["self"], partner=q["partner"]),
                skip_pressure_points=bool(q.get("skip_pressure_points", False)),
            )
            for q in raw["questions"]
        )
        return Screening(questions, float(raw["renew_after_days"]))
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise DataFileError(f"{SAFETY_FILE}: {exc!r}") from exc


def plan_screening(
    screening: Screening, remembered: dict[str, tuple[bool, float]], now: float, asked: bool
) -> ScreeningPlan:
    """Ask when the user asked, when any answer is missing, or when one is too old."""
    ids = [q.id for q in screening.questions]
    stale = any(
        qid not in remembered or now - remembered[qid][1] > screening.renew_after_days * DAY_S
        for qid in ids
    )
    if asked or stale:
        return ScreeningPlan(ask=True)
    return ScreeningPlan(ask=False, answers={qid: remembered[qid][0] for qid in ids})
