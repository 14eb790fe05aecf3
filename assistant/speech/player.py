"""The single output path: speech and chimes are queued here and pulled by the audio callback.

Why it is shaped this way:
- `silence()` must be heard within 50 ms, so it never waits for anything: it bumps an
  epoch; the callback (every few ms) fades out anything older than that epoch over
  ~5 ms and drops the rest of the queue.
- The listener ignores the assistant's own voice using `recent()`, so each clip's start
  and end are stamped with the time it reaches the speaker (the stream's reported
  output latency included), not the time it was queued.
- The callback never takes a lock: it pops from a deque, reads plain attributes and
  appends immutable events; readers fold those events into records under their own lock.
- `hold()` pauses the line being spoken (the user started talking over it) and
  `release()` carries on from the start of the word it was held in; `silence()` ends a
  hold too. The held rest is a new clip at the front of the queue, so a record of what
  was heard stays true: the first part ended (cut) at the hold, the rest starts later.
- Taps (`add_tap`) see every block exactly as it goes out, with its DAC time: the echo
  canceller's reference. They run in the audio callback, so they must only copy and queue.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assistant.speech.audio_out import FloatAudio

Kind = Literal["speech", "chime"]
Tap = Callable[[FloatAudio, float, int], None]
"""Receives an output block (reused by the caller: copy it), its DAC time, its rate."""


@dataclass(frozen=True)
class PlayedLine:
    """One clip that reached the speakers; times are time.monotonic() seconds.

    `duration_s` is the clip's full length (where each word falls); when `cut` is
    true, `ended_at - started_at` is the part that was actually heard. For a chime,
    `text` is its kind ('step', 'switch', ...).
    """

    text: str
    kind: Kind
    started_at: float
    ended_at: float | None
    cut: bool
    duration_s: float


@dataclass(frozen=True)
class NowPlaying:
    text: str
    kind: Kind
    position_s: float


class _Clip:
    """A queued clip; the mutable fields belong to the audio callback alone."""

    __slots__ = ("audio", "epoch", "fade_left", "holding", "id", "kind", "offset", "text")

    def __init__(self, clip_id: int, text: str, kind: Kind, audio: FloatAudio, epoch: int):
        self.id = clip_id
        self.text = text
        self.kind: Kind = kind
        self.audio = audio
        self.epoch = epoch
        self.offset = 0
        self.fade_left: int | None = None
        self.holding = False
        """Fading out for a hold: the rest is queued again, not dropped."""


@dataclass
class _Record:
    text: str
    kind: Kind
    started_at: float
    duration_s: float
    ended_at: float | None = None
    cut: bool = False

    def frozen(self) -> PlayedLine:
        return PlayedLine(
            self.text, self.kind, self.started_at, self.ended_at, self.cut, self.duration_s
        )


_Event = tuple[Literal["start", "end", "cut"], _Clip, float]
"""What the callback reports: a clip started, ended, or ended by a cut, at a time."""


class Player:
    """Plays clips in order through one output stream; see the module docstring."""

    def __init__(
        self,
        sample_rate: int,
        *,
        gain: float = 1.0,
        fade_s: float = 0.005,
        history: int = 200,
        clock: Callable[[], float] = time.monotonic,
        rewind_s: float = 0.8,
        chime_tail_s: float = 0.3,
    ) -> None:
        self.sample_rate = sample_rate
        self._fade_frames = max(1, round(fade_s * sample_rate))
        self._clock = clock
        self._history = history
        self._queue: deque[_Clip] = deque()
        self._current: _Clip | None = None
        self._epoch = 0
        self._gain = gain
        self._applied_gain = gain
        self._ids = itertools.count(1)
        self._queued = 0
        """Clips handed to play(); written by callers under _lock."""
        self._finished = 0
        """Clips ended or dropped; written by the callback only."""
        self._heard_until = 0.0
        """When the last written non-silent frame reaches the speaker."""
        self._events: deque[_Event] = deque()
        self._records: dict[int, _Record] = {}
        self._lock = threading.Lock()
        self._taps: tuple[Tap, ...] = ()
        self._underflow_taps: tuple[Callable[[], None], ...] = ()
        self._held = False
        """Set by callers: nothing new starts, and what plays is paused."""
        self._rewind_s = rewind_s
        self._chime_tail_s = chime_tail_s
        self._chime_heard_until = 0.0
        """When the last chime, and what the echo canceller leaves of it, has faded."""

    # -- callers' side ---------------------------------------------------------

    def play(self, audio: FloatAudio, *, text: str, kind: Kind = "speech") -> None:
        """Queue a clip (mono float32 at this player's sample rate) after the others."""
        with self._lock:
            clip = _Clip(next(self._ids), text, kind, audio, self._epoch)
            self._queued += 1
            self._queue.append(clip)

    def silence(self) -> None:
        """Fade out what is playing and drop everything queued, within one callback."""
        with self._lock:
            self._epoch += 1
            self._held = False

    def hold(self) -> bool:
        """Pause what is playing within one callback; False when nothing was playing.

        Not during a chime or the moment after it: a chime is tonal, the echo canceller
        lets it through only 2-6 dB down, and holding the line that follows for what was
        its own chime (the stop chime, then "Stopped...") delayed that line by ~0.9 s."""
        with self._lock:
            playing = (
                self._current is not None and self._current.fade_left is None
                and self._current.kind != "chime" and self._clock() >= self._chime_heard_until
            )
            self._held = playing or self._held
            return playing

    def release(self) -> None:
        """Carry on after `hold()`, from the start of the word it stopped in."""
        self._held = False

    def add_tap(self, tap: Tap) -> None:
        """Call `tap` with every output block from now on (see `Tap`)."""
        with self._lock:
            self._taps = (*self._taps, tap)

    def add_underflow_tap(self, tap: Callable[[], None]) -> None:
        """Call `tap` (from the audio callback) whenever the output ran dry."""
        with self._lock:
            self._underflow_taps = (*self._underflow_taps, tap)

    def set_gain(self, gain: float) -> None:
        """Linear gain, ramped over one block in the callback so it never clicks."""
        self._gain = gain

    def busy(self) -> bool:
        """True while a clip is queued or playing, or its tail is still in the output."""
        return self._queued != self._finished or self._clock() < self._heard_until

    def now_playing(self) -> NowPlaying | None:
        """The clip being heard at this moment and how far into it, if any."""
        now = self._clock()
        with self._lock:
            self._fold()
            audible = [
                r for r in self._records.values()
                if r.started_at <= now and (r.ended_at is None or now < r.ended_at)
            ]
        if not audible:
            return None
        latest = max(audible, key=lambda r: r.started_at)
        return NowPlaying(latest.text, latest.kind, now - latest.started_at)

    def recent(self, since: float) -> list[PlayedLine]:
        """Clips audible at any time from `since` on, oldest first."""
        with self._lock:
            self._fold()
            return [
                r.frozen() for r in self._records.values()
                if r.ended_at is None or r.ended_at >= since
            ]

    def _fold(self) -> None:
        while self._events:
            what, clip, at = self._events.popleft()
            if what == "start":
                duration = len(clip.audio) / self.sample_rate
                self._records[clip.id] = _Record(clip.text, clip.kind, at, duration)
            elif (record := self._records.get(clip.id)) is not None:
                record.ended_at = at
                record.cut = what == "cut"
        while len(self._records) > self._history:
            del self._records[next(iter(self._records))]

    # -- audio callback side ---------------------------------------------------

    def fill(self, out: FloatAudio, dac_time: float) -> None:
        """FrameSource: write the next len(out) frames; called from the audio thread."""
        out.fill(0.0)
        n = len(out)
        pos = 0
        rate = self.sample_rate
        while pos < n:
            clip = self._current or self._start_next(dac_time + pos / rate)
            if clip is None:
                break
            if clip.fade_left is None and (clip.epoch < self._epoch or self._held):
                clip.fade_left = min(self._fade_frames, len(clip.audio) - clip.offset)
                clip.holding = clip.epoch == self._epoch
            pos = self._copy(clip, out, pos)
            if clip.kind == "chime":
                self._chime_heard_until = dac_time + pos / rate + self._chime_tail_s
            if clip.offset >= len(clip.audio) or clip.fade_left == 0:
                what: Literal["end", "cut"] = "end" if clip.fade_left is None else "cut"
                self._events.append((what, clip, dac_time + pos / rate))
                self._current = None
                if clip.holding and clip.epoch == self._epoch and clip.offset < len(clip.audio):
                    self._queue.appendleft(self._rest_of(clip))
                else:
                    self._finished += 1
        if pos:
            self._heard_until = dac_time + pos / rate
        self._apply_gain(out)
        for tap in self._taps:
            tap(out, dac_time, rate)

    def underflowed(self) -> None:
        """FrameSource: the stream ran dry; the echo canceller's reference moved."""
        for tap in self._underflow_taps:
            tap()

    def _start_next(self, at: float) -> _Clip | None:
        while self._queue:
            if self._queue[0].epoch == self._epoch:
                if self._held:
                    return None
                clip = self._queue.popleft()
                self._current = clip
                self._events.append(("start", clip, at - clip.offset / self.sample_rate))
                return clip
            self._queue.popleft()
            self._finished += 1
        return None

    def _rest_of(self, clip: _Clip) -> _Clip:
        """What is left of a held clip, from the quiet before the word it was held in
        (within `rewind_s`), so the user hears that word whole when it resumes."""
        rest = _Clip(next(self._ids), clip.text, clip.kind, clip.audio, clip.epoch)
        frame = max(1, self.sample_rate // 100)
        lo = max(0, clip.offset - round(self._rewind_s * self.sample_rate))
        span = clip.audio[lo : clip.offset]
        rest.offset = lo
        if len(span) >= frame:
            frames = span[: len(span) // frame * frame].reshape(-1, frame)
            loud = np.sqrt(np.mean(frames**2, axis=1))
            quiet = np.flatnonzero(loud < 0.03 * (float(np.max(np.abs(clip.audio))) + 1e-9))
            if quiet.size:
                rest.offset = lo + int(quiet[-1]) * frame
        return rest

    def _copy(self, clip: _Clip, out: FloatAudio, pos: int) -> int:
        left = len(clip.audio) - clip.offset
        if clip.fade_left is not None:
            left = min(left, clip.fade_left)
        take = min(len(out) - pos, left)
        chunk = clip.audio[clip.offset : clip.offset + take]
        if clip.fade_left is None:
            out[pos : pos + take] = chunk
        else:
            ramp = (clip.fade_left - np.arange(1, take + 1)) / self._fade_frames
            out[pos : pos + take] = chunk * ramp.astype(np.float32)
            clip.fade_left -= take
        clip.offset += take
        return pos + take

    def _apply_gain(self, out: FloatAudio) -> None:
        target = self._gain
        if target == self._applied_gain:
            if target != 1.0:
                out *= np.float32(target)
            return
        out *= np.linspace(self._applied_gain, target, len(out), dtype=np.float32)
        self._applied_gain = target
