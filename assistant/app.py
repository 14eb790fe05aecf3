"""The composition root: wires routines, session, voice and listening for the CLI."""

from __future__ import annotations

import queue
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from assistant.chatter import chatter_to
from assistant.clock import MonotonicClock
from assistant.errors import AudioUnavailable
from assistant.events import Event, EventLog
from assistant.listening.echo_canceller import EchoCanceller, EchoReference
from assistant.listening.input_recording import InputRecording
from assistant.listening.listener import Holdable, Listener
from assistant.listening.spotter import CommandSpotter, PlaybackHistory
from assistant.memory.recorder import record_session
from assistant.memory.remembered import open_start
from assistant.ports import Voice
from assistant.screen.level import MicLevel
from assistant.session.dialog import Dialog, load_dialog
from assistant.session.guide import VALIDITY, Command, Session
from assistant.session.routines import load_routine
from assistant.session.runner import run_session
from assistant.session.screening import awaited_question
from assistant.session.text_input import start_text_input
from assistant.session.vocabulary import Vocabulary, load_vocabulary
from assistant.settings import ListenSettings, MemorySettings, SessionSettings, SpeechSettings
from assistant.speech.voice_choice import installed_voice

if TYPE_CHECKING:
    from assistant.listening.recognizer_process import RecognizerProcess
    from assistant.screen.model import ScreenModel
    from assistant.screen.typing import TerminalTyping


ANSWERS = "ack_"
"""The dialog keys whose lines answer a command: rendered before they are needed."""


@dataclass(frozen=True)
class RunOptions:
    text_mode: bool
    events_path: Path | None
    env_model: Path | None
    live_screen: bool = False
    """The live screen instead of printed lines (the CLI decides: a terminal, not --plain)."""
    output_device: str | int | None = None
    volume: float | None = None
    """Starting volume from the config; remembered louder/quieter steps apply on top."""
    chatter_log: Path | None = None
    """Where fd 2 goes for the session (C libraries' chatter); None: left alone."""
    speech_cache: Path | None = None
    """Where rendered lines are kept between sessions; None: nowhere."""


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _printer(out: TextIO) -> Callable[[Event], None]:
    def show(event: Event) -> None:
        if event["type"] == "say":
            print(event["text"], file=out, flush=True)

    return show


def _open_voice(
    speech: SpeechSettings, dialog: Dialog, stack: ExitStack
) -> tuple[Voice, PlaybackHistory] | None:
    """The speakers, or None when there is no way to play sound here."""
    from assistant.speech.spoken_voice import open_spoken_voice

    try:
        voice = open_spoken_voice(speech, _notice)
    except AudioUnavailable as exc:
        _notice(dialog.line("notice.no_speech_out", reason=str(exc).rstrip(".")))
        return None
    stack.callback(voice.close)
    voice.prefetch_answers(dialog.fixed_lines(ANSWERS))
    return voice, voice.player


def _echo_canceller(
    listen: ListenSettings, playback: PlaybackHistory | None, sample_rate: int
) -> EchoCanceller | None:
    """Cancels the assistant's own voice from the microphone, with the player's output as
    the reference; None when disabled or when nothing is played through a Player."""
    from assistant.speech.player import Player

    if not listen.echo_cancel or not isinstance(playback, Player):
        return None
    reference = EchoReference(sample_rate)
    playback.add_tap(reference.write)
    playback.add_underflow_tap(reference.underflowed)
    return EchoCanceller(reference, tail_seconds=listen.echo_tail_seconds)


def _holdable(listen: ListenSettings, playback: PlaybackHistory | None) -> Holdable | None:
    """The player, when the user talking over the assistant should hold its line."""
    from assistant.speech.player import Player

    return playback if listen.barge_in and isinstance(playback, Player) else None


def _start_recognizer(
    listen: ListenSettings, options: RunOptions, stack: ExitStack
) -> RecognizerProcess:
    """The recognizer's process, started first: its model loads (0.6 s) on the other core
    while the voice opens, instead of after it. ModelMissing (a model that is not there,
    or not one) is raised here, before a session is begun and remembered."""
    from assistant.listening.engines import choose_engine
    from assistant.listening.recognizer_process import RecognizerProcess

    # A vosk model is only known to be one once loaded: wait for it, so that a bad one
    # stops us before any session. pocketsphinx's own model is inside its wheel.
    embedded = choose_engine(listen, options.env_model).name == "pocketsphinx"
    recognizer = RecognizerProcess(listen, options.env_model, wait=not embedded)
    stack.callback(recognizer.close)
    return recognizer


