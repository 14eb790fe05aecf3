"""From recognizer hypotheses to commands, without ever reacting to the assistant itself.

Rules, in order:
- only commands valid in the current state count (the grammar may lag a state change);
- stop, pause and pain act on the first hypothesis, the rest wait for the final one;
- one utterance acts once, however many hypotheses it produces;
- while the assistant is talking, only priority commands count, and not when the
  phrase is in the line being spoken at about that moment (its own voice);
- while a question waits (`expect_answer`), a "yes" or "no" counts only once the line
  asking it has begun playing;
- with barge-in (`require_barge_in`), a command heard while the assistant talks counts
  only if the user was noticed talking over it then (see listening/barge_in.py), and
  then any command may count: the line was held, so the command was heard clean. An
  urgent one counts at once; the others only once the user was heard going on with the
  line held (`confirm_barge_in`), since a hold for nothing is over with the line.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.ports import Heard
from assistant.session.guide import Command
from assistant.session.vocabulary import Vocabulary, normalize


class PlayedLine(Protocol):
    """What the output path played: text, kind and when (time.monotonic seconds)."""

    @property
    def text(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def started_at(self) -> float: ...
    @property
    def ended_at(self) -> float | None: ...
    @property
    def duration_s(self) -> float: ...


class PlaybackHistory(Protocol):
    def recent(self, since: float) -> Sequence[PlayedLine]: ...


@dataclass(frozen=True)
class SpotterSettings:
    echo_margin_s: float = 0.6
    """Slack around played audio: output and input latency, recognizer timing error."""
    cancelled_echo_margin_s: float = 0.25
    """The same with an echo canceller (`require_barge_in`): its reference is aligned to
    the microphone within milliseconds, so only the recognizer's word timing is left (a
    word it starts this early may be the line's first). With 0.6 s, a "resume" said once
    the room had been quiet 0.6 s still counted as said over the assistant's last line,
    and without a barge-in (nothing to barge into) it was dropped."""
    cancelled_end_margin_s: float = 0.1
    """After a line's end, with a canceller: with `cancelled_echo_margin_s` there too, in
    a 20-minute soak a "resume" begun 0.18 s after the answer's last sound (pocketsphinx
    put its start 0.03 s after the word's) was dropped."""
    word_tolerance_s: float = 1.2
    """How far a heard phrase may be from where it stands in a spoken line and still be
    taken for the assistant's own voice (word timing is estimated from characters)."""
    same_utterance_s: float = 0.5
    """Hypotheses starting this close belong to one utterance, which acts once."""
    barge_in_margin_s: float = 0.5
    """How long before a heard command a barge-in may come and still be its start. It
    must come before the command's end: the user is noticed ~0.1 s into a word, and a
    "command" that was over before the line was held was the echo's leftovers (seen:
    "wait" heard from the assistant's own voice, held 0.2 s after it ended)."""


@dataclass(frozen=True)
class Decision:
    command: Command | None
    reason: str
    """Why: 'accepted', 'not_valid', 'not_asked', 'own_voice', 'talking', 'duplicate',
    'partial', 'unknown'."""


ANSWERS = frozenset({"yes", "no"})
"""The replies `expect_answer` holds back until their question is heard."""


WORD_START_LETTERS = 4
"""Shorter words begin too many others ("no" in "not", "now", "normal")."""


