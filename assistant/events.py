"""The session's event stream: one JSON object per line, each with its session time.

Tests, the benchmark and curious users read it; the listener subscribes to it to
follow the state.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from assistant.errors import AssistantError
from assistant.ports import Clock

Event = dict[str, Any]


class EventLog:
    def __init__(self, clock: Clock, path: Path | None = None) -> None:
        self._clock = clock
        self._file: IO[str] | None = _open(path) if path else None
        self._subscribers: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        self.history: list[Event] = []

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self._subscribers.append(callback)

    def emit(self, type_: str, **fields: Any) -> Event:
        event: Event = {"t": round(self._clock.now(), 3), "type": type_, **fields}
        with self._lock:
            self.history.append(event)
            if self._file is not None:
                self._file.write(json.dumps(event) + "\n")
                self._file.flush()
        for callback in self._subscribers:
            callback(event)
        return event

    def of_type(self, type_: str) -> list[Event]:
        with self._lock:
            return [e for e in self.history if e["type"] == type_]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _open(path: Path) -> IO[str]:
    """A bad --events path is the user's to fix: one clear line, not a traceback."""
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise AssistantError(f"{path}: cannot write the events file: {exc.strerror}") from exc
