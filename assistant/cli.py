"""The command line: the only place that reads argv and environment variables."""

from __future__ import annotations

import errno
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import click

from assistant.config_file import CONFIG_NAME, Config, load_config
from assistant.errors import AssistantError
from assistant.session.dialog import Dialog
from assistant.session.routines import builtin_names, load_routine
from assistant.settings import (
    PACES,
    PRESSURES,
    CheckSettings,
    ListenSettings,
    MemorySettings,
    SessionSettings,
    SpeechSettings,
)

MODEL_ENV = "MASSAGE_ASSISTANT_MODEL"
HOME_ENV = "MASSAGE_ASSISTANT_HOME"
PROJECT_MODELS = Path(__file__).resolve().parents[1] / "models"
STOP_MODEL = PROJECT_MODELS / "microwakeword-stop" / "stop.json"
WORD_MODEL = PROJECT_MODELS / "word-classifier" / "weights.npz"
SESSION_LOG = "session.log"
"""What C libraries (ALSA, PortAudio) write to stderr during a session lands here."""
T = TypeVar("T")


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


def _stderr_line(text: str) -> None:
    click.echo(text, err=True)


class _Terminated(Exception):
    """SIGTERM during a session: it ends the way Ctrl-C does, everything closed."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _fail(exc: AssistantError) -> None:
    click.echo(f"massage-assistant: {exc}", err=True)
    sys.exit(2)


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
    for name in builtin_names():
        routine = load_routine(name)
        minutes = round(routine.total_seconds() * PACES[routine.default_pace] / 60)
        click.echo(f"{name:<10} {minutes:>3} min  {routine.description}")


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
def start(
    routine_name: str | None,
    mode: str | None,
    pressure: str | None,
    pace: str | None,
    text_mode: bool,
    time_scale: float,
    events_path: Path | None,
    voice: str | None,
    rate: int | None,
    chimes: bool | None,
    engine: str | None,
    model_path: Path | None,
    resume: bool,
    input_device: str | None,
    output_device: str | None,
    save_devices: bool,
    plain: bool,
    save_audio: Path | None,
) -> None:
    """Start a guided session. Say or type: pause, resume, slower, less pressure, stop...

    Settings not given as flags come from the config file (`massage-assistant config`),
    then from what was learned last time."""
    from assistant.app import RunOptions, run_guided_session
    from assistant.speech.voice_choice import check_voice

    signal.signal(signal.SIGTERM, _terminated)
    try:
        config = _config()
        use_last_routine = routine_name is None and config.routine is None
        routine_name = routine_name or config.routine or "full"
        mode = mode or config.mode
        pressure = pressure or config.pressure
        pace = pace or config.pace
        routine = load_routine(routine_name)
        wanted = SessionSettings(
            routine=routine_name,
            mode=mode,  # type: ignore[arg-type]
            pressure=(pressure or routine.default_pressure),  # type: ignore[arg-type]
            pace_factor=PACES[pace or routine.default_pace],
            time_scale=time_scale,
        )
        given: dict[str, str | int | bool | None] = {
            "voice": _pick(voice, config.voice),
            "rate_wpm": _pick(rate, config.rate),
            "chimes": _pick(chimes, config.chimes),
        }
        speech_flags = {key: value for key, value in given.items() if value is not None}
        # In every mode, before anything is said or remembered: an unknown voice stops
        # here (exit 2); one that cannot be checked (no speech engine) is dropped.
        if "voice" in speech_flags and not check_voice(str(speech_flags["voice"])):
            from assistant.session.dialog import load_dialog

            unchecked = speech_flags.pop("voice")
            _stderr_line(load_dialog().line("notice.voice_unchecked", voice=unchecked))
        listen = replace(_listen_settings(engine, model_path, config, input_device),
                         save_audio_dir=save_audio)
        output = _device(output_device, config.output_device)
        if not text_mode:
            _choose_devices(listen.input_device, output, save_devices, config)
        options = RunOptions(
            text_mode=text_mode,
            events_path=events_path,
            env_model=_env_model(),
            live_screen=_wants_screen(plain, config),
            output_device=output,
            volume=config.volume,
            chatter_log=(save_audio or _home()) / SESSION_LOG,
            speech_cache=_cache_dir(),
        )
        memory = MemorySettings(
            folder=_home(), resume=resume, use_last_routine=use_last_routine
        )
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
    except (KeyboardInterrupt, _Terminated) as exc:
        from assistant.session.dialog import load_dialog

        click.echo(load_dialog().line("notice.interrupted"), err=True)
        sys.exit(143 if isinstance(exc, _Terminated) else 130)


@cli.command()
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ENGINE_OPTION
@MODEL_OPTION
def recognize(wav: Path, engine: str | None, model_path: Path | None) -> None:
    """Treat WAV as one microphone stream; print a JSON line per command heard."""
    import json

    from assistant.listening.engines import (
        open_recognizer,
        short_words_or_notice,
        stop_spotter_or_notice,
    )
    from assistant.listening.recognize_file import recognize_file, wav_info
    from assistant.session.dialog import load_dialog
    from assistant.session.vocabulary import load_vocabulary

    dialog = load_dialog()
    try:
        info = wav_info(wav)
        listen = _listen_settings(engine, model_path, _config())
        recognizer = open_recognizer(listen, _env_model())
        spotter = stop_spotter_or_notice(listen, _stderr_line)
        rate = recognizer.sample_rate
        channels = dialog.line("recognize.mono") if info.channels == 1 else dialog.line(
            "recognize.channels", count=info.channels)
        _stderr_line(dialog.line("recognize.read", path=wav, seconds=info.seconds,
                                 rate=info.rate_hertz, bits=8 * info.sample_bytes,
                                 channels=channels))
        _stderr_line(dialog.line(
            "recognize.converted" if info.converted_for(rate) else "recognize.as_is", rate=rate))
        if info.rate_hertz < rate:
            _stderr_line(dialog.line("recognize.low_rate", rate=info.rate_hertz,
                                     limit=info.rate_hertz // 2, wanted=rate))
        words = short_words_or_notice(listen, _stderr_line)
        found = recognize_file(wav, recognizer, load_vocabulary(), stop_spotter=spotter,
                               short_words=words)
        for command in found:
            click.echo(json.dumps(command))
        if not found:
            _stderr_line(dialog.line("recognize.nothing", engine=recognizer.name))
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
    from assistant.commands.say import say_text
    from assistant.session.dialog import load_dialog

    try:
        if out is not None and not out.parent.is_dir():  # before the speech is rendered
            code = errno.ENOTDIR if out.parent.exists() else errno.ENOENT
            raise OSError(code, os.strerror(code), str(out.parent))
        if voice:  # a wrong name is the first thing to say, whatever else is missing
            from assistant.speech.voice_choice import check_voice

            check_voice(voice)
        settings = SpeechSettings(voice=voice, cache_dir=_cache_dir())
        say_text(text, settings if rate is None else replace(settings, rate_wpm=rate), out,
                 _stderr_line)
    except AssistantError as exc:
        _fail(exc)
    except OSError as exc:
        if out is None:
            raise
        _fail(AssistantError(_cannot_write(load_dialog(), out, exc)))


def _cannot_write(dialog: Dialog, path: Path, exc: OSError) -> str:
    """One line naming the file and why, for a path the user gave (or implied)."""
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return dialog.line("cannot_write", path=path, reason=reason, where=where)


@cli.command()
def voices() -> None:
    """List the voices, natural first, each with a command to hear it (use with --voice)."""
    from assistant.commands.say import list_voices

    try:
        for row in list_voices():
            click.echo(row)
    except AssistantError as exc:
        _fail(exc)


def _listen_settings(
    engine: str | None,
    model_path: Path | None,
    config: Config | None = None,
    input_device: str | None = None,
) -> ListenSettings:
    """Flags first, then the config file, then the defaults."""
    config = config or Config(_config_path())
    model = model_path or (Path(config.model).expanduser() if config.model else None)
    return ListenSettings(
        engine=(engine or config.engine or "auto"),  # type: ignore[arg-type]
        model_path=model,
        input_device=_device(input_device, config.input_device),
        search_dirs=(PROJECT_MODELS,),
        stop_model=STOP_MODEL,
        word_model=WORD_MODEL,
        barge_in=config.barge_in if config.barge_in is not None else True,
    )


def _pick(flag: T | None, configured: T | None) -> T | None:
    """The flag when given, else the config file's value (None: neither says)."""
    return flag if flag is not None else configured


