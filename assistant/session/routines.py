"""Routines are data: TOML files validated on load into frozen dataclasses.

A broken file gets an error naming the file, the step and the field, so a user
editing their own routine can fix it without reading code.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from assistant.errors import DataFileError, one_line
from assistant.settings import PRESSURES, Mode
from assistant.toml_reading import parse_toml, read_text

MODES: tuple[Mode, ...] = ("self", "partner")

ROUTINE_FIELDS = (
    "name", "title", "description", "default_pressure", "default_pace",
    "pressure", "steps", "switch", "finish",
)
STEP_FIELDS = (
    "id", "title", "instruction", "duration_s", "pressure", "cues", "both_feet",
    "pressure_points",
)
CUE_FIELDS = ("at", *MODES)


@dataclass(frozen=True)
class Phrasing:
    """The same line for each mode: self-massage and a partner giving it."""

    self: str
    partner: str

    def for_mode(self, mode: Mode) -> str:
        return self.self if mode == "self" else self.partner


@dataclass(frozen=True)
class Cue:
    at_fraction: float
    """How far through the step (0..1) the cue is spoken."""
    text: Phrasing
    modes: tuple[Mode, ...]
    """A partner check-in is spoken only in partner mode."""


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    instruction: Phrasing
    duration_s: float
    pressure: dict[str, Phrasing]
    """Guidance per level; empty where pressure does not apply (settling in, resting)."""
    cues: tuple[Cue, ...]
    both_feet: bool
    pressure_points: bool
    """Presses reflexology points: left out during pregnancy."""


@dataclass(frozen=True)
class Routine:
    name: str
    title: str
    description: str
    source: str
    default_pressure: str
    default_pace: str
    steps: tuple[Step, ...]
    switch: Step
    finish: Step

    def total_seconds(self) -> float:
        first = sum(s.duration_s for s in self.steps)
        second = sum(s.duration_s for s in self.steps if s.both_feet)
        return first + self.switch.duration_s + second + self.finish.duration_s


class _Reader:
    """Pulls typed fields out of raw TOML, naming exactly where a problem is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, field: str, problem: str) -> DataFileError:
        place = f"{self.source}: {one_line(where)}" if where else self.source
        return DataFileError(f"{place}: field '{one_line(field)}' {one_line(problem)}")

    def known(self, table: dict[str, Any], fields: Collection[str], where: str) -> None:
        """A misspelt optional field would otherwise be silently ignored."""
        for field in table:
            if field not in fields:
                close = difflib.get_close_matches(field, list(fields), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.fail(where, field, f"is not a known field{hint}")

    def text(self, table: dict[str, Any], field: str, where: str) -> str:
        value = table.get(field)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, field, "must be non-empty text")
        return value.strip()

    def number(
        self, table: dict[str, Any], field: str, where: str, low: float, high: float
    ) -> float:
        value = table.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, field, "must be a number")
        if not low <= value <= high:
            raise self.fail(where, field, f"must be between {low:g} and {high:g}, not {value:g}")
        return float(value)

    def flag(self, table: dict[str, Any], field: str, where: str, default: bool) -> bool:
        value = table.get(field, default)
        if not isinstance(value, bool):
            raise self.fail(where, field, "must be true or false")
        return value

    def table(self, table: dict[str, Any], field: str, where: str) -> dict[str, Any]:
        value = table.get(field)
        if not isinstance(value, dict):
            raise self.fail(where, field, "must be a table")
        return value

    def phrasing(self, table: dict[str, Any], field: str, where: str) -> Phrasing:
        inner = self.table(table, field, where)
        place = f"{where} {field}".strip()
        self.known(inner, MODES, place)
        return Phrasing(
            self=self.text(inner, "self", place), partner=self.text(inner, "partner", place)
        )

    def cue(self, raw: Any, where: str) -> Cue:
        if not isinstance(raw, dict):
            raise self.fail(where, "cues", "must be a list of tables")
        self.known(raw, CUE_FIELDS, f"{where} cues")
        at = self.number(raw, "at", where, 0.0, 1.0)
        modes = tuple(m for m in MODES if m in raw)
        if not modes:
            raise self.fail(where, "cues", "needs a 'self' or 'partner' line")
        texts = {m: self.text(raw, m, where) for m in modes}
        return Cue(at, Phrasing(texts.get("self", ""), texts.get("partner", "")), modes)

    def step(
        self, raw: Any, where: str, shared_pressure: dict[str, Phrasing], by_id: bool = True
    ) -> Step:
        """`by_id`: name the step by its id in errors (the switch and finish by their table)."""
        if not isinstance(raw, dict):
            raise self.fail(where, "steps", "must be a table")
        step_id = self.text(raw, "id", where)
        where = f"step '{step_id}'" if by_id else where
        self.known(raw, STEP_FIELDS, where)
        pressure = dict(shared_pressure)
        if raw.get("pressure") == "none":
            pressure = {}
        elif "pressure" in raw:
            inner = self.table(raw, "pressure", where)
            self.known(inner, PRESSURES, f"{where} pressure")
            for level in PRESSURES:
                if level in inner:
                    pressure[level] = self.phrasing(inner, level, f"{where} pressure")
        missing = [level for level in PRESSURES if level not in pressure]
        if pressure and missing:
            raise self.fail(where, "pressure", f"needs guidance for {', '.join(missing)}")
        cues_raw = raw.get("cues", [])
        if not isinstance(cues_raw, list):
            raise self.fail(where, "cues", "must be a list of tables")
        return Step(
            id=step_id,
            title=self.text(raw, "title", where),
            instruction=self.phrasing(raw, "instruction", where),
            duration_s=self.number(raw, "duration_s", where, 1, 1800),
            pressure=pressure,
            cues=tuple(sorted((self.cue(c, where) for c in cues_raw), key=lambda c: c.at_fraction)),
            both_feet=self.flag(raw, "both_feet", where, True),
            pressure_points=self.flag(raw, "pressure_points", where, False),
        )


