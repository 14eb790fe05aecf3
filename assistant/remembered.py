"""Starting a session from memory: learned preferences, safety answers, resuming."""

from __future__ import annotations

from dataclasses import dataclass, replace

from assistant.dialog import Dialog
from assistant.memory import Memory
from assistant.plan import make_plan
from assistant.routines import load_routine
from assistant.safety import ScreeningPlan, load_screening, plan_screening
from assistant.settings import PRESSURES, SessionSettings, SpeechSettings


@dataclass(frozen=True)
class StartPlan:
    settings: SessionSettings
    speech: SpeechSettings
    volume_steps: int
    screening: ScreeningPlan
    start_index: int
    notices: tuple[str, ...]


def plan_start(
    memory: Memory,
    wanted: SessionSettings,
    speech_flags: dict[str, str | int | bool],
    pressure_given: bool,
    pace_given: bool,
    resume: bool,
    dialog: Dialog,
) -> StartPlan:
    """Flags win; otherwise what was learned last time; otherwise the routine's defaults."""
    notices: list[str] = []
    if memory.moved_aside is not None:
        notices.append(dialog.line("notice.memory_moved_aside", path=memory.moved_aside))
    prefs = memory.preferences()
    settings, start_index = wanted, 0
    unfinished = memory.unfinished()
    if unfinished is not None:
        memory.mark_interrupted(unfinished.id)
        routine = load_routine(unfinished.routine)
        count = len(make_plan(routine))
        if resume:
            settings = replace(settings, routine=unfinished.routine, mode=unfinished.mode)  # type: ignore[arg-type]
            start_index = unfinished.step_index
        else:
            notices.append(
                dialog.line(
                    "notice.resume_offer",
                    routine=routine.title,
                    step=unfinished.step_index + 1,
                    count=count,
                )
            )
    elif resume:
        notices.append(dialog.line("notice.nothing_to_resume"))
    if settings.mode is None and prefs.get("mode") in ("self", "partner"):
        settings = replace(settings, mode=prefs["mode"])  # type: ignore[arg-type]
    learned = prefs.get("pressure")
    if not pressure_given and learned in PRESSURES and learned != settings.pressure:
        settings = replace(settings, pressure=learned, pressure_remembered=True)
    pace = prefs.get("pace_factor")
    if not pace_given and pace is not None:
        factor = float(pace)
        if settings.min_pace_factor <= factor <= settings.max_pace_factor:
            settings = replace(settings, pace_factor=factor)
    if prefs.get("disclaimer_heard") == "yes":
        settings = replace(settings, show_disclaimer=False)
    speech, volume_steps = _speech_from_memory(memory, speech_flags, prefs)
    answers = memory.screening_answers()
    screening = plan_screening(load_screening(), answers, memory.wall(), asked=False)
    return StartPlan(settings, speech, volume_steps, screening, start_index, tuple(notices))


def _speech_from_memory(
    memory: Memory, flags: dict[str, str | int | bool], prefs: dict[str, str]
) -> tuple[SpeechSettings, int]:
    """Voice, rate and chimes given as flags are remembered; otherwise the remembered
    ones are used. Volume is remembered as louder/quieter steps."""
    memory.save_preferences({key: str(value) for key, value in flags.items()})
    values: dict[str, str | int | bool] = {}
    if "voice" in prefs:
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
