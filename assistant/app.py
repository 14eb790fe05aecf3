"""The composition root: wires routines, session, voice and listeners for the CLI."""

from __future__ import annotations

import queue
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from assistant.clock import MonotonicClock
from assistant.dialog import load_dialog
from assistant.errors import AssistantError
from assistant.events import Event, EventLog
from assistant.ports import Voice
from assistant.routines import Routine
from assistant.runner import run_session
from assistant.session import Command, Session
from assistant.settings import ListenSettings, SessionSettings, SpeechSettings
from assistant.text_input import start_text_input
from assistant.vocabulary import load_vocabulary


@dataclass(frozen=True)
class RunOptions:
    text_mode: bool
    events_path: Path | None
    env_model: Path | None


def _print_lines(out: TextIO) -> object:
    def show(event: Event) -> None:
        if event["type"] == "say":
            print(event["text"], file=out, flush=True)

    return show


def _notice(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_voice(text_mode: bool, speech: SpeechSettings) -> Voice | None:
    """The speakers, or None for printed text only (asked for, or no audio here)."""
    if text_mode:
        return None
    try:
        from assistant.speech.spoken_voice import open_spoken_voice

        return open_spoken_voice(speech)
    except AssistantError as exc:
        _notice(f"{exc} Carrying on in text: lines are printed.")
        return None


def run_guided_session(
    routine: Routine,
    session_settings: SessionSettings,
    speech: SpeechSettings,
    listen: ListenSettings,
    options: RunOptions,
    stdin: TextIO,
    stdout: TextIO,
) -> Session:
    from assistant.speech.spoken_voice import PrintedVoice

    clock = MonotonicClock()
    events = EventLog(clock, options.events_path)
    vocabulary = load_vocabulary()
    voice = build_voice(options.text_mode, speech) or PrintedVoice(None)
    events.subscribe(_print_lines(stdout))  # type: ignore[arg-type]
    inbox: queue.Queue[Command] = queue.Queue()
    session = Session(routine, session_settings, clock, voice, events, load_dialog(), vocabulary)
    start_text_input(stdin, vocabulary, inbox)
    try:
        run_session(session, inbox)
    finally:
        events.close()
    return session
