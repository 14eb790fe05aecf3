"""What the assistant remembers between sessions, in SQLite, without ever losing it.

Every write is one transaction (a kill at any moment leaves the last committed
state). Only a file SQLite says is not a database, or is malformed, is moved
aside (never deleted) and a fresh one started; a file that is merely locked by
another program, or a folder that cannot be written, is left alone and reported
as `MemoryUnavailable`, so the session can carry on without memory.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.errors import AssistantError

DB_NAME = "memory.sqlite3"
SIDE_FILES = ("-journal", "-wal", "-shm")
SCHEMA_VERSION = 2
"""1: screening answers per question. 2: per person massaged, and the step id of a session."""
TABLES = (
    "CREATE TABLE IF NOT EXISTS preferences (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS screening_answers (
        person TEXT NOT NULL,
        question TEXT NOT NULL,
        answer INTEGER NOT NULL,
        answered_at REAL NOT NULL,
        PRIMARY KEY (person, question))""",
    """CREATE TABLE IF NOT EXISTS sessions (
        id INTEGER PRIMARY KEY,
        routine TEXT NOT NULL,
        mode TEXT NOT NULL,
        started_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        step_index INTEGER NOT NULL DEFAULT 0,
        steps_completed INTEGER NOT NULL DEFAULT 0,
        commands TEXT NOT NULL DEFAULT '{}',
        outcome TEXT)""",
)
SESSION_COLUMNS = {"step_id": "TEXT", "foot": "INTEGER"}
"""Added in version 2: where a session was, by step, so resuming does not depend on
which steps a plan left out."""

Problem = Literal["locked", "unusable"]


