"""Fuzzed inputs (Hypothesis): every file a user can hand the program, broken every way.

Routine, config and vocabulary files, WAV files for `recognize`, and a damaged memory
database. Each case ends in a clean result or the project's own one-line error naming
the file (an AssistantError), never another exception; a damaged memory database is
never lost (moved aside byte for byte, or left untouched). Derandomized: every run tries
the same cases, so a failure in CI is a failure here.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import shutil
import sqlite3
import struct
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import suppress
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.commands.history import history_lines
from assistant.config_file import KEYS, ConfigError, load_config
from assistant.errors import AssistantError, DataFileError
from assistant.listening.recognize_file import AudioFileError, read_wav, wav_info
from assistant.memory.recorder import SessionMemory
from assistant.memory.remembered import open_start
from assistant.memory.store import DB_NAME, Memory, MemoryUnavailable
from assistant.session.dialog import load_dialog
from assistant.session.routines import load_routine, load_routine_file
from assistant.session.vocabulary import load_vocabulary
from assistant.settings import MemorySettings, SessionSettings
from tests.conftest import seed_home

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


PACKAGED = load_vocabulary()
WORDS = sorted({w for phrase in PACKAGED.all_phrases() for w in phrase.split()})


@FUZZ
@given(line=st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=30).map(" ".join)
       | st.text(max_size=80))
@example(line="no " * 5000)
@example(line="yes I do " * 2000)
def test_typed_and_heard_lines(line: str) -> None:
    """Keyboard mode reads whatever is typed (or pasted): a command or nothing, at once."""
    found = PACKAGED.intent_for(line)
    assert found is None or found[0] in {i.name for i in PACKAGED.intents}


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


# ----- WAV files -----------------------------------------------------------------------


def chunk(tag: bytes, body: bytes, size: int | None = None) -> bytes:
    pad = b"\x00" if len(body) % 2 else b""
    return tag + struct.pack("<I", len(body) if size is None else size) + body + pad


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` seven times in eight, else `odd`: each field of a header may be wrong, but
    most files get far enough to have their samples decoded and resampled."""
    return st.integers(0, 7).flatmap(lambda n: usual if n else odd)


NOISE = st.tuples(st.integers(0, 4000), st.integers(0, 2**32 - 1)).map(
    lambda size_seed: np.random.default_rng(size_seed[1]).bytes(size_seed[0]))
"""Samples of any length up to 4 kB, cheaply (Hypothesis draws only the size and a seed)."""
LIE = st.integers(0, 2**32 - 1)
"""A chunk size that need not be true."""


