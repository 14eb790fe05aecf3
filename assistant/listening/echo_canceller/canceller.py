"""Acoustic echo cancellation: take the assistant's own voice out of the microphone signal.

Why: the recognizer must hear the user, not the assistant, or it mishears an instruction
as "stop". The player knows exactly what it sent to the speakers and when it is heard
(`dac_time`); the microphone knows when it captured each block. The echo is that
reference passed through the room (delay, gain, reverb), so an adaptive filter learns the
path and subtracts its estimate.

- `EchoReference`: the player's output, resampled to the microphone's rate into a ring
  of a few seconds, placed by counting samples. Block times only reveal underruns (see
  `_ClockFollower`). `write` runs in the audio callback and only appends to a deque; the
  listener thread folds the blocks in.
- `EchoCanceller`: a partitioned-block frequency-domain NLMS filter (the MDF design of
  Speex), with Valin's step control: the step follows the estimated residual echo over
  the error, so it shrinks when the user talks over the assistant. Not enough as a held
  line's echo fades under the user's word: so while the user talks (`speech`), the
  filter does not learn, and it goes back to where it was before their first words.
  GCC-PHAT measures the echo's lag (it steps at every output underrun) and the reference
  is read at that lag; the first good measurement also seeds the filter when a short
  path explains the echo. A residual echo suppressor can attenuate frames holding
  nothing but leftover echo; it is off by default, because it also clipped the start of
  the user's words under the assistant's voice, and comfort noise masks what the linear
  filter leaves (30-50 dB down in the room). `speech` judges, frame by frame, whether
  the user is talking (barge-in). With no reference sound the microphone passes through
  as is.

Pure numpy: no audio library here.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assistant.listening.barge_in import BargeInSettings, SpeechOverEcho
from assistant.listening.echo_capture import CaptureHeader, EchoCaptureWriter

FloatArray = npt.NDArray[np.float32]
Real = npt.NDArray[np.float64]
Tap = Callable[[FloatArray, float, int], None]

_INT16 = 32768.0
_RES_OVER = 4.0
"""Residual echo taken as this many times the leakage estimate (a safety margin)."""
_RES_FLOOR = 0.03
"""The suppressor's deepest attenuation (-30 dB)."""
_RES_RELEASE = 0.5
"""Per frame, how fast the gain comes back up."""
_GAP_TOLERANCE_S = 0.015
"""Microphone blocks this much later than counting puts them, for a whole window, mean
samples were lost: the count moves on by that much."""
_DRIFT_FOLLOW = 0.02
"""Per block, how much of a small timing deviation is taken as the clocks' drift."""
_SHIFT_TOLERANCE_S = 0.004
"""Speaker blocks this much later than counting puts them, for a whole window, start a
new stretch: an underrun shifted the sound."""
_MIN_MIC_POWER = 1e-6
"""Below this (-60 dBFS) the microphone holds no echo worth measuring the lag from."""
_SEED_FIT = 10 ** (-15 / 10)
"""Seed only when the short path explains the echo to this (-15 dB) or better: measured,
seeding a reverberant synthetic room lowered its ERLE after 5 s from 22.9 to 19.3 dB."""
_SEED_HALF_TAPS = 8
"""The seeded filter spans this many taps either side of the measured lag."""
_SNAPSHOT_EVERY = 10
"""Learnt frames between the copies of the filter kept for undoing double talk."""
_CANCELLING_DB = 15.0
"""A filter that took the echo this far down before the user spoke is worth keeping
through their words; a worse one (still learning from zero) learns on regardless."""
_UNFREEZE_S = 0.3
"""The filter learns again once the user has been quiet this long."""
_CANCELLING_DECAY = 0.95
"""Per frame, the running sums of echo in and echo left fade by this (about 0.2 s)."""
_SHIFT_WINDOW = 16
"""Speaker blocks (about 90 ms) that must all be late before a shift is believed."""
_GAP_WINDOW = 4
"""Microphone blocks (about 200 ms) that must all be late before samples count as lost."""


