"""`massage-assistant history`: recent sessions and the weekly rhythm."""

from __future__ import annotations

import sys
import time

import click

from assistant.commands.common import Environment
from assistant.memory.recorder import memory_problem
from assistant.memory.store import Memory, MemoryUnavailable
from assistant.session.dialog import load_dialog

WEEK_S = 7 * 86400.0
WINDOW_WEEKS = 4
LASTING_PER_WEEK = 2.0
"""The domain notes: 2 to 3 times a week for lasting benefit."""


def sessions_per_week(memory: Memory, now: float) -> float:
    """Sessions that massaged at all (a step done, not only skipped) in the last weeks."""
    since = now - WINDOW_WEEKS * WEEK_S
    recent = [
        s for s in memory.sessions(limit=1000) if s.started_at >= since and s.steps_completed > 0
    ]
    return len(recent) / WINDOW_WEEKS


def history_lines(memory: Memory, limit: int) -> list[str]:
    dialog = load_dialog()
    sessions = memory.sessions(limit)
    if not sessions:
        return [dialog.line("history.none")]
    lines = [
        dialog.line(
            "history.row",
            date=time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started_at)),
            routine=s.routine,
            mode=s.mode,
            minutes=round(s.duration_s / 60),
            steps=s.steps_completed,
            outcome=dialog.line(f"history.outcome_{s.outcome or 'running'}"),
        )
        for s in sessions
    ]
    per_week = sessions_per_week(memory, memory.wall())
    key = "history.per_week_low" if per_week < LASTING_PER_WEEK else "history.per_week"
    lines.append(dialog.line(key, per_week=per_week))
    return lines


def run(limit: int, env: Environment) -> None:
    dialog = load_dialog()
    try:
        memory = Memory(env.home)
        try:
            if memory.moved_aside is not None:
                click.echo(dialog.line("notice.memory_moved_aside", path=memory.moved_aside))
            for line in history_lines(memory, limit):
                click.echo(line)
        finally:
            memory.close()
    except MemoryUnavailable as exc:
        click.echo(memory_problem(dialog, exc, in_session=False), err=True)
        sys.exit(1)
