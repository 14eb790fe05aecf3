"""The echo canceller: joins the parts that take the assistant's own voice out of the
microphone signal.

Why: the recognizer must hear the user, not the assistant, or it mishears an instruction
as "stop". The player knows exactly what it sent to the speakers and when it is heard
(`dac_time`); the microphone knows when it captured each block. The echo is that
reference passed through the room (delay, gain, reverb), so an adaptive filter learns the
path and subtracts its estimate.

- `reference.EchoReference`: the player's output, by time, at the microphone's rate.
- `adaptive_filter.AdaptiveFilter`: learns the echo's path and predicts the echo (the
  MDF design of Speex with Valin's step control). Not enough as a held line's echo
  fades under the user's word: so while the user talks (`speech`), the filter does not
  learn, and it goes back to where it was before their first words (decided here).
- `delay`: GCC-PHAT measures the echo's lag (it steps at every output underrun) and the
  reference is read at that lag; the first good measurement also seeds the filter when a
  short path explains the echo.
- `suppressor.ResidualSuppressor`: can attenuate frames holding nothing but leftover
  echo; off by default.
- `comfort_noise.ComfortNoise`: masks what the linear filter leaves.

`speech` judges, frame by frame, whether the user is talking (barge-in). With no
reference sound the microphone passes through as is.

Pure numpy: no audio library here.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from assistant.listening.barge_in import BargeInSettings, SpeechOverEcho
from assistant.listening.echo_canceller.adaptive_filter import AdaptiveFilter
from assistant.listening.echo_canceller.arrays import INT16, Complex, FloatArray, Real
from assistant.listening.echo_canceller.comfort_noise import ComfortNoise
from assistant.listening.echo_canceller.delay import DelayEstimator, LagTracker
from assistant.listening.echo_canceller.reference import ClockFollower, EchoReference
from assistant.listening.echo_canceller.suppressor import ResidualSuppressor
from assistant.listening.echo_capture import CaptureHeader, EchoCaptureWriter

_GAP_TOLERANCE_S = 0.015
"""Microphone blocks this much later than counting puts them, for a whole window, mean
samples were lost: the count moves on by that much."""
_SEED_HALF_TAPS = 8
"""The seeded filter spans this many taps either side of the measured lag."""
_SNAPSHOT_EVERY = 10
"""Learnt frames between the copies of the filter kept for undoing double talk."""
_CANCELLING_DB = 15.0
"""A filter that took the echo this far down before the user spoke is worth keeping
through their words; a worse one (still learning from zero) learns on regardless."""
_RESEED_GAIN_DB = 10.0
"""A measured short path replaces a filter cancelling under `_CANCELLING_DB` when it
beats it by this much (see `_seed`)."""
_UNFREEZE_S = 0.3
"""The filter learns again once the user has been quiet this long."""
_CANCELLING_DECAY = 0.95
"""Per frame, the running sums of echo in and echo left fade by this (about 0.2 s)."""
_GAP_WINDOW = 4
"""Microphone blocks (about 200 ms) that must all be late before samples count as lost."""


@dataclass
class EchoStats:
    """Running figures for debugging and tests; energies in int16 units squared."""

    frames: int = 0
    active_frames: int = 0
    """Frames where the reference had sound and the filter ran."""
    mic_energy: float = 0.0
    out_energy: float = 0.0
    delay_estimates: int = 0
    lag_samples: int = 0
    """The last GCC-PHAT estimate: the mic hears the reference this much after its time."""
    lag_confidence: float = 0.0
    resets: int = 0
    """Times the filter started from zero (it diverged, or held the line for nothing three
    times in a short while)."""
    seeded_gain: float | None = None
    """The echo path's gain the filter started from (see AdaptiveFilter.seed)."""
    seeds: int = 0
    """Times the filter was started from a measured path (once, and after each reset)."""
    moves: int = 0
    """Times the echo path was found elsewhere and the filter moved along."""
    rewinds: int = 0
    """Times the filter went back to before the user started talking (double talk)."""
    late_frames: int = 0
    """Frames whose reference had not arrived yet (read as silence)."""
    suppressed_frames: int = 0
    """Frames the residual echo suppressor attenuated by more than 6 dB."""
    echo_energy: float = 0.0
    """The microphone's energy in frames where the filter ran and the user was not heard
    (the echo, with whatever else the room held)."""
    echo_left_energy: float = 0.0
    """What the linear filter left of them (before the suppressor, when it is on, and the
    comfort noise; a frame the filter made worse passes as it was): echo_energy over this
    is the reduction (ERLE)."""


