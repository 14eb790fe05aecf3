"""The user's config file: TOML, one table per subsystem, every key checked on load.

Values in it act as if given on the command line (flags given beat them), so a
user can write down once what they would otherwise type every time. Device
choices are written back by `devices --save`; that edit keeps the rest of the
file, comments included, as the user left it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError, one_line
from assistant.settings import PACES, PRESSURES
from assistant.toml_reading import parse_toml, read_text

CONFIG_NAME = "config.toml"
ENGINES = ("auto", "vosk", "pocketsphinx")
MODES = ("self", "partner")


class ConfigError(AssistantError):
    """The config file is unreadable or a value is wrong; names the file and the key."""


Check = Callable[[Any], Any]
"""Returns the value to use, or raises ValueError saying what is expected."""


def _choice(*allowed: str) -> Check:
    def check(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    return check


def _text(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a non-empty string in quotes")
    return value


def _whole(low: int, high: int) -> Check:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return check


def _fraction(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.05 <= value <= 1.0:
        raise ValueError("a number from 0.05 to 1.0")
    return float(value)


def _flag(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _device(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise ValueError("a device name in quotes or a number (see massage-assistant devices)")
    return value


@dataclass(frozen=True)
class Key:
    name: str
    """'table.key' as written in the file."""
    field: str
    check: Check
    about: str
    """What it sets, for `massage-assistant config`."""
    example: str
    """A valid value as TOML writes it: `config --init` comments it out, ready to use."""


KEYS: tuple[Key, ...] = (
    Key("session.routine", "routine", _text,
        "built-in routine name or path of a .toml file", '"quick"'),
    Key("session.mode", "mode", _choice(*MODES), "self or partner", '"self"'),
    Key("session.pressure", "pressure", _choice(*PRESSURES), "light, medium or firm",
        '"medium"'),
    Key("session.pace", "pace", _choice(*PACES), "slow, normal or fast", '"normal"'),
    Key("speech.voice", "voice", _text,
        "piper:joe (natural, the default), espeak:ID or a system voice id or name "
        "(massage-assistant voices)", '"piper:joe"'),
    Key("speech.rate", "rate", _whole(80, 300), "words per minute, 80 to 300", "150"),
    Key("speech.volume", "volume", _fraction, "starting volume, 0.05 to 1.0", "0.8"),
    Key("speech.chimes", "chimes", _flag, "chimes between steps, true or false", "true"),
    Key("speech.output", "output_device", _device, "speakers: device name or number",
        '"pulse"'),
    Key("listen.engine", "engine", _choice(*ENGINES), "auto, vosk or pocketsphinx", '"auto"'),
    Key("listen.model", "model", _text, "folder of a vosk model",
        '"~/models/vosk-model-small-en-us-0.15"'),
    Key("listen.input", "input_device", _device, "microphone: device name or number",
        '"pulse"'),
    Key("listen.barge_in", "barge_in", _flag,
        "pause the assistant the moment you talk over it, true or false", "true"),
    Key("screen.live", "live_screen", _flag, "the live screen in a terminal, true or false",
        "true"),
)
KEY_NAMES = {key.name: key for key in KEYS}


@dataclass(frozen=True)
class Config:
    """What the file sets; None where it says nothing (the built-in default applies)."""

    path: Path
    exists: bool = False
    routine: str | None = None
    mode: str | None = None
    pressure: str | None = None
    pace: str | None = None
    voice: str | None = None
    rate: int | None = None
    volume: float | None = None
    chimes: bool | None = None
    output_device: str | int | None = None
    engine: str | None = None
    model: str | None = None
    input_device: str | int | None = None
    barge_in: bool | None = None
    live_screen: bool | None = None

    def set_values(self) -> list[tuple[str, Any]]:
        """(key, value) for every key the file sets, in the order of KEYS."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return [(key.name, values[key.field]) for key in KEYS if values[key.field] is not None]


def load_config(path: Path) -> Config:
    """The config at `path` (an empty one when there is no file); ConfigError if wrong."""
    if not path.is_file():
        return Config(path)
    raw = parse_toml(read_text(path, ConfigError, "the config file"), str(path), ConfigError)
    return Config(path, True, **parse_tables(raw, path))


def parse_tables(raw: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """Checked values by Config field; the first wrong key raises ConfigError."""
    found: dict[str, Any] = {}
    tables = sorted({key.name.split(".")[0] for key in KEYS})
    for table, content in raw.items():
        if table not in tables or not isinstance(content, dict):
            raise ConfigError(
                f"{path}: unknown table [{one_line(table)}]; the tables are {', '.join(tables)}"
            )
        for name, value in content.items():
            key = KEY_NAMES.get(f"{table}.{name}")
            if key is None:
                known = ", ".join(k.name.split(".")[1] for k in KEYS if k.name.startswith(table))
                raise ConfigError(
                    f"{path}: unknown key {table}.{one_line(name)}; [{table}] has {known}"
                )
            try:
                found[key.field] = key.check(value)
            except ValueError as exc:
                raise ConfigError(
                    f"{path}: {key.name} = {one_line(toml_value(value))} is not valid: "
                    f"expected {exc}"
                ) from None
    return found


def save_values(path: Path, values: Mapping[str, str | int]) -> None:
    """Set keys ('table.key') in the file, creating it if needed, keeping everything else."""
    for name, value in values.items():
        key = KEY_NAMES[name]
        key.check(value)
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    for name, value in values.items():
        table, key_name = name.split(".")
        lines = _set_line(lines, table, key_name, toml_value(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_config(path)


_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def _set_line(lines: list[str], table: str, key: str, value: str) -> list[str]:
    out = list(lines)
    start = next((i for i, line in enumerate(out) if _table_of(line) == table), None)
    if start is None:
        if out and out[-1].strip():
            out.append("")
        return [*out, f"[{table}]", f"{key} = {value}"]
    end = next((i for i in range(start + 1, len(out)) if _table_of(out[i])), len(out))
    assign = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(start + 1, end):
        if assign.match(out[i]):
            out[i] = f"{key} = {value}"
            return out
    last = max((i for i in range(start, end) if out[i].strip()), default=start)
    out.insert(last + 1, f"{key} = {value}")
    return out


def _table_of(line: str) -> str | None:
    match = _TABLE.match(line)
    return match.group(1).strip() if match else None


def toml_value(value: Any) -> str:
    """A value as TOML writes it: strings quoted and escaped, booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def example_text() -> str:
    """A config with every key commented out, for `config --init`."""
    lines = ["# massage-assistant settings. Flags on the command line override these."]
    table = ""
    for key in KEYS:
        table_name, key_name = key.name.split(".")
        if table_name != table:
            table = table_name
            lines += ["", f"[{table}]"]
        lines.append(f"# {key_name} = {key.example}    # {key.about}")
    return "\n".join(lines) + "\n"
