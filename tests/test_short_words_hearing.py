"""How hearing counts the short-word classifier's readings (logic only: a scripted
recognizer and a stand-in classifier; the real ones are measured on real voices in
test_hearing_streams.py and test_short_words.py)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.listening.hearing import Hearing, HearingEvent
from assistant.listening.short_words import OTHER, WordReading
from assistant.listening.spotter import CommandSpotter
from assistant.listening.stop_spotter import StopSpotter
from assistant.ports import Heard
from assistant.session.vocabulary import load_vocabulary
from tests.fakes import ScriptedRecognizer
from tests.test_spotter import History, Line

RATE = 16000
BLOCK = 1600
"""0.1 s."""


@dataclass
class StandInWords:
    """Reads `word` with `scores` on the steps around `at_s` (where it ended), and
    nothing anywhere else."""

    word: str
    scores: dict[str, float]
    at_s: float = 1.0
    until_s: float | None = None
    """Read on every step from `at_s` to this (the classifier names a word for up to
    500 ms after it ended); None: on the step at `at_s` alone."""
    heard_to_s: float = 0.0

    def feed(self, pcm: bytes) -> None:
        self.heard_to_s += len(pcm) / 2 / RATE

    def reading(self, start_s: float, end_s: float, bar: float) -> WordReading:
        until = self.at_s if self.until_s is None else self.until_s
        at = max(start_s, self.at_s)
        if not (at <= end_s and at <= until):
            return WordReading(OTHER, 1.0, scores(), 5, end_s)
        top = self.scores.get(self.word, 1.0 - max(self.scores.values()))
        return WordReading(self.word, top, self.scores, 5, at)


def scores(**given: float) -> dict[str, float]:
    return {"stop": 0.0, "yes": 0.0, "no": 0.0, "go": 0.0, "other": 1.0, **given}


def utterance(start: float, end: float, *words: str) -> Heard:
    return Heard("", True, start, end, words=words)


def run(script: dict[int, list[Heard]], words: StandInWords, blocks: int = 40,
        valid: frozenset[str] | None = None, spot_at_block: int | None = None,
        flicker: float | None = None, hum: int = 0,
        spotter: CommandSpotter | None = None) -> list[HearingEvent]:
    """`spot_at_block`: the stop spotter fires there; `flicker`: its output everywhere
    else (a stop spotter that never fires, when `spot_at_block` is None); `hum`: the
    amplitude of a steady sound heard all along (talk in the background, as loud as any
    word said over it)."""
    vocabulary = load_vocabulary()
    spotter = spotter or CommandSpotter(vocabulary, None)
    if valid is not None:
        spotter.set_valid(valid)
    stop_spotter = None
    if spot_at_block is not None or flicker is not None:
        fired = range(3 * (spot_at_block - 4), 3 * spot_at_block) if spot_at_block else range(0)
        rest = flicker or 0.0

        def outputs(pcm: bytes, count: list[int] = [0]) -> list[float]:  # noqa: B006
            out = [1.0 if count[0] + i in fired else rest for i in range(3)]
            count[0] += 3
            return out

        stop_spotter = StopSpotter(outputs)
    hearing = Hearing(ScriptedRecognizer(script), spotter, vocabulary, stop_spotter,
                      words=words)
    block = b"".join(((-1) ** i * hum).to_bytes(2, "little", signed=True)
                     for i in range(BLOCK))
    events = []
    for _ in range(blocks):
        events += hearing.feed(block, 0.0)
    return events + hearing.flush(0.0)


SCREENING = frozenset({"yes", "no", "stop", "pause", "pain", "repeat", "help"})
"""What a safety question takes."""


def acted(events: list[HearingEvent]) -> list[tuple[str, str]]:
    return [(str(e.command.intent), e.reason) for e in events
            if e.kind == "acted" and e.command is not None]


def test_a_yes_the_classifier_did_not_hear_at_all_is_dropped() -> None:
    script = {12: [Heard("yes", True, 0.5, 0.9), utterance(0.4, 1.2, "yes")]}
    assert acted(run(script, StandInWords(OTHER, scores(yes=0.02)))) == []


def test_a_yes_the_classifier_heard_as_yes_stands() -> None:
    script = {12: [Heard("yes", True, 0.5, 0.9), utterance(0.4, 1.2, "yes")]}
    assert acted(run(script, StandInWords("yes", scores(yes=0.9)))) == [("yes", "recognizer")]


def test_a_yes_the_classifier_is_sure_was_no_becomes_no() -> None:
    script = {12: [Heard("yes", True, 0.5, 0.9), utterance(0.4, 1.2, "yes")]}
    assert acted(run(script, StandInWords("no", scores(no=0.95, yes=0.3)))) == [("no", "words")]


def test_a_stop_from_the_recognizer_is_never_dropped() -> None:
    script = {12: [Heard("stop", True, 0.5, 0.9), utterance(0.4, 1.2, "stop")]}
    assert acted(run(script, StandInWords(OTHER, scores()))) == [("stop", "recognizer")]


def test_a_short_utterance_with_no_command_acts_on_the_classifier_once() -> None:
    script = {12: [utterance(0.4, 1.2, "you", "know")], 16: [utterance(0.9, 1.5)]}
    words = StandInWords("no", scores(no=0.98))
    assert acted(run(script, words)) == [("no", "words")], "once, not again for the same steps"


def test_a_long_utterance_is_a_sentence_and_the_classifier_stays_out() -> None:
    script = {50: [utterance(0.4, 4.6, "the", "arab", "norbert", "you", "know", "if")]}
    assert acted(run(script, StandInWords("no", scores(no=0.98)), blocks=60)) == []


def test_after_a_recognizer_command_the_classifier_does_not_act_again() -> None:
    """A "no" read over `act_bar` (it acts alone where the recognizer heard nothing)."""
    script = {12: [Heard("slower", True, 0.5, 0.9), utterance(0.4, 1.2, "slower")]}
    assert acted(run(script, StandInWords("no", scores(no=0.8)))) == [
        ("slower", "recognizer")]


def test_a_command_the_classifier_is_sure_was_stop_stops_instead() -> None:
    """A real "stop" over the assistant, a TV on, that pocketsphinx decoded "louder"."""
    script = {12: [Heard("louder", True, 0.5, 0.9), utterance(0.4, 1.2, "louder")]}
    assert acted(run(script, StandInWords("stop", scores(stop=0.95)))) == [("stop", "words")]
    assert acted(run(script, StandInWords("stop", scores(stop=0.8)))) == [
        ("louder", "recognizer")], "not sure enough: the command stands"


def test_go_on_stands_whatever_stop_the_classifier_read() -> None:
    script = {12: [Heard("go on", True, 0.5, 0.9), utterance(0.4, 1.2, "go on")]}
    assert acted(run(script, StandInWords("stop", scores(stop=0.99)))) == [
        ("resume", "recognizer")]


def test_a_command_in_an_utterance_the_classifier_is_sure_was_go_is_dropped() -> None:
    """A real "go" that pocketsphinx heard as "again" (the dev clips: also "i do")."""
    for said in ("again", "i do"):
        script = {12: [Heard(said, True, 0.5, 0.9), utterance(0.4, 1.2, "mm", said)]}
        assert acted(run(script, StandInWords("go", scores(go=0.95)))) == [], said


def test_a_command_the_classifier_did_not_read_as_go_stands() -> None:
    script = {12: [Heard("again", True, 0.5, 0.9), utterance(0.4, 1.2, "again")]}
    assert acted(run(script, StandInWords("go", scores(go=0.5)))) == [
        ("repeat", "recognizer")]


def test_go_on_and_go_back_stand_whatever_the_classifier_read() -> None:
    """The classifier's "go" was taught on them: it cannot tell them from a lone "go"."""
    for said, intent in (("go on", "resume"), ("go back", "back"), ("go on gently", "gently")):
        script = {12: [Heard(said, True, 0.5, 0.9), utterance(0.4, 1.2, said)]}
        for words in (StandInWords("go", scores(go=0.99)), StandInWords(OTHER, scores())):
            assert acted(run(script, words)) == [(intent, "recognizer")], said


