"""The command line: the only place that reads argv and environment variables."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import click

from assistant.errors import AssistantError
from assistant.routines import builtin_names, load_routine
from assistant.settings import (
    PACES,
    PRESSURES,
    ListenSettings,
    MemorySettings,
    SessionSettings,
    SpeechSettings,
)

MODEL_ENV = "MASSAGE_ASSISTANT_MODEL"
HOME_ENV = "MASSAGE_ASSISTANT_HOME"
PROJECT_MODELS = Path(__file__).resolve().parents[1] / "models"


ENGINE_OPTION = click.option(
    "--engine",
    type=click.Choice(["auto", "vosk", "pocketsphinx"]),
    default="auto",
    show_default=True,
    help="Speech recognizer (auto: vosk if a model is present).",
)
MODEL_OPTION = click.option(
    "--model",
    "model_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Path of a vosk model folder.",
)
VOICE_OPTION = click.option(
    "--voice", default=None, help="Voice id or name (see `massage-assistant voices`)."
)
RATE_OPTION = click.option(
    "--rate",
    type=click.IntRange(80, 300),
    default=None,
    help="Speaking rate in words per minute (default: 150, or as last time).",
)


def _fail(exc: AssistantError) -> None:
    click.echo(f"massage-assistant: {exc}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Offline, hands-free, voice-guided foot massage coach."""


@cli.command()
def routines() -> None:
    """List the built-in routines: name, length and what they do."""
    for name in builtin_names():
        routine = load_routine(name)
        minutes = round(routine.total_seconds() * PACES[routine.default_pace] / 60)
        click.echo(f"{name:<10} {minutes:>3} min  {routine.description}")


@cli.command()
@click.option(
    "--routine",
    "routine_name",
    default="full",
    show_default=True,
    help="A built-in routine name or the path of your own .toml file.",
)
@click.option(
    "--mode",
    type=click.Choice(["self", "partner"]),
    default=None,
    help="Your own feet or a partner's (default: as last time, else asked at the start).",
)
@click.option(
    "--pressure",
    type=click.Choice(PRESSURES),
    default=None,
    help="Starting pressure (default: the routine's).",
)
@click.option(
    "--pace",
    type=click.Choice(list(PACES)),
    default=None,
    help="Starting pace (default: the routine's).",
)
@click.option(
    "--text",
    "text_mode",
    is_flag=True,
    help="Keyboard mode: type commands, lines are printed instead of spoken.",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0.0001, max=100),
    default=1.0,
    show_default=True,
    help="Multiply every duration (0.01 runs 20 minutes in 12 s).",
)
@click.option(
    "--events",
    "events_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every event as a JSON line to this file.",
)
@VOICE_OPTION
@RATE_OPTION
@click.option(
    "--chimes/--no-chimes", default=None, help="Chimes between steps (default: as last time, on)."
)
@ENGINE_OPTION
@MODEL_OPTION
@click.option(
    "--resume", is_flag=True, help="Pick up the last unfinished session where it stopped."
)
def start(
    routine_name: str,
    mode: str | None,
    pressure: str | None,
    pace: str | None,
    text_mode: bool,
    time_scale: float,
    events_path: Path | None,
    voice: str | None,
    rate: int | None,
    chimes: bool | None,
    engine: str,
    model_path: Path | None,
    resume: bool,
) -> None:
    """Start a guided session. Say or type: pause, resume, slower, less pressure, stop..."""
    from assistant.app import RunOptions, run_guided_session

    try:
        routine = load_routine(routine_name)
        wanted = SessionSettings(
            routine=routine_name,
            mode=mode,  # type: ignore[arg-type]
            pressure=(pressure or routine.default_pressure),  # type: ignore[arg-type]
            pace_factor=PACES[pace or routine.default_pace],
            time_scale=time_scale,
        )
        given = {"voice": voice, "rate_wpm": rate, "chimes": chimes}
        speech_flags = {key: value for key, value in given.items() if value is not None}
        listen = _listen_settings(engine, model_path)
        options = RunOptions(text_mode=text_mode, events_path=events_path, env_model=_env_model())
        memory = MemorySettings(folder=_home(), resume=resume)
        run_guided_session(
            wanted,
            (pressure is not None, pace is not None),
            speech_flags,
            listen,
            memory,
            options,
            sys.stdin,
            sys.stdout,
        )
    except AssistantError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        click.echo("Session interrupted.", err=True)
        sys.exit(130)


