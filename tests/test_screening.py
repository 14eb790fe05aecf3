"""Safety screening: questions, a yes leads to a doctor recommendation and a choice."""

from __future__ import annotations

from assistant.safety import ScreeningPlan, load_screening, plan_screening
from tests.fakes import Harness, make_session

QUESTIONS = [q.id for q in load_screening().questions]


def asked(h: Harness) -> list[str]:
    keys = [k.removeprefix("safety.") for k in h.said_keys()]
    return [k for k in keys if k in QUESTIONS]


def test_questions_cover_every_doctor_first_case_in_the_domain_notes() -> None:
    assert QUESTIONS == ["clots", "neuropathy", "wounds", "surgery", "pregnancy"]
    screening = load_screening()
    texts = " ".join(q.text.self.lower() for q in screening.questions)
    for word in [
        "thrombosis",
        "neuropathy",
        "wounds",
        "infections",
        "surgery",
        "fracture",
        "osteoporosis",
        "pregnant",
    ]:
        assert word in texts


def test_all_no_goes_straight_on() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    assert h.session.state_name == "screening"
    for _ in QUESTIONS:
        h.say("no")
    assert asked(h) == QUESTIONS
    assert "safety.clear" in h.said_keys()
    assert h.session.state_name == "running"
    assert h.events.of_type("screening")[0]["answers"] == {q: False for q in QUESTIONS}


def test_a_yes_recommends_a_doctor_and_waits_for_a_choice() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    h.say("yes")
    for _ in QUESTIONS[1:]:
        h.say("no")
    assert h.said_keys()[-2:] == ["safety.doctor", "safety.choice"]
    h.run_for(600)
    assert h.session.state_name == "screening", "it waits for the user's choice"
    h.say("skip")
    assert h.session.state_name == "screening"
    h.say("continue gently")
    assert h.session.state_name == "running"
    assert h.session.gentle and h.session.pressure == 0
    h.say("more pressure")
    assert h.said_keys()[-1] == "safety.gentle_only"


def test_a_yes_then_end_session_ends() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    for _ in QUESTIONS:
        h.say("yes")
    h.say("end session")
    assert h.session.finished


def test_pregnancy_leaves_out_the_pressure_points() -> None:
    h = make_session("full", screening=ScreeningPlan(ask=True))
    h.session.begin()
    for q in QUESTIONS:
        h.say("yes" if q == "pregnancy" else "no")
    h.say("continue gently")
    assert h.said_keys()[-1] != "safety.gentle"
    assert "safety.gentle_no_points" in h.said_keys()
    h.run_for(3600, step=2)
    assert h.session.finished
    assert "pressure_points" not in [s for s, _ in h.step_ids()]


def test_unclear_answers_are_asked_once_more_then_taken_as_yes() -> None:
    h = make_session(screening=ScreeningPlan(ask=True))
    h.session.begin()
    h.say("banana")
    assert h.said_keys()[-2:] == ["safety.unclear", "safety.clots"]
    h.say("purple")
    assert h.session.answers["clots"] is True
    assert h.said_keys()[-1] == "safety.neuropathy"


def test_silence_counts_as_unclear() -> None:
    h = make_session(screening=ScreeningPlan(ask=True), answer_timeout_s=10.0)
    h.session.begin()
    h.run_for(12)
    assert "safety.unclear" in h.said_keys()
    h.run_for(12)
    assert h.session.answers == {"clots": True}


def test_remembered_yes_keeps_it_gentle_without_asking() -> None:
    answers = {q: q == "wounds" for q in QUESTIONS}
    h = make_session(screening=ScreeningPlan(ask=False, answers=answers))
    h.session.begin()
    assert asked(h) == []
    assert "safety.remembered_gentle" in h.said_keys()
    assert h.session.gentle and h.session.state_name == "running"


def test_safety_check_on_request_asks_again() -> None:
    h = make_session(screening=ScreeningPlan(ask=False, answers={q: False for q in QUESTIONS}))
    h.session.begin()
    h.say("safety check")
    assert h.session.state_name == "screening"
    for _ in QUESTIONS:
        h.say("no")
    assert h.session.state_name == "running"
    assert h.said_keys().count("welcome") == 1


def test_answers_are_asked_again_when_missing_or_old() -> None:
    screening = load_screening()
    day = 86400.0
    fresh = {q: (False, 100 * day) for q in QUESTIONS}
    assert plan_screening(screening, fresh, 110 * day, asked=False).ask is False
    assert plan_screening(screening, fresh, 100 * day + 91 * day, asked=False).ask is True
    assert plan_screening(screening, {}, 0.0, asked=False).ask is True
    assert plan_screening(screening, fresh, 101 * day, asked=True).ask is True


def test_partner_mode_asks_about_them() -> None:
    h = make_session(mode="partner", screening=ScreeningPlan(ask=True))
    h.session.begin()
    assert "safety.intro_partner" in h.said_keys()
    assert "they" in h.voice.said[-1].lower()


def test_the_mode_is_chosen_by_voice_when_not_given() -> None:
    h = make_session(mode=None)
    h.session.begin()
    assert h.said_keys() == ["ask_mode"]
    h.say("no")
    assert h.said_keys()[-1] == "ask_mode", "an unclear answer asks again"
    h.say("for my partner")
    assert h.session.mode == "partner"
    assert "mode_chosen_partner" in h.said_keys() and "welcome" in h.said_keys()
    assert "partner" in h.voice.said[h.said_keys().index("welcome")]
    assert h.session.state_name == "running"


def test_no_answer_to_the_mode_question_means_myself_after_asking_twice() -> None:
    h = make_session(mode=None, answer_timeout_s=5.0)
    h.session.begin()
    h.run_for(6)
    h.run_for(6)
    assert h.said_keys().count("ask_mode") == 2
    h.run_for(6)
    assert h.session.mode == "self" and h.session.state_name == "running"


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
    assert h.voice.said[-1] == routine_step.instruction.partner or (
        routine_step.instruction.partner in h.voice.said
    )