@st.composite
def wav_bytes(draw: st.DrawFn) -> bytes:
    """A RIFF/WAVE file whose every header field may be odd or lie, or plain bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    tag = draw(mostly(st.just(1), st.sampled_from([3, 0xFFFE]) | st.integers(0, 0xFFFF)))
    channels = draw(mostly(st.sampled_from([1, 2]), st.integers(0, 0xFFFF)))
    rate = draw(mostly(st.sampled_from([16000, 8000, 44100, 48000, 22050, 4000]),
                       st.integers(0, 2**32 - 1)))
    bits = draw(mostly(st.sampled_from([8, 16, 24, 32]), st.integers(0, 0xFFFF)))
    align = (channels * ((bits + 7) // 8)) & 0xFFFF
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * align) & 0xFFFFFFFF, align, bits)
    fmt = draw(mostly(st.just(fmt), st.binary(max_size=24).map(lambda extra: fmt + extra)
                      | st.integers(0, len(fmt)).map(lambda n: fmt[:n])))
    body = draw(mostly(NOISE, st.binary(max_size=64)))
    chunks = [chunk(b"fmt ", fmt, draw(mostly(st.none(), LIE)))]
    if draw(st.integers(0, 3)) == 0:
        chunks.append(chunk(b"LIST", draw(st.binary(max_size=30)), draw(mostly(st.none(), LIE))))
    chunks.append(chunk(b"data", body, draw(mostly(st.none(), LIE))))
    if draw(st.integers(0, 9)) == 0:
        chunks.reverse()
    inner = b"WAVE" + b"".join(chunks)
    size = draw(mostly(st.just(len(inner)), LIE))
    whole = b"RIFF" + struct.pack("<I", size) + inner
    cut: bytes = draw(mostly(st.just(whole), st.integers(0, len(whole)).map(lambda n: whole[:n])))
    return cut


def wav_header(rate: int, frames: int, channels: int = 1, width: int = 1) -> bytes:
    body = bytes(frames * channels * width)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * width, channels * width,
                      8 * width)
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(body)) + b"WAVE" + chunk(
        b"fmt ", fmt) + chunk(b"data", body)


@FUZZ
@given(raw=wav_bytes())
@example(raw=wav_header(rate=1, frames=20000))  # 20000 s at 1 Hz: 320 million samples at 16k
@example(raw=wav_header(rate=2**32 - 1, frames=10))  # under one output sample
@example(raw=wav_header(rate=16000, frames=0))
def test_wav_files(folder: Path, raw: bytes) -> None:
    path = folder / "heard.wav"
    path.write_bytes(raw)
    ends_cleanly(path, AudioFileError, lambda: wav_info(path))
    samples: list[np.ndarray] = []
    ends_cleanly(path, AudioFileError, lambda: samples.append(read_wav(path, 16000)))
    for got in samples:
        assert got.dtype == np.int16 and got.ndim == 1


def test_a_wav_that_is_a_folder_or_unreadable_is_one_line(folder: Path) -> None:
    path = folder / "dir.wav"
    path.mkdir(exist_ok=True)
    for call in (lambda: wav_info(path), lambda: read_wav(path)):
        with pytest.raises(AudioFileError) as caught:
            call()
        assert str(path) in str(caught.value)


# ----- a damaged memory database -------------------------------------------------------


@functools.cache
def healthy() -> bytes:
    """A memory file as a few weeks of use leave it: answers, preferences, sessions."""
    home = seed_home(Path(tempfile.mkdtemp(prefix="massage-memory-")))
    memory = Memory(home, wall=lambda: 1_780_000_000.0)
    try:
        memory.save_preferences({"pressure": "light", "pace_relative": "1.2",
                                 "last_routine": "quick", "volume_steps": "-1"})
        for n in range(12):
            session = memory.begin_session("quick" if n % 2 else "bedtime", "self")
            memory.record_progress(session, n, n, {"pause": n, "stop": 1}, "warm_up", 1)
            if n < 11:
                memory.end_session(session, ("finished", "ended", "interrupted")[n % 3])
    finally:
        memory.close()
    data = (home / DB_NAME).read_bytes()
    shutil.rmtree(home, ignore_errors=True)
    return data


@pytest.fixture(scope="module")
def parsed_once() -> Iterator[None]:
    """Dialog lines and routines parsed once, not in every case: the package's own files
    are not what is fuzzed here, and parsing them is most of a case's time."""
    import assistant.commands.history
    import assistant.memory.remembered

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assistant.commands.history, "load_dialog", functools.cache(load_dialog))
        patch.setattr(assistant.memory.remembered, "load_routine", functools.cache(load_routine))
        yield


@st.composite
def damage(draw: st.DrawFn, size: int) -> list[tuple[str, int, bytes]]:
    """Bytes overwritten (often in the header or at page starts), cut off, or added."""
    spots = st.integers(0, size - 1) | st.integers(0, 100) | st.integers(0, size // 4096).map(
        lambda page: page * 4096) | st.integers(0, 2000)
    edit = st.tuples(st.sampled_from(["write", "write", "write", "cut", "add"]), spots,
                     st.binary(min_size=1, max_size=16))
    return draw(st.lists(edit, min_size=1, max_size=6))


