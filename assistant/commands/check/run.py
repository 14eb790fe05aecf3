"""Opens the real parts for the check (recognizer, speakers, microphone) and runs it;
`run` is the command, with its settings from the flags, the config file and memory.

A part that cannot be opened is passed on as missing with its reason, so the
check reports it with a fix instead of stopping at the first problem.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from assistant.commands.check.hearing import Hearing
from assistant.commands.check.report import Report, TypedAnswers
from assistant.commands.check.steps import Parts, SoundCheck, Speaker
from assistant.commands.common import (
    Environment,
    device_choice,
    fail,
    listen_settings,
    pick,
    stderr_line,
)
from assistant.config_file import load_config
from assistant.errors import AssistantError
from assistant.listening.engines import EngineChoice
from assistant.memory.store import Memory
from assistant.session.dialog import load_dialog
from assistant.session.vocabulary import load_vocabulary
from assistant.settings import CheckSettings, ListenSettings, SpeechSettings


def run_check(
    listen: ListenSettings,
    speech: SpeechSettings,
    env_model: Path | None,
    settings: CheckSettings,
    stdin: TextIO,
    stdout: TextIO,
    live: bool,
) -> int:
    """The number of problems found (0: all good)."""
    from assistant.adapters.sounddevice_io import MicrophoneStream, find_device
    from assistant.listening.engines import describe_engine, open_recognizer
    from assistant.speech.spoken_voice import open_spoken_voice

    with ExitStack() as stack:
        engine: EngineChoice | None = None
        engine_error = mic_error = speaker_error = None
        hearing: Hearing | None = None
        try:
            engine = describe_engine(listen, env_model)
            hearing = Hearing(open_recognizer(listen, env_model))
        except AssistantError as exc:
            engine, engine_error = None, str(exc)
        if hearing is not None:
            try:
                mic = MicrophoneStream(
                    hearing.feed,
                    sample_rate_hertz=hearing.recognizer.sample_rate,
                    block_seconds=listen.block_seconds,
                    device=listen.input_device,
                )
                mic.start()
                stack.callback(mic.close)
            except AssistantError as exc:
                hearing, mic_error = None, str(exc)
        speaker: Speaker | None = None
        speaker_name = ""
        try:
            voice = open_spoken_voice(speech)
            stack.callback(voice.close)
            speaker = voice
            speaker_name = find_device(speech.output_device, "output").name
        except AssistantError as exc:
            speaker_error = str(exc)
        parts = Parts(engine, engine_error, speaker, speaker_name, speaker_error, hearing,
                      mic_error)
        check = SoundCheck(parts, TypedAnswers(stdin), Report(stdout, live), load_dialog(),
                           load_vocabulary(), settings)
        return check.run()


def run(
    *,
    engine: str | None,
    model_path: Path | None,
    input_device: str | None,
    output_device: str | None,
    save_devices: bool,
    voice: str | None,
    rate: int | None,
    listen_seconds: float,
    env: Environment,
    stdin: TextIO,
    stdout: TextIO,
) -> None:
    """The check with the flags as given; exits 1 when something needs fixing."""
    try:
        config = load_config(env.config_path)
        listen = listen_settings(engine, model_path, config, input_device)
        output = device_choice(output_device, config.output_device)
        from assistant.commands.devices import choose_devices

        choose_devices(listen.input_device, output, save_devices, config)
        memory = Memory(env.home)
        try:
            if memory.moved_aside is not None:  # said here, or no session would say it
                stderr_line(load_dialog().line("notice.memory_moved_aside",
                                               path=memory.moved_aside))
            prefs = memory.preferences()
        finally:
            memory.close()
        learned_rate = int(prefs["rate_wpm"]) if prefs.get("rate_wpm", "").isdigit() else None
        speech = SpeechSettings(
            voice=pick(voice, config.voice) or prefs.get("voice"),
            rate_wpm=pick(rate, config.rate) or learned_rate or SpeechSettings.rate_wpm,
            volume=config.volume or SpeechSettings.volume,
            output_device=output,
            cache_dir=env.cache_dir,
        )
        settings = CheckSettings(listen_s=listen_seconds)
        problems = run_check(
            listen, speech, env.env_model, settings, stdin, stdout, stdout.isatty()
        )
    except AssistantError as exc:
        fail(exc)
    sys.exit(1 if problems else 0)
