"""The config file: checked on load, flags beat it, `config` shows it, saving keeps the rest."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.config_file import (
    CONFIG_NAME,
    KEYS,
    ConfigError,
    example_text,
    load_config,
    save_values,
)
from assistant.session.routines import load_routine

PROGRAM = [sys.executable, "-m", "assistant"]


def write(home: Path, text: str) -> Path:
    path = home / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_nothing_set(tmp_path: Path) -> None:
    config = load_config(tmp_path / CONFIG_NAME)
    assert not config.exists and config.set_values() == []


def test_values_are_read_by_table_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, """
[session]
routine = "quick"
pressure = "light"
[speech]
rate = 140
volume = 1
chimes = false
output = 3
[listen]
input = "USB mic"
barge_in = false
[screen]
live = false
""")
    config = load_config(path)
    assert (config.routine, config.pressure, config.rate, config.chimes) == (
        "quick", "light", 140, False)
    assert config.volume == 1.0 and config.output_device == 3
    assert config.input_device == "USB mic" and config.live_screen is False
    assert config.barge_in is False
    assert [name for name, _ in config.set_values()] == [
        "session.routine", "session.pressure", "speech.rate", "speech.volume",
        "speech.chimes", "speech.output", "listen.input", "listen.barge_in", "screen.live",
    ]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[speech]\nrate = "fast"\n', "speech.rate"),
        ("[speech]\nrate = 1000\n", "speech.rate"),
        ('[session]\npressure = "hard"\n', "session.pressure"),
        ('[speech]\nchimes = "yes"\n', "speech.chimes"),
        ('[listen]\nengine = "whisper"\n', "listen.engine"),
        ('[speech]\ncolour = "blue"\n', "speech.colour"),
        ('[sound]\nrate = 1\n', "[sound]"),
        ("[speech\nrate = 1\n", "not valid TOML"),
    ],
)
def test_a_bad_value_names_the_file_and_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and named in str(caught.value)


def test_saving_keeps_comments_and_other_keys(tmp_path: Path) -> None:
    text = '# mine\n[speech]\nrate = 140  # slow talker\n\n[session]\nmode = "self"\n'
    path = write(tmp_path, text)
    save_values(path, {"speech.output": "pulse", "listen.input": "USB mic"})
    save_values(path, {"speech.output": "other"})
    text = path.read_text()
    assert text.startswith("# mine\n") and "rate = 140  # slow talker" in text
    raw = tomllib.loads(text)
    assert raw == {"speech": {"rate": 140, "output": "other"}, "session": {"mode": "self"},
                   "listen": {"input": "USB mic"}}


def test_the_example_sets_nothing_and_names_every_key(tmp_path: Path) -> None:
    path = write(tmp_path, example_text())
    assert load_config(path).set_values() == []
    for key in KEYS:
        assert f"# {key.name.split('.')[1]} = " in example_text()


def test_config_command_shows_where_and_what(home: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(cli, ["config"])
    assert empty.exit_code == 0 and str(home / CONFIG_NAME) in empty.output
    assert "speech.rate" in empty.output, "lists the keys that can be set"
    write(home, '[speech]\nrate = 140\n[listen]\ninput = "pulse"\n')
    shown = runner.invoke(cli, ["config"])
    assert 'speech.rate = 140' in shown.output and 'listen.input = "pulse"' in shown.output
    assert runner.invoke(cli, ["config", "--path"]).output.strip() == str(home / CONFIG_NAME)


def test_config_init_writes_a_commented_file_once(home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "--init"]).exit_code == 0
    assert (home / CONFIG_NAME).read_text() == example_text()
    (home / CONFIG_NAME).write_text("[speech]\nrate = 140\n")
    runner.invoke(cli, ["config", "--init"])
    assert (home / CONFIG_NAME).read_text() == "[speech]\nrate = 140\n"


def test_config_command_reports_a_bad_file(home: Path) -> None:
    path = write(home, "[speech]\nrate = 'fast'\n")
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 2
    assert str(path) in result.output and "speech.rate" in result.output


def run_text_session(tmp_path: Path, *args: str) -> list[dict[str, object]]:
    events = tmp_path / "events.jsonl"
    proc = subprocess.run(
        [*PROGRAM, "start", "--text", "--time-scale", "0.002", "--events", str(events), *args],
        input="", capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in events.read_text().splitlines()]


def test_a_session_uses_the_config_and_flags_beat_it(home: Path, tmp_path: Path) -> None:
    write(home, '[session]\nroutine = "quick"\npressure = "light"\n')
    events = run_text_session(tmp_path)
    welcome = next(str(e["text"]) for e in events if e["type"] == "say" and e["key"] == "welcome")
    assert load_routine("quick").title in welcome
    pressures = {str(e["key"]) for e in events if e["type"] == "say"
                 and str(e["key"]).startswith("pressure.")}
    assert pressures == {"pressure.light"}
    flagged = run_text_session(tmp_path, "--pressure", "firm")
    pressures = {str(e["key"]) for e in flagged if e["type"] == "say"
                 and str(e["key"]).startswith("pressure.")}
    assert pressures == {"pressure.firm"}


def test_a_session_with_a_bad_config_stops_with_one_line(home: Path) -> None:
    path = write(home, '[session]\nmode = "both"\n')
    proc = subprocess.run([*PROGRAM, "start", "--text"], input="", capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(path) in proc.stderr and "session.mode" in proc.stderr


def test_every_commented_key_loads_once_uncommented(home: Path) -> None:
    """`config --init`, then any one line uncommented (or all of them): a valid config
    that sets exactly that key."""
    assert CliRunner().invoke(cli, ["config", "--init"]).exit_code == 0
    written = (home / CONFIG_NAME).read_text()
    lines = written.splitlines()
    commented = [i for i, line in enumerate(lines)
                 if line.startswith("# ") and " = " in line.split("#")[1]]
    assert len(commented) == len(KEYS)
    for i, key in zip(commented, KEYS, strict=True):
        one = [line[2:] if n == i else line for n, line in enumerate(lines)]
        path = write(home, "\n".join(one) + "\n")
        assert [name for name, _ in load_config(path).set_values()] == [key.name], lines[i]
    every = [line[2:] if n in commented else line for n, line in enumerate(lines)]
    path = write(home, "\n".join(every) + "\n")
    assert [name for name, _ in load_config(path).set_values()] == [k.name for k in KEYS]
