"""Writes a running session into memory as it happens, so a kill loses nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from assistant.events import Event
from assistant.memory.store import Memory, MemoryUnavailable
from assistant.session.dialog import Dialog
from assistant.settings import PRESSURES


def memory_problem(dialog: Dialog, exc: MemoryUnavailable, in_session: bool) -> str:
    """One line saying what is wrong with memory, and what happens now."""
    suffix = "_session" if in_session else ""
    return dialog.line(f"memory.{exc.problem}{suffix}", path=exc.path, detail=exc.detail)


def record_session(
    memory: Memory | None,
    routine: str,
    mode: str,
    volume_steps: int,
    offered: int | None,
    dialog: Dialog,
    notice: Callable[[str], None],
) -> SessionMemory | None:
    """The recorder for this session, or None (said in one line) when memory is off."""
    if memory is None:
        return None

    def stopped(exc: MemoryUnavailable) -> None:
        notice(dialog.line("memory.stopped_saving", path=exc.path, detail=exc.detail))

    return SessionMemory(memory, routine, mode, volume_steps, offered, stopped)


class SessionMemory:
    """An event subscriber: progress, commands, screening answers and learned preferences.

    The session is written into history only when it reaches its first step: a start
    that fails before that (no model, no microphone) or ends during the questions
    leaves no "in progress" row behind to be offered for resuming.

    A write that fails (the file became locked or unwritable) is reported once through
    `on_failure` and memory is left alone for the rest of the session, which carries on.
    """

    def __init__(
        self,
        memory: Memory,
        routine: str,
        mode: str,
        volume_steps: int = 0,
        offered: int | None = None,
        on_failure: Callable[[MemoryUnavailable], None] | None = None,
    ) -> None:
        """`offered`: an unfinished session the user was offered to pick up again; it
        is closed once this one really takes its place (answered, or steps done)."""
        self.memory = memory
        self.volume_steps = volume_steps
        self.session_id: int | None = None
        """None until the first step: see the class docstring."""
        self.routine = routine
        self.mode = mode
        self.mode_chosen = True
        self.offered = offered
        self.on_failure = on_failure
        self.working = True
        self.commands: Counter[str] = Counter()
        self.steps_seen = 0
        self.steps_done = 0
        self.step_index = 0
        self.step_id: str | None = None
        self.foot: int | None = None

    def __call__(self, event: Event) -> None:
        if not self.working:
            return
        try:
            self._record(event)
        except MemoryUnavailable as exc:
            self.working = False
            if self.on_failure is not None:
                self.on_failure(exc)

    def _record(self, event: Event) -> None:
        kind = event["type"]
        if kind == "step":
            if self.session_id is None:
                self.session_id = self.memory.begin_session(self.routine, self.mode)
            self.steps_seen += 1
            self.step_index = int(event["index"])
            self.step_id, self.foot = str(event["id"]), event.get("foot")
            if self.steps_seen == 1:
                self.memory.save_preferences({"last_routine": self.routine})
            self._progress()
        elif kind == "step_done":
            self.steps_done += 1
            self._progress()
        elif kind == "command" and event["accepted"] and event["intent"]:
            self.commands[str(event["intent"])] += 1
            self._progress()
        elif kind == "screening":
            answers = {str(k): bool(v) for k, v in event["answers"].items()}
            self.memory.save_screening(answers, person=str(event.get("person", "self")))
        elif kind == "pressure" and event["level"] in PRESSURES:
            self.memory.save_preferences({"pressure": str(event["level"])})
        elif kind == "say" and event["key"] == "disclaimer":
            self.memory.save_preferences({"disclaimer_heard": "yes"})
        elif kind == "mode":
            self._mode(str(event["mode"]), chosen=not event.get("defaulted", False))
        elif kind == "resume":
            self._resume(event)
        elif kind == "volume":
            self.volume_steps += int(event["step"])
            self.memory.save_preferences({"volume_steps": str(self.volume_steps)})
        elif kind == "pace" and "relative" in event:
            self.memory.save_preferences({"pace_relative": str(event["relative"])})
        elif kind == "state" and event["to"] == "finished":
            self._finished()

    def _mode(self, mode: str, chosen: bool) -> None:
        """A mode the user chose is remembered; one taken by default (no answer) is not."""
        self.mode, self.mode_chosen = mode, chosen
        if self.session_id is not None:
            self.memory.set_session_mode(self.session_id, mode)
        if chosen:
            self.memory.save_preferences({"mode": mode})

    def _resume(self, event: Event) -> None:
        answer = event["answer"]
        if answer == "yes":
            self.routine = str(event["routine"])
            self.mode = str(event["mode"])
            if self.session_id is not None:
                self.memory.set_session_routine(self.session_id, self.routine, self.mode)
        if answer in ("yes", "no") and self.offered is not None:
            self.memory.mark_interrupted(self.offered)
            self.offered = None

    def _finished(self) -> None:
        if self.mode_chosen:
            self.memory.save_preferences({"mode": self.mode})
        if self.session_id is None:
            return  # it never reached a step: nothing to put in history
        ended = self.commands.get("end_session", 0) > 0
        self._progress()
        self.memory.end_session(self.session_id, "ended" if ended else "finished")
        if self.offered is not None and self.steps_done > 0:
            self.memory.mark_interrupted(self.offered)

    def _progress(self) -> None:
        """Steps completed: those whose time ran out, not those skipped or left."""
        if self.session_id is None:
            return
        self.memory.record_progress(
            self.session_id,
            self.step_index,
            self.steps_done,
            dict(self.commands),
            self.step_id,
            self.foot,
        )