def test_an_urgent_command_is_never_dropped_for_a_go() -> None:
    for said, intent in (("pause", "pause"), ("too much", "pain"), ("stop", "stop")):
        script = {12: [Heard(said, True, 0.5, 0.9), utterance(0.4, 1.2, said)]}
        assert acted(run(script, StandInWords("go", scores(go=0.99)))) == [
            (intent, "recognizer")], said


def test_a_spot_read_as_stop_stops() -> None:
    events = run({}, StandInWords("stop", scores(stop=0.97)), spot_at_block=12)
    assert [e.kind for e in events if e.kind in ("spotted", "dismissed")] == ["spotted"]
    assert acted(events) == [("stop", "spotter:words_stop")]


def test_a_spot_read_surely_as_another_word_is_dismissed() -> None:
    events = run({}, StandInWords("go", scores(go=0.97, stop=0.2)), spot_at_block=12)
    assert acted(events) == []
    assert [e.reason for e in events if e.kind == "dismissed"] == ["words_go"]


def test_a_spot_read_as_a_little_like_stop_stops() -> None:
    events = run({}, StandInWords("go", scores(go=0.8, stop=0.3)), spot_at_block=12)
    assert acted(events) == [("stop", "spotter:words_unclear")]


def test_a_spotted_no_answers_a_safety_question_and_does_not_stop() -> None:
    events = run({}, StandInWords("no", scores(no=0.8, stop=0.2)), valid=SCREENING,
                 spot_at_block=12)
    assert acted(events) == [("no", "words")]


