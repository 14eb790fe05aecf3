"""Spoken lines live in a data file, one or more variants per key, with {placeholders}."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from assistant.errors import DataFileError

DIALOG_FILE = "assistant/data/dialog.toml"


@dataclass
class Dialog:
    """Chooses variants in turn, so a repeated acknowledgement doesn't sound canned."""

    lines: dict[str, tuple[str, ...]]
    _turn: dict[str, int] = field(default_factory=dict)

    def line(self, key: str, **params: Any) -> str:
        variants = self.lines[key]
        turn = self._turn.get(key, 0)
        self._turn[key] = turn + 1
        return variants[turn % len(variants)].format(**params)

    def has(self, key: str) -> bool:
        return key in self.lines

    def fixed_lines(self, prefix: str) -> list[str]:
        """Every variant of the keys starting with `prefix` that has no {placeholder}:
        the lines that can be rendered before they are needed."""
        return [v for key, variants in self.lines.items() if key.startswith(prefix)
                for v in variants if "{" not in v]


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, tuple[str, ...]]) -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(f"{name}.", value, out)
        elif isinstance(value, str):
            out[name] = (value,)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out[name] = tuple(value)
        else:
            raise DataFileError(f"{DIALOG_FILE}: '{name}' must be a line or a list of lines")


def load_dialog() -> Dialog:
    text = resources.files("assistant").joinpath("data/dialog.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{DIALOG_FILE}: not valid TOML: {exc}") from exc
    lines: dict[str, tuple[str, ...]] = {}
    _flatten("", raw, lines)
    return Dialog(lines)