def _open_listener(
    recognizer: RecognizerProcess,
    listen: ListenSettings,
    options: RunOptions,
    vocabulary: Vocabulary,
    inbox: queue.Queue[Command],
    events: EventLog,
    voice: Voice,
    playback: PlaybackHistory | None,
    dialog: Dialog,
    stack: ExitStack,
    level: MicLevel | None = None,
) -> Listener | None:
    """Microphone into the recognizer; None (keyboard only) when there is no microphone.

    `level` also gets every block, for the screen's meter (it only keeps a reference)."""
    from assistant.adapters.sounddevice_io import MicrophoneStream
    from assistant.listening.engines import (
        describe_engine,
        short_words_or_notice,
        stop_spotter_or_notice,
    )
    listener = Listener(
        recognizer,
        CommandSpotter(vocabulary, playback),
        vocabulary,
        inbox,
        events,
        interrupt=voice.silence,
        echo=_echo_canceller(listen, playback, recognizer.sample_rate),
        barge_in=_holdable(listen, playback),
        recording=(InputRecording(listen.save_audio_dir, recognizer.sample_rate)
                   if listen.save_audio_dir else None),
        stop_spotter=stop_spotter_or_notice(listen, _notice),
        short_words=short_words_or_notice(listen, _notice),
    )
    feed = listener.feed
    if level is not None:
        tap = level.feed

        def feed(pcm: bytes, at: float) -> None:
            listener.feed(pcm, at)
            tap(pcm, at)

    try:
        mic = MicrophoneStream(
            feed,
            sample_rate_hertz=recognizer.sample_rate,
            block_seconds=listen.block_seconds,
            device=listen.input_device,
        )
    except AudioUnavailable as exc:
        _notice(dialog.line("notice.no_microphone", reason=str(exc).rstrip(".")))
        return None
    listener.start()
    stack.callback(listener.stop)
    mic.start()
    stack.callback(mic.close)
    engine = describe_engine(listen, options.env_model)
    model = f" ({engine.model_path})" if engine.model_path else ""
    _notice(dialog.line("notice.listening", engine=engine.name, model=model,
                        spotter=engine.spotter if listener.hearing.stop_spotter else "none",
                        words=engine.words if listener.hearing.words else "none"))
    if engine.better_available:
        _notice(dialog.line("notice.better_engine"))
    return listener


def follow_valid(
    events: EventLog, session: Session, follow: Callable[[frozenset[str]], None]
) -> None:
    """The recognizer's grammar: what the session understands now, and after every change
    (the screen's hint follows the same events)."""
    events.subscribe(
        lambda e: follow(session.valid_intents()) if e["type"] in VALIDITY else None
    )
    follow(session.valid_intents())


def follow_questions(events: EventLog, expect: Callable[[str | None], None]) -> None:
    """Which question a "yes" or "no" would answer, so that it counts only once the
    question is heard (see `CommandSpotter.expect_answer`); from the events so far too:
    the first question is queued before the listener opens."""
    events.subscribe(
        lambda e: expect(awaited_question(events.history))
        if e["type"] in ("awaiting", "say") else None
    )
    expect(awaited_question(events.history))