class _ClockFollower:
    """Finds real jumps in a stream's block times against plain sample counting.

    Why not the times themselves: they are taken when the callback runs, and under load
    (the recognizer on the other core, the GIL) callbacks run late by tens of ms, then
    in bursts. A late callback never makes a block early, so the lower envelope of the
    deviations is the truth: it drifts slowly (the stream's clock against
    time.monotonic(), 0.45 ms/s in the room) and steps up when samples were lost or an
    underrun delayed the sound. A step counts once every block of a window is late.
    """

    def __init__(self, tolerance_s: float, window: int) -> None:
        self.tolerance = tolerance_s
        self._recent: deque[float] = deque(maxlen=window)
        self._base: float | None = None

    def restart(self) -> None:
        self._recent.clear()
        self._base = None

    def update(self, deviation: float) -> float | None:
        """The size of a confirmed jump (seconds, later), or None; after a jump the caller
        moves its counting by it, so deviations go back to the old level."""
        self._recent.append(deviation)
        if self._base is None or deviation < self._base:
            self._base = deviation
            return None
        if len(self._recent) < (self._recent.maxlen or 1):
            return None
        low = min(self._recent)
        if low - self._base > self.tolerance:  # the caller counts from the jump on
            self._recent.clear()
            return low - self._base
        self._base += _DRIFT_FOLLOW * (low - self._base)
        return None


class StreamResampler:
    """Band-limited polyphase (Kaiser-windowed sinc) resampling of a stream, block by block.

    Output sample m sits at input position m * from / to exactly, so a stretch's timing
    is kept: output 0 is input 0. Outputs lag the input by the kernel's half-width.
    """

    def __init__(self, from_rate: int, to_rate: int, zero_crossings: int = 10) -> None:
        common = math.gcd(from_rate, to_rate)
        self.up, self.down = to_rate // common, from_rate // common
        cutoff = 0.92 * min(from_rate, to_rate) / 2 / from_rate
        """Cycles per input sample."""
        half = math.ceil(zero_crossings / (2 * cutoff))
        self._offsets = np.arange(-half + 1, half + 1)
        x = (np.arange(self.up)[:, None] / self.up) - self._offsets[None, :]
        window = np.i0(8.0 * np.sqrt(np.clip(1 - (x / half) ** 2, 0, 1))) / np.i0(8.0)
        self._table = (2 * cutoff * np.sinc(2 * cutoff * x) * window).astype(np.float32)
        self._half = half
        self._buf = np.zeros(half, dtype=np.float32)
        self._buf_start = -half
        self._next = 0

    def process(self, block: FloatArray) -> FloatArray:
        if self.up == self.down:
            return block
        buf = np.concatenate([self._buf, block])
        end = self._buf_start + len(buf)
        last = ((end - self._half) * self.up - 1) // self.down
        m = np.arange(self._next, last + 1)
        if len(m) and buf.any():
            base = (m * self.down) // self.up
            taps = buf[base[:, None] + self._offsets[None, :] - self._buf_start]
            out = np.einsum("ij,ij->i", taps, self._table[(m * self.down) % self.up])
        else:
            out = np.zeros(len(m), dtype=np.float32)
        self._next = last + 1
        keep = (self._next * self.down) // self.up - self._half + 1 - self._buf_start
        self._buf = buf[keep:]
        self._buf_start += keep
        result: FloatArray = out.astype(np.float32, copy=False)
        return result


