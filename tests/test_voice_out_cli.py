"""Voice out from the command line: a wrong or vanished voice, no speakers, and louder in print.

The real program in a subprocess, with the test's own memory folder (conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.adapters.pyttsx3_tts import UnknownVoice
from assistant.memory.store import Memory
from assistant.session.dialog import load_dialog
from assistant.speech.voice_choice import check_voice, installed_voice

PROGRAM = [sys.executable, "-m", "assistant"]
QUICK = ["start", "--routine", "quick", "--plain", "--time-scale", "0.01"]


def run(args: list[str], stdin: str = "end session\n", env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROGRAM, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env=env)


def preferences(home: Path) -> dict[str, str]:
    memory = Memory(home)
    try:
        return memory.preferences()
    finally:
        memory.close()


def said_keys(path: Path) -> list[str]:
    events: list[dict[str, Any]] = [json.loads(line) for line in path.read_text().splitlines()]
    return [e["key"] for e in events if e["type"] == "say"]


def lines_with(text: str, output: str) -> list[str]:
    return [line for line in output.splitlines() if text in line]


# ----- B: the voice is checked before the session, and a gone one is let go ----------


def test_an_unknown_voice_stops_before_anything_is_said_or_remembered(
    home: Path, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    proc = run([*QUICK, "--voice", "nosuchvoice", "--events", str(events)])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "massage-assistant: " + load_dialog().line("notice.unknown_voice", voice="nosuchvoice")
    ]
    assert "massage-assistant voices" in proc.stderr, "says how to see the voices"
    assert proc.stdout == "" and not events.exists(), "nothing said, no session"
    assert "voice" not in preferences(home), "not remembered"
    again = run([*QUICK, "--text", "--events", str(events)])
    assert again.returncode == 0, again.stderr
    assert said_keys(events)[0] == "welcome"


def test_a_remembered_voice_that_is_gone_is_dropped_with_one_notice(home: Path) -> None:
    """As after an OS upgrade removed it: the default voice speaks, and next time there is
    nothing to say about it."""
    memory = Memory(home)
    memory.save_preferences({"voice": "gone/voice"})
    memory.close()
    notice = load_dialog().line("notice.voice_gone", voice="gone/voice")
    first = run(QUICK)
    assert first.returncode == 0, first.stderr
    assert lines_with("gone/voice", first.stderr) == [notice]
    assert not preferences(home)["voice"], "forgotten"
    second = run(QUICK)
    assert second.returncode == 0, second.stderr
    assert "gone/voice" not in second.stderr


def test_an_installed_voice_is_kept(home: Path) -> None:
    check_voice("en-us")
    with pytest.raises(UnknownVoice, match="massage-assistant voices"):
        check_voice("klingon-x-nonexistent")
    memory = Memory(home)
    try:
        memory.save_preferences({"voice": "en-us"})
        assert installed_voice("en-us", memory, load_dialog()) == ("en-us", None)
        assert memory.preferences()["voice"] == "en-us"
        assert installed_voice(None, memory, load_dialog()) == (None, None)
    finally:
        memory.close()


# ----- C: no output device -----------------------------------------------------------


@pytest.fixture
def no_speakers(tmp_path: Path) -> dict[str, str]:
    """An environment where PortAudio finds no output: the sound server pointed nowhere
    (and not started on demand). A machine with a sound card still lists it: skip there."""
    conf = tmp_path / "client.conf"
    conf.write_text("autospawn = no\n")
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path / 'no-such-socket'}",
           "PULSE_CLIENTCONFIG": str(conf)}
    probe = subprocess.run(
        [sys.executable, "-c", "from assistant.adapters.sounddevice_io import list_devices;"
         "print(sum(d.outputs > 0 for d in list_devices()))"],
        capture_output=True, text=True, timeout=30, env=env,
    )
    if probe.returncode == 0 and probe.stdout.strip() != "0":
        pytest.skip("this machine has an output device even without a sound server")
    return env


def test_without_speakers_a_session_says_what_to_do_and_carries_on_in_text(
    no_speakers: dict[str, str], tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    proc = run([*QUICK, "--events", str(events)], env=no_speakers)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    what_to_do = load_dialog().line("notice.no_output_device")
    fallback = load_dialog().line("notice.no_speech_out", reason=what_to_do)
    assert lines_with("output device", proc.stderr) == [fallback]
    assert "speakers or headphones" in fallback and "massage-assistant devices" in fallback
    assert said_keys(events)[-1] == "ended"
    assert load_dialog().line("ended") in proc.stdout, "the lines are printed"
    mic = lines_with("microphone", proc.stderr)
    assert len(mic) == 1 and "Plug in or unmute a microphone" in mic[0], proc.stderr
    keyboard = load_dialog().line("notice.keyboard")
    assert proc.stderr.count("Keyboard mode") == 1 and keyboard in proc.stderr, (
        "no microphone: says what to do, and once that the keyboard carries on"
    )


def test_without_speakers_say_is_one_line_saying_what_to_do(
    no_speakers: dict[str, str],
) -> None:
    proc = run(["say", "Hello."], stdin="", env=no_speakers)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert lines_with("output device", proc.stderr) == [
        "massage-assistant: " + load_dialog().line("notice.no_output_device")
    ]


# ----- D: louder and quieter in print ---------------------------------------------------


def test_in_text_mode_louder_and_quieter_say_there_is_no_sound(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    proc = run([*QUICK, "--text", "--events", str(events)],
               stdin="louder\nquieter\nend session\n")
    assert proc.returncode == 0, proc.stderr
    keys = said_keys(events)
    assert keys.count("ack_no_volume") == 2
    assert not {"ack_loudest", "ack_quietest", "ack_louder", "ack_quieter"} & set(keys)