class MemoryUnavailable(AssistantError):
    """Memory cannot be used now (locked by another program, a folder or file that
    cannot be written, or it broke mid-session); nothing was moved or deleted."""

    def __init__(self, problem: Problem, path: Path, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.problem = problem
        self.path = path
        self.detail = detail


def _error_name(exc: sqlite3.Error) -> str:
    return str(getattr(exc, "sqlite_errorname", ""))


def _is_corrupt(exc: sqlite3.Error) -> bool:
    """Only what SQLite itself calls "not a database" or "malformed" is corruption."""
    name = _error_name(exc)
    if name:
        return name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
    text = str(exc)
    return "file is not a database" in text or "malformed" in text


def _is_locked(exc: sqlite3.Error) -> bool:
    name = _error_name(exc)
    if name:
        return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    return "locked" in str(exc) or "busy" in str(exc)


class _Corrupt(sqlite3.DatabaseError):
    """The integrity check found damage (SQLite opened the file, but it is not sound)."""


OUTCOMES = (None, "finished", "ended", "interrupted")
PERSONS = ("self", "partner")
LATEST_TIME_S = 1e11
"""Wall-clock times beyond this (the year 5138) are damage, not dates."""


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and abs(value) < LATEST_TIME_S


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad_session(row: tuple[Any, ...]) -> bool:
    _, routine, mode, started, updated, index, done, commands, outcome, step_id, foot = row
    try:
        counts = json.loads(commands) if isinstance(commands, str) else None
    except (ValueError, RecursionError):  # torn, or nested beyond reading
        return True
    return not (
        isinstance(routine, str) and mode in PERSONS and _is_time(started)
        and _is_time(updated) and _is_count(index) and _is_count(done)
        and isinstance(counts, dict) and all(_is_count(n) for n in counts.values())
        and outcome in OUTCOMES and (step_id is None or isinstance(step_id, str))
        and (foot is None or _is_count(foot))
    )


def _check_rows(db: sqlite3.Connection) -> None:
    """Raise _Corrupt unless every row holds what this program writes.

    SQLite keeps any value in any column and cannot tell a torn JSON text or a date that
    became text from data: found here, such a file is moved aside like a malformed one,
    instead of ending in a traceback when a session or `history` reads it."""
    try:
        for key, value in db.execute("SELECT key, value FROM preferences"):
            if not (isinstance(key, str) and isinstance(value, str)):
                raise _Corrupt("malformed row in preferences")
        for person, question, answer, at in db.execute(
            "SELECT person, question, answer, answered_at FROM screening_answers"
        ):
            if not (person in PERSONS and isinstance(question, str) and answer in (0, 1)
                    and not isinstance(answer, float) and _is_time(at)):
                raise _Corrupt("malformed row in screening_answers")
        for row in db.execute(
            "SELECT id, routine, mode, started_at, updated_at, step_index, steps_completed, "
            "commands, outcome, step_id, foot FROM sessions"
        ):
            if _bad_session(row):
                raise _Corrupt(f"malformed row in sessions (id {row[0]})")
    except _Corrupt:
        raise
    except sqlite3.Error as exc:  # a table gone, text that is not UTF-8
        if _is_locked(exc):
            raise
        raise _Corrupt(f"malformed: {exc}") from exc


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
    """'finished', 'ended' by the user, 'interrupted', or None: running, or killed."""
    step_id: str | None = None
    foot: int | None = None

    @property
    def duration_s(self) -> float:
        return self.updated_at - self.started_at


class Memory:
    def __init__(
        self,
        folder: Path,
        wall: Callable[[], float] = time.time,
        busy_timeout_s: float = 5.0,
    ) -> None:
        """`busy_timeout_s`: how long to wait for another program's lock before giving up."""
        self.folder = folder
        self.path = folder / DB_NAME
        self.wall = wall
        self.busy_timeout_s = busy_timeout_s
        self.moved_aside: Path | None = None
        """Where an unreadable database was put, if one was found on opening."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MemoryUnavailable("unusable", folder, exc.strerror or str(exc)) from exc
        try:
            self._db = self._open()
        except sqlite3.Error as exc:
            if not _is_corrupt(exc):
                raise self._unavailable(exc) from exc
            self._move_aside()
            try:
                self._db = self._open()
            except sqlite3.Error as again:
                raise self._unavailable(again) from again

    def _unavailable(self, exc: sqlite3.Error) -> MemoryUnavailable:
        return MemoryUnavailable("locked" if _is_locked(exc) else "unusable", self.path, str(exc))

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=FULL")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise _Corrupt("database disk image is malformed (quick_check)")
            self._migrate(db)
        except UnicodeDecodeError as exc:  # sqlite's own message quotes the damaged text
            db.close()
            reason = f"database disk image is malformed (text not UTF-8: {exc.reason})"
            raise _Corrupt(reason) from exc
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Bring an older file up to date in one transaction; an up-to-date one is not
        written to at all (so a read-only file can still be read). Rows this program
        never wrote are damage: the transaction is rolled back and the file left as it
        was, to be moved aside whole."""
        if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            _check_rows(db)
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in TABLES:
                db.execute(statement)
            have = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
            for column, kind in SESSION_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE sessions ADD COLUMN {column} {kind}")
            old = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'screening'"
            ).fetchone()
            if old:  # version 1: the answers were the user's own
                db.execute(
                    "INSERT OR IGNORE INTO screening_answers"
                    "(person, question, answer, answered_at) "
                    "SELECT 'self', question, answer, answered_at FROM screening"
                )
                db.execute("DROP TABLE screening")
            _check_rows(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _move_aside(self) -> None:
        """Rename the damaged file (and its journal) out of the way; never delete it."""
        stamp = int(self.wall())
        target = self.path.with_name(f"{DB_NAME}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target, n = self.path.with_name(f"{DB_NAME}.corrupt-{stamp}-{n}"), n + 1
        try:
            self.path.replace(target)
            for suffix in SIDE_FILES:
                side = self.path.with_name(DB_NAME + suffix)
                if side.exists():
                    side.replace(target.with_name(target.name + suffix))
        except OSError as exc:
            raise MemoryUnavailable("unusable", self.path, exc.strerror or str(exc)) from exc
        self.moved_aside = target

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._unavailable(exc) from exc
            raise

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        self._db.close()

    # ----- preferences ---------------------------------------------------------------

    def preferences(self) -> dict[str, str]:
        return dict(self._read("SELECT key, value FROM preferences"))

    def save_preferences(self, values: dict[str, str]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT INTO preferences(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                sorted(values.items()),
            )

    # ----- screening, per person massaged ------------------------------------------

    def screening_answers(self, person: str = "self") -> dict[str, tuple[bool, float]]:
        rows = self._read(
            "SELECT question, answer, answered_at FROM screening_answers WHERE person = ?",
            (person,),
        )
        return {q: (bool(a), at) for q, a, at in rows}

    def save_screening(self, answers: dict[str, bool], person: str = "self") -> None:
        now = self.wall()
        with self._write() as db:
            db.executemany(
                "INSERT INTO screening_answers(person, question, answer, answered_at) "
                "VALUES(?, ?, ?, ?) ON CONFLICT(person, question) DO UPDATE SET "
                "answer = excluded.answer, answered_at = excluded.answered_at",
                [(person, q, int(a), now) for q, a in sorted(answers.items())],
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
        self,
        session_id: int,
        step_index: int,
        steps_completed: int,
        commands: dict[str, int],
        step_id: str | None = None,
        foot: int | None = None,
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET updated_at = ?, step_index = ?, steps_completed = ?, "
                "commands = ?, step_id = COALESCE(?, step_id), foot = ? WHERE id = ?",
                (
                    self.wall(),
                    step_index,
                    steps_completed,
                    json.dumps(commands),
                    step_id,
                    foot,
                    session_id,
                ),
            )

    def set_session_mode(self, session_id: int, mode: str) -> None:
        with self._write() as db:
            db.execute("UPDATE sessions SET mode = ? WHERE id = ?", (mode, session_id))

    def set_session_routine(self, session_id: int, routine: str, mode: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET routine = ?, mode = ? WHERE id = ?",
                (routine, mode, session_id),
            )

    def end_session(self, session_id: int, outcome: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET updated_at = ?, outcome = ? WHERE id = ?",
                (self.wall(), outcome, session_id),
            )

    def sessions(self, limit: int = 50) -> list[SessionRecord]:
        rows = self._read(
            "SELECT id, routine, mode, started_at, updated_at, step_index, steps_completed, "
            "commands, outcome, step_id, foot FROM sessions "
            "ORDER BY started_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [
            SessionRecord(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], r[9], r[10]
            )
            for r in rows
        ]

    def unfinished(self, within_s: float = 12 * 3600.0) -> SessionRecord | None:
        """The latest session that never ended, if recent enough to pick up again.

        A newer session that ended does not hide it: it stays on offer until a session
        has really taken its place (see `SessionMemory`)."""
        for record in self.sessions(limit=20):
            if record.outcome is None:
                return record if self.wall() - record.updated_at <= within_s else None
        return None

    def close_unfinished(self, keep: int | None = None) -> None:
        """Mark every session that never ended as interrupted, except `keep`."""
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET outcome = 'interrupted' "
                "WHERE outcome IS NULL AND id IS NOT ?",
                (keep,),
            )

    def mark_interrupted(self, session_id: int) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET outcome = 'interrupted' WHERE id = ? AND outcome IS NULL",
                (session_id,),
            )


def forget(folder: Path) -> bool:
    """Delete everything stored, moved-aside copies included (files or folders);
    True when there was something to delete. Whatever cannot be deleted is reported
    after trying all the rest."""
    found = False
    failed: list[tuple[Path, OSError]] = []
    for path in sorted(folder.glob(f"{DB_NAME}*")):
        found = True
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            failed.append((path, exc))
    if failed:
        where, error = failed[0]
        raise MemoryUnavailable("unusable", where, error.strerror or str(error))
    return found
