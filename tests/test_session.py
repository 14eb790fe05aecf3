"""Session logic on a manual clock with a recording voice (logic only: no audio here)."""

from __future__ import annotations

import pytest

from assistant.dialog import load_dialog
from assistant.routines import builtin_names, load_routine
from tests.fakes import make_session


def test_full_routine_runs_both_feet_in_order_in_twenty_minutes() -> None:
    h = make_session("full")
    h.session.begin()
    h.run_for(40 * 60, step=1.0)
    assert h.session.finished
    steps = h.step_ids()
    first = [s for s, foot in steps if foot == 1]
    second = [s for s, foot in steps if foot == 2]
    assert first[0] == "settle" and second[0] == "switch_feet"
    assert second[1:] == [s for s in first if s != "settle"]
    assert steps[-1] == ("finish", None)
    assert 18 * 60 <= h.clock.t <= 22 * 60
    assert h.said_keys()[-1] == "goodbye"
    assert h.states()[-1] == "finished"


@pytest.mark.parametrize("name", builtin_names())
def test_every_routine_finishes_and_speaks_every_step(name: str) -> None:
    h = make_session(name)
    h.session.begin()
    h.run_for(60 * 60, step=2.0)
    assert h.session.finished
    routine = load_routine(name)
    spoken = {k for k in h.said_keys() if k.startswith("step.")}
    assert spoken == {f"step.{s.id}" for s in routine.steps} | {"step.switch_feet", "step.finish"}


def test_timer_holds_while_the_assistant_is_speaking() -> None:
    h = make_session("quick")
    h.session.begin()
    h.voice.speaking = True
    h.run_for(600)
    assert h.step_ids() == [("settle", 1)]
    h.voice.speaking = False
    h.run_for(20)
    assert h.step_ids()[-1] == ("warm_up", 1)


def test_pause_freezes_the_timer_and_resume_continues_where_it_was() -> None:
    h = make_session("quick")
    h.session.begin()
    h.run_for(5)
    left = h.session.remaining_s
    h.say("hold on")
    assert h.session.state_name == "paused"
    assert h.voice.silenced >= 1 and h.voice.chimes[-1] == "pause"
    h.run_for(300)
    assert h.session.remaining_s == pytest.approx(left)
    h.say("continue")
    assert h.session.state_name == "running"
    assert h.said_keys()[-2:] == ["ack_resume", "step.settle"]
    assert h.step_ids() == [("settle", 1)], "resume must not restart the step"
    h.run_for(left + 1)
    assert h.step_ids()[-1] == ("warm_up", 1)


def test_stop_halts_everything_and_nothing_continues_by_itself() -> None:
    h = make_session("quick")
    h.session.begin()
    h.run_for(3)
    silenced = h.voice.silenced
    h.say("stop")
    assert h.session.state_name == "stopped"
    assert h.voice.silenced == silenced + 1
    assert h.said_keys()[-1] == "ack_stop"
    said = len(h.voice.said)
    h.run_for(3600)
    assert h.session.state_name == "stopped"
    assert len(h.voice.said) == said, "nothing is said after stop until the user speaks"
    h.say("skip")
    assert h.session.state_name == "stopped"
    assert h.said_keys()[-1] == "not_now.stopped"
    h.say("resume")
    assert h.session.state_name == "running"
    h.say("stop")
    h.say("end session")
    assert h.session.finished and h.said_keys()[-1] == "ended"


def test_skip_and_back_move_between_steps() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("skip")
    h.say("next")
    assert h.step_ids()[-1] == ("sole", 1)
    h.say("go back")
    assert h.step_ids()[-1] == ("warm_up", 1)
    h.say("back")
    h.say("back")
    assert h.step_ids()[-1] == ("settle", 1)
    assert h.said_keys()[-3] == "ack_restart"


def test_skip_through_the_switch_enters_switching_and_then_the_second_foot() -> None:
    h = make_session("quick")
    h.session.begin()
    while h.session.item.kind != "switch":
        h.say("skip")
    assert h.session.state_name == "switching"
    assert h.voice.chimes[-1] == "switch"
    h.say("pause")
    h.say("resume")
    assert h.session.state_name == "switching"
    h.say("skip")
    assert h.step_ids()[-1] == ("warm_up", 2)
    assert "foot_intro" in h.said_keys()


