"""Before massaging: resume offer, who is massaged, safety questions, and what a yes means."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.session.plan import make_plan
from assistant.session.routines import builtin_names, load_routine
from assistant.session.safety import ScreeningPlan, ScreeningPlans, load_screening, plan_screening
from assistant.session.screening import ResumeOffer, awaited_question
from assistant.session.vocabulary import normalize
from tests.fakes import Harness, make_session

SCREENING = load_screening()
QUESTIONS = [q.id for q in SCREENING.questions]
ALL_NO = {q: False for q in QUESTIONS}
PROGRAM = [sys.executable, "-m", "assistant"]


def asked(h: Harness) -> list[str]:
    keys = [k.removeprefix("safety.") for k in h.said_keys()]
    return [k for k in keys if k in QUESTIONS]


def make(
    routine: str = "quick",
    plans: ScreeningPlan | ScreeningPlans | None = None,
    offer: ResumeOffer | None = None,
    **settings: object,
) -> Harness:
    return make_session(routine, plans, offer, **settings)


def answer_all(h: Harness, yes: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """All no: "no" to the one question; else "yes" to it, then each in turn."""
    assert h.said_keys()[-1] in ("safety.any", "safety.any_partner")
    h.say("yes" if yes else "no")
    if not yes:
        return
    for q in QUESTIONS:
        assert h.session.phase == "questions" and h.session._question.id == q
        h.say("yes" if q in yes else "no")


def test_questions_cover_every_case_in_the_domain_notes() -> None:
    assert QUESTIONS == ["clots", "neuropathy", "diabetes", "wounds", "surgery", "pregnancy"]
    texts = " ".join(q.text.self.lower() for q in SCREENING.questions)
    for word in [
        "thrombosis",
        "neuropathy",
        "diabetes",
        "circulation",
        "wounds",
        "infections",
        "surgery",
        "fracture",
        "osteoporosis",
        "pregnant",
    ]:
        assert word in texts
    by_id = {q.id: q for q in SCREENING.questions}
    # The notes: diabetes or poor circulation means checking the feet for sores and
    # going gently; it is severe neuropathy that calls for a doctor first.
    assert not by_id["diabetes"].doctor_first and by_id["neuropathy"].doctor_first
    reminder = by_id["diabetes"].reminder
    assert reminder is not None and "sores" in reminder.self and "their feet" in reminder.partner
    assert [q.id for q in SCREENING.questions if q.skip_pressure_points] == ["pregnancy"]


def test_all_no_goes_straight_on() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    assert h.session.state_name == "screening"
    answer_all(h)
    assert asked(h) == [], "one question, not six"
    assert "safety.clear" in h.said_keys()
    assert h.session.state_name == "running" and not h.session.gentle
    [event] = h.events.of_type("screening")
    assert event["answers"] == ALL_NO and event["person"] == "self"


def test_one_question_first_names_every_condition_from_the_safety_data() -> None:
    """Issue 17: six questions one by one took most of the 94 s from launch to step 1."""
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    assert h.said_keys()[-2:] == ["safety.intro", "safety.any"]
    text = h.voice.said[-1]
    where = [text.find(q.short) for q in SCREENING.questions]
    assert -1 not in where and where == sorted(where), "every condition, in order"
    assert "you" in text.split(":")[0].lower()
    h.say("no")
    assert h.session.state_name == "running" and not h.session.gentle
    assert "safety.clear" in h.said_keys()
    [event] = h.events.of_type("screening")
    assert event["answers"] == ALL_NO and event["assumed"] == []


def test_the_awaited_question_is_the_line_said_after_the_phase_is_announced() -> None:
    """What the listener holds a "yes" or "no" back for until it is heard: the session's
    real event stream, from the welcome to the answer."""
    h = make_session(screening=ScreeningPlan(ask=True))
    assert awaited_question(h.events.history) is None
    h.session.begin()
    assert awaited_question(h.events.history) == h.voice.said[-1]
    assert "welcome" in h.said_keys()[:-1], "lines queued before the question are not it"
    h.events.emit("awaiting", reply="any")
    assert awaited_question(h.events.history) == "", "announced, not yet said"
    h.say("no")
    assert awaited_question(h.events.history) is None


def test_the_one_question_is_put_to_the_partner_about_them() -> None:
    h = make_session(mode="partner", screening=ScreeningPlan(ask=True))
    h.session.begin()
    assert h.said_keys()[-2:] == ["safety.intro_partner", "safety.any_partner"]
    asking = h.voice.said[-1].split(":")[0].lower()
    assert "them" in asking and "you" not in asking


@pytest.mark.parametrize("reply", ["yes", "I don't know", None])
def test_a_yes_or_an_unclear_reply_goes_through_them_one_by_one(reply: str | None) -> None:
    h = make_session(screening=ScreeningPlan(ask=True), answer_timeout_s=5.0)
    h.session.begin()
    if reply is None:
        h.run_for(6)  # no reply at all
    else:
        h.say(reply)
    lead = "safety.one_by_one" if reply == "yes" else "safety.one_by_one_unclear"
    assert h.said_keys()[-2:] == [lead, "safety.clots"]
    assert h.session.answers == {}, "nothing taken from that reply"
    for q in QUESTIONS:
        assert h.session._question.id == q
        h.say("yes" if q == "surgery" else "no")
    assert asked(h) == QUESTIONS
    assert h.said_keys()[-2:] == ["safety.doctor", "safety.choice"]


def test_only_the_questions_without_a_current_answer_are_asked() -> None:
    day = 86400.0
    known = {q: (False, 100 * day) for q in QUESTIONS if q != "pregnancy"}
    plan = plan_screening(SCREENING, known, 101 * day, asked=False)
    assert plan.ask and plan.answers == {q: False for q in known}
    h = make_session(screening=plan)
    h.session.begin()
    assert h.said_keys()[-2:] == ["safety.intro", "safety.pregnancy"], "one: asked as it is"
    h.say("yes")
    h.say("continue gently")
    assert h.session.skip_points, "a yes means what it always meant"
    [event] = h.events.of_type("screening")
    assert event["answers"] == {"pregnancy": True}, "the others keep their dates"
    two = plan_screening(SCREENING, {"clots": (True, 100 * day)}, 101 * day, asked=False)
    h = make_session(screening=two)
    h.session.begin()
    text = h.voice.said[-1]
    assert h.said_keys()[-1] == "safety.any"
    assert [q.short in text for q in SCREENING.questions] == [q != "clots" for q in QUESTIONS]
    h.say("no")
    assert h.said_keys()[-2:] == ["safety.doctor", "safety.choice"], "the known yes stands"


def test_a_yes_recommends_a_doctor_and_offers_a_choice_that_never_waits_forever() -> None:
    h = make_session(screening=ScreeningPlan(ask=True), answer_timeout_s=10.0)
    h.session.begin()
    answer_all(h, yes={"clots"})
    assert h.said_keys()[-2:] == ["safety.doctor", "safety.choice"]
    h.say("skip")
    assert h.session.state_name == "screening", "skip is no choice"
    h.run_for(11)
    assert h.said_keys()[-1] == "safety.choice", "asked once more"
    assert h.session.state_name == "screening"
    h.run_for(11)
    assert h.session.state_name == "running", "no answer: it goes on gently"
    assert "safety.choice_timeout" in h.said_keys()
    assert h.session.gentle and h.session.pressure == 0
    assert h.session.skip_points, "no choice made: the pressure points are left out too"


def test_continue_gently_keeps_the_pressure_light() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    answer_all(h, yes={"wounds"})
    h.say("continue gently")
    assert h.session.state_name == "running"
    assert h.session.gentle and h.session.pressure == 0 and not h.session.skip_points
    assert "safety.gentle" in h.said_keys()
    h.say("more pressure")
    assert h.said_keys()[-1] == "safety.gentle_only"


def test_a_yes_then_end_session_ends() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    answer_all(h, yes=set(QUESTIONS))
    h.say("end session")
    assert h.session.finished


def test_pregnancy_leaves_out_the_pressure_points() -> None:
    h = make_session("full", screening=ScreeningPlan(ask=True))
    h.session.begin()
    answer_all(h, yes={"pregnancy"})
    h.say("continue gently")
    assert "safety.gentle_no_points" in h.said_keys()
    h.run_for(3600, step=2)
    assert h.session.finished
    assert "pressure_points" not in [s for s, _ in h.step_ids()]


def test_diabetes_alone_reminds_to_check_the_feet_and_goes_gently_without_a_doctor() -> None:
    h = make_session("quick", mode="partner", screening=ScreeningPlan(ask=True))
    h.session.begin()
    answer_all(h, yes={"diabetes"})
    assert "safety.reminder.diabetes" in h.said_keys()
    reminder = h.voice.said[h.said_keys().index("safety.reminder.diabetes")]
    assert "their feet" in reminder and "sores" in reminder
    assert "safety.doctor" not in h.said_keys() and "safety.choice" not in h.said_keys()
    assert h.session.state_name == "running" and h.session.gentle


def test_unclear_answers_are_asked_once_more_then_taken_as_yes() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    to_question(h, "clots")
    h.say("banana")
    assert h.said_keys()[-2:] == ["safety.unclear", "safety.clots"]
    h.say("purple")
    assert h.session.answers["clots"] is True
    assert h.said_keys()[-1] == "safety.neuropathy"


def to_question(h: Harness, qid: str) -> None:
    """Answer "no" up to question `qid` (saying there is something, if asked at once)."""
    if h.session.phase == "any":  # the one question about all of them
        h.say("yes")
    while h.session._question.id != qid:
        h.say("no")


def test_an_answer_not_caught_twice_is_said_to_be_a_yes_for_today_only() -> None:
    """Issue 17: it was taken as yes silently, and remembered as the person's answer."""
    plans: ScreeningPlans = {
        "self": ScreeningPlan(ask=True),
        "partner": ScreeningPlan(ask=False, answers=ALL_NO),
    }
    h = make("quick", plans, mode="self")
    h.session.begin()
    to_question(h, "wounds")
    h.say("banana")
    h.say("purple")
    assert h.said_keys()[-2:] == ["safety.assumed_yes", "safety.surgery"]
    assert "treat it as a yes" in h.voice.said[-2]
    assert h.session.answers["wounds"] is True, "a yes for this session"
    h.say("no")
    h.say("no")
    [event] = h.events.of_type("screening")
    assert "wounds" not in event["answers"] and event["assumed"] == ["wounds"]
    assert h.said_keys()[-2:] == ["safety.doctor", "safety.choice"]
    h.say("continue gently")
    assert h.session.gentle
    # Back to yourself after the partner: still a yes today, but never "you told me".
    h.say("partner")
    h.say("myself")
    assert h.session.state_name == "screening"
    assert h.said_keys()[-2:] == ["safety.doctor_assumed", "safety.choice"]
    assert "open wounds" in h.voice.said[-2]