class EchoReference:
    """What the speakers played, at `rate_hertz`, by time; see the module docstring."""

    def __init__(
        self, rate_hertz: int = 16000, keep_seconds: float = 3.0, max_pending: int = 4096
    ) -> None:
        self.rate = rate_hertz
        self._pending: deque[tuple[FloatArray, float, int]] = deque(maxlen=max_pending)
        self._ring = np.zeros(round(keep_seconds * rate_hertz), dtype=np.float32)
        self._written = 0
        """Absolute index one past the newest sample written."""
        self.anchor: float | None = None
        """time.monotonic() of absolute index 0; None until the first block."""
        self._resampler: StreamResampler | None = None
        self._in_rate = 0
        self._expected = 0.0
        self._clock = _ClockFollower(_SHIFT_TOLERANCE_S, _SHIFT_WINDOW)
        self._stretch_time = 0.0
        self._stretch_in = 0
        self.glitches = 0
        """Shifts found (underruns): the echo moved."""
        self.underflows = 0
        """Underruns the output stream reported."""
        self._stretch_at = 0
        """Absolute index of the current stretch's first output sample."""
        self._stretch_out = 0

    def write(self, block: FloatArray, dac_time: float, sample_rate: int) -> None:
        """Player tap, from the audio callback: copy and queue, nothing else."""
        self._pending.append((block.copy(), dac_time, sample_rate))

    def underflowed(self) -> None:
        """Player underflow tap, from the audio callback: the sound is about to move.
        Counted at once, so the canceller stops trusting itself before the microphone
        hears the echo jump (the shift itself is placed once the block times show it)."""
        self.underflows += 1

    def drain(self, seen: Tap | None = None) -> None:
        """Fold queued blocks into the ring; called from the consuming thread. `seen` gets
        each block as it is folded in (a capture for replay)."""
        while self._pending:
            block, at, rate = self._pending.popleft()
            if seen is not None:
                seen(block, at, rate)
            if self._resampler is None or rate != self._in_rate:
                self._new_stretch(at, rate, None)
            elif (jump := self._clock.update(at - self._expected)) is not None:
                self.glitches += 1
                self._new_stretch(self._expected + jump, rate, jump)
            assert self._resampler is not None
            out = self._resampler.process(block)
            self._stretch_in += len(block)
            self._put(self._stretch_at + self._stretch_out, out)
            self._stretch_out += len(out)
            self._expected = self._stretch_time + self._stretch_in / rate

    def _new_stretch(self, at: float, rate: int, jump: float | None) -> None:
        """Start counting again from this block. Placed by the `jump` off the clock's
        trend, not by `at` itself: the stream's clock drifts from time.monotonic()
        (0.45 ms/s measured in the room) and the microphone's count drifts with it."""
        if self.anchor is None:
            self.anchor = at
        if jump is None:
            self._stretch_at = round((at - self.anchor) * self.rate)
        else:
            self._stretch_at += self._stretch_out + round(jump * self.rate)
        self._resampler = StreamResampler(rate, self.rate)
        self._in_rate = rate
        self._stretch_time = at
        self._stretch_out = 0
        self._stretch_in = 0
        if jump is None:
            self._clock.restart()

    def _put(self, start: int, samples: FloatArray) -> None:
        size = len(self._ring)
        if start > self._written:
            gap = np.arange(max(self._written, start - size), start)
            self._ring[gap % size] = 0.0
        samples = samples[-size:]
        self._ring[np.arange(start, start + len(samples)) % size] = samples
        self._written = max(self._written, start + len(samples))

    def read(self, start: int, n: int) -> FloatArray:
        """Samples [start, start + n) by absolute index; zeros where nothing is known."""
        size = len(self._ring)
        lo, hi = max(start, self._written - size, 0), min(start + n, self._written)
        out = np.zeros(n, dtype=np.float32)
        if lo < hi:
            out[lo - start : hi - start] = self._ring[np.arange(lo, hi) % size]
        return out

    @property
    def written(self) -> int:
        return self._written


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
    """The echo path's gain the filter started from (see EchoCanceller._seed)."""
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


class _DelayEstimator:
    """GCC-PHAT between the microphone and the reference over the last second or so."""

    def __init__(self, rate: int, window_s: float = 0.25, max_lag_s: float = 0.25) -> None:
        self.n = 1 << math.ceil(math.log2(window_s * rate))
        self.max_lag = round(max_lag_s * rate)
        self._mic = np.zeros(self.n, dtype=np.float32)
        self._mic_end = 0.0
        """Reference index (unshifted) just after the newest mic sample."""
        self._filled = 0

    def restart(self) -> None:
        """Forget the audio so far (the echo moved): the next estimate uses only new audio."""
        self._filled = 0

    def add(self, frame: FloatArray, ref_index_end: float) -> None:
        k = len(frame)
        self._mic[:-k] = self._mic[k:]
        self._mic[-k:] = frame
        self._mic_end = ref_index_end
        self._filled = min(self.n, self._filled + k)

    def aligned(self, reference: EchoReference, lag: int, spread: int) -> tuple[Real, Real]:
        """The window's microphone samples and the reference samples they echo, with
        `spread` more reference samples on each side."""
        start = round(self._mic_end) - self.n
        ref = reference.read(start - lag - spread, self.n + 2 * spread).astype(np.float64)
        return self._mic.astype(np.float64), ref

    def estimate(self, reference: EchoReference) -> tuple[int, float] | None:
        """(lag, confidence): the mic hears reference index i at mic position i + lag."""
        if self._filled < self.n or float(np.mean(self._mic**2)) < _MIN_MIC_POWER:
            return None  # too little audio, or no echo in it to find
        start = round(self._mic_end) - self.n
        ref = reference.read(start - self.max_lag, self.n + 2 * self.max_lag)
        if float(np.mean(ref**2)) < 1e-8:
            return None
        size = 1 << math.ceil(math.log2(len(ref) + self.n))
        spec = np.fft.rfft(self._mic, size) * np.conj(np.fft.rfft(ref, size))
        corr = np.fft.irfft(spec / (np.abs(spec) + 1e-12), size)
        # corr[k] = sum mic[t] ref[t - k] and mic[t] ~ ref[t + max_lag - lag]: k = lag - max_lag.
        lags = np.arange(-self.max_lag, self.max_lag + 1)
        values = corr[(lags - self.max_lag) % size]
        best = int(np.argmax(values))
        spread = float(np.std(values)) + 1e-12
        return int(lags[best]), float(values[best] / spread)


