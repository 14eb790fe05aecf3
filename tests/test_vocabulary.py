"""The command vocabulary: one file for typed and spoken commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import DataFileError
from assistant.session_states import TRANSITIONS
from assistant.vocabulary import load_vocabulary, normalize

ISSUE_PHRASES = {
    "stop": ["stop", "stop stop", "enough"],
    "pause": ["pause", "wait", "hold on"],
    "resume": ["resume", "continue", "go on"],
    "skip": ["skip", "next"],
    "back": ["back", "go back"],
    "repeat": ["repeat", "say that again"],
    "slower": ["slower", "slow down"],
    "faster": ["faster", "speed up"],
    "less_pressure": ["less pressure", "softer", "gentler", "lighter"],
    "more_pressure": ["more pressure", "harder", "firmer"],
    "time_left": ["how long", "time left"],
    "help": ["help", "what can I say"],
    "end_session": ["end session"],
}


@pytest.mark.parametrize(("intent", "phrases"), ISSUE_PHRASES.items())
def test_every_way_of_saying_a_command_maps_to_its_intent(intent: str, phrases: list[str]) -> None:
    vocabulary = load_vocabulary()
    for phrase in phrases:
        assert vocabulary.intent_for(phrase) == (intent, normalize(phrase))


def test_a_command_inside_a_longer_line_is_found_and_the_longest_phrase_wins() -> None:
    vocabulary = load_vocabulary()
    assert vocabulary.intent_for("Less pressure, please!") == ("less_pressure", "less pressure")
    assert vocabulary.intent_for("could you go back") == ("back", "go back")
    assert vocabulary.intent_for("lovely weather today") is None
    assert vocabulary.intent_for("   ") is None


def test_every_intent_is_a_trigger_of_the_state_machine() -> None:
    triggers = {t["trigger"] for t in TRANSITIONS}
    assert {i.name for i in load_vocabulary().intents} <= triggers


def test_stop_pause_and_pain_are_priority_commands() -> None:
    assert {"stop", "pause", "pain"} <= load_vocabulary().priority_intents()


def test_a_phrase_used_twice_is_an_error_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "commands.toml"
    path.write_text('[stop]\nphrases = ["stop"]\n[pause]\nphrases = ["wait", "stop"]\n')
    with pytest.raises(DataFileError, match=r"\[pause\] phrase 'stop' is already used by \[stop\]"):
        load_vocabulary(path)


def test_an_intent_without_phrases_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "commands.toml"
    path.write_text("[stop]\nphrases = []\n")
    with pytest.raises(DataFileError, match=r"\[stop\] field 'phrases'"):
        load_vocabulary(path)
