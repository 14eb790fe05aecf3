"""`massage-assistant start`: a guided session.

Settings not given as flags come from the config file, then from what was learned last
time. An unknown voice or a device that is not there stops it before anything is said
or remembered; Ctrl-C and SIGTERM end it with everything closed.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import click

from assistant.app import RunOptions, run_guided_session
from assistant.commands.common import (
    Environment,
    device_choice,
    fail,
    listen_settings,
    pick,
    stderr_line,
)
from assistant.config_file import Config, load_config
from assistant.errors import AssistantError
from assistant.session.routines import load_routine
from assistant.settings import PACES, MemorySettings, SessionSettings
from assistant.speech.voice_choice import check_voice

SESSION_LOG = "session.log"
"""What C libraries (ALSA, PortAudio) write to stderr during a session lands here."""


class _Terminated(Exception):
    """SIGTERM during a session: it ends the way Ctrl-C does, everything closed."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def run(
    *,
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
    env: Environment,
    stdin: TextIO,
    stdout: TextIO,
) -> None:
    """The flags as given (None: not given)."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        config = load_config(env.config_path)
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
            "voice": pick(voice, config.voice),
            "rate_wpm": pick(rate, config.rate),
            "chimes": pick(chimes, config.chimes),
        }
        speech_flags = {key: value for key, value in given.items() if value is not None}
        # In every mode, before anything is said or remembered: an unknown voice stops
        # here (exit 2); one that cannot be checked (no speech engine) is dropped.
        if "voice" in speech_flags and not check_voice(str(speech_flags["voice"])):
            from assistant.session.dialog import load_dialog

            unchecked = speech_flags.pop("voice")
            stderr_line(load_dialog().line("notice.voice_unchecked", voice=unchecked))
        listen = replace(listen_settings(engine, model_path, config, input_device),
                         save_audio_dir=save_audio)
        output = device_choice(output_device, config.output_device)
        if not text_mode:
            from assistant.commands.devices import choose_devices

            choose_devices(listen.input_device, output, save_devices, config)
        options = RunOptions(
            text_mode=text_mode,
            events_path=events_path,
            env_model=env.env_model,
            live_screen=_wants_screen(plain, config, stdout),
            output_device=output,
            volume=config.volume,
            chatter_log=(save_audio or env.home) / SESSION_LOG,
            speech_cache=env.cache_dir,
        )
        memory = MemorySettings(
            folder=env.home, resume=resume, use_last_routine=use_last_routine
        )
        run_guided_session(
            wanted,
            (pressure is not None, pace is not None),
            speech_flags,
            listen,
            memory,
            options,
            stdin,
            stdout,
        )
    except AssistantError as exc:
        fail(exc)
    except (KeyboardInterrupt, _Terminated) as exc:
        from assistant.session.dialog import load_dialog

        click.echo(load_dialog().line("notice.interrupted"), err=True)
        sys.exit(143 if isinstance(exc, _Terminated) else 130)


def _wants_screen(plain: bool, config: Config, stdout: TextIO) -> bool:
    """The live screen on a terminal, unless --plain or the config says no."""
    return not plain and config.live_screen is not False and stdout.isatty()
