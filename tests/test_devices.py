"""`devices`, and --input/--output, against the virtual room's PulseAudio devices."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from assistant.adapters.sounddevice_io import list_devices
from assistant.cli import cli
from assistant.config_file import CONFIG_NAME, load_config
from assistant.session.dialog import load_dialog
from tests.harness.room import Room

DIALOG = load_dialog()
PROGRAM = [sys.executable, "-m", "assistant"]


def marked(output: str, section: str) -> list[str]:
    """Names of the devices marked '*' under a section header."""
    lines = output.splitlines()
    start = lines.index(DIALOG.line(section))
    rows = []
    for line in lines[start + 1 :]:
        if not line.startswith(("*", " ")):
            break
        rows.append(line)
    return [row[1:].split(maxsplit=1)[1].split("  (")[0] for row in rows if row.startswith("*")]


def test_devices_lists_both_directions_and_marks_the_one_in_use(room: Room) -> None:
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 0, result.output
    assert DIALOG.line("devices.inputs") in result.output
    assert DIALOG.line("devices.outputs") in result.output
    assert "pulse" in result.output
    default_in = next(d.name for d in list_devices() if d.is_default_input)
    assert marked(result.output, "devices.inputs") == [default_in]
    assert DIALOG.line("devices.how_to_choose") in result.output


def test_a_choice_by_name_or_number_can_be_saved(room: Room, home: Path) -> None:
    pulse = next(d for d in list_devices() if d.name == "pulse")
    runner = CliRunner()
    result = runner.invoke(cli, ["devices", "--input", "pulse", "--output", str(pulse.index)])
    assert result.exit_code == 0, result.output
    assert DIALOG.line("devices.chosen_output", index=pulse.index, name="pulse") in result.output
    assert not (home / CONFIG_NAME).exists(), "nothing saved without --save"
    saved = runner.invoke(
        cli, ["devices", "--input", "pulse", "--output", str(pulse.index), "--save"]
    )
    assert saved.exit_code == 0, saved.output
    config = load_config(home / CONFIG_NAME)
    assert (config.input_device, config.output_device) == ("pulse", "pulse"), "saved by name"
    again = runner.invoke(cli, ["devices"])
    assert marked(again.output, "devices.inputs") == ["pulse"]
    assert marked(again.output, "devices.outputs") == ["pulse"]
    assert 'speech.output = "pulse"' in runner.invoke(cli, ["config"]).output


def test_a_device_that_is_not_there_is_named_with_those_that_are(room: Room) -> None:
    result = CliRunner().invoke(cli, ["devices", "--input", "no such mic"])
    assert result.exit_code == 2
    assert "no such mic" in result.output and "pulse" in result.output


def test_start_refuses_a_missing_device_at_once(room: Room, home: Path) -> None:
    proc = subprocess.run(
        [*PROGRAM, "start", "--output", "no such speakers"],
        env={**room.env, "MASSAGE_ASSISTANT_HOME": str(home)},
        input="", capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no such speakers" in proc.stderr and "pulse" in proc.stderr


def test_start_speaks_on_the_chosen_output_and_can_save_it(room: Room, home: Path) -> None:
    with room.record() as rec:
        proc = subprocess.Popen(
            [*PROGRAM, "start", "--routine", "quick", "--output", "pulse", "--input", "pulse",
             "--save-devices"],
            env={**room.env, "MASSAGE_ASSISTANT_HOME": str(home)},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while rec.tail_rms(0.5) < 0.003 and time.monotonic() < deadline:
                time.sleep(0.1)
            out, err = proc.communicate("end session\n", timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert proc.returncode == 0, err
    assert rec.recording is not None and rec.recording.rms() > 0.003, "it spoke into the room"
    config = load_config(home / CONFIG_NAME)
    assert (config.input_device, config.output_device) == ("pulse", "pulse")
    assert out.strip(), "not a terminal: the spoken lines are printed plainly"
