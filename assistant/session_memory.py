"""Writes a running session into memory as it happens, so a kill loses nothing."""

from __future__ import annotations

from collections import Counter

from assistant.events import Event
from assistant.memory import Memory
from assistant.settings import PRESSURES


class SessionMemory:
    """An event subscriber: progress, commands, screening answers and learned preferences."""

    def __init__(self, memory: Memory, routine: str, mode: str, volume_steps: int = 0) -> None:
        self.memory = memory
        self.volume_steps = volume_steps
        self.session_id = memory.begin_session(routine, mode)
        self.routine = routine
        self.mode = mode
        self.commands: Counter[str] = Counter()
        self.steps_seen = 0
        self.step_index = 0

    def __call__(self, event: Event) -> None:
        kind = event["type"]
        if kind == "step":
            self.steps_seen += 1
            self.step_index = int(event["index"])
            self._progress()
        elif kind == "command" and event["accepted"] and event["intent"]:
            self.commands[str(event["intent"])] += 1
            self._progress()
        elif kind == "screening":
            self.memory.save_screening({str(k): bool(v) for k, v in event["answers"].items()})
        elif kind == "pressure" and event["level"] in PRESSURES:
            self.memory.save_preferences({"pressure": str(event["level"])})
        elif kind == "say" and event["key"] == "disclaimer":
            self.memory.save_preferences({"disclaimer_heard": "yes"})
        elif kind == "mode":
            self.mode = str(event["mode"])
            self.memory.set_session_mode(self.session_id, self.mode)
            self.memory.save_preferences({"mode": self.mode})
        elif kind == "volume":
            self.volume_steps += int(event["step"])
            self.memory.save_preferences({"volume_steps": str(self.volume_steps)})
        elif kind == "pace":
            self.memory.save_preferences({"pace_factor": str(event["factor"])})
        elif kind == "state" and event["to"] == "finished":
            self.memory.save_preferences({"mode": self.mode, "last_routine": self.routine})
            ended = self.commands.get("end_session", 0) > 0
            self._progress(completed=self.steps_seen - 1 if ended else self.steps_seen)
            self.memory.end_session(self.session_id, "ended" if ended else "finished")

    def _progress(self, completed: int | None = None) -> None:
        """Steps completed: those entered, less the one still under way."""
        done = max(self.steps_seen - 1, 0) if completed is None else max(completed, 0)
        self.memory.record_progress(self.session_id, self.step_index, done, dict(self.commands))
