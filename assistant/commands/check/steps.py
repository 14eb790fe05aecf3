"""The check itself, on parts opened elsewhere: engine, speakers, answer, microphone, "stop".

Every part may be missing (None, with the reason): the check then reports that
part's failure with what to do, and carries on with the rest, so one run lists
everything that needs fixing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from assistant.commands.check.hearing import Hearing, Listened
from assistant.commands.check.report import Report, TypedAnswers
from assistant.listening.engines import EngineChoice
from assistant.ports import Heard
from assistant.session.dialog import Dialog
from assistant.session.vocabulary import Vocabulary
from assistant.settings import CheckSettings

SPEAK_TIMEOUT_S = 30.0


class Speaker(Protocol):
    def say(self, text: str) -> None: ...
    def wait_idle(self, timeout_s: float) -> bool: ...


@dataclass(frozen=True)
class Parts:
    engine: EngineChoice | None
    engine_error: str | None
    speaker: Speaker | None
    speaker_name: str
    speaker_error: str | None
    hearing: Hearing | None
    mic_error: str | None


class SoundCheck:
    def __init__(
        self,
        parts: Parts,
        answers: TypedAnswers,
        report: Report,
        dialog: Dialog,
        vocabulary: Vocabulary,
        settings: CheckSettings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.parts = parts
        self.answers = answers
        self.report = report
        self.dialog = dialog
        self.vocabulary = vocabulary
        self.settings = settings
        self.clock = clock
        self.sleep = sleep

    def run(self) -> int:
        """Run every step; the number of problems found (0: ready to go)."""
        say = self.report.line
        say(self.dialog.line("check.intro"))
        self.engine()
        self.speakers()
        self.stop_word()
        if self.report.problems:
            say(self.dialog.line("check.problems", count=self.report.problems))
        else:
            say(self.dialog.line("check.all_good"))
        return self.report.problems

    # -- steps -------------------------------------------------------------------

    def engine(self) -> None:
        d, choice = self.dialog, self.parts.engine
        if choice is None:
            reason = self.parts.engine_error or ""
            self.report.problem(d.line("check.engine_failed", reason=reason),
                                d.line("check.engine_fix"))
            return
        model = f" ({choice.model_path})" if choice.model_path else d.line("check.engine_builtin")
        self.report.line(d.line("check.engine", engine=choice.name, model=model))
        self.report.line(d.line("check.hearing", spotter=choice.spotter, words=choice.words,
                                  detector=choice.detector))
        if choice.better_available or choice.name == "pocketsphinx":
            self.report.line(d.line("check.better_engine"))

    def speakers(self) -> None:
        d, speaker = self.dialog, self.parts.speaker
        if speaker is None:
            self.report.problem(
                d.line("check.speakers_failed", reason=self.parts.speaker_error or ""),
                d.line("check.speakers_fix"),
            )
            return
        self.report.line(d.line("check.playing", device=self.parts.speaker_name))
        self._speak(d.line("check_spoken.test_line"))
        self.report.line(d.line("check.heard_it_question"))
        self._speak(d.line("check_spoken.heard_it"))
        answer = self._yes_or_no()
        if answer == "yes":
            self.report.line(d.line("check.speakers_ok"))
        elif answer == "no":
            self.report.problem(d.line("check.not_heard"), d.line("check.not_heard_fix"))
        else:
            self.report.problem(d.line("check.no_answer"), d.line("check.not_heard_fix"))

    def stop_word(self) -> None:
        d, hearing = self.dialog, self.parts.hearing
        if hearing is None:
            if self.parts.mic_error is not None:
                self.report.problem(d.line("check.mic_failed", reason=self.parts.mic_error),
                                    d.line("check.mic_fix"))
            return
        levels: list[float] = []
        other: str | None = None
        for attempt in range(1, self.settings.tries + 1):
            prompt = "check_spoken.say_stop" if attempt == 1 else "check_spoken.try_again"
            self._speak(d.line(prompt))
            listened = self._listen_for_stop(hearing)
            levels += listened.levels
            stop = [h for h in listened.heard if self._intent(h) == "stop"]
            if stop:
                self._level(Listened(levels=levels))
                self._stop_heard(stop, attempt)
                return
            other = next((h.text for h in listened.heard if self._intent(h)), other)
        level_ok = self._level(Listened(levels=levels))
        if other is not None:
            self.report.line(d.line("check.stop_other", phrase=other))
        vosk = self.parts.engine is not None and self.parts.engine.name == "vosk"
        fix = "check.stop_fix_vosk" if vosk else "check.stop_fix"
        # A level problem has its own advice; "louder, closer" on top could contradict it.
        self.report.problem(d.line("check.stop_missed"),
                            d.line(fix if level_ok else "check.stop_fix_level"))

    # -- helpers -----------------------------------------------------------------

    def _speak(self, text: str) -> None:
        if self.parts.speaker is not None:
            self.parts.speaker.say(text)
            self.parts.speaker.wait_idle(SPEAK_TIMEOUT_S)

    def _intent(self, heard: Heard) -> str | None:
        match = self.vocabulary.intent_for(heard.text)
        return match[0] if match else None

    def _yes_or_no(self) -> str | None:
        """A typed or spoken yes or no; None when neither came in time."""
        s, hearing = self.settings, self.parts.hearing
        if hearing is not None:
            phrases = self.vocabulary.phrases_for({"yes", "no"})
            listened = hearing.listen(
                phrases, s.answer_timeout_s, self.clock() + s.after_prompt_s,
                wanted=lambda h: self._intent(h) in ("yes", "no"),
                give_up=self.answers.ready,
            )
            typed = self.answers.take(0.0)
            if typed is not None:
                return self._typed_answer(typed)
            spoken = [self._intent(h) for h in listened.heard if self._intent(h) in ("yes", "no")]
            return spoken[-1] if spoken else None
        typed = self.answers.take(s.answer_timeout_s)
        return None if typed is None else self._typed_answer(typed)

    def _typed_answer(self, typed: str) -> str | None:
        match = self.vocabulary.intent_for(typed)
        if match is not None and match[0] in ("yes", "no"):
            return match[0]
        return {"y": "yes", "n": "no"}.get(typed.strip().lower())  # "no idea" is not "no"

    def _listen_for_stop(self, hearing: Hearing) -> Listened:
        """Says "listening" only once the prompt has died away, so nothing said after
        that line is lost."""
        s = self.settings
        since = self.clock() + s.after_prompt_s
        self.sleep(max(since - self.clock(), 0.0))
        self.report.line(self.dialog.line("check.listening", seconds=round(s.listen_s)))
        with self.report.meter(hearing.level.dbfs):
            return hearing.listen(
                self.vocabulary.all_phrases(), s.listen_s, since,
                wanted=lambda h: self._intent(h) == "stop", settle_s=s.heard_wait_s,
            )

    def _level(self, listened: Listened) -> bool:
        """Reports the level, and what to do when it is wrong; False when it is."""
        d, s = self.dialog, self.settings
        peak, floor = round(listened.peak_dbfs), round(listened.floor_dbfs)
        self.report.line(d.line("check.level", peak=peak, floor=floor))
        if listened.peak_dbfs < s.low_level_dbfs:
            self.report.problem(d.line("check.level_low", peak=peak), d.line("check.level_low_fix"))
            return False
        if listened.peak_dbfs > s.high_level_dbfs:
            self.report.line(d.line("check.level_high", peak=peak))
            return False
        return True

    def _stop_heard(self, stop: list[Heard], attempt: int) -> None:
        d = self.dialog
        when = d.line("check.first_try") if attempt == 1 else d.line(
            "check.second_try", attempt=attempt)
        scores = [h.confidence for h in stop if h.confidence is not None]
        engine = self.parts.engine.name if self.parts.engine is not None else ""
        confidence = (d.line("check.confidence", value=max(scores)) if scores
                      else d.line("check.no_confidence", engine=engine))
        self.report.line(d.line("check.stop_heard", when=when, confidence=confidence))
