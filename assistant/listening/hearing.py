"""What a session does with what it hears: the recognizer's commands, and every "stop"
the spotter catches, through its second opinion. One path for the live listener and for
`recognize` / the benchmark on a recording, so what is measured offline is what runs.

With the short-word classifier (`listening/short_words.py`), which hears real voices far
better than pocketsphinx does, it also:
- is the second opinion on a spot: "stop" or unclear stops, "yes"/"no" acts as that
  answer, and a stretch it is sure holds no "stop" is dismissed;
- checks the recognizer's "yes" and "no" when the utterance ends: another word it is
  sure of replaces the answer, and none of its words at all drops it;
- drops the recognizer's other commands ("again", "back", "resume") when it is sure the
  utterance was a "go", its one word that is no command: a real "go" misheard; and
  stops instead when it is sure the utterance was a "stop", and answers instead when
  it is very sure of a "yes" or "no" a question waits for. A command with "go" in it
  ("go on", "go back") is not checked: the classifier's "go" is taught on those, and
  cannot tell them from a lone "go";
- acts on "stop", "yes" or "no" in a short utterance where the recognizer heard no
  command. A "stop" from the recognizer is never dropped by these checks;
- answers a question with a "yes" or "no" it reads very surely as soon as it reads it,
  whether or not the endpointer ever closes an utterance around it (in loud noise it
  may not). The word has then acted, so what the recognizer makes of the same
  utterance later is a duplicate, a "stop" too: "clearly another word" is the second
  opinion's own rule, and no real "stop" of the dev streams read that surely as an
  answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.listening.second_opinion import Resolution, SecondOpinion, Verdict
from assistant.listening.short_words import OTHER, TAUGHT, WordReader, WordReading
from assistant.listening.spotter import CommandSpotter, Decision
from assistant.listening.stop_spotter import StopSpotter
from assistant.listening.word_loudness import WordOverBackground
from assistant.ports import Heard, Pipelined, Recognizer
from assistant.session.guide import Command
from assistant.session.vocabulary import Vocabulary, normalize

STOP_INTENT = "stop"
SPOT_SPAN_S = 0.5
"""A spot stands for a "stop" that ended at the spot: this long before it."""
WORD_SPOT_REFRACTORY_S = 1.0
"""The classifier spots one word once, and acts on a word it stopped for only once."""
STRETCH_S = 1.0
"""How much audio before a spot the recognizer decodes for its second opinion."""


@dataclass(frozen=True)
class WordRules:
    """How the short-word classifier's readings count (measured on the dev clips in a
    continuous stream, `scripts/benchmark.py --streams-only`)."""

    spot_before_s: float = 0.35
    spot_after_s: float = 0.25
    """A spot is read over the steps from this long before it to this long after: it
    comes 150-300 ms after the word ends, and the classifier names a word on the steps
    up to 500 ms after its end."""
    not_stop_below: float = 0.15
    """A spot is dismissed only when "stop" scored under this all along."""
    answer_bar: float = 0.5
    """A spot read as "yes" or "no" this surely acts as that answer, when that answer
    is understood now and "stop" scored under `unsure_stop` (else it stops: a real
    "stop" read as "no" while the massage runs must not be lost)."""
    unsure_stop: float = 0.35
    sure_other: float = 0.9
    """A spot read as another word this surely, with "stop" under `unsure_stop`, is
    dismissed (a "go" that also looked a little like "stop")."""
    act_bar: float = 0.7
    """The classifier alone acts on a short utterance's word read this surely."""
    veto_bar: float = 0.7
    """Another word read this surely replaces the recognizer's "yes" or "no"."""
    absent_below: float = 0.1
    """The recognizer's "yes" or "no" is dropped when that word scored under this."""
    go_veto_bar: float = 0.7
    """The recognizer's other commands (not the urgent ones, not those with "go" in them)
    are dropped when "go" scored this or more. Quiet dev streams (as scripts/stream_metrics.py
    lays them), before -> after: the 731 clips of non-command words turned into a command
    42 -> 40 (a "go" heard as "i do", one as "again"); stop acted 125 -> 125 of 131, yes
    139 -> 142 of 150 (now checked too, "back" or "resume" no longer acts ahead of the
    "yes" said before it), no 140 -> 140 of 147; 140 synthetic commands (Piper joe at 3
    speeds, 4 espeak-ng voices, 1.2 s of hiss apart) acted exactly as before. "go" scored
    0.7 or more on 3 of the 1,039 dev clips of other words (2 "stop", never checked)."""
    stop_over_command_bar: float = 0.9
    """A "stop" read this surely replaces the recognizer's other commands (not the
    urgent ones, not those with "go" in them): in the soak, a real "stop" over the
    assistant's voice with a TV on was decoded "louder" and acted on. Over the TV
    stream 37% of real stops read this surely; of 201 synthetic renderings of the other
    commands' phrases (Piper joe, two espeak-ng voices) one did ("speed up", 0.92)."""
    word_spot_bar: float = 0.8
    word_spot_margin_db: float = 6.0
    """The classifier spots a "stop" on its own when it reads one this surely on a step,
    and the word (its loudest 100 ms in the last second) is this much over the talk
    going on in the background, if any: the user is nearer than a TV, and the TV's own
    words read as "stop" are never louder than it. Measured on the dev streams
    (131 real stops, 8.7 min of the soak's TV alone): over a TV, stops spotted by either
    model 72 -> 95 of 131 (the spotter alone, then with this); the TV alone, 5 stops in
    8.7 min without the level rule, 0 with it; "go", "no" and other words read as a
    stop over the TV 0, 0 and 1 clips; in quiet, 124 -> 128 of 131, and none of the
    other words."""
    answer_spot_bar: float = 0.9
    """The classifier answers on its own when it reads "yes" or "no" this surely on a
    step (with "stop" under `unsure_stop` around it, and the word standing
    `answer_margin_db` over any talk in the background), without waiting for the
    recognizer's utterance to end. Over a -35 dBFS noise bed the endpointer opened no
    utterance, or held one past `short_utterance_s`, for 30 of the 43 real "no" that
    went unheard, while the classifier read 103 of the 147 this surely. Dev streams, per
    clip, read this surely (quiet / -45 / -35 dBFS): "no" 126 / 112 / 103 of 147, "yes"
    123 / 129 / 117 of 150; any of the 1,039 other clips 0 / 1 / 0 (a "left" as "yes");
    the routines' lines, ordinary sentences and LibriVox read speech 0; the soak's TV
    (8.7 min) one "yes", never standing over the talk. Only questions take an answer:
    elsewhere in a session "yes" and "no" are not valid commands."""
    answer_margin_db: float = 3.0
    """How far such an answer must stand over the talk in the background (or a noise
    loud enough to count as talk): the -35 dBFS bed is loud enough, and at 6 dB (as for
    `word_spot_margin_db`) 86 of those 103 "no" stood out, at 3 dB 98. The soak's TV's
    one "yes" read this surely stood out at neither."""
    word_spot_spotter_floor: float = 0.02
    word_spot_confirm_s: float = 0.3
    """A spot the classifier made alone stands only when the stop spotter's `strength`
    reaches this floor by this long after it: however faint, a flicker of "stop" from
    the other model. Ordinary sentences in quiet (6.2 min of Piper and espeak-ng voices)
    gave 3 stops read surely by the classifier alone, each with the spotter at 0.00-0.01;
    over a TV, 7 of the classifier's 77 spots of real stops had so little."""
    short_utterance_s: float = 3.0
    """Longer utterances are sentences: the classifier never acts on its own there.
    (The endpointer holds an utterance open up to a second after a short word in
    hiss, so 2 s lost one real "no" in ten.)"""
    utterance_after_s: float = 0.5


