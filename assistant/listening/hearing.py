"""What a session does with what it hears: the recognizer's commands, and every "stop"
the spotter catches, through its second opinion. One path for the live listener and for
`recognize` / the benchmark on a recording, so what is measured offline is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.listening.second_opinion import Resolution, SecondOpinion, Verdict
from assistant.listening.spotter import CommandSpotter, Decision
from assistant.listening.stop_spotter import StopSpotter
from assistant.ports import Heard, Recognizer
from assistant.session import Command
from assistant.vocabulary import Vocabulary, normalize

STOP_INTENT = "stop"
SPOT_SPAN_S = 0.5
"""A spot stands for a "stop" that ended at the spot: this long before it."""
STRETCH_S = 1.0
"""How much audio before a spot the recognizer decodes for its second opinion."""


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
    ) -> None:
        self.recognizer = recognizer
        self.spotter = spotter
        self.vocabulary = vocabulary
        self.stop_spotter = stop_spotter
        stop_phrases = frozenset(normalize(p) for p in vocabulary.phrases_for({STOP_INTENT}))
        answers = frozenset(i.name for i in vocabulary.intents if i.whole)
        self.opinion = opinion or SecondOpinion(stop_phrases, answers, STOP_INTENT)
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
        self._samples += len(pcm) // 2
        keep = 2 * round((STRETCH_S + 0.5) * self.recognizer.sample_rate)
        self._recent = (self._recent + pcm)[-keep:]
        return self._after(heard, [s.at_s for s in spots], stream_start)

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
            events += self._heard(h, stream_start)
        now = self._samples / self.recognizer.sample_rate
        events += self._resolved(self.opinion.tick(now), stream_start)
        return events

    def _spot(self, at: float, stream_start: float) -> list[HearingEvent]:
        said = Heard(STOP_INTENT, False, at - SPOT_SPAN_S, at)
        decision = self.spotter.judge(said, stream_start)
        if decision.command is None:
            return [HearingEvent("heard", said.start_s, at, reason=f"spot_{decision.reason}",
                                 text=STOP_INTENT, final=False)]
        self.opinion.spotted(at)
        return [HearingEvent("spotted", said.start_s, at), *self._transcribed(at, stream_start)]

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

    def _heard(self, heard: Heard, stream_start: float) -> list[HearingEvent]:
        events: list[HearingEvent] = []
        acted = False
        if not heard.is_utterance:
            decision: Decision = self.spotter.consider(heard, stream_start)
            events.append(HearingEvent("heard", heard.start_s, heard.end_s,
                                       reason=decision.reason, text=heard.text,
                                       final=heard.final))
            if decision.command is not None:
                acted = decision.command.intent == STOP_INTENT
                events.append(HearingEvent("acted", heard.start_s, heard.end_s,
                                           decision.command, "recognizer"))
        if self.opinion.pending is not None:
            verdict = self.opinion.heard(heard, self._intent(heard), self._strength())
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
            said = Heard(STOP_INTENT, True, start, end)
            self.spotter.acted(said, stream_start)
            return [HearingEvent("acted", start, end, Command(STOP_INTENT, STOP_INTENT, "voice"),
                                 f"spotter:{resolution.reason}")]
        if resolution.verdict is Verdict.NOT_A_COMMAND:
            return [HearingEvent("dismissed", start, end, reason=resolution.reason)]
        return []