class _LagTracker:
    """The echo's lag (reference samples, against plain sample counting), from GCC-PHAT.

    Why not the timestamps alone: after an output underrun PortAudio's DAC times settle
    tens of ms away from where the sound really went (measured in the room), so the lag
    steps at each underrun. A new lag is taken when two estimates in a row agree (one
    taken at once after an underrun was sometimes measured across the jump, and wrong)."""

    def __init__(self, tolerance: int = 2) -> None:
        self.tolerance = tolerance
        self.lag = 0
        self._candidate: int | None = None

    def add(self, lag: int) -> None:
        if abs(lag - self.lag) <= self.tolerance:
            self._candidate = None
        elif self._candidate is not None and abs(lag - self._candidate) <= self.tolerance:
            self.lag, self._candidate = lag, None
        else:
            self._candidate = lag


def _rms(dbfs: float | None) -> float:
    """A level in dBFS as an RMS in int16 units; None (no noise) is 0."""
    return 0.0 if dbfs is None else _INT16 * 10 ** (dbfs / 20)


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
        bins = frame + 1
        self._w = np.zeros((self.parts, bins), dtype=np.complex128)
        self._x = np.zeros((self.parts, bins), dtype=np.complex128)
        self._power = np.zeros(bins)
        self._silent_frames = self.parts + 1
        self._in = np.zeros(0, dtype=np.float32)
        self._out = np.zeros(0, dtype=np.float32)
        self._mic_anchor: float | None = None
        self._mic_count = 0
        self._mic_clock = _ClockFollower(_GAP_TOLERANCE_S, _GAP_WINDOW)
        self._offset = 0
        self._lag = _LagTracker()
        self._glitches = 0
        self._estimator = _DelayEstimator(self.rate)
        self._estimate_every = round(estimate_every_s * self.rate / frame)
        self._since_estimate = 0
        self._bad_frames = 0
        self._gain = 1.0
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
        self._comfort = _rms(comfort_noise_dbfs)
        """Comfort noise (RMS, int16 units) while the assistant's echo may be in the
        microphone: what is taken out leaves near-digital silence, which pocketsphinx
        cannot segment or normalise (no "stop" found in 4 of 4 room takes), and the floor
        masks what the filter leaves (4 of 4 at -50 dBFS, 3 of 4 at -56)."""
        self._quiet_comfort = _rms(quiet_comfort_noise_dbfs)
        """The floor once the echo has been gone `comfort_hold_seconds`. Nothing to mask
        then, and -50 dBFS costs the user's words: of 131 real "stop" clips in that floor
        54 were heard, in -70 dBFS 83 (false accepts 24 and 21 of 225 clips)."""
        self._hold_frames = round(comfort_hold_seconds * self.rate / frame)
        self._since_echo = self._hold_frames + 1
        """Frames since the echo filter last ran (the assistant's sound could be in them)."""
        self._noise = np.random.default_rng(0)
        self.speech = SpeechOverEcho(barge_in)
        """Whether the user is talking, judged frame by frame from what is left."""
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
        self._snapshots: deque[tuple[int, float, npt.NDArray[np.complex128]]] = deque(
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
        self._w[:] = 0
        self._x[:] = 0
        self._power[:] = 0
        self._adapted = False
        self._seeded = False
        self._learnt_frames = 0
        self._sum_adapt = 0.0
        self._leak = 0.0
        self._pey = 0.0
        self._pyy = 1.0
        self._eh = np.zeros(self.n + 1)
        self._yh = np.zeros(self.n + 1)
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
        taps = np.fft.irfft(self._w, axis=1)[:, : self.n].ravel()
        return float(np.argmax(np.abs(taps))) / self.rate

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
            done.append(self._with_comfort(self._frame(frame)))
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
        self._since_echo += 1
        n = self.n
        first = self._mic_count
        self._mic_count += n
        self.stats.frames += 1
        if self.reference.anchor is None:
            return self._alone(d)
        at = first + self._offset
        self._estimator.add(d / _INT16, at + n)
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
        x2 = self._reference_frames(r, 2) * _INT16
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
        self._since_echo = 0
        return self._filter(d.astype(np.float64), x2.astype(np.float64))

    def _with_comfort(self, out: FloatArray) -> FloatArray:
        level = self._comfort if self._since_echo <= self._hold_frames else self._quiet_comfort
        if not level:
            return out
        return out + self._noise.normal(0.0, level, len(out)).astype(np.float32)

    def _alone(self, d: FloatArray) -> FloatArray:
        """No echo to cancel: the microphone as it is."""
        energy = float(d.astype(np.float64) @ d)
        self.speech.frame(energy, energy, len(d), echo=False, trusted=True)
        return d

    def _reference_frames(self, r: int, frames: int) -> FloatArray:
        """The reference for `frames` frames ending one frame after position r."""
        return self.reference.read(r - (frames - 1) * self.n, frames * self.n)

    def _filter(self, d: Real, x2: Real) -> FloatArray:
        n, parts = self.n, self.parts
        x_spec = np.fft.rfft(x2)
        self._x[1:] = self._x[:-1]
        self._x[0] = x_spec
        y = np.fft.irfft((self._w * self._x).sum(axis=0))[n:]
        e = d - y
        spectra = np.fft.rfft(np.concatenate([np.zeros((2, n)), np.stack([e, y])], axis=1))
        e_spec, y_spec = spectra[0], spectra[1]
        rf = e_spec.real**2 + e_spec.imag**2
        yf = y_spec.real**2 + y_spec.imag**2
        xf = x_spec.real**2 + x_spec.imag**2
        sxx, see, syy = float(x2[n:] @ x2[n:]), float(e @ e), float(y @ y)
        sey, sdd = float(e @ y), float(d @ d)
        self._power = 0.9 * self._power + 0.1 * xf
        mu = self._step(rf, yf, sxx, see, syy, sey)
        # The power is smoothed over frames, so at the first frame after a silence it is a
        # tenth of the frame's own: normalising by that would make the step ten times too
        # big and wreck the learnt path at every onset.
        step = mu / (parts * np.maximum(self._power, xf) + 10.0 * n)
        # Proportionate: partitions holding more of the echo path learn faster (sparse paths
        # converge in seconds instead of tens of seconds).
        # While unsure (an underrun moved the echo, its new lag not yet confirmed) the
        # reference is misaligned: learning then wrecked a good filter for seconds.
        if not self._unsure and not self._user_talking():
            norms = np.sqrt((self._w.real**2 + self._w.imag**2).sum(axis=1))
            share = norms + 0.1 * norms.max() + 1e-9
            grad = np.conj(self._x) * (e_spec * step)[None, :]
            grad *= (parts * share / share.sum())[:, None]
            self._w += grad
            taps = np.fft.irfft(self._w, axis=1)
            taps[:, n:] = 0.0
            self._w = np.fft.rfft(taps, axis=1)
            self._learnt_frames += 1
            if self._learnt_frames % _SNAPSHOT_EVERY == 0:
                cancelled = 10 * math.log10((self._echo_in + 1.0) / (self._echo_left + 1.0))
                self._snapshots.append((self.stats.frames, cancelled, self._w.copy()))
        settled = self._learnt_frames >= self._settle_frames
        trusted = self._confirmed and not self._unsure and settled
        was_speaking = self.speech.speaking
        self.speech.frame(see, sdd, n, echo=True, trusted=trusted and see <= 2.0 * sdd)
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
        return self._suppress(e, syy, see)

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
            self._w = older[-1][1].copy()
            self._freezing, self._frozen = True, 0
            self.stats.rewinds += 1
        self._snapshots.clear()

    def _suppress(self, e: Real, syy: float, see: float) -> FloatArray:
        """Residual echo suppression: what the linear filter leaves (20-30 dB down) is
        still heard as words by a recognizer that normalizes its input level. When the
        error is no louder than the residual echo expected from the leakage estimate, the
        frame is attenuated (ramped, so it never clicks); the user's voice on top of the
        echo keeps the error well above that estimate and passes."""
        residual = _RES_OVER * self._leak * syy
        if self._unsure:  # the echo moved and its new lag is not known yet: the filter
            residual = max(residual, syy)  # output is no better than the echo estimate
        gain = min(1.0, max(_RES_FLOOR, 1.0 - residual / (see + 1.0)))
        # Falls at once, recovers over a few frames.
        rise = self._gain + _RES_RELEASE * (gain - self._gain)
        target = gain if gain < self._gain else rise
        ramp = np.linspace(self._gain, target, len(e) + 1)[1:]
        self._gain = target
        self.stats.suppressed_frames += target < 0.5
        out: FloatArray = (e * ramp).astype(np.float32)
        return out

    def _step(
        self, rf: Real, yf: Real, sxx: float, see: float, syy: float, sey: float
    ) -> Real:
        """Valin's step control (as in Speex MDF): residual echo over error, per bin."""
        n = self.n
        see = see + 1.0
        average = n / self.rate
        pey = float(np.sum((rf - self._eh) * (yf - self._yh)))
        pyy = float(np.sum((yf - self._yh) ** 2))
        self._eh = (1 - average) * self._eh + average * rf
        self._yh = (1 - average) * self._yh + average * yf
        pyy = math.sqrt(pyy)
        pey = pey / (pyy + 1e-9)
        alpha = min(2 * average * syy, 0.5 * average * see) / see
        self._pey = (1 - alpha) * self._pey + alpha * pey
        self._pyy = max((1 - alpha) * self._pyy + alpha * pyy, 1.0)
        self._pey = min(max(self._pey, 0.005 * self._pyy), self._pyy)
        self._leak = self._pey / self._pyy
        rer = (1e-4 * sxx + 3.0 * self._leak * syy) / see
        rer = min(max(rer, sey * sey / (1 + see * syy)), 0.5)
        if not self._adapted and self._sum_adapt > self.parts and self._leak > 0.03:
            self._adapted = True
        e = rf + 1.0
        if self._adapted:
            r = np.minimum(self._leak * yf, 0.5 * e)
            mu: Real = (0.7 * r + 0.3 * rer * e) / e
            return mu
        rate = 0.0
        if sxx > n * 1000.0:
            rate = min(0.25 * sxx, 0.25 * see) / see
        self._sum_adapt += rate
        return np.full_like(rf, rate)

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
                if not self._seeded:
                    self._seed(self._lag.lag)
        return True

    def _seed(self, lag: int) -> None:
        """Start the filter from the echo's direct path: the measured lag, at the gain
        that best maps the reference onto the microphone there. Learning from zero took
        five seconds of speech or more (barge-in untrusted all that while, and the first
        lines barely cancelled); from here it refines a filter that already works."""
        k = _SEED_HALF_TAPS
        mic, ref = self._estimator.aligned(self.reference, lag, k)
        if float(ref @ ref) <= 0.0:
            return
        # A short least-squares FIR around the lag: the echo rarely sits on a whole
        # sample (resampling phase differs each run), and half a sample off leaves only
        # about 10 dB cancelled at 2 kHz.
        columns = np.stack([ref[2 * k - j : len(ref) - j] for j in range(2 * k + 1)], axis=1)
        fir = np.linalg.lstsq(columns, mic, rcond=None)[0]
        left = mic - columns @ fir
        if float(left @ left) > _SEED_FIT * float(mic @ mic):
            return  # a reverberant room: a short path would mislead the filter; learn it
        flat = np.zeros(self.parts * self.n)
        flat[self.lead - k : self.lead + k + 1] = fir
        taps = np.zeros((self.parts, 2 * self.n))
        taps[:, : self.n] = flat.reshape(self.parts, self.n)
        self._w = np.fft.rfft(taps, axis=1)
        self._seeded = True
        self.stats.seeded_gain = round(float(np.sum(fir)), 3)
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
        span = self._reference_frames(r - self.n, self.parts + 1) * _INT16
        frames = np.stack([span[i * self.n : i * self.n + 2 * self.n] for i in range(self.parts)])
        self._x = np.fft.rfft(frames[::-1].astype(np.float64), axis=1)