def _device(flag: str | None, configured: str | int | None) -> str | int | None:
    return flag if flag is not None else configured


def _config_path() -> Path:
    """The config file: in MASSAGE_ASSISTANT_HOME when set, else the user config folder."""
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value) / CONFIG_NAME
    import platformdirs

    return Path(platformdirs.user_config_dir("massage-assistant")) / CONFIG_NAME


def _config() -> Config:
    return load_config(_config_path())


def _wants_screen(plain: bool, config: Config) -> bool:
    """The live screen on a terminal, unless --plain or the config says no."""
    return not plain and config.live_screen is not False and sys.stdout.isatty()


def _choose_devices(
    input_device: str | int | None, output_device: str | int | None, save: bool, config: Config
) -> None:
    """Fail early, naming what exists, when a chosen device is not there; save if asked."""
    from assistant.commands.devices import resolve, save_choice

    chosen_in = resolve(input_device, "input")
    chosen_out = resolve(output_device, "output")
    if save:
        save_choice(config.path, chosen_in, chosen_out)


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
    from assistant.commands.history import history_lines
    from assistant.memory.recorder import memory_problem
    from assistant.memory.store import Memory, MemoryUnavailable
    from assistant.session.dialog import load_dialog

    dialog = load_dialog()
    try:
        memory = Memory(_home())
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