def run_guided_session(
    wanted: SessionSettings,
    given: tuple[bool, bool],
    speech_flags: dict[str, str | int | bool],
    listen: ListenSettings,
    remember: MemorySettings,
    options: RunOptions,
    stdin: TextIO,
    stdout: TextIO,
) -> Session:
    """`given`: whether pressure and pace came from flags (flags beat memory)."""
    from assistant.speech.spoken_voice import PrintedVoice

    clock = MonotonicClock()
    vocabulary = load_vocabulary()
    dialog = load_dialog()
    inbox: queue.Queue[Command] = queue.Queue()
    with ExitStack() as stack:
        stack.enter_context(chatter_to(options.chatter_log))  # first in, so last out
        recognizer = None if options.text_mode else _start_recognizer(listen, options, stack)
        start, memory = open_start(remember, wanted, speech_flags, given, dialog, _notice)
        if memory is not None:
            stack.callback(memory.close)
        for line in start.notices:
            _notice(line)
        session_settings = start.settings
        speech = _with_options(start.speech, start.volume_steps, options)
        if not options.text_mode:
            voice_id, gone = installed_voice(speech.voice, memory, dialog)
            if gone is not None:
                _notice(gone)
                speech = replace(speech, voice=voice_id)
        routine = load_routine(session_settings.routine)
        events = EventLog(clock, options.events_path)
        stack.callback(events.close)
        mode = session_settings.mode or "self"
        offered = start.offer.session_id if start.offer is not None else None
        recorder = record_session(
            memory, session_settings.routine, mode, start.volume_steps, offered, dialog, _notice
        )
        if recorder is not None:
            events.subscribe(recorder)
        spoken = None if options.text_mode else _open_voice(speech, dialog, stack)
        show_screen = options.live_screen and not options.text_mode
        if spoken is None:
            voice: Voice = PrintedVoice(None if show_screen else stdout)
            playback = None
        else:
            voice, playback = spoken
            if not show_screen:
                events.subscribe(_printer(stdout))
        session = Session(
            routine,
            session_settings,
            clock,
            voice,
            events,
            dialog,
            vocabulary,
            screening_plan=start.screening,
            start_index=start.start_index,
            resume_offer=start.offer,
        )
        level = MicLevel() if show_screen else None
        typing = _terminal_typing(stdin, vocabulary, inbox, stack) if show_screen else None
        model = _screen_model(session, events, level, typing) if show_screen else None
        # The first line is asked for before the listener is waited for (its model loads
        # meanwhile): a line found in the speech cache is heard within half a second.
        session.begin()
        listener = None
        if recognizer is not None:
            listener = _open_listener(
                recognizer, listen, options, vocabulary, inbox, events, voice, playback, dialog,
                stack, level,
            )
        if listener is not None:
            follow_valid(events, session, listener.follow)
            follow_questions(events, listener.expect_answer)
        else:
            _notice(dialog.line("notice.keyboard"))
        if typing is None:
            start_text_input(stdin, vocabulary, inbox)
        if model is not None:
            if listener is not None:
                from assistant.listening.engines import describe_engine

                model.engine = describe_engine(listen, options.env_model).name
            _start_screen(model, vocabulary, stack, stdout)
        run_session(session, inbox, begun=True)
    return session


def _terminal_typing(
    stdin: TextIO, vocabulary: Vocabulary, inbox: queue.Queue[Command], stack: ExitStack
) -> TerminalTyping | None:
    """Keys read under the live screen, when the input is a terminal (else None: lines)."""
    import termios

    from assistant.screen.typing import TerminalTyping

    try:
        if not stdin.isatty():
            return None
        typing = TerminalTyping(stdin.fileno(), vocabulary, inbox)
        typing.start()
    except (OSError, ValueError, termios.error):
        return None
    stack.callback(typing.stop)
    return typing


def _with_options(speech: SpeechSettings, volume_steps: int, options: RunOptions) -> SpeechSettings:
    """The output device, starting volume and speech cache from the config (or flags)
    on top of memory."""
    speech = replace(speech, cache_dir=options.speech_cache)
    if options.output_device is not None:
        speech = replace(speech, output_device=options.output_device)
    if options.volume is not None:
        volume = options.volume + volume_steps * speech.volume_step
        speech = replace(speech, volume=min(max(volume, speech.volume_step), 1.0))
    return speech


def _screen_model(
    session: Session, events: EventLog, level: MicLevel | None, typing: TerminalTyping | None
) -> ScreenModel:
    """What the live screen shows, following the events from before the first line (the
    screen itself starts once the listener is up, after its notices)."""
    from assistant.screen.model import ScreenModel

    model = ScreenModel(session, None, level.dbfs if level is not None else None,
                        (lambda: typing.text) if typing is not None else None)
    events.subscribe(model.on_event)
    return model


def _start_screen(
    model: ScreenModel, vocabulary: Vocabulary, stack: ExitStack, stdout: TextIO
) -> None:
    """The live screen from now on; it is taken down when the session ends."""
    from assistant.screen.live import LiveScreen

    screen = LiveScreen(model, vocabulary, stdout)
    screen.start()
    stack.callback(screen.stop)
