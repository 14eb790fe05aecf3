"""Choosing a voice: piper:joe, espeak:ID, the old bare names, unknown names, and the
fallback to the system voice when Piper cannot load.

The real program in a subprocess with the test's own home folder (conftest.py). Piper
is made unavailable the only way the program accepts: a `piper` package earlier on the
path whose import fails, as when it is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from assistant.memory.store import Memory
from assistant.session.dialog import load_dialog
from assistant.speech.render_cache import CachedRenderer
from assistant.speech.voice_choice import check_voice, installed_voice
from assistant.speech.voice_names import UnknownVoice, parse_voice
from tests.harness.room import Room
from tests.harness.speech_samples import require_piper

PROGRAM = [sys.executable, "-m", "assistant"]
QUICK = ["start", "--routine", "quick", "--plain", "--time-scale", "0.01"]
TEXT = "Breathe in slowly. Now relax your foot."


def run(args: list[str], stdin: str = "", env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROGRAM, *args], input=stdin, capture_output=True, text=True,
                          timeout=120, env=env)


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def cached(home: Path, engine: str, voice: str | None, text: str = TEXT) -> bool:
    """Whether `engine` rendered `text` (the cache file is named by engine and voice)."""
    probe = CachedRenderer(None, engine, home / "speech-cache", 1)  # type: ignore[arg-type]
    return probe.path_for(text, 150, voice).exists()


@pytest.fixture
def without_piper(tmp_path: Path) -> dict[str, str]:
    fake = tmp_path / "no-piper" / "piper"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named piper (test)')\n")
    path = os.pathsep.join(p for p in (str(fake.parent), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def test_names_parse_into_engine_and_voice() -> None:
    assert parse_voice("piper:joe").spec == "piper:joe"
    assert parse_voice("espeak:en-us").spec == "espeak:en-us"
    assert parse_voice("en-us").spec == "espeak:en-us", "the old bare names"
    assert parse_voice("gmw/en-US").spec == "espeak:gmw/en-US"
    assert parse_voice("PIPER:Joe").engine == "piper"


def test_voices_lists_the_natural_voice_first_then_system_voices() -> None:
    require_piper()
    proc = run(["voices"])
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()
    assert rows[0].startswith("piper:joe ")
    assert "massage-assistant say --voice piper:joe" in rows[0]
    system = [row for row in rows[1:] if row.startswith("espeak:")]
    assert len(system) == len(rows) - 1 > 5
    assert any("en-us" in row for row in system)
    assert all("massage-assistant say --voice espeak:" in row for row in system)


@pytest.mark.parametrize(
    ("voice", "engine", "key"),
    [(None, "piper:joe", None), ("piper:joe", "piper:joe", None),
     ("espeak:en-us", "espeak", "espeak:en-us"), ("en-us", "espeak", "en-us")],
)
def test_each_kind_of_name_speaks_with_its_engine(
    voice: str | None, engine: str, key: str | None, home: Path
) -> None:
    require_piper()
    out = home / "line.wav"
    proc = run(["say", TEXT, "--out", str(out), *(["--voice", voice] if voice else [])])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert 1.0 < seconds(out) < 6.0
    assert cached(home, engine, key), f"rendered by {engine}"


def test_an_unknown_natural_voice_is_one_line_naming_the_voices_command(home: Path) -> None:
    for args in (["say", TEXT], [*QUICK, "--text"]):
        proc = run([*args, "--voice", "piper:nobody"], stdin="end session\n")
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [
            "massage-assistant: " + load_dialog().line("notice.unknown_voice",
                                                       voice="piper:nobody")
        ]
    with pytest.raises(UnknownVoice, match="massage-assistant voices"):
        check_voice("piper:nobody")
    with pytest.raises(UnknownVoice):
        check_voice("espeak:klingon-x-nonexistent")


def test_a_remembered_natural_voice_is_kept(home: Path) -> None:
    memory = Memory(home)
    try:
        memory.save_preferences({"voice": "piper:joe"})
        assert installed_voice("piper:joe", memory, load_dialog()) == ("piper:joe", None)
        assert memory.preferences()["voice"] == "piper:joe"
        memory.save_preferences({"voice": "espeak:en-us"})
        assert installed_voice("espeak:en-us", memory, load_dialog()) == ("espeak:en-us", None)
    finally:
        memory.close()


def test_without_piper_say_speaks_with_the_system_voice_and_says_so_once(
    without_piper: dict[str, str], home: Path
) -> None:
    out = home / "line.wav"
    proc = run(["say", TEXT, "--out", str(out)], env=without_piper)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        load_dialog().line("notice.no_natural_voice", reason="X").split("(")[0])
    assert "No module named piper (test)" in lines[0]
    assert 1.0 < seconds(out) < 6.0
    assert cached(home, "espeak", None) and not cached(home, "piper:joe", None)
    listed = run(["voices"], env=without_piper)
    assert listed.returncode == 0 and not listed.stdout.startswith("piper:")


def test_without_piper_a_session_speaks_and_says_so_once(
    without_piper: dict[str, str], home: Path, room: Room
) -> None:
    """In the room (a sound device to speak through): the lines are rendered, by espeak."""
    env = {**without_piper, **room.pulse_env}
    proc = run([*QUICK, "--no-chimes"], stdin="end session\n", env=env)
    assert proc.returncode == 0, proc.stderr
    notice = load_dialog().line("notice.no_natural_voice", reason="X").split("(")[0]
    assert sum(line.startswith(notice) for line in proc.stderr.splitlines()) == 1, proc.stderr
    assert load_dialog().line("ended") in proc.stdout
    assert cached(home, "espeak", None, load_dialog().line("ended")), "spoken by espeak"