@cli.command()
@click.option("--yes", "confirmed", is_flag=True, help="Do not ask for confirmation.")
def forget(confirmed: bool) -> None:
    """Delete everything remembered: preferences, safety answers and history."""
    from assistant.memory.recorder import memory_problem
    from assistant.memory.store import MemoryUnavailable
    from assistant.memory.store import forget as wipe
    from assistant.session.dialog import load_dialog

    dialog = load_dialog()
    home = _home()
    if not confirmed and not click.confirm(dialog.line("memory.forget_confirm", folder=home)):
        click.echo(dialog.line("memory.nothing_deleted"))
        return
    try:
        found = wipe(home)
    except MemoryUnavailable as exc:
        click.echo(memory_problem(dialog, exc, in_session=False), err=True)
        sys.exit(1)
    click.echo(dialog.line("memory.forgotten" if found else "memory.nothing_stored"))


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
def check(
    engine: str | None,
    model_path: Path | None,
    input_device: str | None,
    output_device: str | None,
    save_devices: bool,
    voice: str | None,
    rate: int | None,
    listen_seconds: float,
) -> None:
    """Sound check before a session: speakers, microphone level, and hearing "stop".

    Answers can be typed (yes/no and Enter) or spoken. Exits 1 when something needs
    fixing; each problem says what to do."""
    from assistant.commands.check.run import run_check
    from assistant.memory.store import Memory

    try:
        config = _config()
        listen = _listen_settings(engine, model_path, config, input_device)
        output = _device(output_device, config.output_device)
        _choose_devices(listen.input_device, output, save_devices, config)
        memory = Memory(_home())
        try:
            if memory.moved_aside is not None:  # said here, or no session would say it
                from assistant.session.dialog import load_dialog

                _stderr_line(load_dialog().line("notice.memory_moved_aside",
                                                path=memory.moved_aside))
            prefs = memory.preferences()
        finally:
            memory.close()
        learned_rate = int(prefs["rate_wpm"]) if prefs.get("rate_wpm", "").isdigit() else None
        speech = SpeechSettings(
            voice=_pick(voice, config.voice) or prefs.get("voice"),
            rate_wpm=_pick(rate, config.rate) or learned_rate or SpeechSettings.rate_wpm,
            volume=config.volume or SpeechSettings.volume,
            output_device=output,
            cache_dir=_cache_dir(),
        )
        settings = CheckSettings(listen_s=listen_seconds)
        problems = run_check(
            listen, speech, _env_model(), settings, sys.stdin, sys.stdout, sys.stdout.isatty()
        )
    except AssistantError as exc:
        _fail(exc)
    sys.exit(1 if problems else 0)


