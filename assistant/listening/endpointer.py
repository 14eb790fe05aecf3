"""Cuts a stream into utterances with a neural speech detector, so that each command
said in a noisy room reaches the recognizer as an utterance of its own.

pocketsphinx's own endpointer votes with a WebRTC-style energy detector: in a faint
steady hiss (-60 dBFS) it took the hiss for speech, utterances of several words ran
together up to the 8 s cap, and a "stop" inside them was thrown away as ordinary talk
(19 of 100 real stops acted on in a continuous stream). A detector trained on speech
(microVAD) holds in hiss, a fan or dishes; see `EndpointerSettings` for how each
number was chosen.

The interface is pocketsphinx.Endpointer's (`frame_bytes`, `process`, `end_stream`,
`in_speech`, `speech_start`, `speech_end`), so the recognizer adapter can use either.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from assistant.listening.background_talk import BackgroundTalk

SpeechProbability = Callable[[bytes], float]
"""10 ms of 16 kHz mono int16 PCM in, the probability that it is speech out (a value
below 0 while the detector warms up)."""

_CHUNK_SAMPLES = 160
"""What the speech detector takes at a time: 10 ms at 16 kHz."""


@dataclass(frozen=True)
class EndpointerSettings:
    frame_seconds: float = 0.03
    """One decision per frame (three detector steps)."""
    window_seconds: float = 0.3
    """How much recent audio each start or end decision looks at."""
    start_ratio: float = 0.5
    """An utterance starts when this share of the window is speech."""
    end_ratio: float = 0.9
    """...and ends when this share of the window is not speech."""
    threshold: float = 0.5
    """A frame is speech when the detector's mean probability over it is at least this."""
    background_seconds: float = 0.0
    """How far back the endpointer looks for someone else talking on (a TV, a partner on
    the phone); 0 turns that off."""
    background_share: float = 0.5
    """Talk is in the background when at least this share of that time was speech: a
    user's commands are a word or two now and then."""
    background_margin_db: float = 6.0
    """While talk is in the background, a frame is speech only this much louder than its
    typical level (the median of its speech frames): the user is nearer than the TV."""


class VadEndpointer:
    """pocketsphinx.Endpointer's behaviour, with a neural speech detector voting.

    Times are seconds since this endpointer's first sample. While an utterance is open,
    each frame comes straight back (no delay); when it starts, the whole window comes
    back at once, so the recognizer hears the beginning of the first word."""

    def __init__(
        self,
        speech_probability: SpeechProbability,
        settings: EndpointerSettings | None = None,
        sample_rate: int = 16000,
        also_speech: Callable[[bytes], bool] | None = None,
    ) -> None:
        """`also_speech`: a second detector (10 ms in) whose "speech" counts as well; only
        the neural one judges whether talk goes on in the background, since an energy
        detector takes steady noise for talk."""
        self.settings = settings or EndpointerSettings()
        self._probability = speech_probability
        self._also_speech = also_speech
        self.sample_rate = sample_rate
        self.frame_samples = round(self.settings.frame_seconds * sample_rate)
        self.frame_samples -= self.frame_samples % _CHUNK_SAMPLES
        if self.frame_samples <= 0:
            raise ValueError("an endpointer frame must hold at least 10 ms")
        self.frame_bytes = 2 * self.frame_samples
        self.frame_length = self.frame_samples / sample_rate
        self._size = max(2, round(self.settings.window_seconds / self.frame_length))
        self._window: deque[tuple[bytes, bool]] = deque(maxlen=self._size)
        self._frames = 0
        self._background = BackgroundTalk(
            round(self.settings.background_seconds / self.frame_length),
            self.settings.background_share)
        self.in_speech = False
        self.speech_start = 0.0
        self.speech_end = 0.0

    def _is_speech(self, frame: bytes) -> bool:
        step = 2 * _CHUNK_SAMPLES
        chunks = [frame[at : at + step] for at in range(0, len(frame) - step + 1, step)]
        if not chunks:
            return False
        probs = [self._probability(chunk) for chunk in chunks]
        threshold = self.settings.threshold
        neural = sum(probs) / len(probs) >= threshold
        if self._also_speech is None:
            speech = neural
        else:
            also = self._also_speech
            either = [1.0 if also(c) else p for c, p in zip(chunks, probs, strict=True)]
            speech = sum(either) / len(either) >= threshold
        if self.settings.background_seconds <= 0:
            return speech
        level = level_db(frame)
        floor = self.background_level() if speech else None  # the median only when it counts
        self._background.remember(level, neural)
        return speech and (floor is None or level >= floor + self.settings.background_margin_db)

    def background_level(self) -> float | None:
        """The typical level (dBFS) of talk going on in the background, None when there is
        none: less than `background_share` of the recent frames were speech."""
        return self._background.level()

    def process(self, frame: bytes) -> bytes | None:
        """One frame in; the speech to decode out (None when nothing is in speech)."""
        if len(frame) != self.frame_bytes:
            raise IndexError(f"an endpointer frame is {self.frame_bytes} bytes, not {len(frame)}")
        speech = self._is_speech(frame)
        self._window.append((frame, speech))
        self._frames += 1
        voiced = sum(1 for _, s in self._window if s)
        if not self.in_speech:
            if len(self._window) == self._size and voiced >= self.settings.start_ratio * self._size:
                self.in_speech = True
                self.speech_start = (self._frames - self._size) * self.frame_length
                return b"".join(f for f, _ in self._window)
            return None
        if self._size - voiced >= self.settings.end_ratio * self._size:
            self.in_speech = False
            self.speech_end = self._frames * self.frame_length
        return frame

    def end_stream(self, frame: bytes) -> bytes | None:
        """The last (possibly short) frame: closes an open utterance."""
        if not self.in_speech:
            return None
        self._frames += 1
        self.in_speech = False
        self.speech_end = (self._frames - 1) * self.frame_length + len(frame) / 2 / self.sample_rate
        return frame


def level_db(frame: bytes) -> float:
    """16-bit PCM's mean power in dBFS."""
    samples = array("h", frame)
    power = sum(x * x for x in samples) / max(1, len(samples))
    return 10 * math.log10(power / 32768**2 + 1e-12)
