"""Routine files: the built-ins are complete and safe; broken files say where they are broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.errors import DataFileError
from assistant.session.routines import builtin_names, load_routine
from assistant.settings import PACES, PRESSURES
from tests.fakes import make_session

MINIMAL = """
name = "mine"
title = "My routine"
description = "Short."
[pressure.light]
self = "Light."
partner = "Light for them."
[pressure.medium]
self = "Medium."
partner = "Medium for them."
[pressure.firm]
self = "Firm."
partner = "Firm for them."
[[steps]]
id = "rub"
title = "Rub"
duration_s = 30
instruction.self = "Rub your foot."
instruction.partner = "Rub their foot."
[switch]
title = "Switch"
duration_s = 10
instruction.self = "Other foot."
instruction.partner = "Their other foot."
[finish]
title = "Rest"
duration_s = 10
instruction.self = "Rest."
instruction.partner = "Let them rest."
"""


def test_builtin_routines_exist_with_expected_lengths() -> None:
    assert {"full", "quick", "bedtime"} <= set(builtin_names())
    minutes = {
        name: load_routine(name).total_seconds() * PACES[load_routine(name).default_pace] / 60
        for name in ("full", "quick", "bedtime")
    }
    assert 18 <= minutes["full"] <= 22
    assert 4 <= minutes["quick"] <= 6.5
    assert 9 <= minutes["bedtime"] <= 12


def test_bedtime_is_slower_and_softer_with_a_night_oil_cue() -> None:
    bedtime = load_routine("bedtime")
    assert bedtime.default_pace == "slow" and bedtime.default_pressure == "light"
    assert "lavender" in bedtime.steps[0].instruction.self.lower()


@pytest.mark.parametrize("name", ["full", "quick", "bedtime"])
def test_builtin_routines_keep_the_safety_rules(name: str) -> None:
    routine = load_routine(name)
    everything = " ".join(
        text
        for step in (*routine.steps, routine.switch, routine.finish)
        for text in (step.instruction.self, step.instruction.partner)
    ).lower()
    assert "stop" in everything  # sharp pain: stop right away
    assert "pop" in everything  # don't pull or pop the small joints
    assert "bones" in everything  # stay off the bones
    assert "socks" in routine.finish.instruction.self.lower()
    partner = " ".join(s.instruction.partner for s in routine.steps).lower()
    assert "their" in partner and "your foot" not in partner


# The domain notes' safety rules for the massage itself, as the routines word them.
SAFETY_PHRASES = {
    "if it hurts, use less pressure": "use less pressure",
    "sharp pain: stop right away": "sharp pain, stop right away",
    "stay off the bones": "stay off the bones",
    "don't pull or pop the small joints": "pull or pop",
}
PARTNER_PHRASES = {
    "the giver checks in about pressure": "how the pressure feels",
    "press with body weight, not thumbs": "body weight",
}


@pytest.mark.parametrize("pressure", PRESSURES)
@pytest.mark.parametrize("mode", ["self", "partner"])
@pytest.mark.parametrize("name", builtin_names())
def test_every_routine_says_every_safety_rule_in_both_modes(
    name: str, mode: str, pressure: str
) -> None:
    """What is actually said in a whole session: instructions, cues for this mode and
    pressure guidance at this level (the assistant's own dialog lines do not count)."""
    h = make_session(name, mode=mode, pressure=pressure)
    h.session.begin()
    h.run_for(60 * 60, step=2.0)
    assert h.session.finished
    routine_lines = [
        e["text"]
        for e in h.events.of_type("say")
        if e["key"].split(".")[0] in ("step", "cue", "pressure")
    ]
    said = re.sub(r"[^a-z ]+", " ", " ".join(routine_lines).lower())
    said = " ".join(said.split())
    wanted = SAFETY_PHRASES | (PARTNER_PHRASES if mode == "partner" else {})
    for rule, phrase in wanted.items():
        assert " ".join(re.sub(r"[^a-z ]+", " ", phrase).split()) in said, rule


def test_each_routine_is_as_long_as_its_description_says() -> None:
    """`routines` lists the length at the routine's own pace; the description must agree."""
    result = CliRunner().invoke(cli, ["routines"])
    assert result.exit_code == 0
    for line in result.output.splitlines():
        name, listed = line.split()[:2]
        routine = load_routine(name)
        seconds = routine.total_seconds() * PACES[routine.default_pace]
        described = re.search(r"About (\d+) minutes", routine.description)
        assert described is not None, name
        assert abs(seconds / 60 - int(described.group(1))) < 0.5, name
        assert int(listed) == int(described.group(1)), name


def test_partner_phrasing_asks_about_pressure_in_the_full_routine() -> None:
    routine = load_routine("full")
    cues = [c.text.partner.lower() for s in routine.steps for c in s.cues if "partner" in c.modes]
    assert any("pressure" in c or "how that feels" in c or "more, less" in c for c in cues)
    assert "body weight" in routine.steps[1].pressure["medium"].partner


def test_a_users_own_routine_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL)
    routine = load_routine(str(path))
    assert routine.name == "mine" and routine.steps[0].id == "rub"
    assert routine.total_seconds() == 30 + 10 + 30 + 10


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("duration_s = 30", 'duration_s = "long"'),
            "step 'rub': field 'duration_s' must be a number",
        ),
        (("duration_s = 30", "duration_s = -5"), "step 'rub': field 'duration_s' must be between"),
        (
            ('instruction.partner = "Rub their foot."', ""),
            "step 'rub' instruction: field 'partner'",
        ),
        (('id = "rub"\n', ""), "step 1: field 'id'"),
        (("[[steps]]", "[[stepz]]"), "field 'stepz' is not a known field (did you mean 'steps'?)"),
        (("[switch]", "[swap]"), "field 'swap' is not a known field"),
        (("[finish]\ntitle", "[finish]\ntitel"), "[finish]: field 'titel' is not a known field"),
        (
            ("instruction.self = \"Rub your foot.\"", "instruction.slef = \"Rub your foot.\""),
            "step 'rub' instruction: field 'slef' is not a known field (did you mean 'self'?)",
        ),
        (
            ("duration_s = 30", "duration_s = 30\ncuess = []"),
            "step 'rub': field 'cuess' is not a known field (did you mean 'cues'?)",
        ),
        (
            ("duration_s = 30", 'duration_s = 30\ncues = [{ at = 0.5, parnter = "x" }]'),
            "step 'rub' cues: field 'parnter' is not a known field (did you mean 'partner'?)",
        ),
        (
            ("duration_s = 30", 'duration_s = 30\npressure.meduim = { self = "a", partner = "b" }'),
            "step 'rub' pressure: field 'meduim' is not a known field (did you mean 'medium'?)",
        ),
        (("[pressure.firm]", "[pressure.frim]"), "pressure: field 'frim' is not a known field"),
        (('name = "mine"', 'name = "mine"\ndescripton = "x"'), "field 'descripton'"),
        (('name = "mine"', "name = 3"), "field 'name'"),
        (('title = "Rub"', 'title = "Rub"\ncues = [{ at = 2, self = "x" }]'), "field 'at'"),
        (
            ('[pressure.firm]\nself = "Firm."\npartner = "Firm for them."', ""),
            "needs guidance for firm",
        ),
        (("[[steps]]", "[[steps"), "not valid TOML"),
    ],
)
def test_a_broken_routine_names_the_file_step_and_field(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    path = tmp_path / "broken.toml"
    assert change[0] in MINIMAL
    path.write_text(MINIMAL.replace(change[0], change[1], 1))
    with pytest.raises(DataFileError) as info:
        load_routine(str(path))
    message = str(info.value)
    assert str(path) in message
    assert expected in message


def test_an_unknown_routine_name_lists_the_choices() -> None:
    with pytest.raises(DataFileError, match="full"):
        load_routine("marathon")


def test_a_missing_routine_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="cannot read"):
        load_routine(str(tmp_path / "nope.toml"))
