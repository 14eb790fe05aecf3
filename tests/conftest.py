"""Shared fixtures. The virtual room lives in tests/harness/room.py.

No test touches the real user's data: every test gets its own memory folder
(MASSAGE_ASSISTANT_HOME), with the safety questions already answered "no" (for the
user and for a partner) and the mode remembered as self, so a session starts
straight away; tests of screening and of choosing the mode use a fresh folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.memory.store import Memory
from assistant.session.safety import load_screening
from tests.harness import stream_decoding
from tests.harness.speech_samples import SPEECH_COMMANDS

pytest_plugins = ["tests.harness.room"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """The suite's largest offline work starts now, in the room tests' idle time."""
    stream_decoding.start_early(session, SPEECH_COMMANDS)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in the virtual room is a real-time test (before `-m` selects); the
    tests of the early decode come last."""
    stream_decoding.last(items)
    for item in items:
        if "room" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realtime)


def pytest_sessionfinish(session: pytest.Session) -> None:
    stream_decoding.end_early(session)


def seed_home(folder: Path) -> Path:
    memory = Memory(folder)
    try:
        for person in ("self", "partner"):
            memory.save_screening({q.id: False for q in load_screening().questions}, person)
        memory.save_preferences({"mode": "self"})
    finally:
        memory.close()
    return folder


@pytest.fixture(autouse=True)
def home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    folder = seed_home(tmp_path_factory.mktemp("home"))
    monkeypatch.setenv("MASSAGE_ASSISTANT_HOME", str(folder))
    yield folder
