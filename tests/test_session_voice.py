"""What the session asks of its voice: volume steps, chimes, and quiet while the timer runs.

Logic only, on the manual clock with a recording voice (tests/fakes.py).
"""

from __future__ import annotations

from assistant.session.routines import load_routine
from assistant.speech.spoken_voice import PrintedVoice
from tests.fakes import make_session


def test_louder_and_quieter_move_the_voice_a_step_at_a_time() -> None:
    h = make_session("quick")
    h.session.begin()
    h.say("louder")
    assert h.voice.volume == 1 and h.said_keys()[-1] == "ack_louder"
    h.say("quieter")
    h.say("too loud")
    assert h.voice.volume == -1 and h.said_keys()[-1] == "ack_quieter"
    assert [e["step"] for e in h.events.of_type("volume")] == [1, -1, -1]
    for _ in range(6):
        h.say("speak up")
    assert h.voice.volume == 3, "the recording voice's scale ends at +3"
    assert h.said_keys()[-1] == "ack_loudest"
    assert len(h.events.of_type("volume")) == 7


def test_in_print_louder_and_quieter_say_there_is_no_sound() -> None:
    h = make_session("quick")
    h.session.voice = PrintedVoice()
    h.session.begin()
    h.say("louder")
    assert h.said_keys()[-1] == "ack_no_volume"
    h.say("quieter")
    assert h.said_keys()[-1] == "ack_no_volume"
    assert not h.events.of_type("volume")
    assert "ack_loudest" not in h.said_keys() and "ack_quietest" not in h.said_keys()


def test_a_chime_marks_each_step_and_the_foot_switch() -> None:
    h = make_session("quick")
    h.session.begin()
    h.run_for(30 * 60, step=1.0)
    assert h.session.finished
    kinds = [e["kind"] for e in h.events.of_type("step")]
    assert kinds.count("switch") == 1
    assert h.voice.chimes == ["switch" if kind == "switch" else "step" for kind in kinds]


def test_pause_and_stop_have_their_own_chime_and_resuming_has_none() -> None:
    h = make_session("quick")
    h.session.begin()
    assert h.voice.chimes == ["step"]
    h.say("pause")
    assert h.voice.chimes[-1] == "pause"
    h.say("resume")
    h.say("stop")
    assert h.voice.chimes == ["step", "pause", "stop"]
    h.say("resume")
    assert h.voice.chimes == ["step", "pause", "stop"], "carrying on is not a new step"
    h.say("skip")
    assert h.voice.chimes[-1] == "step"


def test_while_the_timer_runs_only_the_steps_cues_are_said() -> None:
    """Between a step's opening lines (said when it starts) and the next step, the only
    lines are that step's own cues, each said once."""
    h = make_session("quick")
    h.session.begin()
    h.run_for(30 * 60, step=0.5)
    assert h.session.finished
    routine = load_routine("quick")
    started: dict[int, float] = {}
    later: dict[int, list[str]] = {}
    for event in h.events.history:
        if event["type"] == "step":
            started[event["index"]] = event["t"]
            later[event["index"]] = []
        elif event["type"] == "say" and started and event["t"] > started[max(started)]:
            later[max(started)].append(event["key"])
    for index, keys in later.items():
        item = h.session.plan[index]
        if item.kind == "finish":
            assert keys == ["goodbye"]
            continue
        cues = [c for c in item.step.cues if "self" in c.modes]
        assert keys == [f"cue.{item.step.id}"] * len(cues), (item.step.id, keys)
    assert sum(len(keys) for keys in later.values()) >= 2, "the routine has cues to hear"
    assert any(step.cues for step in routine.steps)
