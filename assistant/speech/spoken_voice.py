"""`ports.Voice` for the speakers (rendered speech + chimes via the player), and in print.

Lines are rendered on the TTS thread as soon as they are queued, so the next line is
ready while the current one plays; a small queue of pending renders keeps speech and
chimes in the order they were asked for. `silence()` bumps an epoch so renders that
finish afterwards are dropped instead of played.

`open_spoken_voice` is the one place that joins the TTS renderer, the player and the
sound device; it imports the adapters only when called.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import TextIO

from assistant.errors import AudioUnavailable
from assistant.settings import SpeechSettings
from assistant.speech.audio_out import Prefetching, Rendered, Renderer, resample
from assistant.speech.chimes import KINDS, chime
from assistant.speech.player import Kind, Player

MIN_RATE_WPM = 80
MAX_RATE_WPM = 400
MAX_GAIN = 1.0
CACHE_SECONDS = 20.0
"""Rendered audio kept for repeated lines: "repeat" answers at once. About 3.5 MB at
44.1 kHz (60 s was 10 MB, filling over a session's first minutes). A line said again
later (the step cues) comes from the render cache on disk, a few milliseconds away."""



@dataclass(frozen=True)
class _Pending:
    epoch: int
    text: str
    kind: Kind
    key: tuple[str, int, str | None] | None
    audio: Future[Rendered]


class SpokenVoice:
    """Speaks through a Player; see the module docstring."""

    def __init__(
        self,
        settings: SpeechSettings,
        renderer: Renderer,
        player: Player,
        *,
        closers: Sequence[Callable[[], None]] = (),
        engine: str = "",
    ) -> None:
        self.settings = settings
        self.engine = engine
        """Which engine speaks (`piper:joe`, `espeak`), for reports; empty when unknown."""
        self.renderer = renderer
        self.player = player
        self._closers = closers
        self._rate = settings.rate_wpm
        self._gain = min(max(settings.volume, 0.0), MAX_GAIN)
        self._min_gain = min(settings.volume_step, self._gain)
        player.set_gain(self._gain)
        self._epoch = 0
        self._pending: deque[_Pending] = deque()
        self._cache: OrderedDict[tuple[str, int, str | None], Rendered] = OrderedDict()
        self._cached_s = 0.0
        self._chimes = {kind: chime(kind, player.sample_rate) for kind in KINDS}
        self._lock = threading.Lock()
        self._pump_lock = threading.Lock()
        self._handing_over = False
        self.error: BaseException | None = None
        """The last render failure; that line was skipped."""
        self._answers: tuple[str, ...] = ()
        self._answers_rate: int | None = None

    # -- ports.Voice -----------------------------------------------------------

    def say(self, text: str) -> None:
        if not text.strip():
            return
        key = (text, self._rate, self.settings.voice)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        audio = _done(cached) if cached is not None else self.renderer.submit(
            text, self._rate, self.settings.voice
        )
        self._enqueue(text, "speech", key, audio)
        if self._answers and self._answers_rate != self._rate:
            self._prefetch_answers()

    def prefetch_answers(self, texts: Sequence[str]) -> None:
        """Lines that answer commands, rendered while the engine is idle (from the first
        line said, and again at each new pace), so an answer comes without the wait for
        a render (Piper: 0.1-0.4 s). Engines fast enough not to need it ignore it."""
        self._answers = tuple(dict.fromkeys(t for t in texts if t.strip()))
        self._answers_rate = None

    def chime(self, kind: str) -> None:
        if kind not in self._chimes:
            raise ValueError(f"unknown chime {kind!r}; expected one of {', '.join(KINDS)}")
        if not self.settings.chimes:
            return
        self._enqueue(kind, "chime", None, _done(Rendered(self._chimes[kind], self._player_rate)))

    def silence(self) -> None:
        with self._lock:
            self._epoch += 1
            self.player.silence()
            dropped = list(self._pending)
            self._pending.clear()
        for pending in dropped:  # outside the lock: cancel() runs done-callbacks at once
            pending.audio.cancel()

    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending) or self._handing_over or self.player.busy()

    def set_pace(self, factor: float) -> None:
        rate = round(self.settings.rate_wpm / max(factor, 0.1))
        self._rate = min(max(rate, MIN_RATE_WPM), MAX_RATE_WPM)

    def set_volume_step(self, step: int) -> bool:
        if step == 0:
            return True
        at_end = self._gain >= MAX_GAIN - 1e-6 if step > 0 else self._gain <= self._min_gain + 1e-6
        if at_end:
            return False
        gain = self._gain + step * self.settings.volume_step
        self._gain = round(min(max(gain, self._min_gain), MAX_GAIN), 4)
        self.player.set_gain(self._gain)
        return True

    # -- extras ----------------------------------------------------------------

    @property
    def rate_wpm(self) -> int:
        return self._rate

    @property
    def gain(self) -> float:
        return self._gain

    def audio_for(self, text: str) -> Rendered | None:
        """The audio played (or to be played) for `text` at the current pace, before gain,
        if it is still cached; espeak does not render a line identically twice."""
        with self._lock:
            return self._cache.get((text, self._rate, self.settings.voice))

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until nothing is queued or playing; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.busy():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self.silence()
        for close in self._closers:
            close()

    # -- ordering --------------------------------------------------------------

    @property
    def _player_rate(self) -> int:
        return self.player.sample_rate

    def _prefetch_answers(self) -> None:
        self._answers_rate = self._rate
        if isinstance(self.renderer, Prefetching):
            for text in self._answers:
                self.renderer.prefetch(text, self._rate, self.settings.voice)

    def _enqueue(
        self, text: str, kind: Kind, key: tuple[str, int, str | None] | None,
        audio: Future[Rendered],
    ) -> None:
        with self._lock:
            self._pending.append(_Pending(self._epoch, text, kind, key, audio))
        audio.add_done_callback(lambda _: self._pump())

    def _pump(self) -> None:
        """Hand finished renders to the player, in order; runs on whichever thread
        completed one (the TTS thread, or the caller for cached lines and chimes).

        `_pump_lock` keeps the order; `_lock` is only held for bookkeeping, never while
        resampling, so `silence()` and `busy()` never wait for a pump.
        """
        with self._pump_lock:
            while True:
                with self._lock:
                    if not self._pending or not self._pending[0].audio.done():
                        return
                    pending = self._pending.popleft()
                    if pending.epoch != self._epoch or pending.audio.cancelled():
                        continue
                    self._handing_over = True
                try:
                    self._hand_over(pending)
                finally:
                    with self._lock:
                        self._handing_over = False

    def _hand_over(self, pending: _Pending) -> None:
        error = pending.audio.exception()
        if error is not None:
            self.error = error
            return
        rendered = self._at_player_rate(pending.audio.result())
        with self._lock:
            if pending.key is not None:
                self._remember(pending.key, rendered)
            if pending.epoch == self._epoch:
                self.player.play(rendered.audio, text=pending.text, kind=pending.kind)

    def _at_player_rate(self, rendered: Rendered) -> Rendered:
        if rendered.sample_rate == self._player_rate:
            return rendered
        return Rendered(
            resample(rendered.audio, rendered.sample_rate, self._player_rate), self._player_rate
        )

    def _remember(self, key: tuple[str, int, str | None], rendered: Rendered) -> None:
        if key in self._cache:
            return
        self._cache[key] = rendered
        self._cached_s += rendered.duration_s
        while self._cached_s > CACHE_SECONDS and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached_s -= dropped.duration_s


def open_spoken_voice(
    settings: SpeechSettings, notice: Callable[[str], None] | None = None
) -> SpokenVoice:
    """A SpokenVoice on the configured output device; AudioUnavailable if none works
    (with what to do about it when there is no output device at all).

    The engine is chosen by `renderers.open_renderer`; `notice` gets its one line when
    the natural voice cannot load (default: standard error). The stream runs at the
    device's own rate (speech is resampled once per line) so the sound server adds no
    resampler latency to every cut-off. Call `close()` when done.
    """
    from assistant.adapters.sounddevice_io import NoAudioDevice, SpeakerStream, find_device
    from assistant.session.dialog import load_dialog
    from assistant.speech.renderers import open_renderer

    try:  # the device first: without one, no engine is loaded and no notice said for it
        rate = find_device(settings.output_device, "output").default_rate_hertz
    except NoAudioDevice:
        raise AudioUnavailable(load_dialog().line("notice.no_output_device")) from None
    opened = open_renderer(settings, notice)
    renderer = opened.renderer
    try:
        player = Player(rate)
        stream = SpeakerStream(player, rate, settings.blocksize_frames, settings.output_device,
                               latency=settings.output_latency_s)
        stream.wait_running()
    except BaseException:
        renderer.close()
        raise
    spoken = replace(settings, voice=opened.voice)
    return SpokenVoice(spoken, renderer, player, closers=(stream.close, renderer.close),
                       engine=opened.engine)


def _done(rendered: Rendered) -> Future[Rendered]:
    future: Future[Rendered] = Future()
    future.set_result(rendered)
    return future


class PrintedVoice:
    """Text-only `ports.Voice`: each line printed to a stream; chimes ignored.

    With no stream it prints nothing, for callers that show the lines another way.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def say(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def chime(self, kind: str) -> None:
        """No sound in text mode; the printed lines carry the meaning."""

    def silence(self) -> None:
        """Printing is instantaneous: nothing to cut off."""

    def busy(self) -> bool:
        return False

    def set_pace(self, factor: float) -> None:
        """Reading speed is the reader's."""

    def set_volume_step(self, step: int) -> bool:
        """False even for a step of 0: there is no volume at all, and the session says so
        instead of "as loud as I go"."""
        return False

    def close(self) -> None:
        """Nothing to release; the stream belongs to the caller."""