def test_an_assumed_yes_is_not_remembered_and_is_asked_again_next_time(tmp_path: Path) -> None:
    from assistant.memory.recorder import SessionMemory
    from assistant.memory.remembered import plan_start
    from assistant.memory.store import Memory
    from assistant.session.dialog import load_dialog
    from assistant.settings import MemorySettings, SessionSettings

    memory = Memory(tmp_path)

    def next_start() -> ScreeningPlans:
        wanted = SessionSettings(routine="quick", mode="self")
        return plan_start(memory, wanted, {}, (False, False), MemorySettings(folder=tmp_path),
                          load_dialog()).screening

    first = make("quick", next_start(), mode="self")
    first.events.subscribe(SessionMemory(memory, "quick", "self"))
    first.session.begin()
    to_question(first, "wounds")
    first.say("banana")
    first.say("banana")
    first.say("no")
    first.say("no")
    first.say("continue gently")
    assert set(memory.screening_answers("self")) == set(QUESTIONS) - {"wounds"}
    second = make("quick", next_start(), mode="self")
    second.session.begin()
    to_question(second, "wounds")
    assert second.said_keys()[-1] == "safety.wounds", "asked again"
    assert "safety.doctor_again" not in second.said_keys()
    while second.session.state_name == "screening":
        second.say("no")
    assert not second.session.gentle


