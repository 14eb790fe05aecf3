"""The command line: the only place that reads argv and environment variables.

Each command's options are parsed here and handed, with what the environment says
(`Environment`: where memory, the config file and the speech cache are), to
`assistant.commands.<name>.run`, which does the work and holds the options' types.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from assistant.commands.common import PROJECT_MODELS, Environment
from assistant.config_file import CONFIG_NAME
from assistant.settings import PACES, PRESSURES, CheckSettings

MODEL_ENV = "MASSAGE_ASSISTANT_MODEL"
HOME_ENV = "MASSAGE_ASSISTANT_HOME"


ENGINE_OPTION = click.option(
    "--engine",
    type=click.Choice(["auto", "vosk", "pocketsphinx"]),
    default=None,
    help="Speech recognizer (default: auto, vosk if a model is present).",
)
MODEL_OPTION = click.option(
    "--model",
    "model_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Path of a vosk model folder.",
)
VOICE_OPTION = click.option(
    "--voice", default=None,
    help="piper:joe (the natural voice, default), espeak:ID or a system voice id or name "
    "(see `massage-assistant voices`).",
)
RATE_OPTION = click.option(
    "--rate",
    type=click.IntRange(80, 300),
    default=None,
    help="Speaking rate in words per minute (default: 150, or as last time).",
)
INPUT_OPTION = click.option(
    "--input", "input_device", default=None, metavar="NAME|NUMBER",
    help="Microphone (see `massage-assistant devices`).",
)
OUTPUT_OPTION = click.option(
    "--output", "output_device", default=None, metavar="NAME|NUMBER",
    help="Speakers (see `massage-assistant devices`).",
)
SAVE_DEVICES_OPTION = click.option(
    "--save-devices", is_flag=True, help="Remember --input/--output in the config file."
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True
)
@click.version_option(package_name="massage-assistant", prog_name="massage-assistant")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Offline, hands-free, voice-guided foot massage coach."""
    if ctx.invoked_subcommand is None:  # asking what there is is not a mistake: exit 0
        click.echo(ctx.get_help())


@cli.command()
def routines() -> None:
    """List the built-in routines: name, length and what they do."""
    from assistant.commands.routines import run

    run()


@cli.command()
@click.option(
    "--routine",
    "routine_name",
    default=None,
    help="A built-in routine name or the path of your own .toml file "
    "(default: the last one used, else full).",
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
@INPUT_OPTION
@OUTPUT_OPTION
@SAVE_DEVICES_OPTION
@click.option("--plain", is_flag=True, help="Plain printed lines instead of the live screen.")
@click.option(
    "--save-audio",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep microphone.wav, heard.wav (what the recognizer got) and echo_inputs.bin "
    "(for scripts/replay_echo.py) in this folder, and session.log (what sound libraries "
    "wrote to stderr).",
)
def start(**flags: Any) -> None:
    """Start a guided session. Say or type: pause, resume, slower, less pressure, stop...

    Settings not given as flags come from the config file (`massage-assistant config`),
    then from what was learned last time."""
    from assistant.commands.start import run

    run(**flags, env=_environment(), stdin=sys.stdin, stdout=sys.stdout)


@cli.command()
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ENGINE_OPTION
@MODEL_OPTION
def recognize(wav: Path, engine: str | None, model_path: Path | None) -> None:
    """Treat WAV as one microphone stream; print a JSON line per command heard."""
    from assistant.commands.recognize import run

    run(wav, engine, model_path, _environment())


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
    from assistant.commands.download_model import run

    run(dest)


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
    from assistant.commands.say import run

    run(text, out, voice, rate, _environment())


@cli.command()
def voices() -> None:
    """List the voices, natural first, each with a command to hear it (use with --voice)."""
    from assistant.commands.voices import run

    run()


def _environment() -> Environment:
    return Environment(_config_path(), _home(), _cache_dir(), _env_model())


def _config_path() -> Path:
    """The config file: in MASSAGE_ASSISTANT_HOME when set, else the user config folder."""
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value) / CONFIG_NAME
    import platformdirs

    return Path(platformdirs.user_config_dir("massage-assistant")) / CONFIG_NAME


def _home() -> Path:
    """Where memory lives: MASSAGE_ASSISTANT_HOME, else the platform's user data folder."""
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value)
    import platformdirs

    return Path(platformdirs.user_data_dir("massage-assistant"))


def _cache_dir() -> Path:
    """Where rendered speech is kept: MASSAGE_ASSISTANT_HOME/speech-cache when that is
    set (tests, a portable install), else the platform's user cache folder."""
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value) / "speech-cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("massage-assistant")) / "speech"


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
    from assistant.commands.history import run

    run(limit, _environment())


@cli.command()
@click.option("--yes", "confirmed", is_flag=True, help="Do not ask for confirmation.")
def forget(confirmed: bool) -> None:
    """Delete everything remembered: preferences, safety answers and history."""
    from assistant.commands.forget import run

    run(confirmed, _environment())


@cli.command()
@ENGINE_OPTION
@MODEL_OPTION
@INPUT_OPTION
@OUTPUT_OPTION
@SAVE_DEVICES_OPTION
@VOICE_OPTION
@RATE_OPTION
@click.option(
    "--listen-seconds",
    type=click.FloatRange(1, 60),
    default=CheckSettings.listen_s,
    show_default=True,
    help='How long to listen for "stop" each try.',
)
def check(**flags: Any) -> None:
    """Sound check before a session: speakers, microphone level, and hearing "stop".

    Answers can be typed (yes/no and Enter) or spoken. Exits 1 when something needs
    fixing; each problem says what to do."""
    from assistant.commands.check.run import run

    run(**flags, env=_environment(), stdin=sys.stdin, stdout=sys.stdout)


@cli.command()
@INPUT_OPTION
@OUTPUT_OPTION
@click.option("--save", is_flag=True, help="Remember --input/--output in the config file.")
def devices(input_device: str | None, output_device: str | None, save: bool) -> None:
    """List microphones and speakers; --input/--output choose, --save remembers.

    '*' marks the device a session would use now."""
    from assistant.commands.devices import run

    run(input_device, output_device, save, _environment())


@cli.command("config")
@click.option("--path", "path_only", is_flag=True, help="Print only where the file is.")
@click.option("--init", is_flag=True, help="Write a file with every key explained (commented).")
def config_command(path_only: bool, init: bool) -> None:
    """Where the config file is, what it sets, and the keys it can set."""
    from assistant.commands.config import run

    run(path_only, init, _environment())


def _env_model() -> Path | None:
    value = os.environ.get(MODEL_ENV)
    return Path(value) if value else None


def main() -> None:
    cli(prog_name="massage-assistant")