@cli.command()
@INPUT_OPTION
@OUTPUT_OPTION
@click.option("--save", is_flag=True, help="Remember --input/--output in the config file.")
def devices(input_device: str | None, output_device: str | None, save: bool) -> None:
    """List microphones and speakers; --input/--output choose, --save remembers.

    '*' marks the device a session would use now."""
    from assistant.commands.devices import device_lines, resolve, save_choice
    from assistant.session.dialog import load_dialog

    dialog = load_dialog()
    try:
        config = _config()
        chosen_in = _device(input_device, config.input_device)
        chosen_out = _device(output_device, config.output_device)
        found_in, found_out = resolve(chosen_in, "input"), resolve(chosen_out, "output")
        for line in device_lines(dialog, chosen_in, chosen_out):
            click.echo(line)
        click.echo("")
        if found_in is not None and input_device is not None:
            click.echo(dialog.line(
                "devices.chosen_input", index=found_in.index, name=found_in.name))
        if found_out is not None and output_device is not None:
            click.echo(dialog.line(
                "devices.chosen_output", index=found_out.index, name=found_out.name))
        if save and (input_device is not None or output_device is not None):
            save_choice(
                config.path,
                found_in if input_device is not None else None,
                found_out if output_device is not None else None,
            )
            click.echo(dialog.line("devices.saved", path=config.path))
        elif input_device is not None or output_device is not None:
            flags = "".join(
                f" --{name} {_quoted(value)}"
                for name, value in (("input", input_device), ("output", output_device))
                if value is not None
            )
            click.echo(dialog.line("devices.try_it", flags=flags))
        else:
            click.echo(dialog.line("devices.how_to_choose"))
    except AssistantError as exc:
        _fail(exc)


def _quoted(value: str) -> str:
    import shlex

    return shlex.quote(value)


@cli.command("config")
@click.option("--path", "path_only", is_flag=True, help="Print only where the file is.")
@click.option("--init", is_flag=True, help="Write a file with every key explained (commented).")
def config_command(path_only: bool, init: bool) -> None:
    """Where the config file is, what it sets, and the keys it can set."""
    from assistant.config_file import KEYS, example_text
    from assistant.session.dialog import load_dialog

    dialog = load_dialog()
    path = _config_path()
    if path_only:
        click.echo(str(path))
        return
    if init:
        if path.exists():
            click.echo(dialog.line("config.exists", path=path))
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(example_text(), encoding="utf-8")
        except OSError as exc:
            _fail(AssistantError(_cannot_write(dialog, path, exc)))
        click.echo(dialog.line("config.created", path=path))
        return
    click.echo(dialog.line("config.file", path=path))
    try:
        config = _config()
    except AssistantError as exc:
        _fail(exc)
    if not config.exists:
        click.echo(dialog.line("config.missing"))
    values = config.set_values()
    if values:
        from assistant.config_file import toml_value

        click.echo(dialog.line("config.set_header"))
        for name, value in values:
            click.echo(f"  {name} = {toml_value(value)}")
    elif config.exists:
        click.echo(dialog.line("config.nothing_set"))
    click.echo(dialog.line("config.keys_header"))
    width = max(len(key.name) for key in KEYS)
    for key in KEYS:
        click.echo(f"  {key.name:<{width}}  {key.about}")


def _env_model() -> Path | None:
    value = os.environ.get(MODEL_ENV)
    return Path(value) if value else None


def main() -> None:
    cli(prog_name="massage-assistant")
