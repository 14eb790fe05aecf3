"""Pain words stop everything at once, wherever the session is, and it goes on lighter."""

from __future__ import annotations

import pytest

from assistant.session.safety import ScreeningPlan
from assistant.settings import PRESSURES
from tests.fakes import Harness, make_session


def in_state(state: str) -> Harness:
    if state == "screening":
        h = make_session("quick", screening=ScreeningPlan(ask=True))
        h.session.begin()
        h.say("yes")  # something applies: one question at a time
        h.say("no")
        return h
    h = make_session("quick")
    h.session.begin()
    h.say("skip")  # settle -> warm-up, which has pressure guidance
    h.run_for(5)
    if state == "paused":
        h.say("pause")
    elif state == "switching":
        while h.session.item.kind != "switch":
            h.say("skip")
        h.run_for(3)
    assert h.session.state_name == state
    return h


@pytest.mark.parametrize("state", ["running", "paused", "switching", "screening"])
@pytest.mark.parametrize("words", ["ouch", "that hurts", "pain", "too much", "sharp pain"])
def test_pain_stops_at_once_silences_the_voice_and_freezes_the_timer(
    state: str, words: str
) -> None:
    h = in_state(state)
    h.voice.speaking = True  # in the middle of a line
    silenced, left = h.voice.silenced, h.session.remaining_s
    question = h.session.question_index
    h.say(words)
    assert h.session.state_name == "stopped"
    assert h.voice.silenced > silenced, "speech is cut"
    assert h.voice.chimes[-1] == "stop"
    assert h.said_keys()[-1] == "ack_pain"
    said = len(h.voice.said)
    h.voice.speaking = False
    h.run_for(600)
    assert h.session.state_name == "stopped", "it waits"
    assert h.session.remaining_s == pytest.approx(left), "the timer is frozen"
    assert len(h.voice.said) == said, "nothing more until the user speaks"
    assert h.session.question_index == question, "no question timed out meanwhile"


def test_going_on_after_pain_is_one_pressure_level_lighter_and_says_so() -> None:
    h = in_state("running")
    assert PRESSURES[h.session.pressure] == "medium"
    h.say("ouch")
    h.say("resume")
    assert PRESSURES[h.session.pressure] == "light"
    assert h.said_keys()[-4:] == ["ack_resume", "pain_lighter", "step.warm_up", "pressure.light"]
    assert h.events.of_type("pressure")[-1] == {
        **h.events.of_type("pressure")[-1],
        "level": "light",
        "reason": "pain",
    }
    h.say("that hurts")
    assert h.said_keys()[-1] == "ack_pain_again", "repeated pain suggests ending"
    h.say("resume")
    assert PRESSURES[h.session.pressure] == "light"
    assert h.said_keys().count("pain_lighter") == 1, "already light: nothing lighter to offer"


def test_pain_during_the_questions_asks_the_same_question_again_then_goes_on_lighter() -> None:
    h = in_state("screening")
    h.say("ouch")
    h.say("resume")
    assert h.session.state_name == "screening"
    assert h.said_keys()[-1] == "safety.neuropathy"
    while h.session.state_name == "screening":
        h.say("no")
    assert "pain_lighter" in h.said_keys()
    assert PRESSURES[h.session.pressure] == "light"
