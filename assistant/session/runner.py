"""The real-time loop: commands wake it at once, otherwise it ticks the session.

Keyboard and microphone threads only put `Command`s in the inbox; one thread
owns the session, so the state machine never races with itself.
"""

from __future__ import annotations

import queue

from assistant.session.guide import Command, Session


def run_session(session: Session, inbox: queue.Queue[Command], poll_s: float = 0.02,
                begun: bool = False) -> None:
    """Run until the session has finished and its last words have been spoken; `begun`:
    the caller began it already (so its first line is heard while the listener loads)."""
    if not begun:
        session.begin()
    while not (session.finished and not session.voice.busy()):
        try:
            cmd: Command | None = inbox.get(timeout=poll_s)
        except queue.Empty:
            cmd = None
        if cmd is not None and not session.finished:
            session.command(cmd)
        session.tick()
