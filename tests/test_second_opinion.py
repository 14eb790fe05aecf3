"""The second opinion's rules (logic only: the real engines are in test_hearing_streams)."""

from __future__ import annotations

from assistant.listening.second_opinion import SecondOpinion, Verdict
from assistant.ports import Heard

STOP = frozenset({"stop", "stop it"})
ANSWERS = frozenset({"yes", "no"})


def opinion(at: float = 10.0) -> SecondOpinion:
    o = SecondOpinion(STOP, ANSWERS)
    o.spotted(at)
    return o


def words(*said: str, start: float = 9.2, end: float = 10.2) -> Heard:
    return Heard("", True, start, end, words=said)


def command(text: str, start: float = 9.5, end: float = 9.9) -> Heard:
    return Heard(text, True, start, end)


def verdict(o: SecondOpinion, heard: Heard, intent: str | None, strength: float = 0.3,
            ) -> Verdict | None:
    resolution = o.heard(heard, intent, strength)
    return resolution.verdict if resolution is not None else None


def test_stop_nothing_or_small_words_mean_stop() -> None:
    assert verdict(opinion(), command("stop"), "stop") is Verdict.STOP
    assert verdict(opinion(), words(), None) is Verdict.STOP
    assert verdict(opinion(), words("oh", "and"), None) is Verdict.STOP
    assert verdict(opinion(), words("stop", "there"), None) is Verdict.STOP


def test_other_words_carry_on_unless_the_spotter_is_sure() -> None:
    assert verdict(opinion(), words("down"), None) is Verdict.NOT_A_COMMAND
    assert verdict(opinion(), words("go", "ahead"), None) is Verdict.NOT_A_COMMAND
    assert verdict(opinion(), words("down"), None, strength=0.75) is Verdict.STOP


def test_another_command_acts_and_an_answer_stays_an_answer() -> None:
    assert verdict(opinion(), command("go on"), "resume") is Verdict.OTHER_COMMAND
    assert verdict(opinion(), command("no"), "no", strength=0.8) is Verdict.OTHER_COMMAND
    assert verdict(opinion(), command("skip"), "skip", strength=0.8) is Verdict.OTHER_COMMAND


def test_no_verdict_in_time_means_stop_and_results_about_other_words_wait() -> None:
    o = opinion(10.0)
    assert verdict(o, words("down", start=7.0, end=8.5), None) is None, "an earlier utterance"
    assert o.tick(11.0) is None
    resolution = o.tick(11.6)
    assert resolution is not None and resolution.verdict is Verdict.STOP
    assert o.pending is None