def test_a_spotted_no_while_the_massage_runs_is_a_stop() -> None:
    """"no" means nothing while a step runs: a real "stop" misread as "no" must stop."""
    running = frozenset({"stop", "pause", "pain", "slower", "skip"})
    events = run({}, StandInWords("no", scores(no=0.8, stop=0.2)), valid=running,
                 spot_at_block=12)
    assert acted(events) == [("stop", "spotter:words_unclear")]


def test_a_spot_the_recognizer_heard_as_a_command_not_valid_now_is_a_stop() -> None:
    """A real "stop" decoded "no" while a step runs: no command acts, so the spot must
    not be taken for one (the dev streams' 63f7a489 and 3d86b69a were decoded so)."""
    running = frozenset({"stop", "pause", "pain", "slower", "skip"})
    decoded_no = {11: [Heard("no", True, 0.7, 1.0)]}
    events = run(decoded_no, StandInWords("no", scores(no=0.34, stop=0.24)), valid=running,
                 spot_at_block=12)
    assert acted(events) == [("stop", "spotter:words_unclear")]
    events = run(decoded_no, StandInWords("no", scores(no=0.34, stop=0.24)), valid=SCREENING,
                 spot_at_block=12)
    assert acted(events) == [("no", "recognizer")], "a no to a question stays a no"


def test_a_spot_already_read_surely_as_stop_stops_at_once() -> None:
    """Said into quiet, a stop must not wait for the rest of the classifier's window:
    fed only up to the spot, it is already the classifier's stop (not the fallback for
    no verdict at the end of the stream)."""
    events = run({}, StandInWords("stop", scores(stop=0.97), at_s=0.9), blocks=11,
                 spot_at_block=12)
    assert acted(events) == [("stop", "spotter:words_stop")]


def test_a_spot_that_can_only_end_in_a_stop_stops_at_once() -> None:
    """"stop" at 0.4 (over `unsure_stop`) rules out every verdict but a stop, since scores
    only rise as steps come in: no waiting for the rest of the window."""
    events = run({}, StandInWords("no", scores(no=0.6, stop=0.4), at_s=0.9), blocks=11,
                 spot_at_block=12)
    assert acted(events) == [("stop", "spotter:words_unclear")]


def test_a_spot_that_may_yet_be_another_word_waits_for_the_whole_window() -> None:
    events = run({}, StandInWords("no", scores(no=0.6, stop=0.2), at_s=0.9), blocks=11,
                 spot_at_block=12)
    assert acted(events) == [("stop", "spotter:no_verdict")]


def test_a_second_spot_of_the_same_word_joins_the_first() -> None:
    """The classifier spots a word 50-100 ms before the stop spotter does: the second
    spot must not take the verdict's place (it was lost, and a real stop was left to the
    recognizer, which once heard it as "back")."""
    script = {14: [Heard("go back", True, 0.5, 1.0)]}
    events = run(script, StandInWords("stop", scores(stop=0.85), at_s=1.05), blocks=20,
                 spot_at_block=12)
    assert [e.reason for e in events if e.kind == "heard" and e.text == "stop"] == [
        "spot_pending"]
    assert acted(events)[0] == ("stop", "spotter:words_stop")


def test_a_word_stopped_for_is_not_acted_on_again_when_its_utterance_ends() -> None:
    script = {22: [utterance(1.2, 1.8, "stop")]}  # opened after the spot, as in hiss
    events = run(script, StandInWords("stop", scores(stop=0.95), at_s=1.05, until_s=1.6),
                 blocks=25)
    assert acted(events) == [("stop", "spotter:words_stop")]


def test_a_stop_the_classifier_is_sure_of_is_spotted_without_the_other_ears() -> None:
    """No recognizer result and no spot from the stop spotter (over a TV, 42 of 131 real
    stops were heard by neither)."""
    events = run({}, StandInWords("stop", scores(stop=0.85), at_s=1.05))
    assert [(e.kind, e.reason) for e in events if e.kind == "spotted"] == [("spotted", "words")]
    assert acted(events) == [("stop", "spotter:words_stop")]


def test_a_stop_the_classifier_spotted_alone_needs_a_flicker_from_the_stop_spotter() -> None:
    """In ordinary sentences the classifier alone read three stops surely where the stop
    spotter saw nothing at all; real stops it spots alone give the spotter at least a
    flicker."""
    nothing = run({}, StandInWords("stop", scores(stop=0.85), at_s=1.05), flicker=0.0)
    assert acted(nothing) == []
    assert [e.reason for e in nothing if e.kind == "dismissed"] == ["words_alone"]
    flicker = run({}, StandInWords("stop", scores(stop=0.85), at_s=1.05), flicker=0.05)
    assert acted(flicker) == [("stop", "spotter:words_stop")]