def test_a_remembered_yes_names_its_condition_when_recalled() -> None:
    by_id = {q.id: q for q in SCREENING.questions}
    h = make_session(screening=ScreeningPlan(ask=False, answers={**ALL_NO, "clots": True}))
    h.session.begin()
    assert h.said_keys()[-2:] == ["safety.doctor_again", "safety.choice"]
    assert by_id["clots"].short in h.voice.said[-2]
    two = make_session(
        screening=ScreeningPlan(ask=False, answers={**ALL_NO, "wounds": True, "pregnancy": True})
    )
    two.session.begin()
    line = two.voice.said[two.said_keys().index("safety.doctor_again")]
    assert by_id["wounds"].short in line and by_id["pregnancy"].short in line


@pytest.mark.parametrize("phrase", ["I don't know", "no idea", "not sure"])
def test_not_knowing_is_unclear_not_no(phrase: str) -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    to_question(h, "clots")
    h.say(phrase)
    assert "clots" not in h.session.answers
    assert h.said_keys()[-2:] == ["safety.unclear", "safety.clots"]


def test_silence_counts_as_unclear_and_the_wait_scales_with_time_scale() -> None:
    h = make_session(screening=ScreeningPlan(ask=True), answer_timeout_s=10.0, time_scale=0.1)
    h.session.begin()
    h.run_for(0.8, step=0.1)
    assert "safety.one_by_one_unclear" not in h.said_keys(), "not before the (scaled) second"
    h.run_for(0.5, step=0.1)
    assert h.said_keys()[-2:] == ["safety.one_by_one_unclear", "safety.clots"]
    h.run_for(1.2, step=0.1)
    assert "safety.unclear" in h.said_keys()
    h.run_for(1.2, step=0.1)
    assert h.session.answers == {"clots": True}


