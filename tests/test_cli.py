"""The real CLI in keyboard mode: piped stdin, events file, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.errors import AudioUnavailable
from assistant.memory.store import Memory
from assistant.session.dialog import load_dialog
from assistant.session.routines import load_routine

PROGRAM = [sys.executable, "-m", "assistant"]


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_routines_lists_name_length_and_description() -> None:
    result = CliRunner().invoke(cli, ["routines"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == ["bedtime", "full", "quick"]
    assert "20 min" in next(line for line in lines if line.startswith("full"))


def quick_sequence() -> list[tuple[str, int | None]]:
    """The quick routine in order: every step on the first foot, the switch, the steps
    that repeat on the second foot, the finish."""
    routine = load_routine("quick")
    first = [(s.id, 1) for s in routine.steps]
    second = [(s.id, 2) for s in routine.steps if s.both_feet]
    return [*first, ("switch_feet", 2), *second, ("finish", None)]


def test_piped_commands_drive_a_session_to_the_end(tmp_path: Path) -> None:
    events_path = tmp_path / "events.jsonl"
    script = "sleep 0.5; echo pause; sleep 0.5; echo resume; echo slower; echo banana"
    proc = subprocess.run(
        [
            "bash",
            "-c",
            f"({script}) | {' '.join(PROGRAM)} start --routine quick --text "
            f"--time-scale 0.01 --events {events_path}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    events = read_events(events_path)
    commands = [(e["intent"], e["source"], e["accepted"]) for e in events if e["type"] == "command"]
    assert commands == [
        ("pause", "text", True),
        ("resume", "text", True),
        ("slower", "text", True),
        (None, "text", False),
    ]
    states = [e["to"] for e in events if e["type"] == "state"]
    assert "paused" in states and states[-1] == "finished"
    assert all(isinstance(e["t"], float | int) for e in events)
    steps = [e for e in events if e["type"] == "step"]
    assert {"id", "index", "foot"} <= set(steps[0])
    sequence = [(e["id"], e["foot"]) for e in steps]
    assert sequence == quick_sequence()
    assert ("warm_up", 1) in sequence and ("warm_up", 2) in sequence, "both feet"
    assert [e["index"] for e in steps] == list(range(len(sequence)))
    kinds = [e["kind"] for e in steps]
    assert kinds.count("switch") == 1 and kinds[-1] == "finish"
    assert [e["key"] for e in events if e["type"] == "say"][-1] == "goodbye"
    said = [e["text"] for e in events if e["type"] == "say"]
    assert said[-1] in proc.stdout, "what the assistant would say is printed"


def test_end_of_input_does_not_end_the_session_early(tmp_path: Path) -> None:
    events_path = tmp_path / "events.jsonl"
    proc = subprocess.run(
        [
            *PROGRAM,
            "start",
            "--routine",
            "quick",
            "--text",
            "--time-scale",
            "0.005",
            "--events",
            str(events_path),
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    events = read_events(events_path)
    assert [(e["id"], e["foot"]) for e in events if e["type"] == "step"] == quick_sequence()
    assert not [e for e in events if e["type"] == "command"]
    assert events[-2]["type"] == "state" and events[-2]["to"] == "finished"
    assert events[-1]["type"] == "say" and events[-1]["key"] == "goodbye"


def test_end_session_exits_zero_at_once(tmp_path: Path) -> None:
    events_path = tmp_path / "events.jsonl"
    proc = subprocess.run(
        [*PROGRAM, "start", "--text", "--events", str(events_path)],
        input="end session\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    events = read_events(events_path)
    assert events[-1]["t"] < 5
    assert [e["to"] for e in events if e["type"] == "state"][-1] == "finished"


def refused(*args: str) -> subprocess.CompletedProcess[str]:
    """`start --text` with bad input: it must stop with exit 2 and no traceback."""
    proc = subprocess.run([*PROGRAM, "start", "--text", *args], input="",
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    return proc


def test_a_broken_routine_file_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('name = "x"\n')
    proc = refused("--routine", str(path))
    assert str(path) in proc.stderr and "field" in proc.stderr


def test_an_events_file_that_cannot_be_written_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "e.jsonl"
    proc = refused("--routine", "quick", "--events", str(missing))
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "events file" in lines[0]


def run_program(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROGRAM, *args], capture_output=True, text=True, timeout=60,
                          env=env)


def test_the_bare_command_prints_help_and_exits_zero() -> None:
    proc = run_program()
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout and "start" in proc.stdout


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    proc = run_program("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(version("massage-assistant"))


def one_line_refusal(proc: subprocess.CompletedProcess[str], path: Path) -> None:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], proc.stderr


def test_config_init_under_a_file_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "f").touch()
    home = tmp_path / "f" / "sub"
    proc = run_program("config", "--init",
                       env={**os.environ, "MASSAGE_ASSISTANT_HOME": str(home)})
    one_line_refusal(proc, home / "config.toml")


def test_say_into_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "x.wav"
    one_line_refusal(run_program("say", "hi", "--out", str(missing)), missing)
    (tmp_path / "f").touch()
    under_a_file = tmp_path / "f" / "x.wav"
    one_line_refusal(run_program("say", "hi", "--out", str(under_a_file)), under_a_file)


# ----- the voice: checked in every mode, before anything is remembered ---------------------


def remembered(home: Path) -> dict[str, str]:
    memory = Memory(home)
    try:
        return memory.preferences()
    finally:
        memory.close()


def test_an_unknown_voice_in_keyboard_mode_is_one_line_exit_2_and_nothing_saved(
    home: Path,
) -> None:
    before = remembered(home)
    result = CliRunner().invoke(
        cli, ["start", "--text", "--voice", "no-such-voice-xq"], input="end session\n"
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        "massage-assistant: " + load_dialog().line("notice.unknown_voice", voice="no-such-voice-xq")
    ]
    assert "no-such-voice-xq" in lines[0] and "massage-assistant voices" in lines[0]
    assert remembered(home) == before, "nothing saved"
    assert Memory(home).sessions() == []


def test_a_voice_that_cannot_be_checked_is_not_remembered(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No speech engine to check against: the session goes on in print, and the voice
    given is said to be unchecked and not remembered (it used to be saved unchecked)."""
    import assistant.adapters.pyttsx3_tts as tts

    def no_engine() -> None:
        raise AudioUnavailable("no speech engine")

    monkeypatch.setattr(tts, "Pyttsx3Renderer", no_engine)
    result = CliRunner().invoke(
        cli, ["start", "--text", "--routine", "quick", "--voice", "klingon"], input="end session\n"
    )
    assert result.exit_code == 0, result.output
    assert "voice" not in remembered(home)
    notice = load_dialog().line("notice.voice_unchecked", voice="klingon")
    assert notice in result.output.splitlines()
