"""`massage-assistant voices`: the voices there are, natural ones first, each with a
command to hear it."""

from __future__ import annotations

import click

from assistant.commands.common import fail
from assistant.errors import AssistantError, AudioUnavailable
from assistant.session.dialog import load_dialog


def list_voices() -> list[str]:
    """One aligned row per voice, natural ones first: its name for --voice, what it is,
    and a command that lets you hear it."""
    from assistant.adapters import piper_tts

    dialog = load_dialog()
    rows: list[tuple[str, str]] = []
    for name in piper_tts.VOICES:
        if piper_tts.installed(name):
            rows.append((f"{piper_tts.PREFIX}{name}", dialog.line(
                "voices.natural", language=piper_tts.LANGUAGES.get(name, ""))))
    try:
        from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer

        renderer = Pyttsx3Renderer()
        system = renderer.list_voices()
        renderer.close()
    except AudioUnavailable:
        if not rows:
            raise
        system = []
    for v in system:
        rows.append((f"espeak:{v.id}", dialog.line(
            "voices.system", name=v.name, languages=", ".join(v.languages))))
    name_width = max((len(name) for name, _ in rows), default=0)
    about_width = max((len(about) for _, about in rows), default=0)
    sample = dialog.line("voices.sample_text")
    return [
        f"{name:<{name_width}}  {about:<{about_width}}  "
        + dialog.line("voices.try", voice=name, text=sample)
        for name, about in rows
    ]


def run() -> None:
    try:
        for row in list_voices():
            click.echo(row)
    except AssistantError as exc:
        fail(exc)
