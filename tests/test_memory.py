"""Memory: real SQLite files, real killed processes, nothing lost."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from assistant.cli import cli
from assistant.memory import DB_NAME, Memory

PROGRAM = [sys.executable, "-m", "assistant"]


def events_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_preferences_answers_and_sessions_round_trip(tmp_path: Path) -> None:
    memory = Memory(tmp_path, wall=lambda: 1000.0)
    memory.save_preferences({"pressure": "light", "voice": "en"})
    memory.save_preferences({"pressure": "firm"})
    memory.save_screening({"clots": False, "pregnancy": True})
    sid = memory.begin_session("quick", "partner")
    memory.record_progress(sid, 3, 2, {"slower": 1})
    memory.close()
    again = Memory(tmp_path)
    assert again.preferences() == {"pressure": "firm", "voice": "en"}
    assert again.screening_answers() == {"clots": (False, 1000.0), "pregnancy": (True, 1000.0)}
    [record] = again.sessions()
    assert (record.routine, record.mode, record.step_index, record.steps_completed) == (
        "quick",
        "partner",
        3,
        2,
    )
    assert record.commands == {"slower": 1} and record.outcome is None


def test_a_corrupt_file_is_moved_aside_and_a_fresh_one_started(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not a database" * 200)
    memory = Memory(tmp_path)
    assert memory.moved_aside is not None and memory.moved_aside.exists()
    assert memory.moved_aside.read_bytes().startswith(b"this is not")
    memory.save_preferences({"pressure": "light"})
    assert Memory(tmp_path).preferences() == {"pressure": "light"}


def test_a_corrupt_file_is_reported_by_the_cli_not_a_crash(home: Path, tmp_path: Path) -> None:
    (home / DB_NAME).write_bytes(b"\x00garbage" * 500)
    proc = subprocess.run(
        [*PROGRAM, "start", "--text", "--routine", "quick"],
        input="end session\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "moved to" in proc.stderr and "Traceback" not in proc.stderr


def test_killing_a_session_at_any_moment_leaves_a_readable_database(home: Path) -> None:
    rng = random.Random(7)
    # No skips: on a fast machine they would finish the routine before the kill.
    # Step timers (0.01 scale) still move the session on while it writes preferences.
    commands = "".join(
        rng.choice(["slower\n", "faster\n", "softer\n", "firmer\n"]) for _ in range(400)
    )
    for _ in range(8):
        proc = subprocess.Popen(
            [*PROGRAM, "start", "--text", "--routine", "full", "--time-scale", "0.01"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(commands)
        proc.stdin.flush()
        time.sleep(rng.uniform(0.6, 1.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        memory = Memory(home)
        assert memory.moved_aside is None
        db = sqlite3.connect(home / DB_NAME)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        assert memory.sessions(), "the session was recorded before the kill"
        memory.close()
    # Each new start marks the killed one as interrupted.
    outcomes = [s.outcome for s in Memory(home).sessions()]
    assert outcomes.count(None) <= 1 and "interrupted" in outcomes


def kill_at_step(events: Path, skips: int) -> None:
    """Run a session, skip ahead to step `skips`, then kill it (SIGKILL)."""
    proc = subprocess.Popen(
        [*PROGRAM, "start", "--text", "--routine", "quick", "--events", str(events)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write("skip\n" * skips)
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        steps = [e for e in events_of(events) if e["type"] == "step"] if events.exists() else []
        if steps and steps[-1]["index"] == skips:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    proc.kill()
    proc.wait(timeout=10)


def test_a_killed_session_can_be_resumed_from_its_step(home: Path, tmp_path: Path) -> None:
    kill_at_step(tmp_path / "first.jsonl", skips=3)
    offer = subprocess.run(
        [*PROGRAM, "start", "--text", "--routine", "quick"],
        input="end session\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "--resume" in offer.stderr, "the assistant offers to resume"
    # The offer is made once: that session ended normally. Kill another one to resume.
    kill_at_step(tmp_path / "second.jsonl", skips=2)
    third = tmp_path / "third.jsonl"
    resumed = subprocess.run(
        [*PROGRAM, "start", "--text", "--resume", "--events", str(third)],
        input="end session\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stderr
    steps = [e for e in events_of(third) if e["type"] == "step"]
    assert steps and steps[0]["id"] == "sole" and steps[0]["index"] == 2


def test_a_learned_pressure_is_used_next_time(tmp_path: Path) -> None:
    first = subprocess.run(
        [*PROGRAM, "start", "--text", "--routine", "quick"],
        input="skip\nless pressure\nend session\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    events = tmp_path / "events.jsonl"
    second = subprocess.run(
        [*PROGRAM, "start", "--text", "--routine", "quick", "--events", str(events)],
        input="end session\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 0, second.stderr
    keys = [e["key"] for e in events_of(events) if e["type"] == "say"]
    assert "remembered_pressure" in keys
    assert "disclaimer" not in keys, "the disclaimer is skipped after the first time"
    explicit = subprocess.run(
        [
            *PROGRAM,
            "start",
            "--text",
            "--routine",
            "quick",
            "--pressure",
            "firm",
            "--events",
            str(events),
        ],
        input="end session\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert explicit.returncode == 0
    assert "remembered_pressure" not in [e.get("key") for e in events_of(events)]


def test_the_first_session_screens_and_remembers_the_answers(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh-home"
    env = {**os.environ, "MASSAGE_ASSISTANT_HOME": str(fresh)}
    events = tmp_path / "events.jsonl"
    answers = "myself\n" + "no\n" * 5 + "end session\n"
    first = subprocess.run(
        [*PROGRAM, "start", "--text", "--routine", "quick", "--events", str(events)],
        input=answers,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert first.returncode == 0, first.stderr
    assert [e for e in events_of(events) if e["type"] == "screening"]
    again = subprocess.run(
        [*PROGRAM, "start", "--text", "--routine", "quick", "--events", str(events)],
        input="end session\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert again.returncode == 0
    assert not [
        e for e in events_of(events) if e["type"] == "say" and str(e["key"]).startswith("safety.")
    ]
    keys = [str(e["key"]) for e in events_of(events) if e["type"] == "say"]
    assert "ask_mode" not in keys, "the mode is remembered"


def test_history_shows_sessions_and_the_weekly_rhythm(home: Path) -> None:
    memory = Memory(home)
    sid = memory.begin_session("quick", "self")
    memory.record_progress(sid, 5, 5, {})
    memory.end_session(sid, "finished")
    memory.close()
    result = CliRunner().invoke(cli, ["history"])
    assert result.exit_code == 0
    assert "quick" in result.output and "finished" in result.output
    assert "a week" in result.output.splitlines()[-1]


def test_forget_wipes_everything_after_confirmation(home: Path) -> None:
    assert (home / DB_NAME).exists()
    refused = CliRunner().invoke(cli, ["forget"], input="n\n")
    assert refused.exit_code == 0 and (home / DB_NAME).exists()
    done = CliRunner().invoke(cli, ["forget"], input="y\n")
    assert done.exit_code == 0 and not (home / DB_NAME).exists()


def test_voice_rate_chimes_and_volume_are_remembered(tmp_path: Path) -> None:
    from assistant.dialog import load_dialog
    from assistant.remembered import plan_start
    from assistant.session_memory import SessionMemory
    from assistant.settings import SessionSettings

    memory = Memory(tmp_path)
    wanted = SessionSettings(routine="quick", mode="self")
    first = plan_start(
        memory, wanted, {"rate_wpm": 120, "chimes": False}, False, False, False, load_dialog()
    )
    assert first.speech.rate_wpm == 120 and first.speech.chimes is False
    recorder = SessionMemory(memory, "quick", "self", first.volume_steps)
    recorder({"t": 1.0, "type": "volume", "step": 1})
    recorder({"t": 2.0, "type": "volume", "step": 1})
    again = plan_start(memory, wanted, {}, False, False, False, load_dialog())
    assert again.speech.rate_wpm == 120 and again.speech.chimes is False
    assert again.volume_steps == 2
    assert again.speech.volume > first.speech.volume
    louder = plan_start(memory, wanted, {"rate_wpm": 180}, False, False, False, load_dialog())
    assert louder.speech.rate_wpm == 180
