"""The self-hearing filter and command timing rules (logic only, scripted hypotheses)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.listening.spotter import CommandSpotter
from assistant.ports import Heard
from assistant.session.vocabulary import load_vocabulary


@dataclass(frozen=True)
class Line:
    text: str
    started_at: float
    duration_s: float
    ended_at: float | None = None
    kind: str = "speech"


@dataclass
class History:
    lines: list[Line]

    def recent(self, since: float) -> list[Line]:
        return [x for x in self.lines if (x.ended_at or 1e9) >= since]


LINE = "If it hurts, use less pressure. If you feel a sharp pain, stop right away."


def spotter(lines: list[Line] | None = None) -> CommandSpotter:
    return CommandSpotter(load_vocabulary(), History(lines or []))


def heard(text: str, start: float, end: float, final: bool = True) -> Heard:
    return Heard(text=text, final=final, start_s=start, end_s=end)


def test_a_command_in_silence_is_accepted_once() -> None:
    s = spotter()
    first = s.consider(heard("less pressure", 1.0, 1.8), stream_start=100.0)
    assert first.command is not None and first.command.intent == "less_pressure"
    assert first.command.source == "voice"
    assert s.consider(heard("less pressure", 1.05, 1.9), 100.0).reason == "duplicate"
    assert s.consider(heard("less pressure", 5.0, 5.8), 100.0).reason == "accepted"


def test_priority_commands_act_on_partials_others_wait_for_final() -> None:
    s = spotter()
    assert s.consider(heard("stop", 1.0, 1.3, final=False), 0.0).reason == "accepted"
    assert s.consider(heard("stop", 1.0, 1.4, final=True), 0.0).reason == "duplicate"
    assert s.consider(heard("slower", 3.0, 3.5, final=False), 0.0).reason == "partial"
    assert s.consider(heard("slower", 3.0, 3.5, final=True), 0.0).reason == "accepted"


def test_its_own_instruction_containing_command_words_triggers_nothing() -> None:
    line = Line(LINE, started_at=10.0, duration_s=5.0)
    s = spotter([line])
    # "less pressure" sits about 1 s into the line, "stop" about 3.9 s in.
    assert s.consider(heard("less pressure", 1.0, 1.8), stream_start=10.0).reason == "talking"
    assert s.consider(heard("stop", 3.8, 4.1, final=False), 10.0).reason == "own_voice"


def test_the_user_saying_stop_over_the_assistant_is_heard() -> None:
    line = Line("Make small thumb circles on your sole, from the heel to each toe.", 10.0, 5.0)
    s = spotter([line])
    decision = s.consider(heard("stop", 2.0, 2.4, final=False), stream_start=10.0)
    assert decision.reason == "accepted" and decision.command is not None
    assert decision.command.intent == "stop"


def test_stop_far_from_where_the_line_says_stop_is_the_user() -> None:
    line = Line("Stop and rest. " + "Breathe slowly and let your shoulders drop. " * 4, 10.0, 12.0)
    s = spotter([line])
    assert s.consider(heard("stop", 0.1, 0.4), 10.0).reason == "own_voice"
    assert s.consider(heard("stop", 9.0, 9.4), 10.0).reason == "accepted"


def test_after_the_line_ends_ordinary_commands_count_again() -> None:
    line = Line(LINE, started_at=10.0, duration_s=5.0, ended_at=15.0)
    s = spotter([line])
    assert s.consider(heard("less pressure", 6.0, 6.8), stream_start=10.0).reason == "accepted"


def test_chimes_are_not_speech() -> None:
    s = spotter([Line("", 10.0, 0.5, kind="chime")])
    assert s.consider(heard("slower", 0.1, 0.5), 10.0).reason == "accepted"


def test_only_commands_valid_now_count() -> None:
    s = spotter()
    s.set_valid(frozenset({"resume", "stop"}))
    assert s.consider(heard("skip", 1.0, 1.3), 0.0).reason == "not_valid"
    assert s.consider(heard("resume", 2.0, 2.5), 0.0).reason == "accepted"


def test_words_that_are_not_a_whole_phrase_are_ignored() -> None:
    s = spotter()
    assert s.consider(heard("please slower now", 1.0, 2.0), 0.0).reason == "unknown"
    assert s.consider(heard("", 1.0, 2.0), 0.0).reason == "unknown"


def test_another_phrase_of_the_same_command_in_its_own_line_is_its_own_voice() -> None:
    line = Line(LINE, started_at=100.0, duration_s=5.0)
    sp = spotter([line])
    said_at = 100.0 + 5.0 * LINE.lower().index("stop") / len(LINE)
    assert sp.consider(heard("stop it", said_at - 100, said_at - 99.6), 100.0).reason == "own_voice"
    hurts_at = 100.0 + 5.0 * LINE.lower().index("hurts") / len(LINE)
    assert sp.consider(heard("that hurts", hurts_at - 100, hurts_at - 99.6), 100.0).reason == (
        "own_voice"
    )


def test_with_barge_in_a_command_over_the_assistant_needs_the_user_noticed() -> None:
    line = Line("Make small thumb circles on your sole, from the heel to each toe.", 10.0, 5.0)
    s = spotter([line])
    s.require_barge_in()
    assert s.consider(heard("stop", 2.0, 2.4, final=False), 10.0).reason == "talking", (
        "no barge-in: the canceller's leftovers of its own voice"
    )
    s.note_barge_in(12.1)
    assert s.consider(heard("stop", 2.0, 2.4, final=False), 10.0).reason == "accepted"


def test_with_barge_in_any_command_over_the_held_line_counts_but_not_its_own_words() -> None:
    s = spotter([Line(LINE, 10.0, 5.0)])
    s.require_barge_in()
    s.note_barge_in(12.6)
    s.confirm_barge_in(12.6)
    decision = s.consider(heard("slower", 2.5, 2.9), 10.0)
    assert decision.reason == "accepted" and decision.command is not None
    s.note_barge_in(11.2)
    s.confirm_barge_in(11.2)
    assert s.consider(heard("less pressure", 1.0, 1.8), 10.0).reason == "own_voice"


def test_a_command_other_than_an_urgent_one_needs_the_user_heard_on_the_held_line() -> None:
    """Seen in the room: a false hold 4.5 s into a session (the canceller still learning),
    and pocketsphinx's "softer" from the leftovers of the line, 4.39-4.76 s."""
    welcome = "Welcome. This is Quick refresh, about 1 minute, for massaging your own feet."
    s = spotter([Line(welcome, 0.3, 8.0)])
    s.require_barge_in()
    s.note_barge_in(4.5)
    assert s.consider(heard("softer", 4.39, 4.76), 0.0).reason == "talking"
    assert s.consider(heard("stop", 4.39, 4.76, final=False), 0.0).reason == "accepted", (
        "an urgent command acts on the barge-in alone")
    s = spotter([Line(welcome, 0.3, 8.0)])
    s.require_barge_in()
    s.note_barge_in(4.5)
    s.confirm_barge_in(4.5)
    assert s.consider(heard("softer", 4.39, 4.76), 0.0).reason == "accepted"


