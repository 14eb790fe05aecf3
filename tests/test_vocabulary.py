"""The command vocabulary: one file for typed and spoken commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import DataFileError
from assistant.session.states import TRANSITIONS
from assistant.session.vocabulary import load_vocabulary, normalize

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


def test_what_each_state_listens_for_is_what_the_machine_offers_there() -> None:
    """`triggers_from` reads the table as the `transitions` machine does: while a step
    runs, stop, pain and skip are listened for, yes, no and resume are not."""
    from transitions import Machine

    from assistant.session.states import STATES, State, triggers_from

    machine = Machine(states=[s["name"] for s in STATES], transitions=TRANSITIONS,
                      initial=State.READY, auto_transitions=False)
    for state in State:
        assert triggers_from(state) == set(machine.get_triggers(state)), state
    running = triggers_from(State.RUNNING)
    assert {"stop", "pain", "pause", "skip"} <= running
    assert not {"yes", "no", "resume"} & running


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


@pytest.mark.parametrize(
    "line",
    [
        "not harder",
        "please don't stop",
        "do not stop",
        "never stop",
        "it doesn't hurt",
        "not too much",
        "no more pressure",
        "not enough pressure",
        "I can't go on",
        "don't pause",
    ],
)
def test_a_negated_command_is_not_understood(line: str) -> None:
    assert load_vocabulary().intent_for(line) is None


@pytest.mark.parametrize("line", ["slower... no, faster", "wait, go back", "skip, repeat"])
def test_a_line_with_two_different_commands_is_not_guessed(line: str) -> None:
    assert load_vocabulary().intent_for(line) is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("slower, no, stop", ("stop", "stop")),
        ("no, stop!", ("stop", "stop")),
        ("don't go on, stop", ("stop", "stop")),
        ("wait, that hurts", ("pain", "that hurts")),
        ("stop, it hurts", ("pain", "it hurts")),
        ("no pain", ("pain", "pain")),
    ],
)
def test_an_un_negated_stop_or_pain_wins_over_anything_else_in_the_line(
    line: str, expected: tuple[str, str]
) -> None:
    assert load_vocabulary().intent_for(line) == expected


def test_the_same_command_twice_is_still_that_command() -> None:
    vocabulary = load_vocabulary()
    assert vocabulary.intent_for("slower, slower") == ("slower", "slower")
    assert vocabulary.intent_for("stop stop") == ("stop", "stop stop")


@pytest.mark.parametrize("line", ["I don't know", "don't know", "not sure", "no idea", "maybe"])
def test_an_unsure_answer_is_neither_yes_nor_no(line: str) -> None:
    assert load_vocabulary().intent_for(line) is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("No.", ("no", "no")),
        ("nope", ("no", "nope")),
        ("no, I don't", ("no", "no i don't")),
        ("Yes!", ("yes", "yes")),
        ("yes, I do", ("yes", "yes i do")),
        ("yes I have", ("yes", "yes i have")),
    ],
)
def test_a_yes_or_no_answer_is_the_whole_line(line: str, expected: tuple[str, str]) -> None:
    assert load_vocabulary().intent_for(line) == expected


def test_yes_and_no_inside_a_longer_line_are_not_answers() -> None:
    vocabulary = load_vocabulary()
    assert vocabulary.intent_for("yes or no") is None
    assert vocabulary.intent_for("no thank you") is None
    assert vocabulary.intent_for("I do not know") is None


def test_a_command_heard_alone_is_its_own_phrase_for_the_spotter() -> None:
    """The spotter acts only when the whole heard text is the matched phrase."""
    vocabulary = load_vocabulary()
    for phrase in vocabulary.all_phrases():
        match = vocabulary.intent_for(phrase)
        assert match is not None and match[1] == phrase, phrase


def test_negation_words_must_be_a_list_of_words(tmp_path: Path) -> None:
    path = tmp_path / "commands.toml"
    path.write_text('negations = "not"\n[stop]\nphrases = ["stop"]\n')
    with pytest.raises(DataFileError, match="'negations' must be a list of words"):
        load_vocabulary(path)
