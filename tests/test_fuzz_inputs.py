"""Fuzzed inputs (Hypothesis): every file a user can hand the program, broken every way.

Routine, config and vocabulary files, WAV files for `recognize`, and a damaged memory
database. Each case ends in a clean result or the project's own one-line error naming
the file (an AssistantError), never another exception; a damaged memory database is
never lost (moved aside byte for byte, or left untouched). Derandomized: every run tries
the same cases, so a failure in CI is a failure here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.config_file import KEYS, ConfigError, load_config
from assistant.errors import AssistantError, DataFileError
from assistant.routines import load_routine_file
from assistant.vocabulary import load_vocabulary

FUZZ = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DEEP = 2000
"""Nesting deeper than Python's recursion limit lets tomllib go."""


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """One scratch folder per module: Hypothesis runs many cases in one test call."""
    path = Path(tempfile.mkdtemp(prefix="massage-fuzz-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def ends_cleanly(path: Path, error: type[AssistantError], call: Callable[[], object]) -> None:
    """`call` returns, or raises `error` in one line naming `path`; anything else fails."""
    try:
        call()
    except error as exc:
        message = str(exc)
        assert str(path) in message, message
        assert len(message.splitlines()) == 1, repr(message)


# ----- TOML documents ------------------------------------------------------------------


def toml(value: Any) -> str:
    """Any value as TOML, tables inline, so every generated document is valid TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml(str(k))} = {toml(v)}" for k, v in value.items()) + "}"


def document(table: dict[str, Any]) -> str:
    return "".join(f"{toml(str(k))} = {toml(v)}\n" for k, v in table.items())


SCALARS = (
    st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", " ", "none", "quick", "self", "partner", "light", "firm", "slow"])
    | st.datetimes(max_value=dt.datetime(9999, 1, 1))
    | st.dates()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=10,
)


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """`original` with a few fields, anywhere in it, deleted, replaced, or added."""
    data: dict[str, Any] = json.loads(json.dumps(original, default=str))
    for _ in range(draw(st.integers(1, 4))):
        node: Any = data
        while True:  # walk down to a random table or list
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys or not draw(st.booleans()):
                break
            child = node[draw(st.sampled_from(keys))]
            if not isinstance(child, dict | list):
                break
            node = child
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if isinstance(node, list):
            if node and action == "delete":
                node.pop(draw(st.integers(0, len(node) - 1)))
            elif node and action == "replace":
                node[draw(st.integers(0, len(node) - 1))] = draw(VALUES)
            else:
                node.append(draw(VALUES))
        elif node and action != "add":
            key = draw(st.sampled_from(sorted(node)))
            if action == "delete":
                del node[key]
            else:
                node[key] = draw(VALUES)
        else:
            node[draw(st.sampled_from(names) | st.text(max_size=8))] = draw(VALUES)
    return data


@st.composite
def edited_text(draw: st.DrawFn, original: str) -> str:
    """`original` with a slice cut out or stray text put in: mostly broken TOML."""
    start = draw(st.integers(0, len(original)))
    end = draw(st.integers(start, min(len(original), start + 40)))
    return original[:start] + draw(st.text(max_size=20)) + original[end:]


def toml_files(original: str, names: list[str]) -> st.SearchStrategy[str]:
    raw = tomllib.loads(original)
    return (
        mutated(raw, names).map(document)
        | edited_text(original)
        | st.text(max_size=200)
        | st.dictionaries(st.text(max_size=8), VALUES, max_size=5).map(document)
    )


DEEP_ARRAY = "x = " + "[" * DEEP + "]" * DEEP + "\n"
DEEP_TABLE = "x = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n"
QUICK = resources.files("assistant").joinpath("data/routines/quick.toml").read_text("utf-8")
ROUTINE_NAMES = ["name", "title", "description", "steps", "id", "instruction", "duration_s",
                 "cues", "at", "self", "partner", "pressure", "both_feet", "switch", "finish"]


@FUZZ
@given(text=toml_files(QUICK, ROUTINE_NAMES))
@example(text=DEEP_ARRAY)
@example(text=DEEP_TABLE)
@example(text='"a\\nb" = 1\n')
def test_routine_files(folder: Path, text: str) -> None:
    path = folder / "mine.toml"
    path.write_text(text, encoding="utf-8")
    ends_cleanly(path, DataFileError, lambda: load_routine_file(path))


def test_a_routine_file_that_is_not_utf8_is_one_line(folder: Path) -> None:
    path = folder / "latin1.toml"
    path.write_bytes('name = "Fußbad"\n'.encode("latin-1"))
    ends_cleanly(path, DataFileError, lambda: load_routine_file(path))
    with pytest.raises(DataFileError):
        load_routine_file(path)


CONFIG_EXAMPLE = "".join(
    f"[{table}]\n" + "".join(f"{k.name.split('.')[1]} = {k.example}\n" for k in KEYS
                             if k.name.startswith(table + "."))
    for table in dict.fromkeys(k.name.split(".")[0] for k in KEYS)
)
CONFIG_NAMES = sorted({part for k in KEYS for part in k.name.split(".")})


@FUZZ
@given(text=toml_files(CONFIG_EXAMPLE, CONFIG_NAMES))
@example(text=DEEP_ARRAY)
@example(text='[session]\nroutine = ["a\\nb"]\n')
@example(text='[session]\n"x\\ny" = 1\n')
def test_config_files(folder: Path, text: str) -> None:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    ends_cleanly(path, ConfigError, lambda: load_config(path))


COMMANDS = resources.files("assistant").joinpath("data/commands.toml").read_text("utf-8")
VOCABULARY_NAMES = ["phrases", "priority", "help", "whole", "safety", "negations",
                    "safety_negations", "stop", "pause", "yes", "no"]


@FUZZ
@given(text=toml_files(COMMANDS, VOCABULARY_NAMES))
@example(text=DEEP_ARRAY)
@example(text='["a\\nb"]\nphrases = 3\n')
def test_vocabulary_files(folder: Path, text: str) -> None:
    path = folder / "commands.toml"
    path.write_text(text, encoding="utf-8")
    ends_cleanly(path, DataFileError, lambda: load_vocabulary(path))


@FUZZ
@given(raw=st.binary(max_size=300))
@example(raw=b"\xff\xfe[stop]\n")
def test_files_that_are_not_text(folder: Path, raw: bytes) -> None:
    """Bytes that are not UTF-8 (a file saved in another encoding, or not text at all)."""
    for name, error, load in (
        ("mine.toml", DataFileError, load_routine_file),
        ("config.toml", ConfigError, load_config),
        ("commands.toml", DataFileError, load_vocabulary),
    ):
        path = folder / name
        path.write_bytes(raw)
        ends_cleanly(path, error, lambda load=load, path=path: load(path))  # type: ignore[misc]
