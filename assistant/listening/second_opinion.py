"""The second opinion on a spotted "stop": never cost a real stop, rarely stop for nothing.

A false stop costs a resumable pause; a missed stop costs safety. So when the stop
spotter fires, the assistant goes quiet at once, and the general recognizer's verdict
on that same stretch of audio decides:
- it heard "stop": stop;
- it heard another command ("no", "go on", "slower"): that command acts, not a stop
  (a "no" to a safety question stays a "no"; in the room the spotter was sure of the
  simulated user's "skip", so a sure spot does not overrule a command);
- it heard nothing at all, "stop" among other words, or gave no verdict in time: stop;
- it heard only small words that say nothing ("oh", "and", "but the", "not"): unclear,
  stop; on the dev clips this is how the recognizer reads a real "stop" it cannot hear;
- it heard other words ("go", "down", "you know"): not a command, carry on;
  unless the spotter was sure (its output held high as only a real "stop" holds it),
  since the recognizer misses many real voices that the spotter does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from assistant.ports import Heard

UNCLEAR_WORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "if", "so", "as", "of", "to", "in", "on", "at",
    "is", "it", "that", "this", "i", "you", "we", "he", "she", "they", "not", "no", "don't",
    "oh", "ah", "uh", "er", "um", "huh", "hm", "well", "would",
})
"""Words that alone carry no content: a spotted stretch decoded as nothing but these is
unclear. ("no" is here for "oh no" and the like; a "no" alone is the answer command,
which the recognizer reports as such and which acts.)"""


class Verdict(Enum):
    STOP = "stop"
    OTHER_COMMAND = "other_command"
    NOT_A_COMMAND = "not_a_command"


@dataclass(frozen=True)
class SecondOpinionSettings:
    wait_s: float = 1.5
    """No verdict this long after the spot: stop."""
    before_s: float = 0.4
    after_s: float = 0.2
    """A recognizer result is about the spot when it overlaps [spot - before, spot + after]:
    the spot comes 10-350 ms after the word ends, and an utterance ends about 0.3 s after
    its last word, so one that ended earlier, or began later, holds another word."""
    sure_strength: float = 0.7
    """The spotter's `strength` from which other words do not veto the stop."""


@dataclass(frozen=True)
class Resolution:
    verdict: Verdict
    reason: str
    at_s: float
    """When the spot was."""


class SecondOpinion:
    """One pending spot at a time; feed it what the recognizer reports, and the time."""

    def __init__(self, stop_phrases: frozenset[str], answers: frozenset[str] = frozenset(),
                 stop_intent: str = "stop", settings: SecondOpinionSettings | None = None,
                 ) -> None:
        """`stop_phrases`: the stop intent's phrases, as an utterance report spells them.
        `answers`: intents that stand whatever the spotter thinks (a "no" to a safety
        question stays a "no")."""
        self.settings = settings or SecondOpinionSettings()
        self.answers = answers
        self.stop_intent = stop_intent
        self.stop_phrases = stop_phrases
        self._at: float | None = None

    @property
    def pending(self) -> float | None:
        """When the spot waiting for a verdict was (stream seconds), or None."""
        return self._at

    def spotted(self, at_s: float) -> None:
        if self._at is None:
            self._at = at_s

    def concerns(self, heard: Heard) -> bool:
        """Whether a recognizer result covers the pending spot (False with none)."""
        at = self._at
        return at is not None and (heard.start_s <= at + self.settings.after_s
                                   and heard.end_s >= at - self.settings.before_s)

    def _resolve(self, verdict: Verdict, reason: str) -> Resolution:
        assert self._at is not None
        resolution = Resolution(verdict, reason, self._at)
        self._at = None
        return resolution

    def settle(self, verdict: Verdict, reason: str) -> Resolution | None:
        """A verdict reached elsewhere (the short-word classifier's)."""
        return self._resolve(verdict, reason) if self._at is not None else None

    def heard(self, heard: Heard, intent: str | None, strength: float) -> Resolution | None:
        """A recognizer result, with the intent it names (None for an utterance report or
        no command) and the spotter's strength now."""
        if not self.concerns(heard):
            return None
        if intent is not None:
            if intent == self.stop_intent:
                return self._resolve(Verdict.STOP, "recognizer_stop")
            return self._resolve(Verdict.OTHER_COMMAND, intent)
        if heard.words is None:
            return None
        if not heard.words:
            return self._resolve(Verdict.STOP, "nothing_decoded")
        if any(word in self.stop_phrases for word in heard.words):
            return self._resolve(Verdict.STOP, "stop_among_words")
        if strength >= self.settings.sure_strength:
            return self._resolve(Verdict.STOP, "spotter_sure")
        if all(word in UNCLEAR_WORDS for word in heard.words):
            return self._resolve(Verdict.STOP, "unclear_words")
        return self._resolve(Verdict.NOT_A_COMMAND, "other_words")

    def tick(self, now_s: float) -> Resolution | None:
        """Stop when the recognizer has said nothing about the spot in time."""
        if self._at is not None and now_s - self._at >= self.settings.wait_s:
            return self._resolve(Verdict.STOP, "no_verdict")
        return None
