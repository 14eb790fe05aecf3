"""Session logic on a manual clock with a recording voice (logic only: no audio here)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from transitions import EventData

import assistant
from assistant.session.dialog import load_dialog
from assistant.session.routines import builtin_names, load_routine
from assistant.session.safety import ScreeningPlan
from assistant.session.states import State
from assistant.session.vocabulary import load_vocabulary, normalize
from assistant.settings import PRESSURES
from tests.fakes import Harness, make_session


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
    assert h.said_keys()[-1] == "not_now_command.skip.stopped"
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
    assert h.said_keys()[-1] == "not_now_command.resume.running"
    h.say("pause")
    h.say("skip")
    assert h.said_keys()[-1] == "not_now_command.skip.paused"
    h.say("pause")
    assert h.said_keys()[-1] == "not_now_command.pause.paused"
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


@pytest.mark.parametrize("name", builtin_names())
def test_partner_mode_phrases_every_step_for_the_giver(name: str) -> None:
    h = make_session(name, mode="partner")
    h.session.begin()
    h.run_for(60 * 60, step=2.0)
    routine = load_routine(name)
    said = [e["text"] for e in h.events.of_type("say") if e["key"].startswith("step.")]
    partner = {s.instruction.partner for s in (*routine.steps, routine.switch, routine.finish)}
    assert set(said) == partner
    for text in said:
        assert {"their", "them", "they"} & set(normalize(text).split()), text
        for part in ("foot", "sole", "arch", "heel", "ankle", "toes"):
            assert f"your {part}" not in text.lower(), text


# ----- commands that make no sense now ----------------------------------------------


def in_state(state: str) -> Harness:
    """A fresh quick session brought into `state` the way a user would."""
    if state == "screening":
        h = make_session(screening=ScreeningPlan(ask=True))
        h.session.begin()
        h.say("yes")  # something applies: one question at a time
        h.say("yes")  # a yes to a safety question: now it waits for a choice
        while not h.session.awaiting_choice:
            h.say("no")
        return h
    h = make_session("quick")
    if state == "ready":
        return h
    h.session.begin()
    h.say("skip")
    moves = {
        "running": [],
        "paused": ["pause"],
        "stopped": ["stop"],
        "finished": ["end session"],
        "switching": ["skip"] * 10,
    }
    for phrase in moves[state]:
        if h.session.state_name != state:
            h.say(phrase)
    assert h.session.state_name == state
    return h


STATES = [s.value for s in State]
INTENTS = [i.name for i in load_vocabulary().intents]


@pytest.mark.parametrize("state", STATES)
def test_every_command_in_every_state_gets_one_answer_never_an_exception(state: str) -> None:
    dialog = load_dialog()
    for intent in INTENTS:
        h = in_state(state)
        valid = intent in h.session.valid_intents() and h.session.may_trigger(intent)
        before = len(h.said_keys())
        h.say(load_vocabulary().get(intent).phrases[0])
        new = h.said_keys()[before:]
        assert new, f"{intent} in {state}: nothing said"
        if valid:
            continue
        own = f"not_now_command.{intent}.{state}"
        expected = own if dialog.has(own) else f"not_now.{state}"
        assert new == [expected], f"{intent} in {state}"
        assert len(h.voice.said[-1].split()) <= 20, "a short answer"


@pytest.mark.parametrize(
    ("state", "intent", "expected"),
    [
        ("running", "resume", "not_now_command.resume.running"),
        ("switching", "resume", "not_now_command.resume.switching"),
        ("paused", "pause", "not_now_command.pause.paused"),
        ("stopped", "stop", "not_now_command.stop.stopped"),
        ("stopped", "pause", "not_now_command.pause.stopped"),
        ("running", "yes", "not_now_command.yes.running"),
        ("running", "gently", "not_now_command.gently.running"),
        ("stopped", "gently", "not_now_command.gently.stopped"),
        ("paused", "time_left", "time_left_paused"),
        ("stopped", "time_left", "time_left_stopped"),
        ("switching", "time_left", "time_left"),
    ],
)
def test_a_command_that_does_not_fit_gets_its_own_answer(
    state: str, intent: str, expected: str
) -> None:
    h = in_state(state)
    h.say(load_vocabulary().get(intent).phrases[0])
    assert h.said_keys()[-1] == expected
    assert h.session.state_name == state


def test_every_command_specific_not_now_line_is_for_a_real_command_and_state() -> None:
    keys = [k for k in load_dialog().lines if k.startswith("not_now_command.")]
    assert keys
    for key in keys:
        _, intent, state = key.split(".")
        assert intent in INTENTS and state in STATES, key


# ----- time left ------------------------------------------------------------------


def test_time_left_while_paused_stopped_and_switching_tells_the_time() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("skip")  # warm-up, 25 s
    h.run_for(10)
    h.say("pause")
    h.say("time left")
    assert h.said_keys()[-1] == "time_left_paused"
    assert "15 seconds" in h.voice.said[-1]
    h.say("stop")
    h.say("how long")
    assert h.said_keys()[-1] == "time_left_stopped"
    assert "15 seconds" in h.voice.said[-1]
    assert h.session.state_name == "stopped", "asking does not carry on"
    h.say("resume")
    while h.session.item.kind != "switch":
        h.say("skip")
    h.run_for(4)  # the switch is 10 s
    h.say("how much longer")
    assert h.said_keys()[-1] == "time_left"
    assert "6 seconds" in h.voice.said[-1]


def test_lengths_of_one_are_singular() -> None:
    h = make_session("quick", time_scale=0.2)  # about 65 s in all
    h.session.begin()
    welcome = h.voice.said[h.said_keys().index("welcome")]
    assert "about 1 minute," in welcome
    h.say("skip")  # warm-up, 5 s at this scale
    h.run_for(4)
    h.say("how long")
    assert "1 second left" in h.voice.said[-1]
    assert "1 seconds" not in h.voice.said[-1] and "1 minutes" not in h.voice.said[-1]


def test_lengths_above_one_are_plural() -> None:
    h = make_session("full")
    h.session.begin()
    welcome = h.voice.said[h.said_keys().index("welcome")]
    assert "about 20 minutes," in welcome
    h.say("skip")  # warm-up, 60 s
    h.run_for(58)
    h.say("how long")
    assert "2 seconds left" in h.voice.said[-1]


# ----- edge cases of the state machine --------------------------------------------


def test_stop_during_pause_waits_for_resume_or_end_session() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("skip")
    h.run_for(10)
    h.say("pause")
    left = h.session.remaining_s
    h.say("stop")
    assert h.session.state_name == "stopped"
    assert h.said_keys()[-1] == "ack_stop"
    for phrase in ["skip", "back", "repeat", "slower", "lighter", "pause", "stop"]:
        h.say(phrase)
        assert h.session.state_name == "stopped", phrase
    h.run_for(600)
    assert h.session.state_name == "stopped"
    assert h.session.remaining_s == pytest.approx(left)
    h.say("resume")
    assert h.session.state_name == "running"
    assert h.step_ids()[-1] == ("warm_up", 1), "resume carries on the same step"
    assert h.session.remaining_s == pytest.approx(left)
    h.say("pause")
    h.say("stop")
    h.say("end session")
    assert h.session.finished and h.said_keys()[-1] == "ended"


def test_skip_on_the_last_step_finishes_the_session() -> None:
    h = make_session("quick")
    h.session.begin()
    while h.session.item.kind != "finish":
        h.say("skip")
    assert h.session.state_name == "running"
    h.say("skip")
    assert h.session.finished
    assert h.step_ids()[-1] == ("finish", None)
    assert h.said_keys()[-2:] == ["ack_skip", "goodbye"]
    assert h.states()[-1] == "finished"
    h.say("skip")
    assert h.said_keys()[-1] == "not_now.finished"


def test_state_events_say_where_from_and_where_to_before_what_is_said_there() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("skip")
    h.say("pause")
    h.say("resume")
    h.say("stop")
    h.say("end session")
    moves = [(e["from"], e["to"]) for e in h.events.of_type("state")]
    assert moves == [
        ("ready", "screening"),
        ("screening", "running"),
        ("running", "running"),
        ("running", "paused"),
        ("paused", "running"),
        ("running", "stopped"),
        ("stopped", "finished"),
    ]
    kinds = [(e["type"], e.get("key") or e.get("to")) for e in h.events.history]
    for state, first_line in [
        ("paused", "ack_pause"),
        ("stopped", "ack_stop"),
        ("finished", "ended"),
        ("screening", "welcome"),
    ]:
        at = kinds.index(("state", state))
        assert ("say", first_line) in kinds[at:], state
        assert not any(k == ("say", first_line) for k in kinds[:at]), state
    step = next(i for i, e in enumerate(h.events.history) if e["type"] == "step")
    assert h.events.history[step - 1]["type"] == "state"


def test_a_trigger_fired_from_a_callback_waits_for_the_current_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """queued=True: a transition fired while another is under way runs after it."""
    h = make_session("quick")
    h.session.begin()
    seen: list[str] = []
    enter_paused = h.session.enter_paused

    def pause_then_stop(event: EventData) -> None:
        enter_paused(event)
        h.session.trigger("stop")
        seen.append(h.session.state)

    monkeypatch.setattr(h.session, "enter_paused", pause_then_stop)
    h.say("pause")
    assert seen == ["paused"], "the stop waited until the pause was done"
    assert h.session.state_name == "stopped"
    assert h.states()[-2:] == ["paused", "stopped"]
    assert h.said_keys()[-2:] == ["ack_pause", "ack_stop"]


# ----- the dialog keys in the code --------------------------------------------------

SESSION_SOURCES = ["session/guide.py", "session/screening.py"]
PLACEHOLDERS: dict[str, list[str]] = {
    "self.state_name": STATES,
    "self.mode": ["self", "partner"],
    "mode": ["self", "partner"],
    "PRESSURES[self.pressure]": list(PRESSURES),
}
"""What each placeholder in an f-string dialog key can be."""


def _keys_in(
    node: ast.expr, func: ast.FunctionDef, methods: dict[str, ast.FunctionDef]
) -> set[str] | None:
    """Every dialog key `node` can be; None where a parameter is passed on (its callers
    are checked instead)."""

    def inner(child: ast.expr, where: ast.FunctionDef = func) -> set[str]:
        return _keys_in(child, where, methods) or set()

    params = {a.arg for a in func.args.args}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return inner(node.body) | inner(node.orelse)
    if isinstance(node, ast.Name):
        if node.id in params:
            return None
        values = [
            a.value
            for a in ast.walk(func)
            if isinstance(a, ast.Assign) and any(ast.unparse(t) == node.id for t in a.targets)
        ]
        assert values, f"{func.name}: cannot tell what {node.id} is"
        return set().union(*(inner(v) for v in values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if isinstance(node.func.value, ast.Dict) and node.func.attr == "get":
            options = [*node.func.value.values, *node.args[1:]]
            return set().union(*(inner(v) for v in options if v))
        if ast.unparse(node.func.value) == "self" and node.func.attr in methods:
            method = methods[node.func.attr]
            returned = [r.value for r in ast.walk(method) if isinstance(r, ast.Return) and r.value]
            return set().union(*(inner(v, method) for v in returned))
    if isinstance(node, ast.JoinedStr):
        keys = {""}
        for part in node.values:
            if isinstance(part, ast.Constant):
                keys = {k + str(part.value) for k in keys}
                continue
            assert isinstance(part, ast.FormattedValue)
            expr = ast.unparse(part.value)
            if expr in params and expr not in PLACEHOLDERS:
                return None
            assert expr in PLACEHOLDERS, f"{func.name}: add what {{{expr}}} can be to PLACEHOLDERS"
            keys = {k + v for k in keys for v in PLACEHOLDERS[expr]}
        return keys
    raise AssertionError(f"{func.name}: cannot read the dialog key {ast.unparse(node)}")


def dialog_keys_used() -> set[str]:
    """Keys passed to `_say`, `dialog.line` and `_count` in the session's code."""
    keys: set[str] = set()
    folder = Path(assistant.__file__).parent
    trees = [ast.parse((folder / name).read_text(encoding="utf-8")) for name in SESSION_SOURCES]
    funcs = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    methods = {f.name: f for f in funcs}
    for func in funcs:
        for call in (n for n in ast.walk(func) if isinstance(n, ast.Call)):
            called = ast.unparse(call.func)
            if called in ("self._say", "self.dialog.line", "self._count"):
                found = _keys_in(call.args[0], func, methods) or set()
                if called == "self._count":  # singular and plural forms
                    found = {f"{k}.{form}" for k in found for form in ("one", "other")}
                keys |= found
    return keys


def test_every_dialog_key_the_session_uses_exists() -> None:
    used = dialog_keys_used()
    assert {"ack_stop", "not_now.stopped", "duration.minutes.one", "mode_partner"} <= used
    assert {"safety.intro_partner", "time_left_stopped", "pressure_name.firm"} <= used
    dialog = load_dialog()
    missing = sorted(k for k in used if not dialog.has(k))
    assert not missing, f"used by the session but not in dialog.toml: {missing}"
