"""`massage-assistant recognize`: a WAV file heard as one microphone stream, a JSON line
per command; what was read and how it was converted goes to stderr."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistant.commands.common import Environment, fail, listen_settings, stderr_line
from assistant.config_file import load_config
from assistant.errors import AssistantError
from assistant.listening.engines import (
    open_recognizer,
    short_words_or_notice,
    stop_spotter_or_notice,
)
from assistant.listening.recognize_file import recognize_file, wav_info
from assistant.session.dialog import load_dialog
from assistant.session.vocabulary import load_vocabulary


def run(wav: Path, engine: str | None, model_path: Path | None, env: Environment) -> None:
    dialog = load_dialog()
    try:
        info = wav_info(wav)
        listen = listen_settings(engine, model_path, load_config(env.config_path))
        recognizer = open_recognizer(listen, env.env_model)
        spotter = stop_spotter_or_notice(listen, stderr_line)
        rate = recognizer.sample_rate
        channels = dialog.line("recognize.mono") if info.channels == 1 else dialog.line(
            "recognize.channels", count=info.channels)
        stderr_line(dialog.line("recognize.read", path=wav, seconds=info.seconds,
                                rate=info.rate_hertz, bits=8 * info.sample_bytes,
                                channels=channels))
        stderr_line(dialog.line(
            "recognize.converted" if info.converted_for(rate) else "recognize.as_is", rate=rate))
        if info.rate_hertz < rate:
            stderr_line(dialog.line("recognize.low_rate", rate=info.rate_hertz,
                                    limit=info.rate_hertz // 2, wanted=rate))
        words = short_words_or_notice(listen, stderr_line)
        found = recognize_file(wav, recognizer, load_vocabulary(), stop_spotter=spotter,
                               short_words=words)
        for command in found:
            click.echo(json.dumps(command))
        if not found:
            stderr_line(dialog.line("recognize.nothing", engine=recognizer.name))
    except AssistantError as exc:
        fail(exc)