@cli.command()
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ENGINE_OPTION
@MODEL_OPTION
def recognize(wav: Path, engine: str, model_path: Path | None) -> None:
    """Treat WAV as one microphone stream; print a JSON line per command heard."""
    import json

    from assistant.listening.engines import open_recognizer
    from assistant.listening.recognize_file import recognize_file
    from assistant.vocabulary import load_vocabulary

    try:
        recognizer = open_recognizer(_listen_settings(engine, model_path), _env_model())
        for found in recognize_file(wav, recognizer, load_vocabulary()):
            click.echo(json.dumps(found))
    except AssistantError as exc:
        _fail(exc)


@cli.command("download-model")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=PROJECT_MODELS,
    show_default=True,
    help="Where to put the model.",
)
def download_model(dest: Path) -> None:
    """Fetch the small English vosk model (about 40 MB; needs internet once)."""
    import runpy

    script = Path(__file__).resolve().parents[1] / "scripts" / "download_model.py"
    if not script.exists():
        _fail(AssistantError(f"{script} is missing: download-model works from a project checkout"))
    sys.argv = [str(script), "--dest", str(dest)]
    runpy.run_path(str(script), run_name="__main__")


@cli.command()
@click.argument("text")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a WAV file instead of playing.",
)
@VOICE_OPTION
@RATE_OPTION
def say(text: str, out: Path | None, voice: str | None, rate: int | None) -> None:
    """Speak TEXT aloud (or write it to a WAV file): handy for choosing a voice."""
    from assistant.speech.say_command import say_text

    try:
        settings = SpeechSettings(voice=voice)
        say_text(text, settings if rate is None else replace(settings, rate_wpm=rate), out)
    except AssistantError as exc:
        _fail(exc)


@cli.command()
def voices() -> None:
    """List the voices the speech engine offers (use with --voice)."""
    from assistant.speech.say_command import list_voices

    try:
        for row in list_voices():
            click.echo(row)
    except AssistantError as exc:
        _fail(exc)


def _listen_settings(engine: str, model_path: Path | None) -> ListenSettings:
    return ListenSettings(
        engine=engine,  # type: ignore[arg-type]
        model_path=model_path,
        search_dirs=(PROJECT_MODELS,),
    )


def _home() -> Path:
    """Where memory lives: MASSAGE_ASSISTANT_HOME, else the platform's user data folder."""
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value)
    import platformdirs

    return Path(platformdirs.user_data_dir("massage-assistant"))


@cli.command()
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many recent sessions to list.",
)
def history(limit: int) -> None:
    """Recent sessions, and how often per week against the 2 to 3 that help most."""
    from assistant.history import history_lines
    from assistant.memory import Memory

    memory = Memory(_home())
    try:
        for line in history_lines(memory, limit):
            click.echo(line)
    finally:
        memory.close()


@cli.command()
@click.option("--yes", "confirmed", is_flag=True, help="Do not ask for confirmation.")
def forget(confirmed: bool) -> None:
    """Delete everything remembered: preferences, safety answers and history."""
    from assistant.memory import forget as wipe

    home = _home()
    if not confirmed and not click.confirm(f"Delete everything stored in {home}?"):
        click.echo("Nothing deleted.")
        return
    click.echo("Forgotten." if wipe(home) else "There was nothing stored.")


def _env_model() -> Path | None:
    value = os.environ.get(MODEL_ENV)
    return Path(value) if value else None


def main() -> None:
    cli(prog_name="massage-assistant")