def test_repeat_says_the_instruction_again() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("skip")
    h.say("say that again")
    assert h.said_keys()[-2:] == ["step.warm_up", "pressure.medium"]


def test_slower_and_faster_scale_remaining_time_within_bounds() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("skip")
    before = h.session.remaining_s
    h.say("slower")
    assert h.session.remaining_s == pytest.approx(before * 1.2)
    assert h.voice.pace == pytest.approx(1.2)
    for _ in range(10):
        h.say("slow down")
    assert h.session.pace == pytest.approx(1.6)
    assert h.said_keys()[-1] == "ack_slowest"
    for _ in range(10):
        h.say("speed up")
    assert h.session.pace == pytest.approx(0.6)
    assert h.said_keys()[-1] == "ack_fastest"


def test_pressure_moves_between_levels_and_changes_later_wording() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("skip")
    h.say("softer")
    assert h.said_keys()[-2:] == ["ack_less_pressure", "pressure.light"]
    h.say("less pressure")
    assert h.said_keys()[-1] == "ack_lightest"
    h.say("skip")
    assert h.said_keys()[-1] == "pressure.light"
    h.say("firmer")
    h.say("more pressure")
    h.say("harder")
    assert h.said_keys()[-1] == "ack_firmest"
    assert [e["level"] for e in h.events.of_type("pressure")] == ["light", "medium", "firm"]


def test_commands_that_make_no_sense_get_a_helpful_answer_not_an_exception() -> None:
    h = make_session("quick")
    h.say("resume")
    assert h.said_keys()[-1] == "not_now.ready"
    h.session.begin()
    h.say("resume")
    assert h.said_keys()[-1] == "not_now.running"
    h.say("pause")
    h.say("skip")
    assert h.said_keys()[-1] == "not_now.paused"
    h.say("pause")
    assert h.said_keys()[-1] == "not_now.paused"
    h.say("banana bread")
    assert h.said_keys()[-1] == "not_understood"
    accepted = [e["accepted"] for e in h.events.of_type("command")]
    assert accepted == [False, False, True, False, False, False]


def test_time_left_reports_the_step_and_the_session() -> None:
    h = make_session("full")
    h.session.begin()
    h.say("skip")
    h.run_for(30)
    h.say("how long")
    text = h.voice.said[-1]
    assert h.said_keys()[-1] == "time_left"
    assert "30 seconds" in text and "minutes" in text


def test_help_lists_only_what_is_valid_now() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("pause")
    h.say("help")
    text = h.voice.said[-1]
    assert "resume" in text and "skip" not in text


def test_pain_stops_at_once_and_repeated_pain_suggests_ending() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("ouch")
    assert h.session.state_name == "stopped"
    assert h.said_keys()[-1] == "ack_pain"
    h.say("resume")
    h.say("that hurts")
    assert h.said_keys()[-1] == "ack_pain_again"


def test_time_scale_runs_a_routine_in_a_fraction_of_the_time() -> None:
    h = make_session("full", time_scale=0.01)
    h.session.begin()
    h.run_for(30, step=0.05)
    assert h.session.finished
    assert h.clock.t < 15


def test_every_dialog_key_the_session_uses_exists() -> None:
    dialog = load_dialog()
    for state in ("ready", "screening", "running", "switching", "paused", "stopped", "finished"):
        assert dialog.has(f"not_now.{state}")
    h = make_session("quick")
    h.session.begin()
    for phrase in [
        "pause",
        "how long",
        "help",
        "louder",
        "quieter",
        "resume",
        "slower",
        "faster",
        "lighter",
        "firmer",
        "repeat",
        "skip",
        "back",
        "stop",
        "ouch",
        "resume",
        "ouch",
        "end session",
    ]:
        h.say(phrase)
    assert h.session.finished


def test_partner_mode_uses_partner_phrasing() -> None:
    h = make_session("quick", mode="partner")
    h.session.begin()
    h.run_for(600)
    routine = load_routine("quick")
    assert routine.steps[1].instruction.partner in h.voice.said
    assert routine.steps[1].instruction.self not in h.voice.said
