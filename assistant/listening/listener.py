"""The listening thread: owns the recognizer, turns microphone audio into commands.

The microphone callback only calls `feed()` (a queue put); everything slow happens
here. The grammar follows the session state; stop, pause and pain silence the
speakers straight from this thread, before the session even sees the command.

Barge-in (with an echo canceller and something to hold): when the user starts talking
over the assistant, its line is held at once, so the recognizer hears the rest of the
word clean; a command then acts, anything else lets the line carry on.

With an echo canceller and an event log, every `echo_stats_every_s` of audio (and once
as listening ends) an `echo_stats` event says how the canceller is doing: how far it took
the echo down over that stretch, and the output underruns so far (each one moves the
echo it has to find again).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from assistant.events import EventLog
from assistant.listening.barge_in import BargeInSettings
from assistant.listening.echo_canceller import EchoCanceller, EchoStats, reduction_db
from assistant.listening.hearing import Hearing, HearingEvent
from assistant.listening.input_recording import InputRecording
from assistant.listening.short_words import ShortWords
from assistant.listening.spotter import CommandSpotter
from assistant.listening.stop_spotter import StopSpotter
from assistant.ports import Recognizer
from assistant.session.guide import Command
from assistant.session.vocabulary import Vocabulary

Block = tuple[bytes, float]
"""16-bit mono PCM and the time.monotonic() of its first sample."""
CATCH_UP_S = 0.005
"""While the recognizer owes answers, the listener looks for them this often between
blocks (else an answer over 10 ms late waited for the next block, 50 ms on)."""


class Holdable(Protocol):
    """The output path: pause a line while the user talks over it, then carry on."""

    def hold(self) -> bool: ...
    def release(self) -> None: ...


class Listener:
    def __init__(
        self,
        recognizer: Recognizer,
        spotter: CommandSpotter,
        vocabulary: Vocabulary,
        inbox: queue.Queue[Command],
        events: EventLog | None = None,
        interrupt: Callable[[], None] | None = None,
        echo: EchoCanceller | None = None,
        barge_in: Holdable | None = None,
        recording: InputRecording | None = None,
        stop_spotter: StopSpotter | None = None,
        short_words: ShortWords | None = None,
        echo_stats_every_s: float = 60.0,
    ) -> None:
        """`echo`, if given, cleans each block of the assistant's own voice on this thread
        (never in the microphone callback) before the recognizer hears it; with
        `barge_in` too, the user talking over the assistant holds its line."""
        self.recognizer = recognizer
        self.spotter = spotter
        self.hearing = Hearing(recognizer, spotter, vocabulary, stop_spotter,
                               words=short_words)
        self.vocabulary = vocabulary
        self.inbox = inbox
        self.events = events
        self.interrupt = interrupt
        self.echo = echo
        self._blocks: queue.Queue[Block | None] = queue.Queue()
        self._grammar: frozenset[str] | None = None
        self._grammar_lock = threading.Lock()
        self._samples = 0
        self._stream_start: float | None = None
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)
        self._priority = vocabulary.priority_intents()
        self.barge_in = barge_in if echo is not None else None
        self.recording = recording
        if recording is not None and echo is not None:
            echo.record_to(recording.echo_inputs(echo.capture_header()))
        self._timing: BargeInSettings = echo.speech.settings if echo else BargeInSettings()
        self._held_at: float | None = None
        self._quiet_from: float | None = None
        self._alone_before: int | None = None
        """The canceller's `user_frames_alone` when the line was held for a barge-in
        (None: not held, or held for a spot)."""
        self._went_on = False
        """The user was heard going on with the line held for their barge-in."""
        self._stats_every_s = echo_stats_every_s
        self._stats_at: float | None = None
        """Stream time of the last `echo_stats` event (or of the first block)."""
        self._stats_before = EchoStats()
        if self.barge_in is not None:
            spotter.require_barge_in()

    def feed(self, pcm: bytes, at: float) -> None:
        self._blocks.put((pcm, at))

    def follow(self, valid: frozenset[str]) -> None:
        """Listen for these intents from now on (applied before the next block)."""
        with self._grammar_lock:
            self._grammar = valid
        self.spotter.set_valid(valid)

    def expect_answer(self, question: str | None) -> None:
        """See `CommandSpotter.expect_answer`."""
        self.spotter.expect_answer(question)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._blocks.put(None)
        self._thread.join(timeout=5)
        if self.recording is not None and not self._thread.is_alive():
            self.recording.close()

    def _run(self) -> None:
        while True:
            try:
                block = self._blocks.get(timeout=CATCH_UP_S if self.hearing.owed else None)
            except queue.Empty:
                for event in self.hearing.catch_up(self._stream_start or 0.0):
                    self._on(event)
                continue
            if block is None:
                break
            self._apply_grammar()
            raw, at = block
            pcm = raw
            if self.echo is not None:
                pcm = self.echo.process(raw, at)
                end = at + len(pcm) // 2 / self.recognizer.sample_rate
                self._follow_barge_in(end)
                self._report_echo(end)
            if self.recording is not None:
                self.recording.add(raw, pcm)
            start = at - self._samples / self.recognizer.sample_rate
            if self._stream_start is None or start < self._stream_start:
                self._stream_start = start
            self._samples += len(pcm) // 2
            for event in self.hearing.feed(pcm, self._stream_start):
                self._on(event)
        self._report_echo(None)

    def _report_echo(self, now: float | None) -> None:
        """An `echo_stats` event when `echo_stats_every_s` of audio have passed since the
        last one, and always at the end (`now` None): the echo's reduction over that
        stretch (None: nothing played), the seconds the filter ran, and counts so far."""
        if self.echo is None or self.events is None:
            return
        if now is not None:
            if self._stats_at is None:
                self._stats_at = now
            if now - self._stats_at < self._stats_every_s:
                return
            self._stats_at = now
        stats, before = self.echo.stats, self._stats_before
        reduction = reduction_db(before, stats)
        self.events.emit(
            "echo_stats",
            reduction_db=None if reduction is None else round(reduction, 1),
            echo_s=round((stats.active_frames - before.active_frames) * self.echo.n
                         / self.echo.rate, 1),
            underruns=self.echo.reference.underflows,
            shifts=self.echo.reference.glitches,
            resets=stats.resets, moves=stats.moves, rewinds=stats.rewinds,
            final=now is None,
        )
        self._stats_before = replace(stats)

    def _apply_grammar(self) -> None:
        with self._grammar_lock:
            valid, self._grammar = self._grammar, None
        if valid is not None:
            self.recognizer.set_phrases(self.vocabulary.phrases_for(valid))

    def _on(self, event: HearingEvent) -> None:
        if self.events is not None:
            since = round(event.start_s, 2), round(event.end_s, 2)
            if event.kind == "heard":
                self.events.emit("heard", text=event.text, final=event.final,
                                 decision=event.reason, start=since[0], end=since[1])
            else:
                self.events.emit(event.kind, reason=event.reason, start=since[0], end=since[1])
        if event.kind == "spotted":
            self._hold_for_spot()
        elif event.kind == "dismissed":
            self._end_hold("not_a_command")
        elif event.kind == "acted" and event.command is not None:
            self._act(event.command)

    def _hold_for_spot(self) -> None:
        """A "stop" may have been said: go quiet at once, as for a barge-in, while the
        second opinion decides (it says `acted` or `dismissed` within a moment)."""
        if self.barge_in is None or self._held_at is not None:
            return
        if self.echo is not None and not self.echo.assistant_audible:
            return
        if self.barge_in.hold():
            self._held_at, self._quiet_from, self._went_on = self._now(), None, False

    def _now(self) -> float:
        start = self._stream_start or 0.0
        return start + self._samples / self.recognizer.sample_rate

    def _act(self, cmd: Command) -> None:
        if cmd.intent in self._priority and self.interrupt is not None:
            self.interrupt()
            if self._held_at is not None:
                self._held_at = self._alone_before = None
                self.recognizer.expect_command(False)
        else:
            self._end_hold("command")
        self.inbox.put(cmd)

    def _follow_barge_in(self, now: float) -> None:
        """Hold the line when the user starts talking over it; carry on once they have
        been quiet a moment (time for the recognizer to decide) or after a cap."""
        if self.barge_in is None or self.echo is None:
            return
        speaking = self.echo.user_speaking
        if self._held_at is None:
            if speaking and self.echo.assistant_audible and self.barge_in.hold():
                self._held_at, self._quiet_from = now, None
                self._alone_before, self._went_on = self.echo.user_frames_alone, False
                self.spotter.note_barge_in(now)
                self.recognizer.expect_command(True)
                if self.events is not None:
                    self.events.emit("barge_in", at=round(now - (self._stream_start or now), 2))
            return
        if speaking:
            self._quiet_from = None
        elif self._quiet_from is None:
            self._quiet_from = now
        timing = self._timing
        if self._alone_before is not None and not self._went_on and (
                self.echo.user_frames_alone - self._alone_before >= timing.heard_on_frames):
            self.spotter.confirm_barge_in(self._held_at)
            self._went_on = True
        if self.hearing.pending:
            return
        if now - self._held_at >= timing.max_hold_s:
            self._end_hold("timeout")
        elif (self._quiet_from is not None and now - self._quiet_from >= timing.release_after_s
              and not self.hearing.owed):  # an answer owed may be the command held for
            self._end_hold("quiet")

    def _end_hold(self, why: str) -> None:
        if self._held_at is None or self.barge_in is None:
            return
        self._held_at = self._alone_before = None
        self.barge_in.release()
        self.recognizer.expect_command(False)
        if why != "command" and self.echo is not None:
            self.echo.relearn()
        if self.events is not None:
            self.events.emit("barge_in_end", why=why, user_went_on=self._went_on)
