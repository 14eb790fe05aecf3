"""What several commands share: flags first, then the config file, then the defaults;
where the project's models are; and how a command fails (one line, exit 2).

Values that come from the environment (where memory and the config file are) are
read by cli.py and passed in as an `Environment`: nothing here reads argv or
environment variables.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import click

from assistant.config_file import Config
from assistant.errors import AssistantError
from assistant.session.dialog import Dialog
from assistant.settings import ListenSettings

PROJECT_MODELS = Path(__file__).resolve().parents[2] / "models"
STOP_MODEL = PROJECT_MODELS / "microwakeword-stop" / "stop.json"
WORD_MODEL = PROJECT_MODELS / "word-classifier" / "weights.npz"
T = TypeVar("T")


@dataclass(frozen=True)
class Environment:
    """What cli.py found in the environment, for the commands to use."""

    config_path: Path
    home: Path
    """Where memory lives."""
    cache_dir: Path
    """Where rendered speech is kept."""
    env_model: Path | None
    """The vosk model the environment names (None: none)."""


def stderr_line(text: str) -> None:
    click.echo(text, err=True)


def fail(exc: AssistantError) -> None:
    click.echo(f"massage-assistant: {exc}", err=True)
    sys.exit(2)


def listen_settings(
    engine: str | None,
    model_path: Path | None,
    config: Config,
    input_device: str | None = None,
) -> ListenSettings:
    """Flags first, then the config file, then the defaults."""
    model = model_path or (Path(config.model).expanduser() if config.model else None)
    return ListenSettings(
        engine=(engine or config.engine or "auto"),  # type: ignore[arg-type]
        model_path=model,
        input_device=device_choice(input_device, config.input_device),
        search_dirs=(PROJECT_MODELS,),
        stop_model=STOP_MODEL,
        word_model=WORD_MODEL,
        barge_in=config.barge_in if config.barge_in is not None else True,
    )


def pick(flag: T | None, configured: T | None) -> T | None:
    """The flag when given, else the config file's value (None: neither says)."""
    return flag if flag is not None else configured


def device_choice(flag: str | None, configured: str | int | None) -> str | int | None:
    """The device the flag names, else the config file's (None: the system default)."""
    return flag if flag is not None else configured


def cannot_write(dialog: Dialog, path: Path, exc: OSError) -> str:
    """One line naming the file and why, for a path the user gave (or implied)."""
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return dialog.line("cannot_write", path=path, reason=reason, where=where)