def test_the_wait_starts_when_the_assistant_stops_talking() -> None:
    h = make_session(screening=ScreeningPlan(ask=True), answer_timeout_s=5.0)
    h.session.begin()
    h.voice.speaking = True
    h.run_for(30)
    assert "safety.one_by_one_unclear" not in h.said_keys()
    h.voice.speaking = False
    h.run_for(6)
    assert "safety.one_by_one_unclear" in h.said_keys()


def test_commands_during_the_questions_are_commands_not_unclear_answers() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    h.say("yes")  # something applies: one at a time
    h.say("no")  # clots: no; now on neuropathy
    h.say("pause")
    assert h.session.state_name == "paused"
    h.say("resume")
    assert h.session.state_name == "screening"
    assert h.said_keys()[-1] == "safety.neuropathy", "the same question again"
    h.say("repeat")
    assert h.said_keys()[-1] == "safety.neuropathy"
    h.say("help")
    assert h.said_keys()[-1] == "help"
    assert "yes" in h.voice.said[-1] and "stop" in h.voice.said[-1]
    h.say("slower")
    assert h.said_keys()[-2:] == ["not_now.screening", "safety.neuropathy"]
    h.say("safety check")
    assert h.said_keys()[-2:] == ["not_now.screening", "safety.neuropathy"]
    h.say("stop")
    assert h.session.state_name == "stopped"
    h.say("resume")
    h.say("ouch")
    assert h.session.state_name == "stopped" and h.said_keys()[-1] == "ack_pain"
    h.say("resume")
    assert "safety.unclear" not in h.said_keys()
    assert h.session.answers == {"clots": False}, "no command was taken as an answer"
    for _ in QUESTIONS[1:]:
        h.say("no")
    assert h.session.state_name == "running"


