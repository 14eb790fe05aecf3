"""Starting a session from memory: learned preferences, safety answers, resuming.

Memory that cannot be used (locked by another program, a folder that cannot be
written) is reported in one line and left out: the session starts from defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from assistant.errors import AssistantError
from assistant.memory.recorder import memory_problem
from assistant.memory.store import Memory, MemoryUnavailable, SessionRecord
from assistant.session.dialog import Dialog
from assistant.session.plan import make_plan
from assistant.session.routines import Routine, load_routine
from assistant.session.safety import PERSONS, ScreeningPlan, load_screening, plan_screening
from assistant.session.screening import ResumeOffer
from assistant.settings import (
    PACES,
    PRESSURES,
    MemorySettings,
    Mode,
    SessionSettings,
    SpeechSettings,
)


@dataclass(frozen=True)
class StartPlan:
    settings: SessionSettings
    speech: SpeechSettings
    volume_steps: int
    screening: dict[Mode, ScreeningPlan]
    """Per person massaged."""
    start_index: int
    notices: tuple[str, ...]
    offer: ResumeOffer | None = None
    """An unfinished session to offer at the start (yes picks it up)."""


def open_start(
    remember: MemorySettings,
    wanted: SessionSettings,
    speech_flags: dict[str, str | int | bool],
    given: tuple[bool, bool],
    dialog: Dialog,
    notice: Callable[[str], None],
) -> tuple[StartPlan, Memory | None]:
    """The start plan, and the memory to record the session in (None: without memory)."""
    memory: Memory | None = None
    try:
        memory = Memory(remember.folder, busy_timeout_s=remember.busy_timeout_s)
        return plan_start(memory, wanted, speech_flags, given, remember, dialog), memory
    except MemoryUnavailable as exc:
        if memory is not None:
            memory.close()
        notice(memory_problem(dialog, exc, in_session=True))
        return plan_start(None, wanted, speech_flags, given, remember, dialog), None


def plan_start(
    memory: Memory | None,
    wanted: SessionSettings,
    speech_flags: dict[str, str | int | bool],
    given: tuple[bool, bool],
    remember: MemorySettings,
    dialog: Dialog,
) -> StartPlan:
    """Flags win; otherwise what was learned last time; otherwise the routine's defaults.

    `given`: whether pressure and pace came from flags. May raise MemoryUnavailable."""
    pressure_given, pace_given = given
    notices: list[str] = []
    prefs: dict[str, str] = {}
    if memory is not None:
        if memory.moved_aside is not None:
            notices.append(dialog.line("notice.memory_moved_aside", path=memory.moved_aside))
        prefs = memory.preferences()
    settings, start_index, offer = wanted, 0, None
    unfinished = _resumable(memory)
    kept: int | None = None
    if unfinished is not None and not _may_offer(unfinished[0], wanted, remember):
        kept, unfinished = unfinished[0].id, None  # not offered now, nor closed
    if memory is not None and unfinished is not None:
        record, routine = unfinished
        index = _index_in(routine, record)
        if remember.resume:
            memory.close_unfinished()
            settings = replace(settings, routine=record.routine, mode=record.mode)  # type: ignore[arg-type]
            start_index = index
        else:
            memory.close_unfinished(keep=record.id)
            mode: Mode = "partner" if record.mode == "partner" else "self"
            offer = ResumeOffer(record.id, record.routine, routine, mode, index)
    elif memory is not None:
        memory.close_unfinished(keep=kept)
    if remember.resume and unfinished is None:
        notices.append(dialog.line("notice.nothing_to_resume"))
    if remember.use_last_routine and not (remember.resume and unfinished is not None):
        settings = _last_routine(settings, prefs.get("last_routine"), given)
    if settings.mode is None and prefs.get("mode") in PERSONS:
        settings = replace(settings, mode=prefs["mode"])  # type: ignore[arg-type]
    learned = prefs.get("pressure")
    if not pressure_given and learned in PRESSURES and learned != settings.pressure:
        settings = replace(settings, pressure=learned, pressure_remembered=True)
    settings = _learned_pace(settings, prefs.get("pace_relative"), pace_given)
    if prefs.get("disclaimer_heard") == "yes":
        settings = replace(settings, disclaimer_heard=True)
    speech, volume_steps = _speech_from_memory(memory, speech_flags, prefs)
    screening = load_screening()
    now = memory.wall() if memory is not None else 0.0
    plans = {
        person: plan_screening(
            screening, memory.screening_answers(person) if memory else {}, now, asked=False
        )
        for person in PERSONS
    }
    return StartPlan(settings, speech, volume_steps, plans, start_index, tuple(notices), offer)


def _resumable(memory: Memory | None) -> tuple[SessionRecord, Routine] | None:
    """The unfinished session to pick up, if its routine can still be loaded."""
    record = memory.unfinished() if memory is not None else None
    if record is None:
        return None
    try:
        return record, load_routine(record.routine)
    except AssistantError:
        return None


def _may_offer(record: SessionRecord, wanted: SessionSettings, remember: MemorySettings) -> bool:
    """`start --resume`, or no routine asked for, offers any unfinished session; asking
    for another routine means a new session of it, and the old one waits for later."""
    return remember.resume or remember.use_last_routine or record.routine == wanted.routine


def _index_in(routine: Routine, record: SessionRecord) -> int:
    """Where the old session was, in the routine's whole plan: by step (a plan that left
    the pressure points out numbered the steps differently), else by number."""
    plan = make_plan(routine)
    for n, item in enumerate(plan):
        if item.step.id == record.step_id and item.foot == record.foot:
            return n
    return min(max(record.step_index, 0), len(plan) - 1)


def _last_routine(
    settings: SessionSettings, last: str | None, given: tuple[bool, bool]
) -> SessionSettings:
    """Last time's routine, with its own default pressure and pace unless given."""
    if not last:
        return settings
    try:
        routine = load_routine(last)
    except AssistantError:
        return settings
    settings = replace(settings, routine=last, routine_remembered=True)
    if not given[0]:
        settings = replace(settings, pressure=routine.default_pressure)  # type: ignore[arg-type]
    if not given[1]:
        settings = replace(settings, pace_factor=PACES[routine.default_pace])
    return settings