def test_words_after_where_the_line_was_cut_were_never_said() -> None:
    line = Line("Stopped. Rest your hands, and say resume when you are ready.", 10.0, 4.0,
                ended_at=10.9)
    s = spotter([line])
    s.require_barge_in()
    s.note_barge_in(10.9)
    s.confirm_barge_in(10.9)
    assert s.consider(heard("resume", 1.0, 1.4), 10.0).reason == "accepted"


def test_with_a_canceller_a_command_just_after_a_line_is_not_over_it() -> None:
    """The room quiet for a moment after a line: a "resume" there was said in silence,
    though within the looser margin used without a canceller."""
    line = Line("Pausing. Say resume when you're ready.", 10.0, 2.0, ended_at=12.0)
    loose = spotter([line])
    assert loose.consider(heard("resume", 2.4, 2.8), 10.0).reason == "talking"
    gated = spotter([line])
    gated.require_barge_in()
    assert gated.consider(heard("resume", 2.4, 2.8), 10.0).reason == "accepted"
    prompt = spotter([line])  # a user answering at once (seen in the soak: 0.18 s after)
    prompt.require_barge_in()
    assert prompt.consider(heard("resume", 2.18, 2.6), 10.0).reason == "accepted"
    overlapping = spotter([line])
    overlapping.require_barge_in()
    assert overlapping.consider(heard("repeat", 2.05, 2.5), 10.0).reason == "talking"