def test_safety_check_on_request_asks_again() -> None:
    h = make_session(screening=ScreeningPlan(ask=False, answers=ALL_NO))
    h.session.begin()
    h.say("safety check")
    assert h.session.state_name == "screening"
    answer_all(h)
    assert h.session.state_name == "running"
    assert h.said_keys().count("welcome") == 1


def test_a_safety_check_mid_session_stays_on_the_current_step() -> None:
    h = make_session("full", screening=ScreeningPlan(ask=False, answers=ALL_NO))
    h.session.begin()
    while h.session.item.step.id != "heel_ankle":
        h.say("skip")
    index = h.session.index
    h.say("safety check")
    answer_all(h, yes={"pregnancy"})
    h.say("continue gently")
    assert h.session.item.step.id == "heel_ankle", "not the step after it"
    assert h.session.index == index - 1, "the pressure points before it are left out"
    assert h.step_ids()[-1] == ("heel_ankle", 1)
    # Asked again, all no: nothing gentle is left over, and the points are back.
    h.say("safety check")
    answer_all(h)
    assert not h.session.gentle and not h.session.skip_points
    assert h.session.item.step.id == "heel_ankle" and h.session.index == index
    h.say("more pressure")
    assert h.said_keys()[-2] == "ack_more_pressure"


def test_a_safety_check_on_a_pressure_point_step_moves_to_the_next_one_left() -> None:
    h = make_session("full", screening=ScreeningPlan(ask=False, answers=ALL_NO))
    h.session.begin()
    while h.session.item.step.id != "pressure_points":
        h.say("skip")
    h.say("safety check")
    answer_all(h, yes={"pregnancy"})
    h.say("continue gently")
    assert h.session.item.step.id == "heel_ankle"
    assert "pressure_points" not in [i.step.id for i in h.session.plan]


def test_answers_are_asked_again_when_missing_or_old() -> None:
    day = 86400.0
    fresh = {q: (False, 100 * day) for q in QUESTIONS}
    assert plan_screening(SCREENING, fresh, 110 * day, asked=False).ask is False
    assert plan_screening(SCREENING, fresh, 100 * day + 91 * day, asked=False).ask is True
    assert plan_screening(SCREENING, {}, 0.0, asked=False).ask is True
    older = {q: a for q, a in fresh.items() if q != "diabetes"}
    assert plan_screening(SCREENING, older, 101 * day, asked=False).ask is True, "a new question"
    assert plan_screening(SCREENING, fresh, 101 * day, asked=True).ask is True


def test_a_remembered_doctor_first_yes_reminds_and_offers_the_choice_every_session() -> None:
    answers = {**ALL_NO, "wounds": True}
    for _ in range(2):
        h = make_session(screening=ScreeningPlan(ask=False, answers=answers))
        h.session.begin()
        assert asked(h) == []
        assert h.said_keys()[-2:] == ["safety.doctor_again", "safety.choice"]
        assert h.session.state_name == "screening"
        h.say("continue gently")
        assert h.session.gentle and h.session.state_name == "running"


def test_a_remembered_diabetes_yes_reminds_to_check_the_feet_every_session() -> None:
    h = make_session(screening=ScreeningPlan(ask=False, answers={**ALL_NO, "diabetes": True}))
    h.session.begin()
    assert "safety.reminder.diabetes" in h.said_keys()
    assert h.session.gentle and h.session.state_name == "running"


# ----- who is massaged -------------------------------------------------------------


def test_partner_mode_asks_about_them() -> None:
    h = make_session(mode="partner", screening=ScreeningPlan(ask=True))
    h.session.begin()
    assert "safety.intro_partner" in h.said_keys()
    assert "them" in h.voice.said[-1].lower()
    h.say("yes")
    assert "they" in h.voice.said[-1].lower()