def test_a_stop_read_less_surely_is_left_to_the_other_ears() -> None:
    events = run({}, StandInWords("stop", scores(stop=0.7), at_s=1.05))
    assert [e for e in events if e.kind == "spotted"] == [] and acted(events) == []


def test_a_no_read_very_surely_answers_with_no_utterance_around_it() -> None:
    """In loud noise the endpointer may close no utterance around a short word: the
    recognizer says nothing at all here."""
    events = run({}, StandInWords("no", scores(no=0.95), at_s=1.05), valid=SCREENING)
    assert acted(events) == [("no", "words")]


def test_an_answer_read_less_surely_waits_for_its_utterance() -> None:
    events = run({}, StandInWords("no", scores(no=0.85), at_s=1.05), valid=SCREENING)
    assert acted(events) == []


def test_an_answer_with_a_little_stop_in_it_is_not_taken_on_its_own() -> None:
    events = run({}, StandInWords("yes", scores(yes=0.95, stop=0.4), at_s=1.05),
                 valid=SCREENING)
    assert acted(events) == []


def test_an_answer_taken_early_is_not_taken_again_when_its_utterance_ends() -> None:
    script = {24: [Heard("no", True, 0.7, 1.1), utterance(0.6, 2.2, "no")]}
    events = run(script, StandInWords("no", scores(no=0.95), at_s=1.05, until_s=1.5),
                 valid=SCREENING)
    assert acted(events) == [("no", "words")]


def test_a_spotted_command_the_classifier_reads_as_one_of_its_words_stops() -> None:
    """A real "stop" the stop spotter caught and pocketsphinx decoded "slower", where the
    classifier reads "no" (the quiet dev stream's 3d86b69a, heard as while a step runs):
    the models disagree, and unclear means stop. Read as some other word, or with no spot,
    the "slower" stands."""
    running = frozenset({"stop", "pause", "pain", "slower", "skip"})
    script = {12: [Heard("slower", True, 0.6, 1.0), utterance(0.5, 1.2, "slower")]}
    doubted = StandInWords("no", scores(no=0.73, stop=0.1), at_s=1.0)
    assert acted(run(script, doubted, valid=running, spot_at_block=12)) == [
        ("stop", "spotter:words_doubt")]
    assert acted(run(script, StandInWords("no", scores(no=0.73, stop=0.1), at_s=1.0),
                     valid=running)) == [("slower", "recognizer")], "no spot: it stands"
    other = StandInWords("other", scores(other=0.9), at_s=1.0)
    assert acted(run(script, other, valid=running, spot_at_block=12)) == [
        ("slower", "recognizer")], "another word: it stands"


def test_an_everyday_command_the_classifier_reads_very_surely_as_an_answer_answers() -> None:
    """A real "no" over the -35 dBFS bed, decoded "help" (135c6841): the classifier read
    "no" at 0.99 but, no louder than the bed, could not answer on its own. With a
    question waiting the "no" acts; with none, or with "stop" in the reading, or read
    less surely, the "help" stands."""
    script = {40: [Heard("help", True, 3.6, 4.0), utterance(3.5, 4.3, "help")]}
    sure = StandInWords("no", scores(no=0.99), at_s=4.0)
    bed = 1000  # -30 dBFS all along: the word stands 0 dB over it
    assert acted(run(script, sure, blocks=60, valid=SCREENING, hum=bed)) == [("no", "words")]
    assert acted(run(script, StandInWords("no", scores(no=0.99), at_s=4.0), blocks=60,
                     valid=frozenset({"stop", "help"}), hum=bed)) == [("help", "recognizer")]
    for reading in (scores(no=0.99, stop=0.4), scores(no=0.85)):
        assert acted(run(script, StandInWords("no", reading, at_s=4.0), blocks=60,
                         valid=SCREENING, hum=bed)) == [("help", "recognizer")], reading


def test_the_assistants_own_word_read_as_an_answer_does_not_answer() -> None:
    """The same, with "help" said in the assistant's line as the recognizer heard it (the
    user noticed talking over it, so an everyday command may count over the line)."""
    line = Line("Say help at any time.", started_at=3.0, duration_s=1.5)
    own = CommandSpotter(load_vocabulary(), History([line]))
    own.confirm_barge_in(3.25)
    script = {40: [Heard("help", True, 3.3, 3.6), utterance(3.2, 4.0, "help")]}
    sure = StandInWords("no", scores(no=0.99), at_s=3.6)
    assert acted(run(script, sure, blocks=60, valid=SCREENING, hum=1000, spotter=own)) == []