def reduction_db(before: EchoStats, after: EchoStats) -> float | None:
    """How far the echo was taken down between two snapshots of the stats (dB); None when
    no echo was cancelled in between."""
    echo = after.echo_energy - before.echo_energy
    left = after.echo_left_energy - before.echo_left_energy
    if echo <= 0.0:
        return None
    return 10 * math.log10(echo / max(left, 1e-9))


class EchoCanceller:
    """Subtracts the reference's echo from 16-bit mono microphone blocks; see the module."""

    def __init__(
        self,
        reference: EchoReference,
        *,
        tail_seconds: float = 0.2,
        lead_seconds: float = 0.01,
        frame: int = 160,
        estimate_every_s: float = 0.5,
        suppress_residual: bool = False,
        barge_in: BargeInSettings | None = None,
        comfort_noise_dbfs: float | None = -50.0,
        quiet_comfort_noise_dbfs: float | None = -70.0,
        comfort_hold_seconds: float = 0.5,
        relearn_window_seconds: float = 10.0,
        double_talk_rewind_seconds: float = 0.3,
        double_talk_freeze_seconds: float = 1.5,
    ) -> None:
        """`tail_seconds`: filter length (room reverb plus timing error). `lead_seconds`:
        where the echo's direct path is placed inside the filter, so a timestamp a bit late
        still fits. `frame` should divide the microphone block, else output lags a frame."""
        self.reference = reference
        self.suppress_residual = suppress_residual
        self.rate = reference.rate
        self.n = frame
        self.parts = max(1, math.ceil(tail_seconds * self.rate / frame))
        self.lead = round(lead_seconds * self.rate)
        self.stats = EchoStats()
        self._adaptive = AdaptiveFilter(frame, self.parts, self.rate)
        self._silent_frames = self.parts + 1
        self._in = np.zeros(0, dtype=np.float32)
        self._out = np.zeros(0, dtype=np.float32)
        self._mic_anchor: float | None = None
        self._mic_count = 0
        self._mic_clock = ClockFollower(_GAP_TOLERANCE_S, _GAP_WINDOW)
        self._offset = 0
        self._lag = LagTracker()
        self._glitches = 0
        self._estimator = DelayEstimator(self.rate)
        self._estimate_every = round(estimate_every_s * self.rate / frame)
        self._since_estimate = 0
        self._bad_frames = 0
        self._suppressor = ResidualSuppressor()
        self._unsure = False
        """Since an output underrun, until the echo's new lag is measured."""
        self._confirmed = False
        """The echo's lag has been measured (twice alike) at least once. Until then the
        filter learns, but its output is not trusted to tell the user from the echo:
        measured, a filter trusted after 1.5 s of learning from zero still let enough
        echo through to hold the line for nothing, which then cost the user's real
        "stop" two seconds later. (Trusting a fresh seed at once was tried: it held
        the line for nothing 2 s in, and the favoured recognizer heard "wait".)"""
        self._read_at: int | None = None
        self._comfort = ComfortNoise(
            comfort_noise_dbfs, quiet_comfort_noise_dbfs,
            round(comfort_hold_seconds * self.rate / frame),
        )
        self.speech = SpeechOverEcho(barge_in)
        """Whether the user is talking, judged frame by frame from what is left."""
        self.user_frames_alone = 0
        """Frames so far judged the user's voice with none of the assistant's sound in
        them: no leftover of the echo can be one (see `BargeInSettings.heard_on_frames`)."""
        self._settle_frames = round(self.speech.settings.settle_s * self.rate / frame)
        self._relearn_window = round(relearn_window_seconds * self.rate / frame)
        self._relearnt_at: list[int] = []
        """Frame counts at the recent calls to `relearn`."""
        self._rewind_frames = round(double_talk_rewind_seconds * self.rate / frame)
        self._max_frozen = round(double_talk_freeze_seconds * self.rate / frame)
        self._unfreeze_frames = round(_UNFREEZE_S * self.rate / frame)
        self._frozen = 0
        self._freezing = False
        self._spoke_at = 0
        """Frame count when the user was last heard talking over the echo."""
        self._echo_in = 0.0
        self._echo_left = 0.0
        self._snapshots: deque[tuple[int, float, Complex]] = deque(
            maxlen=self._rewind_frames // _SNAPSHOT_EVERY + 2
        )
        self._capture: EchoCaptureWriter | None = None
        self._underflows = 0
        """The output underruns counted when the block being processed came in."""
        self._reset_filter()

    def capture_header(self) -> CaptureHeader:
        """What a replay needs to build this canceller again."""
        return CaptureHeader(self.rate, self.parts * self.n / self.rate, self.n)

    def record_to(self, capture: EchoCaptureWriter) -> None:
        """Keep every input from now on (see `echo_capture`); listener thread only."""
        self._capture = capture

    def _reset_filter(self) -> None:
        self._adaptive.reset()
        self._snapshots.clear()
        self._freezing = False

    def relearn(self) -> None:
        """Distrust the filter until the echo's lag is measured again; if this is the
        third time within `relearn_window_seconds`, also start the filter from zero.
        The listener calls this when a barge-in turned out to be nothing. Often the echo
        had moved (an underrun), and holding the line on the leftovers would repeat every
        second: a new measurement puts the filter back in place, and a filter that is
        wrong anyway keeps failing and is reset. Resetting it at once left barge-in blind
        for about two seconds (it must learn again before it is trusted): in the room,
        a false hold as a line began was followed by the user's real "stop", unheard.
        Not at the second either: false holds came in pairs there (on "Stopping." and
        on the line after "resume"), and a reset then left the "stop" after them unheard."""
        if self._capture is not None:
            self._capture.relearn()
        frames = self.stats.frames
        self._relearnt_at = [t for t in self._relearnt_at if frames - t <= self._relearn_window]
        self._relearnt_at.append(frames)
        if len(self._relearnt_at) >= 3:
            self._relearnt_at.clear()
            self._reset_filter()
            self.stats.resets += 1
        self._estimator.restart()
        self._since_estimate = self._estimate_every
        self._unsure = True

    @property
    def user_speaking(self) -> bool:
        """The user's voice is in the last ~100 ms (over the assistant's, or alone)."""
        return self.speech.speaking

    @property
    def assistant_audible(self) -> bool:
        """The assistant's own sound is reaching the microphone now."""
        return self._silent_frames == 0

    def path_peak_s(self) -> float:
        """Where the learnt echo path peaks, in seconds into the filter (diagnostics)."""
        return self._adaptive.peak_s()

    def process(self, pcm: bytes, at: float) -> bytes:
        """The block with the echo removed, same length; `at` is its first sample's time."""
        capture = self._capture
        self.reference.drain(capture.speaker if capture is not None else None)
        self._underflows = self.reference.underflows  # once per block: a replay sees it
        if capture is not None:
            capture.microphone(pcm, at, self._underflows)
        mic = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        self._follow_mic_clock(at)
        self._in = np.concatenate([self._in, mic])
        done: list[FloatArray] = [self._out]
        while len(self._in) >= self.n:
            frame, self._in = self._in[: self.n], self._in[self.n :]
            done.append(self._comfort.add(self._frame(frame)))
        out = np.concatenate(done)
        if len(out) < len(mic):
            out = np.concatenate([np.zeros(len(mic) - len(out), dtype=np.float32), out])
        result, self._out = out[: len(mic)], out[len(mic) :]
        self.stats.mic_energy += float(np.sum(mic.astype(np.float64) ** 2))
        self.stats.out_energy += float(np.sum(result.astype(np.float64) ** 2))
        return np.clip(np.round(result), -32768, 32767).astype("<i2").tobytes()

    def _follow_mic_clock(self, at: float) -> None:
        """Map mic samples to reference indices by counting; re-anchor only on a jump."""
        start = self._mic_count + len(self._in)
        anchor = self._mic_anchor
        if anchor is None:
            anchor = self._mic_anchor = at - start / self.rate
        elif (jump := self._mic_clock.update(at - (anchor + start / self.rate))) is not None:
            anchor = self._mic_anchor = anchor + jump  # samples were lost
            self._estimator.restart()
        if self.reference.anchor is not None:
            self._offset = round((anchor - self.reference.anchor) * self.rate)

    def _frame(self, d: FloatArray) -> FloatArray:
        self._comfort.next_frame()
        n = self.n
        first = self._mic_count
        self._mic_count += n
        self.stats.frames += 1
        if self.reference.anchor is None:
            return self._alone(d)
        at = first + self._offset
        self._estimator.add(d / INT16, at + n)
        glitches = self.reference.glitches + self._underflows
        if glitches != self._glitches:
            self._glitches = glitches
            self._estimator.restart()
            self._since_estimate = self._estimate_every
            self._unsure = True
        # Measured whether or not the reference sounds where it is read now: after a shift
        # it may be silent there while the echo plays elsewhere, and waiting for sound at
        # the old place would never find the new one.
        self._since_estimate += 1
        if self._since_estimate >= self._estimate_every and self._check_delay():
            self._since_estimate = 0
        r = at + self.lead - self._lag.lag
        self._follow_jump(r)
        if self.reference.written < r + n:
            self.stats.late_frames += 1
        x2 = self._reference_frames(r, 2) * INT16
        if x2.any():
            self._silent_frames = 0
        else:
            self._silent_frames += 1
            if self._silent_frames > self.parts:
                # Still unsure after a pause: only a measurement says where the echo went
                # (a line held by a false barge-in would otherwise clear it, and be held
                # again the moment it resumed).
                return self._alone(d)
        self.stats.active_frames += 1
        self._comfort.echo_present()
        return self._filter(d.astype(np.float64), x2.astype(np.float64))

    def _alone(self, d: FloatArray) -> FloatArray:
        """No echo to cancel: the microphone as it is."""
        energy = float(d.astype(np.float64) @ d)
        self.speech.frame(energy, energy, len(d), echo=False, trusted=True)
        self.user_frames_alone += self.speech.voiced
        return d

    def _reference_frames(self, r: int, frames: int) -> FloatArray:
        """The reference for `frames` frames ending one frame after position r."""
        return self.reference.read(r - (frames - 1) * self.n, frames * self.n)

    def _filter(self, d: Real, x2: Real) -> FloatArray:
        n = self.n
        estimate = self._adaptive.estimate(d, x2)
        e, syy, see, sdd = (estimate.error, estimate.echo_energy, estimate.error_energy,
                            estimate.mic_energy)
        # While unsure (an underrun moved the echo, its new lag not yet confirmed) the
        # reference is misaligned: learning then wrecked a good filter for seconds.
        if not self._unsure and not self._user_talking():
            self._adaptive.learn(estimate)
            if self._adaptive.learnt_frames % _SNAPSHOT_EVERY == 0:
                self._snapshots.append(
                    (self.stats.frames, self._cancelling_db(), self._adaptive.w.copy()))
        settled = self._adaptive.learnt_frames >= self._settle_frames
        trusted = self._confirmed and not self._unsure and settled
        was_speaking = self.speech.speaking
        self.speech.frame(see, sdd, n, echo=True, trusted=trusted and see <= 2.0 * sdd)
        self.user_frames_alone += self.speech.voiced and self._silent_frames > 0
        if self.speech.speaking and not was_speaking and not self._freezing:
            self._rewind()
        worse = see > 2.0 * sdd + n * 100.0  # the filter added sound: the mic passes as it was
        if not self.speech.speaking:
            self._echo_in = _CANCELLING_DECAY * self._echo_in + sdd
            self._echo_left = _CANCELLING_DECAY * self._echo_left + see
            self.stats.echo_energy += sdd
            self.stats.echo_left_energy += sdd if worse else see
        if worse:
            self._bad_frames += 1
            if self._bad_frames > 50:
                self.stats.resets += 1
                self._reset_filter()
                self._bad_frames = 0
            return d.astype(np.float32)
        self._bad_frames = 0
        if not self.suppress_residual:
            return e.astype(np.float32)
        out = self._suppressor.apply(e, syy, see, self._adaptive.leak, self._unsure)
        self.stats.suppressed_frames += self._suppressor.gain < 0.5
        return out

    def _cancelling_db(self) -> float:
        """How far the filter has taken the echo down over the last ~0.2 s."""
        return 10 * math.log10((self._echo_in + 1.0) / (self._echo_left + 1.0))

    def _user_talking(self) -> bool:
        """Double talk: the user's voice is in the microphone with the echo. Learning then
        fits the filter to the user: in the room, one spoken "stop" over a line left the
        filter's stray taps 15 dB up, the next line after "resume" came out of it 0 dB
        over the microphone, and was held for nothing. Only a filter that was cancelling
        well is kept (see `_rewind`), until the user has been quiet `_UNFREEZE_S` (the
        barge-in judgement flickers within a word), and at most
        `double_talk_freeze_seconds`, so a filter that only looks like the user (it went
        wrong) is never stuck."""
        if self.speech.speaking:
            self._spoke_at = self.stats.frames
        elif self.stats.frames - self._spoke_at > self._unfreeze_frames:
            self._freezing = False
        if not self._freezing:
            return False
        self._frozen += 1
        return self._frozen <= self._max_frozen

    def _rewind(self) -> None:
        """The user was noticed talking: undo what the filter learnt from their first
        words (noticed about 70 ms in, after they were learnt from), if it was cancelling
        the echo well before them. A filter still learning from zero is not held back: its
        own leftovers look like the user, and freezing it kept it that way."""
        keep = self.stats.frames - self._rewind_frames
        older = [(cancelled, w) for at, cancelled, w in self._snapshots if at <= keep]
        if older and older[-1][0] >= _CANCELLING_DB:
            self._adaptive.w = older[-1][1].copy()
            self._freezing, self._frozen = True, 0
            self.stats.rewinds += 1
        self._snapshots.clear()

    def _check_delay(self) -> bool:
        """Measure the lag if there is enough audio; False when there was not."""
        found = self._estimator.estimate(self.reference)
        if found is None:
            return False
        lag, confidence = found
        self.stats.delay_estimates += 1
        self.stats.lag_samples, self.stats.lag_confidence = lag, round(confidence, 1)
        if confidence >= 10.0:
            self._lag.add(lag)
            if abs(lag - self._lag.lag) <= self._lag.tolerance:  # confirmed, not a stray
                self._unsure = False
                self._confirmed = True
                self._seed(self._lag.lag)
        return True

    def _seed(self, lag: int) -> None:
        """Start the filter from the echo's direct path: the measured lag, at the gain
        that best maps the reference onto the microphone there. Learning from zero took
        five seconds of speech or more (barge-in untrusted all that while, and the first
        lines barely cancelled); from here it refines a filter that already works.

        Again whenever the filter cancels under `_CANCELLING_DB` and the short path beats
        it by `_RESEED_GAIN_DB` (a reverberant room's never fits that well): an underrun
        can move the echo by a sample or two, under the lag tracker's tolerance, and half
        a sample off a seeded path leaves about 10 dB. Under load at a session's start
        (CI), the filter then cancelled 5-15 dB for seconds, the line was held for nothing
        two or three times, and once its own opening lines were heard as "ouch" (pain)."""
        left = 1.0
        if self._adaptive.seeded:
            cancelled_db = self._cancelling_db()
            if cancelled_db >= _CANCELLING_DB or self._silent_frames > 0:
                return  # cancelling well, or no echo of late to judge it by
            left = 10 ** (-(cancelled_db + _RESEED_GAIN_DB) / 10)
        mic, ref = self._estimator.aligned(self.reference, lag, _SEED_HALF_TAPS)
        gain = self._adaptive.seed(mic, ref, self.lead, _SEED_HALF_TAPS, left)
        if gain is not None:
            self._snapshots.clear()
            self.stats.seeded_gain = round(gain, 3)
            self.stats.seeds += 1

    def _follow_jump(self, r: int) -> None:
        """When the read position jumps (a new lag, a re-anchored clock), the echo moved
        with it: the taps stay, the reference history is re-read at the new place."""
        expected, self._read_at = self._read_at, r + self.n
        if expected is not None and abs(r - expected) >= 1:
            self._refill(r)
            self.stats.moves += 1

    def _refill(self, r: int) -> None:
        """Rebuild the spectra of the frames before the one starting at reference index r."""
        self._adaptive.refill(self._reference_frames(r - self.n, self.parts + 1) * INT16)