def test_your_answers_are_not_applied_to_a_partner_nor_theirs_to_you() -> None:
    plans: ScreeningPlans = {
        "self": ScreeningPlan(ask=False, answers=ALL_NO),
        "partner": ScreeningPlan(ask=True),
    }
    h = make("full", plans, mode="self")
    h.session.begin()
    assert h.session.state_name == "running" and asked(h) == []
    h.say("partner")
    assert h.session.state_name == "screening", "the partner is screened first"
    assert h.said_keys()[-2:] == ["safety.intro_partner", "safety.any_partner"]
    answer_all(h, yes={"pregnancy"})
    h.say("continue gently")
    assert h.events.of_type("screening")[-1] == {
        **h.events.of_type("screening")[-1],
        "person": "partner",
        "answers": {**ALL_NO, "pregnancy": True},
    }
    assert h.session.gentle and h.session.skip_points
    h.say("myself")
    assert h.session.state_name == "running", "your own answers are current: no questions"
    assert not h.session.gentle and not h.session.skip_points
    assert "pressure_points" in [i.step.id for i in h.session.plan]
    h.say("partner")
    assert h.session.state_name == "screening", "their yes is reminded, and the choice offered"
    assert h.said_keys()[-2:] == ["safety.doctor_again", "safety.choice"]
    assert asked(h).count("clots") == 1, "their answers are not asked again"


def test_choosing_the_other_person_during_the_questions_asks_about_them() -> None:
    h = make("quick", {"self": ScreeningPlan(ask=True), "partner": ScreeningPlan(ask=True)})
    h.session.begin()
    h.say("yes")
    h.say("yes")
    h.say("my partner")
    assert h.session.mode == "partner"
    assert h.said_keys()[-2:] == ["safety.intro_partner", "safety.any_partner"]
    answer_all(h)
    assert h.events.of_type("screening")[-1]["person"] == "partner"
    assert h.session.state_name == "running" and not h.session.gentle


def test_the_mode_is_chosen_by_voice_when_not_given() -> None:
    h = make_session(mode=None)
    h.session.begin()
    assert h.said_keys() == ["ask_mode"]
    h.say("no")
    assert h.said_keys()[-1] == "ask_mode", "asked again"
    h.say("for my partner")
    assert h.session.mode == "partner"
    assert "mode_chosen_partner" in h.said_keys() and "welcome" in h.said_keys()
    assert "partner" in h.voice.said[h.said_keys().index("welcome")]
    assert h.session.state_name == "running"
    assert h.events.of_type("mode")[-1]["defaulted"] is False


def test_no_answer_to_the_mode_question_means_myself_and_says_so() -> None:
    h = make_session(mode=None, answer_timeout_s=5.0)
    h.session.begin()
    h.say("pause")
    assert h.session.state_name == "paused", "a command, not an answer"
    h.say("resume")
    h.run_for(6)
    h.run_for(6)
    assert h.said_keys().count("ask_mode") == 3
    assert "mode_default_self" in h.said_keys()
    assert h.session.mode == "self" and h.session.state_name == "running"
    assert h.events.of_type("mode")[-1]["defaulted"] is True


def test_partner_mode_checks_in_about_pressure_at_intervals() -> None:
    h = make_session("full", mode="partner", checkin_interval_s=25.0)
    h.session.begin()
    h.run_for(20 * 60, step=1.0)
    checkins = h.said_keys().count("partner_checkin")
    assert 3 <= checkins <= 40
    solo = make_session("full", mode="self", checkin_interval_s=25.0)
    solo.session.begin()
    solo.run_for(20 * 60, step=1.0)
    assert "partner_checkin" not in solo.said_keys()


def test_the_mode_can_be_switched_mid_session() -> None:
    h = make_session("quick", mode="self")
    h.session.begin()
    h.say("partner mode")
    h.say("repeat")
    routine_step = h.session.item.step
    assert routine_step.instruction.partner in h.voice.said


# ----- picking up an interrupted session --------------------------------------------


def offer_of(routine: str, index: int, mode: str = "partner") -> ResumeOffer:
    return ResumeOffer(7, routine, load_routine(routine), mode, index)  # type: ignore[arg-type]


