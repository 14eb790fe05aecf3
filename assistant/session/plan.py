"""A routine laid out in the order it is done: steps for the first foot, the
switch, the steps again for the second foot, and the finish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.session.routines import Routine, Step

Kind = Literal["step", "switch", "finish"]


@dataclass(frozen=True)
class PlanItem:
    step: Step
    kind: Kind
    foot: int | None
    """1 or 2; None for the finish, which is after both feet."""


def make_plan(routine: Routine, skip_pressure_points: bool = False) -> tuple[PlanItem, ...]:
    steps = [s for s in routine.steps if not (skip_pressure_points and s.pressure_points)]
    items = [PlanItem(s, "step", 1) for s in steps]
    items.append(PlanItem(routine.switch, "switch", 2))
    items += [PlanItem(s, "step", 2) for s in steps if s.both_feet]
    items.append(PlanItem(routine.finish, "finish", None))
    return tuple(items)