def test_a_command_over_before_the_line_was_held_is_the_echo() -> None:
    """The user is noticed ~0.1 s into a word; a word over before that was the echo."""
    line = Line("Make small thumb circles on your sole, from the heel to each toe.", 10.0, 5.0)
    s = spotter([line])
    s.require_barge_in()
    s.note_barge_in(12.25)
    assert s.consider(heard("wait", 1.89, 2.06, final=False), 10.0).reason == "talking"
    assert s.consider(heard("stop", 2.2, 2.6, final=False), 10.0).reason == "accepted"


def test_a_command_begun_before_the_line_started_is_the_users() -> None:
    """Said as a step began: the step's first line started while the word was under way."""
    line = Line("Warm-up.", 10.6, 0.8)
    s = spotter([line])
    s.require_barge_in()
    assert s.consider(heard("pause", 0.23, 0.67), 10.0).reason == "accepted"
    s = spotter([line])
    s.require_barge_in()
    assert s.consider(heard("pause", 0.4, 0.8), 10.0).reason == "talking", (
        "begun within the margin of the line's start: it may be the line's first word"
    )


def test_a_barge_in_that_has_acted_lets_nothing_else_through() -> None:
    """The user's "stop" was noticed over a line and acted on; the answer starts at once,
    and its first word, misheard as a command, is not the user's."""
    answer = Line("Stopping. Rest your hands.", 7.35, 2.0)
    s = spotter([answer])
    s.require_barge_in()
    s.note_barge_in(7.1)
    assert s.consider(heard("stop", 6.78, 7.28), 0.0).reason == "accepted"
    assert s.consider(heard("go on", 7.36, 7.74), 0.0).reason == "talking"
    s.note_barge_in(8.0)  # the user talks over the answer: that counts again
    s.confirm_barge_in(8.0)
    assert s.consider(heard("resume", 8.0, 8.4), 0.0).reason == "accepted"


def test_an_answer_counts_only_once_its_question_has_begun_playing() -> None:
    """A first session queues the safety question behind 20 s of welcome: a "no" heard
    then (a television, someone else) must not settle the questions unasked."""
    question = "Does any of these apply to you? Say yes or no."
    welcome = Line("Welcome.", started_at=0.0, duration_s=3.0, ended_at=3.0)
    s = spotter([welcome])
    s.set_valid(frozenset({"yes", "no", "stop", "slower"}))
    s.expect_answer("")  # awaited, its question not queued yet
    assert s.consider(heard("no", 4.0, 4.4), 0.0).reason == "not_asked"
    s.expect_answer(question)  # queued, not playing yet
    assert s.consider(heard("yes", 5.0, 5.4), 0.0).reason == "not_asked"
    assert s.consider(heard("slower", 6.0, 6.5), 0.0).reason == "accepted", "commands still count"
    assert s.consider(heard("stop", 7.0, 7.4), 0.0).reason == "accepted"
    s.playback = History([welcome, Line(question, started_at=10.0, duration_s=4.0, ended_at=14.0)])
    assert s.consider(heard("no", 8.0, 8.4), 0.0).reason == "not_asked", "said before it began"
    assert s.consider(heard("no", 15.0, 15.4), 0.0).reason == "accepted"


def test_with_no_question_waiting_an_answer_is_not_held_back() -> None:
    s = spotter()
    s.set_valid(frozenset({"yes", "no"}))
    s.expect_answer(None)
    assert s.consider(heard("yes", 1.0, 1.4), 0.0).reason == "accepted"


def test_a_command_word_that_begins_a_longer_word_of_its_line_is_its_own_voice() -> None:
    """Heard in the room: "never painful" decoded "ouch" (the pain command says "pain")."""
    line = Line("Moderate pressure: it should feel good, never painful.", 10.0, 4.0)
    s = spotter([line])
    s.confirm_barge_in(13.3)
    assert s.consider(heard("ouch", 3.4, 3.8, final=False), 10.0).reason == "own_voice"
    assert s.consider(heard("that hurts", 3.4, 3.9, final=False), 10.0).reason == "own_voice"


def test_a_short_command_word_inside_a_longer_word_is_still_the_users() -> None:
    """"no" begins "not", "now", "normal": only words of four letters or more count."""
    line = Line("Do not pull the toes.", 10.0, 2.0)
    s = spotter([line])
    s.confirm_barge_in(10.3)
    decision = s.consider(heard("no", 0.3, 0.6), 10.0)
    assert decision.reason == "accepted", decision