def test_the_offer_accepted_picks_the_old_session_up() -> None:
    h = make("quick", ScreeningPlan(ask=False, answers=ALL_NO), offer_of("full", 5), mode="self")
    h.session.begin()
    assert h.said_keys() == ["resume.offer"]
    h.say("skip")
    assert h.said_keys()[-1] == "resume.not_now"
    h.say("yes")
    assert h.session.routine.name == "full" and h.session.mode == "partner"
    assert h.step_ids()[0] == (make_plan(load_routine("full"))[5].step.id, 1)
    [event] = h.events.of_type("resume")
    assert event["answer"] == "yes" and event["session"] == 7


def test_the_offer_declined_or_unanswered_starts_anew() -> None:
    h = make("quick", ScreeningPlan(ask=False, answers=ALL_NO), offer_of("full", 5))
    h.session.begin()
    h.say("no")
    assert h.session.routine.name == "quick" and h.step_ids()[0] == ("settle", 1)
    silent = make(
        "quick",
        ScreeningPlan(ask=False, answers=ALL_NO),
        offer_of("full", 5),
        answer_timeout_s=5.0,
    )
    silent.session.begin()
    silent.run_for(12)
    assert silent.said_keys().count("resume.offer") == 2
    assert "resume.no_answer" in silent.said_keys()
    assert silent.events.of_type("resume")[0]["answer"] == "none"
    assert silent.session.routine.name == "quick" and silent.session.state_name == "running"


# ----- the routines against the domain notes -------------------------------------


PRESSURE_POINT_MARKS = [
    "centre of the arch",
    "centre of your arch",
    "its centre",
    "pads just below the toes",
    "middle of the heel",
    "middle of their heel",
    "thumbs on the ball",
    "web between",
]
"""The notes' pressure points: the centre of the arch, the pads below the toes, the
middle of the heel, both thumbs on the ball, the big toe and the web beside it."""


@pytest.mark.parametrize("name", builtin_names())
def test_every_step_that_presses_a_pressure_point_is_left_out_in_pregnancy(name: str) -> None:
    routine = load_routine(name)
    for step in routine.steps:
        texts = [step.instruction.self, step.instruction.partner]
        texts += [t for c in step.cues for t in (c.text.self, c.text.partner)]
        said = normalize(" ".join(texts))
        marks = [m for m in PRESSURE_POINT_MARKS if normalize(m) in said]
        assert step.pressure_points or not marks, f"{name}: step '{step.id}' presses {marks}"


# ----- the whole program on a fresh home ------------------------------------------


def test_the_readme_example_finishes_on_a_fresh_home(tmp_path: Path) -> None:
    """Nothing answered yet: mode and questions time out to their safe defaults (scaled
    by --time-scale), pause and resume act as commands, and the session finishes."""
    fresh = tmp_path / "fresh-home"
    events_path = tmp_path / "events.jsonl"
    env = {**os.environ, "MASSAGE_ASSISTANT_HOME": str(fresh)}
    started = time.monotonic()
    proc = subprocess.run(
        [
            "bash",
            "-c",
            "(sleep 1; echo pause; sleep 1; echo resume) | "
            f"{' '.join(PROGRAM)} start --text --time-scale 0.01 --events {events_path}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 40
    events = [json.loads(line) for line in events_path.read_text().splitlines()]
    commands = [(e["intent"], e["accepted"]) for e in events if e["type"] == "command"]
    assert commands == [("pause", True), ("resume", True)]
    states = [e["to"] for e in events if e["type"] == "state"]
    assert states[:4] == ["screening", "paused", "screening", "running"]
    assert states[-1] == "finished"
    [mode] = [e for e in events if e["type"] == "mode"]
    assert mode["mode"] == "self" and mode["defaulted"] is True
    [screening] = [e for e in events if e["type"] == "screening"]
    assert screening["answers"] == {}, "nobody answered: nothing to remember"
    assert screening["assumed"] == sorted(QUESTIONS), "but each counts as yes today"
    keys = [e["key"] for e in events if e["type"] == "say"]
    assert {"mode_default_self", "safety.doctor", "safety.choice_timeout"} <= set(keys)
    assert "safety.assumed_yes" in keys
    assert "pressure_points" not in [e["id"] for e in events if e["type"] == "step"]