def parse_routine(text: str, source: str) -> Routine:
    reader = _Reader(source)
    raw = parse_toml(text, source, DataFileError)
    reader.known(raw, ROUTINE_FIELDS, "")
    shared: dict[str, Phrasing] = {}
    if "pressure" in raw:
        inner = reader.table(raw, "pressure", "")
        reader.known(inner, PRESSURES, "pressure")
        for level in PRESSURES:
            if level in inner:
                shared[level] = reader.phrasing(inner, level, "pressure")
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise reader.fail("", "steps", "must be a list of at least one [[steps]] table")
    steps = tuple(reader.step(s, f"step {i + 1}", shared) for i, s in enumerate(steps_raw))
    ids = [s.id for s in steps]
    for step_id in ids:
        if ids.count(step_id) > 1:
            raise reader.fail(f"step '{step_id}'", "id", "is used twice")
    default_pressure = raw.get("default_pressure", "medium")
    if default_pressure not in PRESSURES:
        raise reader.fail("", "default_pressure", f"must be one of {', '.join(PRESSURES)}")
    default_pace = raw.get("default_pace", "normal")
    if default_pace not in ("slow", "normal", "fast"):
        raise reader.fail("", "default_pace", "must be slow, normal or fast")
    switch = reader.step(
        {"id": "switch_feet", "pressure": "none", **reader.table(raw, "switch", "")},
        "[switch]",
        shared,
        by_id=False,
    )
    finish = reader.step(
        {"id": "finish", "pressure": "none", **reader.table(raw, "finish", "")},
        "[finish]",
        shared,
        by_id=False,
    )
    return Routine(
        name=reader.text(raw, "name", ""),
        title=reader.text(raw, "title", ""),
        description=reader.text(raw, "description", ""),
        source=source,
        default_pressure=default_pressure,
        default_pace=default_pace,
        steps=steps,
        switch=switch,
        finish=finish,
    )


def load_routine_file(path: Path) -> Routine:
    return parse_routine(read_text(path, DataFileError, "routine file"), str(path))


def builtin_names() -> list[str]:
    folder = resources.files("assistant").joinpath("data/routines")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_routine(name_or_path: str) -> Routine:
    """A built-in routine by name, or a user's own file by path."""
    if name_or_path in builtin_names():
        resource = resources.files("assistant").joinpath(f"data/routines/{name_or_path}.toml")
        return parse_routine(
            resource.read_text(encoding="utf-8"), f"assistant/data/routines/{name_or_path}.toml"
        )
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load_routine_file(path)
    raise DataFileError(
        f"no routine called '{name_or_path}': choose one of {', '.join(builtin_names())}, "
        "or give the path of a .toml routine file"
    )