class CommandSpotter:
    def __init__(
        self,
        vocabulary: Vocabulary,
        playback: PlaybackHistory | None,
        settings: SpotterSettings | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.playback = playback
        self.settings = settings or SpotterSettings()
        self._priority = vocabulary.priority_intents()
        self._valid: frozenset[str] = frozenset(i.name for i in vocabulary.intents)
        self._acted: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._gated = False
        self._barge_ins: list[float] = []
        self._heard_on: list[float] = []
        """The barge-ins after which the user was heard with the line held."""
        self._question: str | None = None

    def require_barge_in(self) -> None:
        """From now on, commands heard while the assistant talks need a barge-in."""
        self._gated = True

    def note_barge_in(self, at: float) -> None:
        """The user was noticed talking over the assistant at `at` (monotonic s)."""
        self._barge_ins = [*self._barge_ins[-20:], at]

    def confirm_barge_in(self, at: float) -> None:
        """The user noticed at `at` went on talking once the line was held
        (`BargeInSettings.heard_on_frames`): any command may now count over the line."""
        self._heard_on = [*self._heard_on[-20:], at]

    def expect_answer(self, question: str | None) -> None:
        """`question`: the text of the line asking what the session awaits ("" until it is
        queued; None: no question waits). The session awaits the answer from the moment
        the question is queued, behind lines that take 20 s or more on a first session
        (the welcome, how to talk): a "no" heard meanwhile (a television, someone else in
        the room, the assistant's own voice) would settle the safety questions unasked."""
        with self._lock:
            self._question = question

    def set_valid(self, intents: frozenset[str]) -> None:
        with self._lock:
            self._valid = intents

    def valid(self) -> frozenset[str]:
        with self._lock:
            return self._valid

    def consider(self, heard: Heard, stream_start: float) -> Decision:
        """`stream_start` is the monotonic time of the stream's first sample."""
        decision = self.judge(heard, stream_start)
        if decision.command is not None:
            self.acted(heard, stream_start)
        return decision

    def acted(self, heard: Heard, stream_start: float) -> None:
        """This stretch has acted: nothing heard in it acts again, and the barge-ins
        noticed up to its end were its own. Left standing, the user's "stop" noticed
        0.2 s before the answer began let the answer's first word ("Stopping", heard as
        "go on") count as said over it, and the session resumed by itself."""
        end = stream_start + heard.end_s
        self._acted = [*self._acted[-20:], (stream_start + heard.start_s, end)]
        self._barge_ins = [t for t in self._barge_ins if t > end]
        self._heard_on = [t for t in self._heard_on if t > end]

    def judge(self, heard: Heard, stream_start: float) -> Decision:
        """What `consider` would decide, without counting it as acted."""
        match = self.vocabulary.intent_for(heard.text)
        if match is None or normalize(heard.text) != match[1]:
            return Decision(None, "unknown")
        intent, phrase = match
        if intent not in self.valid():
            return Decision(None, "not_valid")
        start, end = stream_start + heard.start_s, stream_start + heard.end_s
        if intent in ANSWERS and not self._asked_by(start):
            return Decision(None, "not_asked")
        priority = intent in self._priority
        if not priority and not heard.final:
            return Decision(None, "partial")
        if any(abs(start - s) < self.settings.same_utterance_s or s <= start <= e
               for s, e in self._acted):
            return Decision(None, "duplicate")
        talking = self._speech_during(start)
        if talking:
            margin = self.settings.barge_in_margin_s
            noticed = self._barge_ins if priority else self._heard_on
            barged = any(start - margin <= t < end for t in noticed)
            if not barged and (self._gated or not priority):
                return Decision(None, "talking")
        said = self._said_forms(intent, phrase)
        if any(self._is_own_words(line, form, start, end) for line in talking for form in said):
            return Decision(None, "own_voice")
        return Decision(Command(intent, phrase, "voice"), "accepted")

    def _asked_by(self, start: float) -> bool:
        """Had the waiting question begun playing when a word said at `start` began?"""
        with self._lock:
            question = self._question
        if question is None or self.playback is None:
            return True
        return any(line.text == question and line.started_at <= start
                   for line in self.playback.recent(start - 600.0))

    def _said_forms(self, intent: str, phrase: str) -> list[str]:
        """What in a spoken line could have been heard as this command: any phrase of its
        intent ("stop it" misheard from "stop right away") and the heard phrase's longer
        words ("it hurts" misheard from "if anything hurts")."""
        forms = [phrase, *self.vocabulary.phrases_for(frozenset({intent}))]
        forms += [word for word in phrase.split() if len(word) >= 4]
        return list(dict.fromkeys(normalize(f) for f in forms))

    def _speech_during(self, start: float) -> list[PlayedLine]:
        """Lines playing while the command was said. A line that began after the command
        did cannot have made it: in the room, a "pause" said as a step began ran 0.4 s
        into the step's first line and, taken as said over it, was dropped."""
        if self.playback is None:
            return []
        settings = self.settings
        margin = settings.cancelled_echo_margin_s if self._gated else settings.echo_margin_s
        after = settings.cancelled_end_margin_s if self._gated else settings.echo_margin_s
        lines = self.playback.recent(start - 120.0)
        return [
            line for line in lines
            if line.kind == "speech"
            and line.started_at - margin <= start
            and (line.ended_at is None or line.ended_at + after >= start)
        ]

    def _is_own_words(self, line: PlayedLine, phrase: str, start: float, end: float) -> bool:
        """Is `phrase` in `line` at about the time it was heard? Word times are estimated
        from character positions, which is close enough for speech at an even rate. Words
        after where the line was cut off or held were never said. A phrase whose last
        word has `WORD_START_LETTERS` or more also counts where that word begins a longer
        one: in the room, under load, the assistant's "never painful" was decoded "ouch"
        (a form of "pain") with a barge-in noticed on its echo, and the session stopped
        for a pain nobody had."""
        text = normalize(line.text)
        if not text:
            return False
        tolerance = self.settings.word_tolerance_s
        at = text.find(phrase)
        padded = f" {text} "
        word_start = len(phrase.split()[-1]) >= WORD_START_LETTERS
        while at >= 0:
            if padded[at] == " " and (word_start or padded[at + len(phrase) + 1] == " "):
                said_from = line.started_at + line.duration_s * at / len(text)
                said_to = line.started_at + line.duration_s * (at + len(phrase)) / len(text)
                unsaid = line.ended_at is not None and said_from > line.ended_at
                if not unsaid and said_from - tolerance <= end and said_to + tolerance >= start:
                    return True
            at = text.find(phrase, at + 1)
        return False