def _learned_pace(settings: SessionSettings, learned: str | None, given: bool) -> SessionSettings:
    """The routine's own pace, changed as last time: the pace is remembered as a change
    relative to the routine it was set in (a factor of 1.2 is slower than a normal
    routine, but faster than a slow one), so it is applied and said the right way round.
    (An older memory's absolute `pace_factor` says nothing about which routine: unused.)"""
    if given:
        return settings
    own = _own_pace(settings)
    settings = replace(settings, pace_factor=own)
    try:
        relative = float(learned) if learned is not None else 1.0
    except ValueError:
        return settings
    if not relative > 0:
        return settings
    factor = round(min(max(own * relative, settings.min_pace_factor), settings.max_pace_factor), 3)
    if factor == own:
        return settings
    direction: Literal["slower", "faster"] = "slower" if factor > own else "faster"
    return replace(settings, pace_factor=factor, pace_remembered=direction)


def _own_pace(settings: SessionSettings) -> float:
    """The pace factor the routine is written for (a resumed session's, too)."""
    try:
        return PACES[load_routine(settings.routine).default_pace]
    except AssistantError:
        return settings.pace_factor


def _speech_from_memory(
    memory: Memory | None, flags: dict[str, str | int | bool], prefs: dict[str, str]
) -> tuple[SpeechSettings, int]:
    """Voice, rate and chimes given as flags are remembered; otherwise the remembered
    ones are used. Volume is remembered as louder/quieter steps."""
    if memory is not None and flags:
        memory.save_preferences({key: str(value) for key, value in flags.items()})
    values: dict[str, str | int | bool] = {}
    if prefs.get("voice"):  # empty: a voice that was forgotten (no longer installed)
        values["voice"] = prefs["voice"]
    if prefs.get("rate_wpm", "").isdigit():
        values["rate_wpm"] = int(prefs["rate_wpm"])
    if "chimes" in prefs:
        values["chimes"] = prefs["chimes"] == "True"
    values.update(flags)
    speech = replace(SpeechSettings(), **values)  # type: ignore[arg-type]
    steps = int(prefs["volume_steps"]) if prefs.get("volume_steps", "").lstrip("-").isdigit() else 0
    volume = min(max(speech.volume + steps * speech.volume_step, speech.volume_step), 1.0)
    return replace(speech, volume=volume), steps