CHECKED_ANSWERS = ("yes", "no")
"""The recognizer's answers the classifier may overrule (never its "stop")."""
GO = "go"
"""The classifier's one word that is no command."""


def _taught_answer(heard: Heard, intent: str) -> bool:
    """Whether the recognizer's command is a "yes" or "no" said as the classifier was
    taught it (those it checks as answers)."""
    return intent in CHECKED_ANSWERS and normalize(heard.text) in TAUGHT[intent]


def says_go(phrase: str) -> bool:
    """Whether a command phrase holds a "go" the classifier was taught on ("go on")."""
    return any(phrase == p or phrase.startswith(p + " ") for p in TAUGHT[GO])


@dataclass(frozen=True)
class HearingEvent:
    """`spotted`: a "stop" may have been said, go quiet now; `acted`: a command to carry
    out; `dismissed`: the spot was not a stop, carry on; `heard`: a recognizer result and
    what became of it (for the log)."""

    kind: Literal["spotted", "acted", "dismissed", "heard"]
    start_s: float
    end_s: float
    """Stream seconds."""
    command: Command | None = None
    reason: str = ""
    text: str = ""
    final: bool = True


class Hearing:
    def __init__(
        self,
        recognizer: Recognizer,
        spotter: CommandSpotter,
        vocabulary: Vocabulary,
        stop_spotter: StopSpotter | None = None,
        opinion: SecondOpinion | None = None,
        words: WordReader | None = None,
        rules: WordRules | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.spotter = spotter
        self.vocabulary = vocabulary
        self.stop_spotter = stop_spotter
        self.words = words
        self.rules = rules or WordRules()
        self._held: list[Heard] = []
        """The recognizer's answers waiting for their utterance's end, to be checked."""
        self._commanded_at = -1e9
        """Start of the last command the recognizer acted on (stream seconds)."""
        self._spot_to_read: float | None = None
        self._spot_by_words = False
        """The pending spot is the classifier's alone (`word_spot_spotter_floor`)."""
        self._spot_read_at = -1e9
        """How far the classifier had heard when the pending spot was last read."""
        self._words_read_to = -1e9
        """The classifier's steps up to here have been acted on: never twice."""
        stop_phrases = frozenset(normalize(p) for p in vocabulary.phrases_for({STOP_INTENT}))
        answers = frozenset(i.name for i in vocabulary.intents if i.whole)
        self.opinion = opinion or SecondOpinion(stop_phrases, answers, STOP_INTENT)
        self._loudness = WordOverBackground()
        self._word_spots_from = 0.0
        """The classifier's steps up to here have been looked at for a spot."""
        self._last_word_spot = -1e9
        self._samples = 0
        self._recent = b""
        """The last moments of audio, for the second opinion on a spot."""

    @property
    def pending(self) -> bool:
        """A spot waits for its verdict (the line stays held meanwhile)."""
        return self.opinion.pending is not None

    def feed(self, pcm: bytes, stream_start: float) -> list[HearingEvent]:
        """`stream_start`: the monotonic time of the stream's first sample (0 offline)."""
        heard = self.recognizer.accept(pcm)
        spots = self.stop_spotter.feed(pcm) if self.stop_spotter is not None else []
        if self.words is not None:
            self.words.feed(pcm)
            self._loudness.feed(pcm)
        self._samples += len(pcm) // 2
        keep = 2 * round((STRETCH_S + 0.5) * self.recognizer.sample_rate)
        self._recent = (self._recent + pcm)[-keep:]
        events = self._newest_words(stream_start)
        return events + self._after(heard, [s.at_s for s in spots], stream_start)

    @property
    def owed(self) -> bool:
        """The recognizer still owes answers on audio already fed
        (`listening/recognizer_process.py`)."""
        return isinstance(self.recognizer, Pipelined) and self.recognizer.behind > 0

    def catch_up(self, stream_start: float) -> list[HearingEvent]:
        """Those owed answers that have come since, taken between blocks."""
        if not self.owed:
            return []
        assert isinstance(self.recognizer, Pipelined)
        heard = self.recognizer.answers()
        return self._after(heard, [], stream_start) if heard else []

    def _newest_words(self, stream_start: float) -> list[HearingEvent]:
        """What the classifier reads surely on its newest steps, said clearly over any
        talk in the background: a "stop" is spotted (`WordRules.word_spot_bar`), a "yes"
        or "no" answers (`WordRules.answer_spot_bar`)."""
        words, rules = self.words, self.rules
        if words is None or words.heard_to_s <= self._word_spots_from:
            return []
        reading = words.reading(self._word_spots_from + 1e-6, words.heard_to_s,
                                min(rules.word_spot_bar, rules.answer_spot_bar))
        self._word_spots_from = words.heard_to_s
        if self.opinion.pending is not None:
            return []
        if (reading.word == STOP_INTENT and reading.probability >= rules.word_spot_bar
                and reading.at_s - self._last_word_spot >= WORD_SPOT_REFRACTORY_S
                and self._loudness.stands_out(rules.word_spot_margin_db)):
            self._last_word_spot = reading.at_s
            return self._spot(reading.at_s, stream_start, by="words")
        if (self._answers_now(reading.word)
                and reading.probability >= rules.answer_spot_bar
                and reading.at_s > self._words_read_to
                and self._loudness.stands_out(rules.answer_margin_db)):
            around = words.reading(reading.at_s - rules.spot_before_s, words.heard_to_s,
                                   rules.answer_spot_bar)
            if around.scores[STOP_INTENT] < rules.unsure_stop:
                return self._word_acts(reading, Heard("", True, 0.0, reading.at_s),
                                       stream_start, rules.answer_spot_bar)
        return []

    def flush(self, stream_start: float) -> list[HearingEvent]:
        """End of a recording: what the recognizer still holds, then any spot left open."""
        events = self._after(self.recognizer.flush(), [], stream_start)
        at = self.opinion.pending
        if at is not None:
            events += self._resolved(self.opinion.tick(at + 1e9), stream_start)
        return events

    def _after(self, heard: list[Heard], spots: list[float], stream_start: float,
               ) -> list[HearingEvent]:
        events: list[HearingEvent] = []
        for at in spots:
            events += self._spot(at, stream_start)
        for h in heard:
            if self.words is None:
                events += self._heard(h, stream_start)
            elif h.is_utterance:
                events += self._utterance_read(h, stream_start)
            elif h.final and self._checkable(h):
                self._held.append(h)
            else:
                events += self._heard(h, stream_start)
        for h in self._held:  # no utterance report came with it: act unchecked
            events += self._heard(h, stream_start)
        self._held = []
        events += self._spot_read(stream_start)
        now = self._samples / self.recognizer.sample_rate
        events += self._resolved(self.opinion.tick(now), stream_start)
        return events

    def _checkable(self, heard: Heard) -> bool:
        """Whether the classifier checks this command when its utterance ends: a taught
        answer, or any command neither urgent nor with "go" in it (for a "go")."""
        match = self.vocabulary.intent_for(heard.text)
        if match is None:
            return False
        intent, phrase = match
        return _taught_answer(heard, intent) or (
            intent not in self.vocabulary.priority_intents() and not says_go(phrase))

    def _utterance_read(self, report: Heard, stream_start: float) -> list[HearingEvent]:
        """The classifier's reading of an utterance that just ended: check the commands
        the recognizer heard in it, or act where it heard no command."""
        assert self.words is not None
        rules = self.rules
        end = min(report.end_s + rules.utterance_after_s, self.words.heard_to_s)
        start = max(report.start_s, self._words_read_to)
        reading = self.words.reading(start, end, rules.answer_bar)
        held, self._held = self._held, []
        events: list[HearingEvent] = []
        for h in held:
            match = self.vocabulary.intent_for(h.text)
            intent = match[0] if match is not None else ""
            if not _taught_answer(h, intent):  # a "go" misheard as "again", "i do"?
                if reading.scores.get(GO, 0.0) >= rules.go_veto_bar:
                    events.append(HearingEvent("heard", h.start_s, h.end_s,
                                               reason="words_misheard_go", text=h.text))
                elif (reading.word == STOP_INTENT
                      and reading.probability >= rules.stop_over_command_bar):
                    events.append(HearingEvent("heard", h.start_s, h.end_s,
                                               reason="words_heard_stop", text=h.text))
                    events += self._word_acts(reading, report, stream_start,
                                              rules.stop_over_command_bar)
                elif self._doubted(h, reading):
                    events.append(HearingEvent("heard", h.start_s, h.end_s,
                                               reason=f"words_doubt_{reading.word}", text=h.text))
                    events += self._resolved(self.opinion.settle(Verdict.STOP, "words_doubt"),
                                             stream_start)
                elif self._answered(h, reading, stream_start):
                    events.append(HearingEvent("heard", h.start_s, h.end_s,
                                               reason=f"words_heard_{reading.word}", text=h.text))
                    events += self._word_acts(reading, report, stream_start,
                                              rules.answer_spot_bar)
                else:
                    events += self._heard(h, stream_start)
                continue
            other_word = (reading.word not in (OTHER, intent)
                          and reading.probability >= rules.veto_bar)
            if other_word or reading.scores.get(intent, 0.0) < rules.absent_below:
                events.append(HearingEvent("heard", h.start_s, h.end_s,
                                           reason=f"words_heard_{reading.word}", text=h.text))
                events += self._word_acts(reading, report, stream_start, rules.veto_bar)
            else:
                events += self._heard(h, stream_start)
                self._words_read_to = max(self._words_read_to, end)
        if (not held and report.start_s > self._commanded_at
                and report.end_s - report.start_s <= rules.short_utterance_s):
            events += self._word_acts(reading, report, stream_start, rules.act_bar)
        return events

    def _doubted(self, heard: Heard, reading: WordReading) -> bool:
        """Whether the stop spotter fired on this command and the classifier reads one of
        its own command words there ("stop", "yes", "no"; not "go", not another word):
        the models disagree, and a spot left unclear stops. In the quiet dev stream heard
        as while a step runs, a real "stop" (3d86b69a) was decoded "slower", and the
        "slower" settled the spot."""
        return (self.opinion.concerns(heard) and reading.word in (STOP_INTENT, *CHECKED_ANSWERS)
                and reading.probability >= self.rules.answer_bar)

    def _answers_now(self, word: str) -> bool:
        """Whether `word` is an answer ("yes", "no") that a waiting question takes now."""
        return word in CHECKED_ANSWERS and word in self.spotter.valid()

    def _answered(self, heard: Heard, reading: WordReading, stream_start: float) -> bool:
        """Whether the classifier reads an answer that is understood now as surely as it
        answers on its own (`WordRules.answer_spot_bar`, "stop" under `unsure_stop`),
        where the recognizer heard an everyday command: over the -35 dBFS bed a real "no"
        was decoded "help" (the classifier at 0.99, too faint over the bed to answer on
        its own). The recognizer's word is the evidence the user spoke, so the answer
        needs no margin over the background here, unless that word was the assistant's
        own (a "help" in its line, the echo read as "no")."""
        rules = self.rules
        return (self._answers_now(reading.word)
                and reading.probability >= rules.answer_spot_bar
                and reading.scores[STOP_INTENT] < rules.unsure_stop
                and self.spotter.judge(heard, stream_start).reason != "own_voice")

    def _word_acts(self, reading: WordReading, report: Heard, stream_start: float,
                   bar: float) -> list[HearingEvent]:
        if reading.word not in (STOP_INTENT, *CHECKED_ANSWERS) or reading.probability < bar:
            return []
        self._words_read_to = reading.at_s + self.rules.utterance_after_s
        said = Heard(reading.word, True, max(report.start_s, reading.at_s - SPOT_SPAN_S),
                     reading.at_s)
        return self._heard(said, stream_start, by="words")

    def _spot_read(self, stream_start: float) -> list[HearingEvent]:
        """The classifier's verdict on a spot, once it has read past it; at once when
        "stop" already scored `unsure_stop` on it, since every reading from there on
        (scores only rise as steps come in) ends in a stop: a stop said into quiet is
        not kept waiting for steps that cannot change the verdict."""
        at = self._spot_to_read
        if self.words is None or at is None or self.words.heard_to_s == self._spot_read_at:
            return []  # nothing new to read since the last look
        self._spot_read_at = self.words.heard_to_s
        rules = self.rules
        alone = self._spot_by_words and not self._spotter_flickers(at)
        if alone and self.words.heard_to_s < at + rules.word_spot_confirm_s:
            return []
        reading = self.words.reading(at - rules.spot_before_s, at + rules.spot_after_s,
                                     rules.answer_bar)
        settled = reading.scores[STOP_INTENT] >= rules.unsure_stop
        if not settled and self.words.heard_to_s < at + rules.spot_after_s:
            return []
        self._spot_to_read = None
        if self.opinion.pending != at:
            return []  # the recognizer settled it first
        if alone:
            return self._resolved(self.opinion.settle(Verdict.NOT_A_COMMAND, "words_alone"),
                                  stream_start)
        stop = reading.scores[STOP_INTENT]
        if reading.word == STOP_INTENT:
            return self._resolved(self.opinion.settle(Verdict.STOP, "words_stop"), stream_start)
        if self._answers_now(reading.word) and stop < rules.unsure_stop:
            self.opinion.settle(Verdict.OTHER_COMMAND, f"words_{reading.word}")
            said = Heard(reading.word, True, at - SPOT_SPAN_S, at)
            return self._heard(said, stream_start, by="words")
        sure_other = reading.word != OTHER and reading.probability >= rules.sure_other
        if stop < rules.not_stop_below or (sure_other and stop < rules.unsure_stop):
            return self._resolved(
                self.opinion.settle(Verdict.NOT_A_COMMAND, f"words_{reading.word}"), stream_start)
        return self._resolved(self.opinion.settle(Verdict.STOP, "words_unclear"), stream_start)

    def _spotter_flickers(self, at: float) -> bool:
        """Whether the stop spotter saw any "stop" around a spot (True without one)."""
        if self.stop_spotter is None:
            return True
        strength = self.stop_spotter.strength(at - SPOT_SPAN_S)
        return strength >= self.rules.word_spot_spotter_floor

    def _spot(self, at: float, stream_start: float, by: str = "") -> list[HearingEvent]:
        """`by`: "words" when the classifier spotted it, "" for the stop spotter."""
        said = Heard(STOP_INTENT, False, at - SPOT_SPAN_S, at)
        decision = self.spotter.judge(said, stream_start)
        if decision.command is None:
            return [HearingEvent("heard", said.start_s, at, reason=f"spot_{decision.reason}",
                                 text=STOP_INTENT, final=False)]
        if self.opinion.pending is not None:
            # The same word caught by the other model (the classifier spots a word
            # 50-100 ms before the stop spotter): it joins the pending spot, whose
            # verdict must still come (re-pointed, the verdict was lost and the spot
            # hung until the recognizer ended it, once as a "back").
            return [HearingEvent("heard", said.start_s, at, reason="spot_pending",
                                 text=STOP_INTENT, final=False)]
        self.opinion.spotted(at)
        spotted = HearingEvent("spotted", said.start_s, at, reason=by)
        if self.words is not None:
            self._spot_to_read, self._spot_read_at = at, -1e9
            self._spot_by_words = by == "words"
            return [spotted]
        return [spotted, *self._transcribed(at, stream_start)]

    def _transcribed(self, at: float, stream_start: float) -> list[HearingEvent]:
        """The recognizer's reading of the spotted stretch itself, when it is free to
        give one (no utterance open): the spot need not wait for an utterance to end,
        nor for one the endpointer never opened."""
        rate = self.recognizer.sample_rate
        now = self._samples / rate
        first = max(0.0, at - STRETCH_S)
        stretch = self._recent[-2 * round((now - first) * rate):]
        words = self.recognizer.transcribe(stretch)
        if words is None:
            return []
        report = Heard("", True, first, at, words=words)
        match = self.vocabulary.intent_for(" ".join(words))
        intent = match[0] if match is not None else None
        strength = self._strength()
        verdict = self.opinion.heard(report, intent, strength)
        if verdict is None:
            return []
        if verdict.verdict is Verdict.OTHER_COMMAND:
            if match is not None and normalize(" ".join(words)) == match[1]:
                return self._heard(Heard(match[1], True, at - SPOT_SPAN_S, at), stream_start)
            # A command among other words is only a veto here; the streaming recognizer,
            # with its rules for commands said alone, acts on it if it was one.
            return [HearingEvent("dismissed", at - SPOT_SPAN_S, at, reason=verdict.reason)]
        return self._resolved(verdict, stream_start)

    def _strength(self) -> float:
        at = self.opinion.pending
        if self.stop_spotter is None or at is None:
            return 0.0
        return self.stop_spotter.strength(at - SPOT_SPAN_S)

    def _heard(self, heard: Heard, stream_start: float, by: str = "recognizer",
               ) -> list[HearingEvent]:
        events: list[HearingEvent] = []
        acted = False
        commanded = False
        if not heard.is_utterance:
            decision: Decision = self.spotter.consider(heard, stream_start)
            events.append(HearingEvent("heard", heard.start_s, heard.end_s,
                                       reason=decision.reason, text=heard.text,
                                       final=heard.final))
            if decision.command is not None:
                acted = decision.command.intent == STOP_INTENT
                commanded = True
                if by == "recognizer":
                    self._commanded_at = heard.start_s
                events.append(HearingEvent("acted", heard.start_s, heard.end_s,
                                           decision.command, by))
        if self.opinion.pending is not None:
            # Another command settles a spot only if it acts: a real "stop" decoded as
            # a "no" while a step runs (no question waiting) must not vanish.
            intent = self._intent(heard) if commanded else None
            verdict = self.opinion.heard(heard, intent, self._strength())
            if verdict is not None and not acted:
                events += self._resolved(verdict, stream_start)
        return events

    def _intent(self, heard: Heard) -> str | None:
        """The command a result names, if it is one that would act on this hypothesis."""
        if heard.is_utterance:
            return None
        match = self.vocabulary.intent_for(heard.text)
        if match is None:
            return None
        intent = match[0]
        if not heard.final and intent not in self.vocabulary.priority_intents():
            return None
        return intent

    def _resolved(self, resolution: Resolution | None, stream_start: float,
                  ) -> list[HearingEvent]:
        if resolution is None:
            return []
        start, end = resolution.at_s - SPOT_SPAN_S, resolution.at_s
        if resolution.verdict is Verdict.STOP:
            # The classifier's steps on this word are spent (it reads a word for up to
            # 500 ms after the spot): its utterance's reading must not act on it again.
            self._words_read_to = max(self._words_read_to, end + WORD_SPOT_REFRACTORY_S)
            said = Heard(STOP_INTENT, True, start, end)
            self.spotter.acted(said, stream_start)
            return [HearingEvent("acted", start, end, Command(STOP_INTENT, STOP_INTENT, "voice"),
                                 f"spotter:{resolution.reason}")]
        if resolution.verdict is Verdict.NOT_A_COMMAND:
            return [HearingEvent("dismissed", start, end, reason=resolution.reason)]
        return []