def apply(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, at, patch in edits:
        at = min(at, len(out))
        if kind == "write":
            out[at : at + len(patch)] = patch
        elif kind == "cut":
            del out[at:]
        else:
            out += patch
    return bytes(out)


CONTENT_DAMAGE = [
    "UPDATE sessions SET commands = 'not json' WHERE id = 3",
    "UPDATE sessions SET commands = '[1, 2]' WHERE id = 2",
    "UPDATE sessions SET commands = '{\"pause\": \"x\"}' WHERE id = 4",
    "UPDATE sessions SET commands = x'ff00' WHERE id = 5",
    "UPDATE sessions SET commands = '{\"a\": ' || printf('%.*c', 100000, '[') WHERE id = 9",
    "UPDATE sessions SET started_at = 'yesterday' WHERE id = 1",
    "UPDATE sessions SET started_at = 1e300 WHERE id = 6",
    "UPDATE sessions SET updated_at = x'00' WHERE id = 12",
    "UPDATE sessions SET outcome = 'exploded' WHERE id = 7",
    "UPDATE sessions SET step_index = 'two' WHERE id = 12",
    "UPDATE sessions SET steps_completed = 2.5 WHERE id = 8",
    "UPDATE sessions SET foot = 'left' WHERE id = 12",
    "UPDATE sessions SET mode = 7 WHERE id = 12",
    "UPDATE sessions SET routine = x'c3' WHERE id = 12",
    "UPDATE preferences SET value = x'80' WHERE key = 'pressure'",
    "UPDATE preferences SET value = 3 WHERE key = 'volume_steps'",
    "UPDATE screening_answers SET answered_at = 'then'",
    "UPDATE screening_answers SET answer = 'maybe'",
    "DROP TABLE sessions",
    "ALTER TABLE preferences RENAME TO prefs",
    "PRAGMA user_version = 1",
]


def damaged_by_sql(healthy: bytes, statements: list[str], folder: Path) -> bytes:
    path = folder / "sql-damage.sqlite3"
    path.write_bytes(healthy)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        for statement in statements:
            with suppress(sqlite3.Error):  # an earlier one dropped its table
                db.execute(statement)
    finally:
        db.close()
    return path.read_bytes()


DIALOG = load_dialog()


def use_memory(home: Path) -> None:
    """What the program does with memory: start a session, record it, list history."""
    dialog = DIALOG
    notices: list[str] = []
    remember = MemorySettings(folder=home, use_last_routine=True, busy_timeout_s=0.05)
    wanted = SessionSettings(routine="quick", mode=None, pressure="medium")
    _, memory = open_start(remember, wanted, {}, (False, False), dialog, notices.append)
    assert all(len(n.splitlines()) == 1 for n in notices), notices
    if memory is None:
        assert notices, "memory left out without a word"
        return
    try:
        recorder = SessionMemory(memory, "quick", "self", on_failure=lambda e: notices.append(
            str(e)))
        recorder({"type": "step", "index": 0, "id": "warm_up", "foot": 1, "t": 0.0})
        recorder({"type": "step_done", "t": 1.0})
        history_lines(memory, 10)
    finally:
        memory.close()


def survives(folder: Path, damaged: bytes) -> None:
    home = folder / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    (home / DB_NAME).write_bytes(damaged)
    try:
        use_memory(home)
    except MemoryUnavailable as exc:
        assert len(str(exc).splitlines()) == 1 and str(home) in str(exc)
    kept = [p.read_bytes() for p in sorted(home.glob(f"{DB_NAME}.corrupt-*"))]
    assert len(kept) <= 1
    if kept:
        assert kept[0] == damaged, "the damaged file is kept byte for byte"
    else:
        try:
            reopened = Memory(home, busy_timeout_s=0.05)
        except MemoryUnavailable:  # unusable (a format SQLite does not know): left alone
            assert (home / DB_NAME).read_bytes() == damaged, "left as it was found"
        else:  # sound to SQLite and to the row check, and used as such
            reopened.close()
            assert reopened.moved_aside is None


@FUZZ
@given(data=st.data())
@pytest.mark.usefixtures("parsed_once")
def test_a_memory_file_damaged_byte_by_byte(folder: Path, data: st.DataObject) -> None:
    survives(folder, apply(healthy(), data.draw(damage(len(healthy())))))


@FUZZ
@given(statements=st.lists(st.sampled_from(CONTENT_DAMAGE), min_size=1, max_size=3,
                           unique=True))
@pytest.mark.usefixtures("parsed_once")
def test_a_memory_file_with_contents_it_never_wrote(folder: Path, statements: list[str]) -> None:
    survives(folder, damaged_by_sql(healthy(), statements, folder))
