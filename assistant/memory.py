"""What the assistant remembers between sessions, in SQLite, without ever losing it.

Every write is one transaction (a kill at any moment leaves the last committed
state); a file that SQLite cannot read is moved aside and a fresh one started.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "memory.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS preferences (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS screening (
    question TEXT PRIMARY KEY, answer INTEGER NOT NULL, answered_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    routine TEXT NOT NULL,
    mode TEXT NOT NULL,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    step_index INTEGER NOT NULL DEFAULT 0,
    steps_completed INTEGER NOT NULL DEFAULT 0,
    commands TEXT NOT NULL DEFAULT '{}',
    outcome TEXT);
"""


@dataclass(frozen=True)
class SessionRecord:
    id: int
    routine: str
    mode: str
    started_at: float
    updated_at: float
    step_index: int
    steps_completed: int
    commands: dict[str, int]
    outcome: str | None
    """'finished', 'ended' by the user, or None: still running, or interrupted."""

    @property
    def duration_s(self) -> float:
        return self.updated_at - self.started_at


class Memory:
    def __init__(self, folder: Path, wall: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.path = folder / DB_NAME
        self.wall = wall
        self.moved_aside: Path | None = None
        """Where an unreadable database was put, if one was found on opening."""
        folder.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except sqlite3.DatabaseError:
            self.moved_aside = self.path.with_name(f"{DB_NAME}.corrupt-{int(wall())}")
            self.path.replace(self.moved_aside)
            for suffix in ("-journal", "-wal", "-shm"):
                self.path.with_name(DB_NAME + suffix).unlink(missing_ok=True)
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=FULL")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            db.executescript(SCHEMA)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # ----- preferences ---------------------------------------------------------------

    def preferences(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM preferences").fetchall())

    def save_preferences(self, values: dict[str, str]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT INTO preferences(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                sorted(values.items()),
            )

    # ----- screening -----------------------------------------------------------------

    def screening_answers(self) -> dict[str, tuple[bool, float]]:
        rows = self._db.execute("SELECT question, answer, answered_at FROM screening")
        return {q: (bool(a), at) for q, a, at in rows.fetchall()}

    def save_screening(self, answers: dict[str, bool]) -> None:
        now = self.wall()
        with self._write() as db:
            db.executemany(
                "INSERT INTO screening(question, answer, answered_at) VALUES(?, ?, ?) "
                "ON CONFLICT(question) DO UPDATE SET answer = excluded.answer, "
                "answered_at = excluded.answered_at",
                [(q, int(a), now) for q, a in sorted(answers.items())],
            )

    # ----- sessions ------------------------------------------------------------------

    def begin_session(self, routine: str, mode: str) -> int:
        now = self.wall()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO sessions(routine, mode, started_at, updated_at) VALUES(?, ?, ?, ?)",
                (routine, mode, now, now),
            )
            return int(cursor.lastrowid or 0)

    def record_progress(
        self, session_id: int, step_index: int, steps_completed: int, commands: dict[str, int]
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET updated_at = ?, step_index = ?, steps_completed = ?, "
                "commands = ? WHERE id = ?",
                (self.wall(), step_index, steps_completed, json.dumps(commands), session_id),
            )

    def set_session_mode(self, session_id: int, mode: str) -> None:
        with self._write() as db:
            db.execute("UPDATE sessions SET mode = ? WHERE id = ?", (mode, session_id))

    def end_session(self, session_id: int, outcome: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET updated_at = ?, outcome = ? WHERE id = ?",
                (self.wall(), outcome, session_id),
            )

    def sessions(self, limit: int = 50) -> list[SessionRecord]:
        rows = self._db.execute(
            "SELECT id, routine, mode, started_at, updated_at, step_index, steps_completed, "
            "commands, outcome FROM sessions ORDER BY started_at DESC, id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            SessionRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8])
            for r in rows
        ]

    def unfinished(self, within_s: float = 12 * 3600.0) -> SessionRecord | None:
        """The latest session that never ended, if recent enough to pick up again."""
        latest = self.sessions(limit=1)
        if latest and latest[0].outcome is None and self.wall() - latest[0].updated_at <= within_s:
            return latest[0]
        return None

    def mark_interrupted(self, session_id: int) -> None:
        self.end_session(session_id, "interrupted")


def forget(folder: Path) -> bool:
    """Delete everything stored; True when there was something to delete."""
    found = False
    for path in folder.glob(f"{DB_NAME}*"):
        path.unlink()
        found = True
    return found
