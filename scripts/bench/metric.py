"""One row of the benchmark's table and JSON, and the helpers its figures share."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Metric:
    """One row of the table; `target` is (operator, bound) or None for information only."""

    name: str
    value: float | None
    unit: str
    target: tuple[str, float] | None = None
    n: int = 0
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.value is None or math.isnan(self.value):
            return None
        op, bound = self.target
        return {"<=": self.value <= bound, ">=": self.value >= bound, "==": self.value == bound}[op]

    def target_text(self) -> str:
        if self.target is None:
            return "-"
        op, bound = self.target
        return f"{op} {fmt(bound, self.unit)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value, "unit": self.unit, "n": self.n,
            "target": self.target_text() if self.target else None,
            "pass": self.passed, "note": self.note, "details": self.details,
        }


def fmt(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit in ("count",):
        return f"{value:g}"
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


def json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
